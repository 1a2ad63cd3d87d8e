"""The systems of the peer benchmark, each run once on the pre-filled topics: start it, wait
until its consumer group has committed the end of every topic (tests/bench/drain.py), check that its
InfluxDB bucket holds a point for every event, stop it. Each run writes to buckets of its own,
deleted after the check. A failure raises `RunFailedError` with the reason.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from benchenv import count_points, make_bucket, start_worker
from drain import Drain, Ends, RunFailedError, stop, wait_drained
from kafka import KafkaAdminClient
from peers import telegraf
from raw_limits import drain_raw, influx_raw

from schemas.settings import Settings
from streams.admin.connect import influx_client

HERE = Path(__file__).parent
QUIX_VENV = Path.home() / ".cache" / "sovwatch" / "quix-venv"
RULES_OFF = HERE / "peers" / "rules-off"


@dataclass(frozen=True)
class Prefill:
    topics: dict[str, str]  # family -> topic
    ends: Ends
    lines: list[str]  # the events as line protocol, for the raw InfluxDB limit
    events: dict[str, int]  # family -> distinct events

    @property
    def total(self) -> int:
        return sum(self.ends.values())


@dataclass(frozen=True)
class Runner:
    settings: Settings
    admin: KafkaAdminClient
    data: Prefill
    env: dict[str, str]  # the run's topics and key (benchenv.run_env)
    run: str
    context: dict[str, int]  # broker and InfluxDB pids, for CPU shares
    logs: Path
    timeout_s: float
    stall_s: float

    def _bucket(self, tag: str, kind: str) -> str:
        return make_bucket(self.settings, f"bench-{self.run}-{tag}-{kind}")

    def _drain(self, group: str, procs: dict[str, subprocess.Popen[bytes]], log: Path) -> Drain:
        try:
            return wait_drained(
                self.admin,
                group,
                self.data.ends,
                procs,
                self.context,
                timeout_s=self.timeout_s,
                stall_s=self.stall_s,
                log=log,
            )
        finally:
            stop(procs)

    def _check_points(self, buckets: list[str]) -> None:
        stored = sum(count_points(self.settings, b) for b in buckets)
        expected = sum(self.data.events.values())
        try:
            if stored < expected:
                raise RunFailedError(
                    f"offsets drained, but InfluxDB holds {stored:,} of {expected:,} points "
                    f"({', '.join(buckets)})"
                )
        finally:
            with influx_client(self.settings.influxdb) as client:
                api = client.buckets_api()
                for name in buckets:
                    if (found := api.find_bucket_by_name(name)) is not None:
                        api.delete_bucket(found)

    def sovwatch(self, workers: int, rules: bool, tag: str) -> Drain:
        """`workers` x `sovwatch worker` of this checkout, one consumer group."""
        app_id = f"bench-{self.run}-{tag}"
        buckets = {kind: self._bucket(tag, kind) for kind in ("telemetry", "alerts", "audit")}
        extra = {f"SOVWATCH_INFLUXDB__BUCKETS__{k.upper()}": v for k, v in buckets.items()}
        if not rules:
            extra["SOVWATCH_ALERTS__RULES_DIR"] = str(RULES_OFF)
        log = self.logs / f"{tag}.log"
        procs: dict[str, subprocess.Popen[bytes]] = {}
        try:
            for n in range(workers):
                procs[f"worker {n + 1}"] = start_worker(self.env, app_id, log, extra)
        except BaseException:
            stop(procs)
            raise
        drained = self._drain(app_id, procs, log)
        self._check_points([buckets["telemetry"], buckets["audit"]])
        return drained

    def _peer(self, cmd: list[str], env: dict[str, str], group: str, tag: str) -> Drain:
        log = self.logs / f"{tag}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        return self._drain(group, {tag.split("-")[0]: proc}, log)

    def _peer_env(self, prefix: str, group: str, bucket: str) -> dict[str, str]:
        influx = self.settings.influxdb
        return {
            **os.environ,
            f"{prefix}_TOPICS": ",".join(self.data.topics.values()),
            f"{prefix}_GROUP": group,
            f"{prefix}_BOOTSTRAP": self.settings.kafka.bootstrap_servers.split(",")[0],
            f"{prefix}_INFLUX_URL": influx.url,
            f"{prefix}_INFLUX_TOKEN": influx.token.get_secret_value(),
            f"{prefix}_INFLUX_ORG": influx.org,
            f"{prefix}_BUCKET": bucket,
        }

    def telegraf(self, tag: str) -> Drain:
        if not telegraf.BIN.is_file():
            raise RunFailedError(f"{telegraf.BIN} is missing: run docker/native/telegraf.sh")
        group = f"bench-{self.run}-{tag}"
        bucket = self._bucket(tag, "telegraf")
        influx = self.settings.influxdb
        conf = self.logs / f"{tag}.conf"
        conf.write_text(
            telegraf.config(
                self.data.topics,
                group,
                self.settings.kafka.bootstrap_servers.split(",")[0],
                influx.url,
                influx.token.get_secret_value(),
                influx.org,
                bucket,
            )
        )
        conf.chmod(0o600)
        drained = self._peer([str(telegraf.BIN), "--config", str(conf)], {}, group, tag)
        self._check_points([bucket])
        return drained

    def plain(self, tag: str) -> Drain:
        group = f"bench-{self.run}-{tag}"
        bucket = self._bucket(tag, "plain")
        cmd = [sys.executable, str(HERE / "peers" / "plain_loop.py")]
        drained = self._peer(cmd, self._peer_env("PLAIN", group, bucket), group, tag)
        self._check_points([bucket])
        return drained

    def quix(self, tag: str) -> Drain:
        python = QUIX_VENV / "bin" / "python"
        if not python.is_file():
            raise RunFailedError(f"{python} is missing: run tests/bench/peers/quix-venv.sh")
        group = f"bench-{self.run}-{tag}"
        bucket = self._bucket(tag, "quix")
        cmd = [str(python), str(HERE / "peers" / "quix_app.py")]
        drained = self._peer(cmd, self._peer_env("QUIX", group, bucket), group, tag)
        self._check_points([bucket])
        return drained

    def raw_consumer(self, tag: str) -> Drain:
        partitions: dict[str, list[int]] = {}
        for tp in self.data.ends:
            partitions.setdefault(tp.topic, []).append(tp.partition)
        return asyncio.run(drain_raw(self.settings, partitions, self.data.total, self.context))

    def raw_influx(self, tag: str) -> Drain:
        bucket = self._bucket(tag, "raw")
        drained = asyncio.run(influx_raw(self.settings, bucket, self.data.lines, self.context))
        self._check_points([bucket])
        return drained
