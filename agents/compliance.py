"""Compliance: every valid telemetry event goes through the rule engine; alerts go to
alerts.<team> and InfluxDB before the event is acked.

Rule evaluation runs inside the ingest agent's stream (`agents.pipeline` calls `evaluate`) rather
than as a second agent on the same topics: Faust's per-event cost per agent dominates on small
machines, and one stream decodes and pseudonymises each event once for both concerns.

Rule state lives in a Faust table (changelog-backed), so a restart resumes every open window.
Time-driven rules (absence, not-followed-by, two-person) are judged by a timer on a clock that
follows event time: the newest event time seen, advanced by the wall time since it arrived.
Replayed history therefore does not make every window look expired at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

from agents.alert_sink import AlertSink, Point, kafka_publisher
from agents.influx_writer import InfluxWriter
from agents.rule_state import TableState
from agents.rules.engine import RuleEngine
from agents.rules.loader import load_packs, pack_files
from schemas.decode import Event
from streams import metrics
from streams.app import alert_topics, app, settings

log = logging.getLogger(__name__)

rule_state_table = app.Table(
    "sovwatch-rule-state",
    key_type=str,
    partitions=settings.topics.partitions,
    help="Open windows and incidents of the compliance rules, per rule and group",
)


class EventClock:
    """Event time that keeps moving with the wall clock between events."""

    def __init__(self) -> None:
        self._event_ts: datetime | None = None
        self._seen_at = 0.0

    def observe(self, ts: datetime) -> None:
        if self._event_ts is None or ts > self._event_ts:
            self._event_ts = ts
            self._seen_at = time.monotonic()

    def now(self) -> datetime:
        if self._event_ts is None:
            return datetime.now(UTC)
        return self._event_ts + timedelta(seconds=time.monotonic() - self._seen_at)


_state = TableState(rule_state_table)
_clock = EventClock()
_engine: list[RuleEngine] = []
_sink: list[AlertSink] = []


def _rule_engine() -> RuleEngine:
    if not _engine:
        rules_dir = settings.alerts.rules_dir
        packs = load_packs(pack_files(rules_dir) if rules_dir else None)
        _engine.append(RuleEngine(packs, state=_state))
        log.info("compliance rules loaded: %d", len(_engine[0].rules))
    return _engine[0]


def _alert_sink() -> AlertSink:
    if not _sink:
        writer = InfluxWriter(settings.worker, timeout_s=settings.influxdb.timeout_s)
        _sink.append(
            AlertSink(settings.influxdb, settings.alerts, writer, kafka_publisher(alert_topics))
        )
    return _sink[0]


async def evaluate(event: Event, partition: int) -> tuple[list[Awaitable[Any]], list[Point]]:
    """Run the rules on one validated, pseudonymised event from `partition`. Its alerts are
    published at once; returns the Kafka deliveries to await and the InfluxDB points to write
    before the event may be acked (the ingest agent batches them with the event's own point)."""
    engine = _rule_engine()
    _state.partition = partition
    try:
        alerts = engine.process(event, now=datetime.now(UTC))
    finally:
        _state.partition = None
    _clock.observe(event.ts)
    if not alerts:
        return [], []
    return await _alert_sink().stage(alerts)


@app.timer(interval=settings.alerts.tick_interval_s)
async def time_driven_rules() -> None:
    if not _engine:
        return
    started = time.perf_counter()
    try:
        alerts = _engine[0].tick(_clock.now())
    except Exception:  # a bad rule or state must not stop ingestion; the next tick retries
        log.exception("time-driven rules failed")
        return
    if alerts:
        await _alert_sink().emit(alerts)
    metrics.RULE_TICK_SECONDS.observe(time.perf_counter() - started)
