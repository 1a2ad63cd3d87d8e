"""A private native broker with TLS + SASL/SCRAM-SHA-512 and ACLs
(SOVWATCH_STACK__KAFKA_SECURITY=sasl_ssl), shared by the security tests of this package.

Only Kafka runs privately (own run directory and ports); worker tests store into the shared
InfluxDB. The shared plaintext broker is never touched.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from schemas.settings import KafkaSettings
from streams.admin.kafka_principals import grants, stack_password
from streams.stack import Stack
from streams.stack.kafka import KafkaNode
from streams.stack.process import free_port, port_open
from tests.integration.pipeline import settings_from, wait_for
from tests.integration.streams.test_stack_lifecycle import processes_mentioning

SITE = "fra-1"
"""The one collector site of the secure broker: user `collector-fra-1`."""


@dataclass(frozen=True)
class SecureBroker:
    node: KafkaNode
    env: dict[str, str]
    password: str

    @property
    def cafile(self) -> str:
        return self.env["SOVWATCH_KAFKA__SSL_CAFILE"]

    def kafka_as(self, user: str) -> KafkaSettings:
        """Client settings logging in as one of the broker's users (its password file)."""
        settings = settings_from(self.env)
        password = stack_password(settings, user)
        assert password is not None, f"no password file for {user}"
        return settings.kafka.model_copy(update={"sasl_username": user, "sasl_password": password})

    def log_size(self) -> int:
        return self.node.process.log_file.stat().st_size

    def logged_since(self, offset: int, says: str) -> bool:
        """Whether the broker logged `says` after offset (it logs right after answering)."""
        log = self.node.process.log_file
        return wait_for(
            lambda: says in log.read_bytes()[offset:].decode(errors="replace"),
            timeout_s=5,
            every_s=0.1,
        )


def free_port_pair() -> int:
    """A port whose successor is free too (the controller listens on port + 1)."""
    while True:
        port = free_port()
        if port < 65535 and not port_open("127.0.0.1", port + 1):
            return port


@pytest.fixture(scope="package")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    run_dir = tmp_path_factory.mktemp("secure-stack") / "run"
    password = secrets.token_urlsafe(18) + ',="]'  # the storage tool's separators, too
    env = {
        "SOVWATCH_STACK__RUN_DIR": str(run_dir),
        "SOVWATCH_STACK__KAFKA_SECURITY": "sasl_ssl",
        "SOVWATCH_STACK__COLLECTOR_SITES": f'["{SITE}"]',
        "SOVWATCH_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port_pair()}",
        "SOVWATCH_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
        "SOVWATCH_KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
        "SOVWATCH_KAFKA__SASL_USERNAME": "sovwatch-client",
        "SOVWATCH_KAFKA__SASL_PASSWORD": password,
        "SOVWATCH_KAFKA__SSL_CAFILE": str(run_dir / "kafka" / "tls" / "ca.pem"),
    }
    settings = settings_from(env)
    node = Stack(settings).kafka  # Kafka only: InfluxDB of this stack never starts
    try:
        node.start()
        node.wait_ready(settings.stack.start_timeout_s)
        node.authorize(grants(settings))  # as `stack up` does after readiness
        yield SecureBroker(node, env, password)
    finally:
        node.stop()
    assert processes_mentioning(str(run_dir)) == []
