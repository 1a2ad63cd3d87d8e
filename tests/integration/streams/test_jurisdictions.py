"""Kafka residency on two real brokers and two real InfluxDBs: a DE and an FR jurisdiction, each
with its own cluster, server and worker (`sovwatch worker --jurisdiction XX`). A German site's
records never appear on the French broker (any topic: telemetry, DLQ, changelogs, checkpoints) or
server, nor the French site's on the German ones; a French event produced to the German cluster
by mistake is dead-lettered there and stored nowhere."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

from schemas.settings import InfluxSettings, KafkaSettings, Settings
from streams.admin.connect import kafka_admin
from streams.admin.influx_tokens import AUDIT_READER, WORKER, tokens_dir
from streams.admin.produce import produce
from streams.admin.topics import ensure_topics
from streams.stack import Stack
from streams.stack.process import free_port, free_port_pair
from tests.integration.agents.test_secrets import event
from tests.integration.pipeline import (
    SOVWATCH,
    Isolated,
    Worker,
    points_by_measurement,
    settings_from,
    wait_for,
)

AUDITED = "sovwatch_audit_records_total"


@pytest.fixture(scope="module")
def french_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A second Kafka + InfluxDB on free ports with a run directory of their own (the "FR"
    jurisdiction); the session's stack is the "DE" one."""
    settings = settings_from(
        {
            "SOVWATCH_STACK__RUN_DIR": str(tmp_path_factory.mktemp("fr-stack")),
            "SOVWATCH_STACK__KAFKA_HEAP_MB": "256",
            "SOVWATCH_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port_pair()}",
            "SOVWATCH_INFLUXDB__URL": f"http://127.0.0.1:{free_port()}",
        }
    )
    stack = Stack(settings)
    try:
        stack.up()
        yield settings
    finally:
        stack.down()


def target(influx: InfluxSettings, tokens: Path) -> dict[str, str]:
    """A residency target: this InfluxDB, with the worker (write) and audit-reader tokens of
    the folder `tokens`."""
    return {
        "url": influx.url,
        "org": influx.org,
        "token": (tokens / WORKER.name).read_text().strip(),
        "audit_read_token": (tokens / AUDIT_READER.name).read_text().strip(),
    }


def scoped_tokens_by_setup(env: dict[str, str], stores: dict[str, Settings], out: Path) -> None:
    """`sovwatch setup --scoped-tokens OUT` with the operator token of each store."""
    operators = {
        country: {
            "url": s.influxdb.url,
            "org": s.influxdb.org,
            "token": s.influxdb.token.get_secret_value(),  # the stack's operator token
        }
        for country, s in stores.items()
    }
    result = subprocess.run(
        [SOVWATCH, "setup", "--scoped-tokens", str(out)],
        env={**env, "SOVWATCH_INFLUXDB__RESIDENCY": json.dumps(operators)},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def audit_sites(env: dict[str, str], jurisdiction: str) -> set[str]:
    """Sites of the audit records `sovwatch --jurisdiction XX audit query` finds."""
    result = subprocess.run(
        [SOVWATCH, "--jurisdiction", jurisdiction, "audit", "query", "--since", "-1h",
         "--format", "jsonl"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return {json.loads(line)["site"] for line in result.stdout.splitlines() if line.strip()}


def cluster_bytes(kafka: KafkaSettings, unique: str) -> bytes:
    """Keys and values of every record, on every topic of this test (its own topics and its
    workers' changelogs carry `unique` in their names), on one cluster."""
    consumer = KafkaConsumer(consumer_timeout_ms=2000, **kafka.client_config())
    try:
        partitions = [
            TopicPartition(topic, partition)
            for topic in consumer.topics()
            if unique in topic
            for partition in consumer.partitions_for_topic(topic) or ()
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(partitions)
        seen = bytearray()
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            for record in consumer:
                seen += (record.key or b"") + b"\n" + (record.value or b"") + b"\n"
        return bytes(seen)
    finally:
        consumer.close()


def test_each_jurisdictions_records_stay_on_its_own_cluster_and_server(
    stack: Stack, french_stack: Settings, unique: str, tmp_path: Path
) -> None:
    base = Isolated(unique, tmp_path)
    german = base.settings  # the session stack: DE's cluster and server
    french = french_stack
    # The French server's scoped tokens come from `setup`; the German ones from the stack.
    scoped_tokens_by_setup(base.env, {"FR": french}, tmp_path / "tokens")
    french_tokens = tmp_path / "tokens" / "FR"
    assert {path.name for path in french_tokens.iterdir()} >= {"worker", "audit-reader", "grafana"}
    residency = {
        "SOVWATCH_RESIDENCY__KAFKA": json.dumps(
            {
                "DE": {"bootstrap_servers": german.kafka.bootstrap_servers},
                "FR": {"bootstrap_servers": french.kafka.bootstrap_servers},
            }
        ),
        "SOVWATCH_INFLUXDB__RESIDENCY": json.dumps(
            {
                "DE": target(german.influxdb, tokens_dir(german.stack)),
                "FR": target(french.influxdb, french_tokens),
            }
        ),
    }
    pipeline = Isolated(unique, tmp_path, **residency)
    topics = pipeline.settings.topics
    admin = kafka_admin(french.kafka)
    try:
        ensure_topics(admin, topics)
    finally:
        admin.close()
    de, fr, stray = f"de{unique}", f"fr{unique}", f"stray{unique}"
    german_records = [
        (topics.gpu, de.encode(), event(de, "g-de", "DE", family="gpu")),
        (topics.audit, de.encode(), event(de, "a-de", "DE")),
        (topics.gpu, stray.encode(), event(stray, "g-stray", "FR", family="gpu")),  # misrouted
    ]
    french_records = [
        (topics.gpu, fr.encode(), event(fr, "g-fr", "FR", family="gpu")),
        (topics.audit, fr.encode(), event(fr, "a-fr", "FR")),
    ]
    with (
        Worker(pipeline, "de", pipeline.env, ("--jurisdiction", "DE")) as de_worker,
        Worker(pipeline, "fr", pipeline.env, ("--jurisdiction", "FR")) as fr_worker,
    ):
        produce(german.kafka, german_records)
        produce(french.kafka, french_records)
        letters = [json.loads(raw) for raw in pipeline.dead_letters(expected=1)]
        assert wait_for(lambda: de_worker.metric(AUDITED) >= 1)
        assert wait_for(lambda: fr_worker.metric(AUDITED) >= 1)
        assert wait_for(lambda: sum(points_by_measurement(german.influxdb, de).values()) == 2)
        assert wait_for(lambda: sum(points_by_measurement(french.influxdb, fr).values()) == 2)

    # The misrouted French event: dead-lettered on the German cluster, stored on neither server.
    assert [(letter["topic"], letter["reason"].split(":")[0]) for letter in letters] == [
        (topics.gpu, "no residency target for FR")
    ]
    for influx in (german.influxdb, french.influxdb):
        assert points_by_measurement(influx, stray) == {}
    assert points_by_measurement(german.influxdb, fr) == {}
    assert points_by_measurement(french.influxdb, de) == {}
    on_german, on_french = cluster_bytes(german.kafka, unique), cluster_bytes(french.kafka, unique)
    assert de.encode() in on_german and fr.encode() in on_french  # the scan sees records
    assert fr.encode() not in on_german
    assert de.encode() not in on_french and stray.encode() not in on_french
    assert cluster_bytes(french.kafka, topics.dlq) == b""  # nothing went wrong in France
    # Compliance officers read each jurisdiction's own audit store.
    assert {de, fr} & audit_sites(pipeline.env, "DE") == {de}
    assert {de, fr} & audit_sites(pipeline.env, "FR") == {fr}
