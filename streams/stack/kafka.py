"""A single-node Apache Kafka (KRaft, broker+controller) run from jars in the cache."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import time
import uuid
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from schemas.errors import StackError
from schemas.settings import KafkaSettings, StackSettings
from streams.admin.connect import kafka_admin
from streams.admin.kafka_principals import Grant
from streams.stack.kafka_acls import sync_acls
from streams.stack.kafka_security import BrokerSecurity
from streams.stack.process import ManagedProcess, ensure_port_free, port_open
from streams.stack.recipes import RECIPES, run_recipe
from streams.stack.tls import write_private

HOST = "127.0.0.1"
# Selector's INFO line, e.g. "Failed authentication with /127.0.0.1 (channelId=...) (SSL
# handshake failed) (org.apache.kafka.common.network.Selector)".
REFUSAL = re.compile(r"Failed authentication with \S+ \([^)]*\) \((.*)\) \([\w.]+\)$", re.M)


def kafka_version() -> str:
    """The Kafka version pinned in docker/native/kafka/pom.xml."""
    pom = (RECIPES / "kafka" / "pom.xml").read_text()
    return pom.split("<kafka.version>", 1)[1].split("</kafka.version>", 1)[0].strip()


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, base64url. Like Kafka's own Uuid.randomUuid it never
    starts with '-', which the storage tool's argument parser would take for an option."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class KafkaNode:
    """Install, configure, format, start and stop the dev broker."""

    def __init__(self, stack: StackSettings, kafka: KafkaSettings, port: int) -> None:
        self.stack = stack
        self.kafka = kafka
        self.port = port
        self.controller_port = port + 1
        self.workdir = stack.run_dir / "kafka"
        self.security = BrokerSecurity(stack, kafka, self.workdir)
        self.process = ManagedProcess("kafka", self.workdir)
        self.version = kafka_version()
        self.libs = stack.cache_dir / f"kafka-{self.version}" / "libs"

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    def install(self) -> None:
        if not (self.libs / f"kafka_2.13-{self.version}.jar").is_file():
            run_recipe("kafka.sh", {**os.environ, "SOVWATCH_CACHE": str(self.stack.cache_dir)})

    def _java(self, main: str, *args: str) -> list[str]:
        return [
            "java",
            f"-Xmx{self.stack.kafka_heap_mb}m",
            f"-Xms{min(256, self.stack.kafka_heap_mb)}m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.workdir / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.workdir / 'logs'}",
            "-cp",
            f"{self.libs}/*",
            main,
            *args,
        ]

    def configure(self) -> Path:
        """Write server.properties and log4j2.properties; returns the server config path."""
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{HOST}:{self.controller_port}",
            **self.security.listener_properties(HOST, self.port, self.controller_port),
            "log.dirs": str(data),
            "num.partitions": "4",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "8",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "true",
            "log.retention.hours": "168",
            "log.segment.bytes": str(64 * 1024 * 1024),
        }
        server = self.workdir / "server.properties"
        # Private: in sasl_ssl mode it holds the broker's own SCRAM password.
        write_private(server, "".join(f"{k}={v}\n" for k, v in props.items()).encode())
        (self.workdir / "log4j2.properties").write_text(
            "status = warn\n"
            "appender.out.type = Console\n"
            "appender.out.name = STDOUT\n"
            "appender.out.layout.type = PatternLayout\n"
            "appender.out.layout.pattern = [%d] %p %m (%c)%n\n"
            "rootLogger.level = INFO\n"
            "rootLogger.appenderRef.out.ref = STDOUT\n"
            "logger.kafka.name = kafka\n"
            "logger.kafka.level = INFO\n"
            "logger.org.name = org.apache.kafka\n"
            "logger.org.level = INFO\n"
        )
        return server

    def format_storage(self, server: Path) -> None:
        """Format a fresh log.dirs once (KRaft refuses to start on an unformatted one)."""
        formatted = (self.workdir / "data" / "meta.properties").is_file()
        self.security.check_storage(formatted)
        if formatted:
            return
        cluster_id = new_cluster_id()
        command = self._java(
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(server),
            *self.security.format_arguments(),
        )
        # Through a private argument file (java @file): credentials never show up in /proc.
        main = command.index("kafka.tools.StorageTool")
        argfile = self.workdir / "format.args"
        write_private(argfile, "\n".join(command[main:]).encode())
        try:
            result = subprocess.run(
                [*command[:main], f"@{argfile}"],
                capture_output=True,
                text=True,
                check=False,
            )
        finally:
            argfile.unlink(missing_ok=True)
        if result.returncode == 0:
            self.security.formatted()
        else:
            raise StackError(
                f"formatting Kafka storage failed: {result.stdout[-500:]}{result.stderr[-500:]}",
                f"remove {self.workdir} and run 'sovwatch stack up' again",
            )

    def start(self) -> None:
        if self.process.pid() is not None:
            return
        for port in (self.port, self.controller_port):
            ensure_port_free(
                HOST, port, "Kafka", "SOVWATCH_KAFKA__BOOTSTRAP_SERVERS (its controller takes +1)"
            )
        self.security.check_clients()
        self.install()
        self.security.prepare()
        server = self.configure()
        self.format_storage(server)
        self.process.start(self._java("kafka.Kafka", str(server)))

    def wait_ready(self, timeout_s: float) -> None:
        """Ready means the broker answers an admin metadata call, not that the port is open."""
        deadline = time.monotonic() + timeout_s
        last_error = "no answer yet"
        log_offset = self._log_size()
        while time.monotonic() < deadline:
            if self.process.pid() is None:
                raise StackError(
                    f"Kafka exited during start-up; last log lines:\n{self.process.log_tail()}",
                    f"full log: {self.process.log_file}",
                )
            try:
                admin = KafkaAdminClient(
                    **{
                        **self.kafka.client_config(),
                        "bootstrap_servers": [self.bootstrap],
                        "client_id": "sovwatch-stack",
                        "request_timeout_ms": 3000,
                        "bootstrap_timeout_ms": 3000,
                    }
                )
                try:
                    admin.describe_cluster()
                    admin.list_topics()
                    return
                finally:
                    admin.close()
            except KafkaError as exc:
                last_error = type(exc).__name__
                refusal = self.refusal_since(log_offset)
                if refusal:
                    raise StackError(
                        f"Kafka at {self.bootstrap} refused sovwatch's client: {refusal}",
                        "check SOVWATCH_KAFKA__SASL_USERNAME/_PASSWORD: SCRAM users are created "
                        "when the storage is formatted; to re-create them stop the stack and "
                        f"remove {self.workdir}",
                    ) from exc
            time.sleep(0.5)
        raise StackError(
            f"Kafka did not become ready at {self.bootstrap} within {timeout_s:.0f}s "
            f"({last_error})",
            f"see {self.process.log_file}",
        )

    def authorize(self, grants: list[Grant]) -> None:
        """Give the secure broker's users exactly `grants` (nothing to do in plaintext mode)."""
        if not self.security.secure:
            return
        admin = kafka_admin(self.kafka, client_id="sovwatch-stack")
        try:
            sync_acls(admin, self.security.users, grants)
        finally:
            admin.close()

    def _log_size(self) -> int:
        try:
            return self.process.log_file.stat().st_size
        except FileNotFoundError:
            return 0

    def refusal_since(self, offset: int) -> str | None:
        """The broker's reason for the last failed client authentication logged after offset.

        Clients only see a dropped connection; the broker says why (SSL handshake failed,
        invalid SCRAM credentials).
        """
        try:
            with self.process.log_file.open("rb") as log:
                log.seek(offset)
                text = log.read().decode(errors="replace")
        except FileNotFoundError:
            return None
        reasons = REFUSAL.findall(text)
        return str(reasons[-1]) if reasons else None

    def is_up(self) -> bool:
        return port_open(HOST, self.port)

    def stop(self) -> bool:
        return self.process.stop(timeout_s=45.0)
