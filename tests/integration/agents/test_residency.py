"""Residency on a real worker, Kafka and InfluxDB. Fail closed: with a map that lists only DE,
a French site's telemetry and audit events are dead-lettered with the reason and stored nowhere,
the German site's are stored. Per-country write lanes: while Germany's server hangs, France's
points are stored; the acks wait, and Germany's points follow once its server answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.admin.influx_tokens import WORKER, stack_token
from streams.admin.produce import produce
from tests.faults.proxy import SlowProxy
from tests.integration.agents.audit_harness import servers  # noqa: F401 - fixture
from tests.integration.agents.test_secrets import event
from tests.integration.pipeline import Isolated, wait_for

STORED = "sovwatch_events_stored_total"

pytestmark = pytest.mark.usefixtures("servers")


def stack_target(unique: str, tmp_path: Path) -> dict[str, str]:
    """The stack's own InfluxDB as a residency target, with its write-only worker token."""
    settings = Isolated(unique, tmp_path).settings
    token = stack_token(settings, WORKER)
    assert token is not None
    influx = settings.influxdb
    return {"url": influx.url, "org": influx.org, "token": token.get_secret_value()}


def test_a_country_without_a_target_is_dead_lettered_and_stored_nowhere(
    unique: str, tmp_path: Path
) -> None:
    de_target = stack_target(unique, tmp_path)
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


def test_one_countrys_influxdb_outage_spares_another_countrys_storage(
    unique: str, tmp_path: Path
) -> None:
    target = stack_target(unique, tmp_path)
    # Germany's server: a proxy that listens but forwards nothing until entered (a hung server).
    german_server = SlowProxy("127.0.0.1", int(target["url"].rsplit(":", 1)[1]))
    residency = {"DE": {**target, "url": f"http://127.0.0.1:{german_server.port}"}, "FR": target}
    pipeline = Isolated(
        unique,
        tmp_path,
        SOVWATCH_INFLUXDB__RESIDENCY=json.dumps(residency),
        SOVWATCH_INFLUXDB__TIMEOUT_S="2",
        SOVWATCH_WORKER__RETRY_MAX_S="1",
    )
    topics = pipeline.settings.topics
    de, fr = f"o{unique}-de", f"o{unique}-fr"
    records = [
        (topics.gpu, site.encode(), event(site, f"g-{site}-{n}", country, family="gpu"))
        for n in range(3)
        for site, country in ((de, "DE"), (fr, "FR"))
    ]
    with pipeline.worker() as worker:
        produce(pipeline.settings.kafka, records)
        assert wait_for(lambda: sum(pipeline.points_by_measurement(fr).values()) == 3)
        assert pipeline.points_by_measurement(de) == {}  # Germany is down ...
        # ... and no checkpoint commits past the German records it could not write
        assert pipeline.uncommitted(topics.gpu) >= 3
        with german_server:  # Germany's server answers again
            assert wait_for(lambda: sum(pipeline.points_by_measurement(de).values()) == 3)
            assert wait_for(lambda: worker.metric(STORED) == 6)
            assert wait_for(lambda: pipeline.uncommitted(topics.gpu) == 0)
