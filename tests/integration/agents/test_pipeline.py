"""The pipeline against real Kafka and InfluxDB, with real `sovwatch worker` processes."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from kafka.partitioner.default import murmur2

from schemas.deadletter import DeadLetter
from schemas.decode import decode_as
from schemas.gpu import GpuSample
from streams.admin.connect import influx_client
from streams.admin.produce import produce
from streams.simulator.malformed import MALFORMED, malformed_records
from streams.simulator.recent import EVERY_FAMILY_MINUTES, recent_records, small_fleet
from streams.stack import Stack
from tests.integration.pipeline import Isolated, Worker, log_lines, wait_for

STORED = "sovwatch_events_stored_total"
FAMILY_OF_TOPIC = {"gpu": "gpu", "power": "power", "physical": "physical", "audit": "audit"}


def expected_points(pipeline: Isolated, records: list[tuple[str, bytes, bytes]]) -> Counter[str]:
    by_topic = {getattr(pipeline.settings.topics, f): f for f in FAMILY_OF_TOPIC}
    counts: Counter[str] = Counter()
    for topic, _, value in records:
        if value not in MALFORMED:
            counts[by_topic[topic]] += 1
    return counts


def records_for(
    pipeline: Isolated, minutes: int = 3, sites: int = 2, tag: str = "", seed: int = 7
) -> list[tuple[str, bytes, bytes]]:
    countries = ("DE", "FR", "SA", "IN", "JP", "BR", "AE", "SG")
    ids = spread_keys(f"s{pipeline.unique}-{tag}", sites, pipeline.settings.topics.partitions)
    named = tuple((site, countries[i % len(countries)]) for i, site in enumerate(ids))
    topics = pipeline.settings.topics
    recent = recent_records(topics, small_fleet(named), minutes=minutes, seed=seed)
    return [*recent, *malformed_records(topics, named[0][0])]


def spread_keys(prefix: str, count: int, partitions: int) -> list[str]:
    """`count` site ids (`prefix` + a number), spread round-robin over the partitions the
    producer's partitioner gives their keys: with as many sites as partitions, every partition
    (so every worker of a group) gets some. Random ids left it to chance: once all eight sites of
    a run hashed to two of four partitions, and the worker owning the other two had nothing."""
    wanted = [i % partitions for i in range(count)]
    chosen: list[str] = []
    n = 0
    while wanted:
        key = f"{prefix}{n}"
        partition = (murmur2(key.encode()) & 0x7FFFFFFF) % partitions  # kafka-python's default
        if partition in wanted:
            wanted.remove(partition)
            chosen.append(key)
        n += 1
    return chosen


def test_valid_events_become_points_and_malformed_ones_dead_letters(
    stack: Stack, unique: str, tmp_path: Path
) -> None:
    pipeline = Isolated(unique, tmp_path)
    records = records_for(pipeline)
    expected = expected_points(pipeline, records)
    site_prefix = f"s{unique}"
    with pipeline.worker():
        assert produce(pipeline.settings.kafka, records) == len(records)
        assert wait_for(lambda: pipeline.points_by_measurement(site_prefix) == expected)
        dead = pipeline.dead_letters(expected=len(MALFORMED))

    assert sum(expected.values()) == len(records) - len(MALFORMED)
    assert len(dead) == len(MALFORMED)
    letters = [json.loads(raw) for raw in dead]
    assert {letter["topic"] for letter in letters} == {pipeline.settings.topics.gpu}
    reasons = sorted(letter["errors"][0]["constraint"].split()[0] for letter in letters)
    assert reasons == ["json_invalid", "json_invalid", "missing", "schema_version_unsupported"]
    assert all(letter["reason"] for letter in letters)
    opened = [pipeline.opened(decode_as(raw, DeadLetter)) for raw in dead]
    assert sorted(opened) == sorted(MALFORMED)


def test_a_sample_of_stored_values_matches_what_was_produced(
    stack: Stack, unique: str, tmp_path: Path
) -> None:
    pipeline = Isolated(unique, tmp_path)
    records = records_for(pipeline, minutes=1)
    gpu = next(
        decode_as(value, GpuSample)
        for topic, _, value in records
        if topic.endswith(".gpu") and value not in MALFORMED
    )
    with pipeline.worker():
        produce(pipeline.settings.kafka, records)
        assert wait_for(lambda: sum(pipeline.points_by_measurement(f"s{unique}").values()) > 0)
        time.sleep(2)
    with influx_client(pipeline.settings.influxdb) as client:
        tables = client.query_api().query(
            f'from(bucket: "telemetry") |> range(start: -1d) '
            f'|> filter(fn: (r) => r._measurement == "gpu" and r.site == "{gpu.site_id}" '
            f'and r.node == "{gpu.node}" and r.gpu == "{gpu.gpu_index}" '
            'and r._field == "gpu_util_pct")'
        )
        stored = {rec.get_time(): rec.get_value() for table in tables for rec in table}
    assert stored[gpu.ts] == gpu.gpu_util_pct


def test_personal_identifiers_are_pseudonymised_before_storage(
    stack: Stack, unique: str, tmp_path: Path
) -> None:
    pipeline = Isolated(unique, tmp_path)
    records = records_for(pipeline, minutes=EVERY_FAMILY_MINUTES)
    with pipeline.worker():
        produce(pipeline.settings.kafka, records)
        assert wait_for(
            lambda: (
                pipeline.points_by_measurement(f"s{unique}")["physical"] > 0
                and pipeline.points_by_measurement(f"s{unique}")["audit"] > 0
            )
        )
    raw_ids = {
        json.loads(value).get(key)
        for _, _, value in records
        if value not in MALFORMED
        for key in ("badge_id", "holder")
    } - {None}
    with influx_client(pipeline.settings.influxdb) as client:
        stored = {
            rec.get_value()
            for bucket in ("telemetry", "audit")
            for table in client.query_api().query(
                f'from(bucket: "{bucket}") |> range(start: -1d) '
                f"|> filter(fn: (r) => r.site =~ /^s{unique}/ "
                'and (r._field == "badge_id" or r._field == "holder" or r._field == "actor_id"))'
            )
            for rec in table
        }
    assert stored, "no personal fields stored at all"
    assert all(value.startswith("p_") for value in stored)
    assert not raw_ids & stored


def test_a_replay_from_the_beginning_rewrites_the_same_points(
    stack: Stack, unique: str, tmp_path: Path
) -> None:
    pipeline = Isolated(unique, tmp_path)
    records = records_for(pipeline, minutes=2)
    expected = expected_points(pipeline, records)
    site_prefix = f"s{unique}"
    with pipeline.worker():
        produce(pipeline.settings.kafka, records)
        assert wait_for(lambda: pipeline.points_by_measurement(site_prefix) == expected)
    # A new consumer group starts from the earliest offset: every record is processed again.
    with pipeline.worker("replay", SOVWATCH_WORKER__APP_ID=f"test-{unique}-replay") as replay:
        assert wait_for(
            lambda: replay.metric(STORED) >= sum(expected.values()),
            timeout_s=60,
        )
    assert pipeline.points_by_measurement(site_prefix) == expected


def test_two_workers_share_the_partitions_and_one_takes_over_when_the_other_stops(
    stack: Stack, unique: str, tmp_path: Path
) -> None:
    pipeline = Isolated(unique, tmp_path)
    # Eight sites (= keys) spread the records over all partitions, so both workers get some.
    first_half = records_for(pipeline, minutes=1, sites=8, tag="a")
    second_half = records_for(pipeline, minutes=1, sites=8, tag="b", seed=8)
    expected = expected_points(pipeline, first_half) + expected_points(pipeline, second_half)
    with pipeline.worker("w1") as w1, pipeline.worker("w2") as w2:
        produce(pipeline.settings.kafka, first_half)
        assert wait_for(
            lambda: w1.metric(STORED) > 0 and w2.metric(STORED) > 0,
            timeout_s=60,
        )
        w1.stop()  # w2 is left alone with all 4 partitions of every topic
        stored_by_w2_before = w2.metric(STORED)
        produce(pipeline.settings.kafka, second_half)
        stored = wait_for(lambda: pipeline.points_by_measurement(f"s{unique}") == expected, 90)
        assert stored, (
            f"stored {pipeline.points_by_measurement(f's{unique}')}, expected {expected}; "
            f"w2 /health {w2.page('/health').decode()}; w1: {warnings_of(w1)}; "
            f"w2: {warnings_of(w2)}"
        )
        assert w2.metric(STORED) - stored_by_w2_before >= sum(
            expected_points(pipeline, second_half).values()
        )
    assert pipeline.points_by_measurement(f"s{unique}") == expected


def test_an_influxdb_outage_pauses_the_pipeline_and_loses_nothing(
    stack: Stack, unique: str, tmp_path: Path
) -> None:
    pipeline = Isolated(unique, tmp_path, SOVWATCH_WORKER__RETRY_MAX_S="2")
    records = records_for(pipeline, minutes=4)
    expected = expected_points(pipeline, records)
    half = len(records) // 2
    with pipeline.worker() as worker:
        produce(pipeline.settings.kafka, records[:half])
        assert wait_for(lambda: worker.metric(STORED) > 0)
        stack.influx.stop()
        try:
            produce(pipeline.settings.kafka, records[half:])
            time.sleep(20)
            rss_during = worker.rss_mib()
            assert worker.metric("sovwatch_influx_write_failures_total") > 0
        finally:
            stack.influx.start()
            stack.influx.wait_ready(60)
        assert wait_for(lambda: pipeline.points_by_measurement(f"s{unique}") == expected, 90)
    assert rss_during < 400


def warnings_of(worker: Worker) -> list[str]:
    """The worker's WARNING and ERROR log lines and its audit skips (the last 30)."""
    wanted = ("WARNING", "ERROR", "gets no seq", "already chained", "seeking back")
    return log_lines(worker.log, *wanted)[-30:]
