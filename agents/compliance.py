"""The compliance agent: every telemetry event goes through the rule engine; alerts go to
alerts.<team> and InfluxDB before the event is acked.

Rule state lives in a Faust table (changelog-backed), so a restart resumes every open window.
Time-driven rules (absence, not-followed-by, two-person) are judged by a timer on a clock that
follows event time: the newest event time seen, advanced by the wall time since it arrived.
Replayed history therefore does not make every window look expired at once.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from agents.alert_sink import AlertSink, kafka_publisher
from agents.influx_writer import InfluxWriter
from agents.ingest import Ingest
from agents.rule_state import TableState
from agents.rules.engine import RuleEngine
from agents.rules.loader import load_packs, pack_files
from schemas.errors import DecodeError
from streams import metrics
from streams.app import alert_topics, app, settings, telemetry_topics
from streams.privacy import Pseudonymiser

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


@app.agent(telemetry_topics, name="sovwatch.compliance")
async def compliance_agent(stream: Any) -> None:
    manual = stream.noack()
    ingest = Ingest(settings, Pseudonymiser.from_settings(settings.privacy))
    engine = _rule_engine()
    sink = _alert_sink()
    async for event in manual.events():
        message = event.message
        try:
            decoded = ingest.decode(message.value, message.topic)
        except DecodeError:
            await manual.ack(event)  # the ingest agent dead-letters it
            continue
        _state.partition = message.partition
        try:
            alerts = engine.process(ingest.pseudonymised(decoded), now=datetime.now(UTC))
        finally:
            _state.partition = None
        _clock.observe(decoded.ts)
        if alerts:
            await sink.emit(alerts)
        await manual.ack(event)


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
