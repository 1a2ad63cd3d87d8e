"""Harness for pipeline tests: isolated topics and consumer group per test, real worker
processes (`sovwatch worker`), and read-back from InfluxDB and the DLQ topic."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from kafka import KafkaConsumer, TopicPartition

from agents.dlq_crypto import DlqCipher
from schemas.deadletter import DeadLetter
from schemas.settings import InfluxSettings, Settings
from streams.admin import kafka_principals
from streams.admin.connect import influx_client, kafka_admin
from streams.admin.topics import ensure_topics
from streams.stack.kafka_acls import sync_acls
from streams.stack.process import free_port
from streams.stack.worker import worker_env

SOVWATCH = str(Path(sys.executable).with_name("sovwatch"))
TOPIC_FIELDS = (
    "gpu",
    "power",
    "physical",
    "audit",
    "dlq",
    "alerts_ops",
    "alerts_security",
    "alerts_compliance",
    "audit_checkpoints",
    "telegraf",
    "otlp",
    "dlq_replays",
)


def wait_for(check: Callable[[], bool], timeout_s: float = 60, every_s: float = 0.5) -> bool:
    """Poll `check` until it holds or timeout_s passed; returns its last answer."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every_s)
    return check()


def log_lines(log: Path, *words: str) -> list[str]:
    """The lines of a worker's log that contain any of `words` (for failure messages)."""
    lines = log.read_text(errors="replace").splitlines()
    return [line for line in lines if any(word in line for word in words)]


def settings_from(env: dict[str, str]) -> Settings:
    """The Settings a process with this environment reads (its SOVWATCH_ variables on top of
    ours); the test process's own environment is left as it was."""
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("SOVWATCH_")})
    try:
        return Settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Isolated:
    """Settings and environment of one test's pipeline: its own topics and consumer group."""

    def __init__(self, unique: str, log_dir: Path, **env: str) -> None:
        self.unique = unique
        self.log_dir = log_dir
        self.env = {
            **os.environ,
            "SOVWATCH_WORKER__APP_ID": f"test-{unique}",
            "SOVWATCH_WORKER__BATCH_MAX_AGE_S": "0.5",
            "SOVWATCH_PRIVACY__PSEUDONYM_KEY": f"test-key-{unique}-0123456789",
            "SOVWATCH_PRIVACY__DLQ_KEY": hashlib.sha256(f"dlq-{unique}".encode()).hexdigest(),
            **{f"SOVWATCH_TOPICS__{f.upper()}": f"test.{unique}.{f}" for f in TOPIC_FIELDS},
            **env,
        }
        self.settings = settings_from(self.env)
        admin = kafka_admin(self.settings.kafka)
        try:
            ensure_topics(admin, self.settings.topics)
            if self.settings.stack.kafka_security == "sasl_ssl":  # as `stack up`, for our topics
                users = kafka_principals.users(self.settings.stack)
                sync_acls(admin, users, kafka_principals.grants(self.settings), prune=False)
        finally:
            admin.close()

    def worker(self, name: str = "w1", cwd: Path | None = None, **env: str) -> Worker:
        """A worker with the stack's write-only InfluxDB token (and, on the secure broker, the
        `worker` Kafka user), as `sovwatch demo` runs it (`env` may override anything).
        `cwd`: where it runs (and reads a `.env` from; default: here)."""
        return Worker(self, name, {**self.env, **worker_env(self.settings), **env}, cwd=cwd)

    def points_by_measurement(self, site_prefix: str) -> Counter[str]:
        """Distinct points (one per series+timestamp) per measurement for sites of this test."""
        return points_by_measurement(self.settings.influxdb, site_prefix)

    def dead_letters(self, expected: int, timeout_s: float = 30) -> list[bytes]:
        """All records of this test's DLQ topic (waits until `expected` arrived or timeout)."""
        return self.records([self.settings.topics.dlq], expected, timeout_s)

    def opened(self, letter: DeadLetter) -> bytes:
        """The raw bytes of a dead letter, unsealed with this test's DLQ key."""
        cipher = DlqCipher.from_settings(self.settings.privacy)
        assert cipher is not None and letter.raw_sealed is not None
        return cipher.open(letter.raw_sealed, letter.aad)

    def records(self, topics: list[str], expected: int, timeout_s: float = 30) -> list[bytes]:
        """All values on these topics (waits until `expected` arrived, or timeout_s passed)."""
        consumer = KafkaConsumer(consumer_timeout_ms=1000, **self.settings.kafka.client_config())
        try:
            consumer.assign(
                [
                    TopicPartition(topic, p)
                    for topic in topics
                    for p in consumer.partitions_for_topic(topic) or ()
                ]
            )
            consumer.seek_to_beginning()
            records: list[bytes] = []
            deadline = time.monotonic() + timeout_s
            while len(records) < expected and time.monotonic() < deadline:
                records.extend(record.value for record in consumer)
            return records
        finally:
            consumer.close()

    def all_records(self, topics: list[str], timeout_s: float = 120) -> list[bytes]:
        """Every value on these topics, read up to the end offsets they had when called."""
        consumer = KafkaConsumer(**self.settings.kafka.client_config())
        try:
            partitions = [
                TopicPartition(topic, p)
                for topic in topics
                for p in consumer.partitions_for_topic(topic) or ()
            ]
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            ends = consumer.end_offsets(partitions)
            values: list[bytes] = []
            pending = {tp for tp, end in ends.items() if end > 0}
            deadline = time.monotonic() + timeout_s
            while pending:
                assert time.monotonic() < deadline, (
                    f"topics not read to their end in {timeout_s}s: "
                    f"{sorted(f'{tp.topic}[{tp.partition}]' for tp in pending)}"
                )
                for batch in consumer.poll(timeout_ms=1000).values():
                    values.extend(record.value for record in batch)
                pending = {tp for tp in pending if consumer.position(tp) < ends[tp]}
            return values
        finally:
            consumer.close()

    def uncommitted(self, topic: str) -> int:
        """Records of `topic` past the worker group's committed offsets (all, if none)."""
        admin = kafka_admin(self.settings.kafka)
        consumer = KafkaConsumer(**self.settings.kafka.client_config())
        try:
            parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            ends = consumer.end_offsets(parts)
            group = self.settings.worker.app_id
            committed = admin.list_group_offsets({group: parts})[group]
            return sum(
                end - max(0, committed[tp].offset if tp in committed else 0)
                for tp, end in ends.items()
            )
        finally:
            consumer.close()
            admin.close()

    def alert_topics(self) -> list[str]:
        topics = self.settings.topics
        return [topics.alerts_ops, topics.alerts_security, topics.alerts_compliance]


def points_by_measurement(influx: InfluxSettings, site_prefix: str) -> Counter[str]:
    """Distinct points (one per series+timestamp) per measurement on this InfluxDB, for sites
    whose id starts with `site_prefix`."""
    counts: Counter[str] = Counter()
    buckets = influx.buckets
    with influx_client(influx) as client:
        for bucket in (buckets.telemetry, buckets.audit):
            # Tag and field predicates in one filter are pushed down to the storage engine.
            tables = client.query_api().query(
                f'from(bucket: "{bucket}") |> range(start: -1d, stop: 1d) '
                f'|> filter(fn: (r) => r.site =~ /^{site_prefix}/ and r._field == "event_id") '
                '|> group(columns: ["_measurement"]) |> count()',
            )
            for table in tables:
                for record in table:
                    counts[record.values["_measurement"]] += record.get_value()
    return counts


class Worker:
    """One `sovwatch worker` process; a context manager that stops it (SIGTERM) on exit."""

    def __init__(
        self,
        pipeline: Isolated,
        name: str,
        env: dict[str, str],
        args: tuple[str, ...] = (),
        cwd: Path | None = None,
    ) -> None:
        self.args = args  # of `sovwatch worker`
        self.cwd = cwd
        self.port = free_port()
        self.log = pipeline.log_dir / f"worker-{name}.log"
        self.env = {
            "SOVWATCH_WORKER__DATA_DIR": str(pipeline.log_dir / f"worker-{name}-data"),
            **env,
            "SOVWATCH_WORKER__WEB_PORT": str(self.port),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self._log_from = 0  # where the current start's output begins in the (appended) log

    def __enter__(self) -> Worker:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self, timeout_s: float = 90) -> None:
        self.launch()
        self.wait_ready(timeout_s)

    def launch(self) -> None:
        """Start the process without waiting for it (several workers start faster together)."""
        self._log_from = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [SOVWATCH, "worker", *self.args],
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout_s: float = 90) -> None:
        """Until this start (not an earlier one in the same log) says Ready."""
        assert self.process is not None, "wait_ready before launch"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited: {self.log_since_launch()[-3000:]}")
            if "[^Worker]: Ready" in self.log_since_launch():
                return
            time.sleep(0.2)
        self.stop(signal.SIGKILL)  # __exit__ never runs when __enter__ fails: no orphan
        raise AssertionError(f"worker not ready in {timeout_s}s: {self.log_since_launch()[-3000:]}")

    def log_since_launch(self) -> str:
        with self.log.open("rb") as log:
            log.seek(self._log_from)
            return log.read().decode(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> bool:
        """Signal the process and wait for it; True if it exited by itself within 60 s (else it
        was killed), or was not running."""
        exited = True
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                exited = False
                self.process.kill()
                self.process.wait()
        self.process = None
        return exited

    def metric(self, name: str, label: str = "") -> float:
        """Sum of all samples of a metric on this worker's /metrics (those with `label`, e.g.
        'outcome="committed"', if given)."""
        text = self.page("/metrics").decode()
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith((name + "{", name + " ")) and label in line
        )

    def page(self, path: str, token: str | None = None) -> bytes:
        """GET a page of this worker, with its web token (or `token`) if one is set."""
        token = token or self.env.get("SOVWATCH_WORKER__WEB_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=headers)
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - http://127.0.0.1
            body: bytes = response.read()
            return body

    def rss_mib(self) -> float:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")
