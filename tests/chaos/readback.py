"""What the servers hold at the end of a chaos run, read into the plain data the checks take:
InfluxDB (points, alerts, audit chains), the DLQ and alert topics on Kafka, and `audit verify`
(the project's own verification, `streams.evidence.period.verify_stored`) per site."""

from __future__ import annotations

from collections import Counter

from agents.audit.checkpoints import load_public_key
from agents.audit.records import HASH, PREV_HASH, SEQ
from agents.audit.verify import Report
from schemas.deadletter import DeadLetter
from streams.admin.connect import influx_client
from streams.evidence.period import verify_stored
from tests.chaos.checks import ChainRecord, EmittedAlert, Source
from tests.integration.agents.audit_harness import stored as audit_chain
from tests.integration.pipeline import Isolated


def stored_event_ids(pipeline: Isolated) -> Counter[tuple[str, str]]:
    """(measurement, event id) -> points, for this run's sites."""
    buckets = pipeline.settings.influxdb.buckets
    counts: Counter[tuple[str, str]] = Counter()
    where = f'r.site =~ /^f{pipeline.unique}-/ and r._field == "event_id"'
    with influx_client(pipeline.settings.influxdb) as client:
        for bucket in (buckets.telemetry, buckets.audit):
            rows = client.query_api().query_stream(
                f'from(bucket: "{bucket}") |> range(start: -2d, stop: 1d) '
                f"|> filter(fn: (r) => {where}) "
                '|> keep(columns: ["_measurement", "_value"])'
            )
            for row in rows:
                counts[(row.values["_measurement"], str(row.get_value()))] += 1
    return counts


def dead_letters(pipeline: Isolated) -> tuple[Counter[Source], dict[Source, str]]:
    """(source -> dead letters naming it, source -> reason), from the whole DLQ topic."""
    letters: Counter[Source] = Counter()
    reasons: dict[Source, str] = {}
    for raw in pipeline.all_records([pipeline.settings.topics.dlq]):
        letter = DeadLetter.model_validate_json(raw)
        source = (letter.topic, letter.partition, letter.offset)
        letters[source] += 1
        reasons[source] = str(letter.reason)
    return letters, reasons


def emitted_alerts(pipeline: Isolated) -> list[EmittedAlert]:
    """Every record on the alert topics (each state change of each incident, re-sends too)."""
    return [EmittedAlert.from_json(raw) for raw in pipeline.all_records(pipeline.alert_topics())]


def chain(pipeline: Isolated, site: str) -> list[ChainRecord]:
    return [
        ChainRecord(int(r[SEQ]), str(r["event_id"]), str(r[HASH]), str(r[PREV_HASH]))
        for r in audit_chain(pipeline, site)
    ]


def verified(pipeline: Isolated, site: str, public_key_pem: bytes) -> Report:
    """`audit verify --site SITE` as the CLI runs it (checkpoints witnessed on Kafka included)."""
    return verify_stored(pipeline.settings, load_public_key(public_key_pem), site)
