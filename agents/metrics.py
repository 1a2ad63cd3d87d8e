"""The worker's self-monitoring, served as Prometheus text on /metrics.

One registry for the process so tests can read values without global state from other apps.
"""

from __future__ import annotations

from functools import cache

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

EVENTS_IN = Counter("sovwatch_events_in_total", "Raw events consumed", ["topic"], registry=REGISTRY)
EVENTS_STORED = Counter(
    "sovwatch_events_stored_total",
    "Valid events whose points InfluxDB acknowledged",
    ["topic"],
    registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "sovwatch_dead_letters_total",
    "Events sent to the dead-letter topic",
    ["topic", "reason"],
    registry=REGISTRY,
)
OTLP_UNMAPPED_POINTS = Counter(
    "sovwatch_otlp_unmapped_points_total",
    "OTLP data points whose metric maps to no GPU sample field (counted, not stored)",
    ["metric"],
    registry=REGISTRY,
)
BATCH_POINTS = Histogram(
    "sovwatch_influx_batch_points",
    "Points per InfluxDB write",
    buckets=(1, 10, 100, 500, 1000, 2500, 5000, 10000),
    registry=REGISTRY,
)
WRITE_SECONDS = Histogram(
    "sovwatch_influx_write_seconds",
    "Latency of acknowledged InfluxDB writes",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
WRITE_FAILURES = Counter(
    "sovwatch_influx_write_failures_total",
    "InfluxDB writes that failed and will be retried",
    ["target", "kind"],
    registry=REGISTRY,
)
PENDING_POINTS = Gauge(
    "sovwatch_pending_points",
    "Points buffered, not yet acknowledged by InfluxDB",
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "sovwatch_consumer_lag",
    "High-water mark minus the next offset to commit",
    ["topic", "partition"],
    registry=REGISTRY,
)
READ_JUMPS = Counter(
    "sovwatch_consumer_read_jumps_total",
    "Records read past the next offset of their partition (sought back, nothing committed past)",
    ["topic"],
    registry=REGISTRY,
)
CHECKPOINTS = Counter(
    "sovwatch_checkpoints_total",
    "Checkpoints by outcome: committed, failed (nothing committed, retried) or fenced",
    ["outcome"],
    registry=REGISTRY,
)
CHECKPOINT_SECONDS = Histogram(
    "sovwatch_checkpoint_seconds",
    "Time of a committed checkpoint: effects flushed, state written, offsets committed",
    registry=REGISTRY,
)


@cache
def events_in(topic: str) -> Counter:
    """The per-topic child, looked up once (label resolution costs ~1 µs per event otherwise)."""
    return EVENTS_IN.labels(topic=topic)


@cache
def events_stored(topic: str) -> Counter:
    return EVENTS_STORED.labels(topic=topic)


ALERTS = Counter(
    "sovwatch_alerts_total",
    "Alerts emitted (incl. updates)",
    ["rule_id", "severity"],
    registry=REGISTRY,
)
SINK_FAILURES = Counter(
    "sovwatch_alert_sink_failures_total",
    "Alerts an optional sink (webhook, syslog) could not take after retries",
    ["sink"],
    registry=REGISTRY,
)
RULE_TICK_SECONDS = Histogram(
    "sovwatch_rule_tick_seconds", "Duration of one timer pass of the rule engine", registry=REGISTRY
)
RULE_ERRORS = Counter(
    "sovwatch_rule_errors_total",
    "Evaluations of a rule that raised (the event and the other rules went on)",
    ["rule"],
    registry=REGISTRY,
)
RULE_GROUPS = Gauge(
    "sovwatch_rule_groups",
    "Groups a rule holds state for on this worker (capped per rule)",
    ["rule"],
    registry=REGISTRY,
)
RULE_GROUPS_EVICTED = Counter(
    "sovwatch_rule_groups_evicted_total",
    "Groups dropped because a rule held more than its cap (least recently active first)",
    ["rule"],
    registry=REGISTRY,
)
RULE_STATE_PRUNED = Counter(
    "sovwatch_rule_state_pruned_total",
    "Rule state keys deleted once expired (windows, sequences, incidents)",
    registry=REGISTRY,
)
DELIVERIES_SENT = Counter(
    "sovwatch_alert_deliveries_sent_total",
    "Incident records a channel's receiver accepted",
    ["channel"],
    registry=REGISTRY,
)
DELIVERIES_FAILED = Counter(
    "sovwatch_alert_deliveries_failed_total",
    "Incident records a channel gave up on after its retries",
    ["channel"],
    registry=REGISTRY,
)
DELIVERIES_DROPPED = Counter(
    "sovwatch_alert_deliveries_dropped_total",
    "Incident records dropped from a full delivery queue (oldest updates first)",
    ["channel", "status"],
    registry=REGISTRY,
)
DELIVERIES_QUEUED = Gauge(
    "sovwatch_alert_deliveries_queued",
    "Incident records waiting in a channel's delivery queue",
    ["channel"],
    registry=REGISTRY,
)
