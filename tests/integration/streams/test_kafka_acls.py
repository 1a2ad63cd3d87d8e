"""ACLs on the private secure broker (`conftest.secure_broker`): every user does its job, and
each thing it must not do is refused by the broker, with the error the client gets and the
authorizer's own log line.

Each test has its own topics and app id; `Isolated` grants them as `stack up` grants the
configured ones.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import (
    GroupAuthorizationFailedError,
    KafkaError,
    TopicAuthorizationFailedError,
)

from schemas.settings import KafkaSettings
from streams.admin.connect import values_to_end
from streams.admin.kafka_principals import ALERTS_READER, WORKER, Grant, collector, grants, users
from streams.stack.kafka_acls import held_acls, sync_acls, to_acl, wait_applied
from tests.integration.pipeline import Isolated
from tests.integration.streams.conftest import SITE, SecureBroker


@pytest.fixture
def pipeline(secure_broker: SecureBroker, unique: str, tmp_path: Path) -> Isolated:
    return Isolated(unique, tmp_path, **secure_broker.env)


def send(kafka: KafkaSettings, topic: str, **config: object) -> None:
    """Produce one record and wait for the broker's answer."""
    producer = KafkaProducer(max_block_ms=10_000, **kafka.client_config(), **config)
    try:
        producer.send(topic, key=b"site", value=b"{}").get(timeout=15)
    finally:
        producer.close()


def join(kafka: KafkaSettings, group: str, topic: str) -> list[bytes]:
    """Read `topic` as a member of consumer group `group` (what a worker does)."""
    consumer = KafkaConsumer(group_id=group, auto_offset_reset="earliest", **kafka.client_config())
    try:
        consumer.subscribe([topic])
        values: list[bytes] = []
        deadline = time.monotonic() + 30
        while not values and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=1000).values():
                values += [record.value for record in records]
        return values
    finally:
        consumer.close()


def denied(broker: SecureBroker, offset: int, user: str, operation: str, resource: str) -> bool:
    """Whether the broker's authorizer logged refusing `operation` on `resource` to `user`."""
    return broker.logged_since(
        offset,
        f"Principal = User:{user} is Denied operation = {operation} from host = 127.0.0.1 on "
        f"resource = {resource} ",
    )


def test_a_collector_writes_the_input_topics_and_nothing_else(
    secure_broker: SecureBroker, pipeline: Isolated
) -> None:
    topics = pipeline.settings.topics
    user = collector(SITE)
    kafka = secure_broker.kafka_as(user)
    for topic in topics.input_names():
        send(kafka, topic)

    offset = secure_broker.log_size()
    with pytest.raises(TopicAuthorizationFailedError):
        values_to_end(kafka, [topics.gpu], timeout_s=10)
    assert denied(secure_broker, offset, user, "READ", f"Topic:LITERAL:{topics.gpu}")
    with pytest.raises(TopicAuthorizationFailedError):
        send(kafka, topics.alerts_security)
    # Not even its metadata: the alert topic does not exist for a collector.
    assert denied(
        secure_broker, offset, user, "DESCRIBE", f"Topic:LITERAL:{topics.alerts_security}"
    )
    with pytest.raises(GroupAuthorizationFailedError):
        join(kafka, pipeline.settings.worker.app_id, topics.gpu)
    app_id = pipeline.settings.worker.app_id
    assert denied(secure_broker, offset, user, "DESCRIBE", f"Group:LITERAL:{app_id}")


def test_the_alerts_reader_reads_the_alert_topics_and_writes_nothing(
    secure_broker: SecureBroker, pipeline: Isolated
) -> None:
    topics = pipeline.settings.topics
    for topic in topics.alert_names():
        send(pipeline.settings.kafka, topic)  # the operator, standing in for the worker
    send(pipeline.settings.kafka, topics.gpu)
    kafka = secure_broker.kafka_as(ALERTS_READER)
    assert values_to_end(kafka, topics.alert_names(), timeout_s=15) == [b"{}"] * 3

    offset = secure_broker.log_size()
    # The telemetry topic is hidden from it: its metadata answers "not authorised".
    admin = KafkaAdminClient(**kafka.client_config())
    try:
        [described] = admin.describe_topics([topics.gpu])
    finally:
        admin.close()
    assert described["error_code"] == TopicAuthorizationFailedError.errno
    assert denied(secure_broker, offset, ALERTS_READER, "DESCRIBE", f"Topic:LITERAL:{topics.gpu}")

    for topic in (topics.alerts_ops, topics.gpu, topics.dlq):
        offset = secure_broker.log_size()
        with pytest.raises(TopicAuthorizationFailedError):
            send(kafka, topic, enable_idempotence=False)
        operation = "WRITE" if topic == topics.alerts_ops else "DESCRIBE"
        assert denied(secure_broker, offset, ALERTS_READER, operation, f"Topic:LITERAL:{topic}")
    # kafka-python's default (idempotent) producer does not even get a producer id.
    with pytest.raises(KafkaError, match="ClusterAuthorizationFailedError"):
        send(kafka, topics.alerts_ops)


def test_the_worker_reads_its_inputs_writes_its_outputs_and_cannot_write_telemetry(
    secure_broker: SecureBroker, pipeline: Isolated
) -> None:
    topics = pipeline.settings.topics
    app_id = pipeline.settings.worker.app_id
    kafka = secure_broker.kafka_as(WORKER)
    send(pipeline.settings.kafka, topics.power)  # the operator, standing in for a collector
    assert join(kafka, app_id, topics.power) == [b"{}"]
    for topic in (topics.dlq, *topics.alert_names(), topics.audit_checkpoints):
        send(kafka, topic)
    admin = KafkaAdminClient(**kafka.client_config())
    try:
        admin.create_topics([NewTopic(f"{app_id}-rule_state-changelog", 1, 1)])  # Faust's own

        offset = secure_broker.log_size()
        with pytest.raises(TopicAuthorizationFailedError):
            admin.create_topics([NewTopic(f"not-{app_id}-changelog", 1, 1)])
        assert denied(
            secure_broker, offset, WORKER, "CREATE", f"Topic:LITERAL:not-{app_id}-changelog"
        )
    finally:
        admin.close()

    offset = secure_broker.log_size()
    with pytest.raises(TopicAuthorizationFailedError):
        send(kafka, topics.gpu)  # a worker never forges telemetry
    assert denied(secure_broker, offset, WORKER, "WRITE", f"Topic:LITERAL:{topics.gpu}")
    with pytest.raises(GroupAuthorizationFailedError):
        join(kafka, f"other-{app_id}", topics.power)
    assert denied(secure_broker, offset, WORKER, "DESCRIBE", f"Group:LITERAL:other-{app_id}")


def test_stack_up_leaves_each_user_exactly_its_grants(
    secure_broker: SecureBroker, pipeline: Isolated
) -> None:
    settings = pipeline.settings
    stray = Grant(WORKER, "write", "topic", settings.topics.gpu)
    admin = KafkaAdminClient(**settings.kafka.client_config())  # the operator: a super user
    try:
        admin.create_acls([to_acl(stray)])
        wait_applied(admin, [WORKER], {to_acl(stray)}, prune=False)
        sync_acls(admin, users(settings.stack), grants(settings))
        held = held_acls(admin, users(settings.stack))
    finally:
        admin.close()
    assert held == {to_acl(grant) for grant in grants(settings)}
