"""Authentication and encryption on the private secure broker (`conftest.secure_broker`)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError as AIOKafkaConnectionError
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from kafka import KafkaAdminClient
from kafka.errors import KafkaTimeoutError
from pydantic import SecretStr

from schemas.errors import StackError
from streams.admin.connect import kafka_admin
from streams.admin.kafka_principals import WORKER, collector
from streams.admin.produce import produce
from streams.admin.topics import partition_counts
from streams.simulator.recent import recent_records, small_fleet
from streams.stack import Stack
from streams.worker.kafka_auth import faust_credentials
from tests.integration.pipeline import Isolated, settings_from, wait_for
from tests.integration.streams.conftest import SITE, SecureBroker


def test_the_broker_serves_only_sasl_ssl_and_keeps_secrets_out_of_files_and_logs(
    secure_broker: SecureBroker,
) -> None:
    node = secure_broker.node
    server = (node.workdir / "server.properties").read_text()
    assert f"listeners=SASL_SSL://{node.bootstrap},CONTROLLER://" in server
    assert "PLAINTEXT://" not in server
    assert "CONTROLLER:SASL_PLAINTEXT" in server  # the controller authenticates too
    log = node.process.log_file.read_text()
    admin_password = node.security.admin_password_file.read_text()
    assert admin_password not in log
    for user in node.security.users:
        assert (node.security.users_dir / user).read_text().strip() not in log + server
    assert secure_broker.password not in log + server
    assert "sasl.enabled.mechanisms = [SCRAM-SHA-512]" in log


def test_topics_are_created_by_the_admin_client_over_sasl_ssl(
    secure_broker: SecureBroker, unique: str, tmp_path: Path
) -> None:
    pipeline = Isolated(unique, tmp_path, **secure_broker.env)  # runs ensure_topics
    assert pipeline.settings.kafka.security_protocol == "SASL_SSL"
    names = pipeline.settings.topics.all_names()
    admin = kafka_admin(pipeline.settings.kafka)
    try:
        assert partition_counts(admin, names) == dict.fromkeys(names, 4)
    finally:
        admin.close()


def test_a_worker_consumes_over_sasl_ssl_and_stores_in_influxdb(
    stack: Stack, secure_broker: SecureBroker, unique: str, tmp_path: Path
) -> None:
    pipeline = Isolated(unique, tmp_path, **secure_broker.env)
    site = f"s{unique}"
    records = list(
        recent_records(pipeline.settings.topics, small_fleet(((site, "DE"),)), minutes=1)
    )
    by_topic = {
        getattr(pipeline.settings.topics, family): family
        for family in ("gpu", "power", "physical", "audit")
    }
    expected = Counter(by_topic[topic] for topic, _, _ in records)
    offset = secure_broker.log_size()
    with pipeline.worker() as worker:  # as the `worker` user
        # Least privilege end to end: a site's collector writes, the worker reads and stores.
        assert produce(secure_broker.kafka_as(collector(SITE)), records) == len(records)
        assert wait_for(lambda: pipeline.points_by_measurement(site) == expected, timeout_s=90), (
            pipeline.points_by_measurement(site),
            expected,
        )
        assert worker.metric("sovwatch_events_stored_total") == len(records)
    worker_log = worker.log.read_text()
    assert secure_broker.password not in worker_log
    assert "SASL_USERNAME" not in worker_log
    assert worker.env["SOVWATCH_KAFKA__SASL_USERNAME"] == WORKER
    denied = secure_broker.node.process.log_file.read_bytes()[offset:].decode(errors="replace")
    assert f"Principal = User:{WORKER} is Denied" not in denied  # its grants were enough


def refused(broker: SecureBroker, caplog: pytest.LogCaptureFixture, **config: object) -> str:
    """Try an admin client with this config, which must fail; returns the client's error log."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="kafka"), pytest.raises(KafkaTimeoutError):
        KafkaAdminClient(
            bootstrap_servers=[broker.node.bootstrap],
            request_timeout_ms=2000,
            bootstrap_timeout_ms=2000,
            **config,
        )
    client_log = "\n".join(record.getMessage() for record in caplog.records)
    assert "Unable to bootstrap" in client_log
    return client_log


def saw_authentication_refused(client_log: str) -> bool:
    """The client sees the broker's error response or, racing it, just the closed connection.

    Which one arrives first varies from run to run, for a wrong password and an unknown user alike.
    """
    return "SaslAuthenticationFailedError" in client_log or "socket disconnected" in client_log


@pytest.mark.parametrize(
    ("user", "password_suffix", "broker_says"),
    [
        # The broker's authenticator names the mechanism, and the refusal is its last line.
        ("sovwatch-client", "x", "invalid credentials with SASL mechanism SCRAM-SHA-512"),
        ("mallory", "", "invalid credentials with SASL mechanism"),
    ],
    ids=["wrong-password", "unknown-user"],
)
def test_a_client_without_valid_credentials_is_refused(
    secure_broker: SecureBroker,
    caplog: pytest.LogCaptureFixture,
    user: str,
    password_suffix: str,
    broker_says: str,
) -> None:
    offset = secure_broker.log_size()
    client = refused(
        secure_broker,
        caplog,
        security_protocol="SASL_SSL",
        ssl_cafile=secure_broker.cafile,
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username=user,
        sasl_plain_password=secure_broker.password + password_suffix,
    )
    assert saw_authentication_refused(client)
    assert secure_broker.logged_since(offset, broker_says)
    if user == "sovwatch-client":  # a known user: the broker records why it refused
        assert broker_says in (secure_broker.node.refusal_since(offset) or "")


def test_a_tls_client_without_credentials_gets_nothing_but_the_handshake(
    secure_broker: SecureBroker, caplog: pytest.LogCaptureFixture
) -> None:
    offset = secure_broker.log_size()
    client = refused(
        secure_broker, caplog, security_protocol="SSL", ssl_cafile=secure_broker.cafile
    )
    assert "socket disconnected" in client
    assert secure_broker.logged_since(
        offset, "Unexpected Kafka request of type METADATA during SASL handshake"
    )


def test_a_plaintext_client_cannot_talk_to_the_tls_listener(
    secure_broker: SecureBroker, caplog: pytest.LogCaptureFixture
) -> None:
    offset = secure_broker.log_size()
    client = refused(secure_broker, caplog)  # kafka-python's default: PLAINTEXT
    assert "socket disconnected" in client
    assert secure_broker.logged_since(offset, "(SSL handshake failed)")
    assert secure_broker.node.refusal_since(offset) == "SSL handshake failed"


def test_a_client_that_does_not_trust_the_ca_refuses_the_broker(
    secure_broker: SecureBroker, caplog: pytest.LogCaptureFixture
) -> None:
    client = refused(
        secure_broker,
        caplog,
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username="sovwatch-client",
        sasl_plain_password=secure_broker.password,
    )
    assert "CERTIFICATE_VERIFY_FAILED" in client


def test_faust_credentials_with_a_wrong_password_are_refused_by_the_broker(
    secure_broker: SecureBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """The worker's client library (aiokafka) with what `create_app` gives Faust."""
    settings = settings_from(secure_broker.env)

    async def start_producer(password: str) -> None:
        kafka = settings.kafka.model_copy(update={"sasl_password": SecretStr(password)})
        producer = AIOKafkaProducer(
            bootstrap_servers=kafka.bootstrap_servers,
            request_timeout_ms=3000,
            **credentials_to_aiokafka_auth(faust_credentials(kafka)),
        )
        try:
            await asyncio.wait_for(producer.start(), 15)
        finally:
            await producer.stop()

    asyncio.run(start_producer(secure_broker.password))
    with (
        caplog.at_level(logging.ERROR, logger="aiokafka"),
        pytest.raises(AIOKafkaConnectionError, match="Unable to bootstrap"),
    ):
        asyncio.run(start_producer("wrong-" + secure_broker.password))
    assert "invalid credentials with SASL mechanism SCRAM-SHA-512" in caplog.text


def test_stack_readiness_fails_fast_with_the_brokers_reason_for_a_wrong_password(
    secure_broker: SecureBroker,
) -> None:
    settings = settings_from(
        {**secure_broker.env, "SOVWATCH_KAFKA__SASL_PASSWORD": "not-" + secure_broker.password}
    )
    node = Stack(settings).kafka  # the same running broker, seen by a misconfigured client
    started = time.monotonic()
    with pytest.raises(StackError) as err:
        node.wait_ready(timeout_s=60)
    assert time.monotonic() - started < 20
    assert "invalid credentials with SASL mechanism SCRAM-SHA-512" in str(err.value)
    assert "SOVWATCH_KAFKA__SASL_USERNAME/_PASSWORD" in str(err.value)
    assert secure_broker.password not in str(err.value)
