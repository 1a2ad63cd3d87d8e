"""The environment of one benchmark run: its own topics, InfluxDB buckets and pseudonym key, so
benchmark data never lands in the shared topics and buckets, and a clean-up that removes them.
Workers are started from the `sovwatch` console script of the checkout being benchmarked."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from kafka import KafkaAdminClient

from schemas.settings import Settings
from streams.admin.connect import influx_client
from streams.stack.process import free_port

SOVWATCH = Path(sys.executable).with_name("sovwatch")
FAMILIES = ("gpu", "power", "physical", "audit")
TOPIC_FIELDS = (
    *FAMILIES,
    "dlq",
    "alerts_ops",
    "alerts_security",
    "alerts_compliance",
    "audit_checkpoints",
)
BUCKET_FIELDS = ("telemetry", "alerts", "audit")


def run_env(run: str) -> dict[str, str]:
    """Topics and buckets named after `run` (the buckets are made by `make_buckets`)."""
    return {
        "SOVWATCH_PRIVACY__PSEUDONYM_KEY": f"bench-key-{run}-0123456789",
        "SOVWATCH_PRIVACY__DLQ_KEY": hashlib.sha256(f"bench-dlq-{run}".encode()).hexdigest(),
        **{f"SOVWATCH_INFLUXDB__BUCKETS__{b.upper()}": f"bench-{run}-{b}" for b in BUCKET_FIELDS},
        **{f"SOVWATCH_TOPICS__{f.upper()}": f"bench.{run}.{f}" for f in TOPIC_FIELDS},
    }


@contextlib.contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """`env` on top of os.environ for the block (Settings reads the environment)."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def settings_for(env: Mapping[str, str]) -> Settings:
    with environment(env):
        return Settings()


def make_bucket(settings: Settings, name: str, retention_s: int = 86400) -> str:
    """A bucket (default: 1-day retention; 0: keep forever) unless it exists. InfluxDB refuses
    points older than the retention, so a run's simulated history must fit into it."""
    from influxdb_client import BucketRetentionRules

    with influx_client(settings.influxdb) as client:
        api = client.buckets_api()
        if api.find_bucket_by_name(name) is None:
            rule = BucketRetentionRules(type="expire", every_seconds=retention_s)
            api.create_bucket(bucket_name=name, retention_rules=rule, org=settings.influxdb.org)
    return name


def make_buckets(settings: Settings, retention_s: int = 86400) -> None:
    for field in BUCKET_FIELDS:
        make_bucket(settings, getattr(settings.influxdb.buckets, field), retention_s)


def count_points(settings: Settings, bucket: str, field: str = "event_id") -> int:
    """Points in `bucket` that carry `field` (every stored event carries its event_id)."""
    query = (
        f'from(bucket: "{bucket}") |> range(start: 0) '
        f'|> filter(fn: (r) => r._field == "{field}") |> group() |> count()'
    )
    from influxdb_client import InfluxDBClient

    influx = settings.influxdb
    token = influx.token.get_secret_value()
    with InfluxDBClient(url=influx.url, token=token, org=influx.org, timeout=600_000) as client:
        tables = client.query_api().query(query, org=settings.influxdb.org)
    return sum(int(record.get_value()) for table in tables for record in table.records)


def start_worker(
    env: Mapping[str, str], app_id: str, log: Path, extra: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`sovwatch worker` of this checkout, its local state in a scratch directory, its output
    appended to `log`."""
    worker_env = {
        **os.environ,
        **env,
        "SOVWATCH_WORKER__APP_ID": app_id,
        "SOVWATCH_WORKER__WEB_PORT": str(free_port()),
        "SOVWATCH_WORKER__DATA_DIR": tempfile.mkdtemp(prefix=f"{app_id}-"),
        **(extra or {}),
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(SOVWATCH), "worker", "--loglevel", "warning"],
            env=worker_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def cleanup(admin: KafkaAdminClient, settings: Settings, run: str) -> None:
    """Delete the run's topics (inputs, alerts, Faust changelogs) and buckets; groups expire."""
    names = [
        t for t in admin.list_topics() if f"bench.{run}." in t or t.startswith(f"bench-{run}-")
    ]
    if names:
        admin.delete_topics(names)
    delete_buckets(settings, run)


def delete_buckets(settings: Settings, run: str) -> None:
    """Delete the buckets named after `run` (`bench-<run>-...`)."""
    with influx_client(settings.influxdb) as client:
        api = client.buckets_api()
        for bucket in api.find_buckets(limit=100).buckets:
            if bucket.name.startswith(f"bench-{run}-"):
                api.delete_bucket(bucket)
