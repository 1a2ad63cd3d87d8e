"""Residency fails closed on a real worker, Kafka and InfluxDB: with a map that lists only DE,
a French site's telemetry and audit events are dead-lettered with the reason and stored nowhere;
the German site's are stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.influx_tokens import WORKER, stack_token
from streams.produce import produce
from tests.integration.agents.audit_harness import servers  # noqa: F401 - fixture
from tests.integration.agents.test_secrets import event
from tests.integration.pipeline import Isolated, wait_for

pytestmark = pytest.mark.usefixtures("servers")


def test_a_country_without_a_target_is_dead_lettered_and_stored_nowhere(
    unique: str, tmp_path: Path
) -> None:
    base = Isolated(unique, tmp_path)
    influx, token = base.settings.influxdb, stack_token(base.settings, WORKER)
    assert token is not None
    de_target = {"url": influx.url, "org": influx.org, "token": token.get_secret_value()}
    pipeline = Isolated(
        unique, tmp_path, SOVWATCH_INFLUXDB__RESIDENCY=json.dumps({"DE": de_target})
    )
    topics = pipeline.settings.topics
    de, fr = f"r{unique}-de", f"r{unique}-fr"
    records = [
        (topics.gpu, de.encode(), event(de, "g-de", "DE", family="gpu")),
        (topics.gpu, fr.encode(), event(fr, "g-fr", "FR", family="gpu")),
        (topics.audit, de.encode(), event(de, "a-de", "DE")),
        (topics.audit, fr.encode(), event(fr, "a-fr", "FR")),
    ]
    with pipeline.worker() as worker:
        produce(pipeline.settings.kafka, records)
        letters = [json.loads(raw) for raw in pipeline.dead_letters(expected=2)]
        assert wait_for(lambda: worker.metric("sovwatch_audit_records_total") >= 1)
        assert wait_for(lambda: sum(pipeline.points_by_measurement(de).values()) >= 2)
    assert sorted(letter["topic"] for letter in letters) == sorted([topics.audit, topics.gpu])
    for letter in letters:
        assert letter["reason"].startswith("no residency target for FR"), letter["reason"]
    assert sum(pipeline.points_by_measurement(de).values()) == 2  # its gpu point and audit record
    assert pipeline.points_by_measurement(fr) == {}
