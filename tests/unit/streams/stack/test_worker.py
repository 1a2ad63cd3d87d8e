"""What a worker started by the stack is given: its scoped InfluxDB token and Kafka login, and a
place for its local state."""

from __future__ import annotations

from pathlib import Path

from schemas.settings import Settings, StackSettings, WorkerSettings
from streams.admin.influx_tokens import tokens_dir
from streams.admin.kafka_principals import users_dir
from streams.stack.worker import WorkerNode, worker_env


def test_a_stack_worker_gets_the_worker_token_and_on_the_secure_broker_the_worker_user(
    tmp_path: Path,
) -> None:
    for kafka_security in ("plaintext", "sasl_ssl"):
        stack = StackSettings(run_dir=tmp_path, kafka_security=kafka_security)
        for directory, secret in ((tokens_dir(stack), "influx-w"), (users_dir(stack), "kafka-w")):
            directory.mkdir(parents=True, exist_ok=True)
            (directory / "worker").write_text(secret)
        env = worker_env(Settings(stack=stack))
        assert env["SOVWATCH_INFLUXDB__TOKEN"] == "influx-w"
        if kafka_security == "plaintext":
            assert "SOVWATCH_KAFKA__SASL_USERNAME" not in env
        else:
            assert env["SOVWATCH_KAFKA__SASL_USERNAME"] == "worker"
            assert env["SOVWATCH_KAFKA__SASL_PASSWORD"] == "kafka-w"


def test_a_stack_worker_keeps_its_state_in_the_run_dir_unless_told_otherwise(
    tmp_path: Path,
) -> None:
    stack = StackSettings(run_dir=tmp_path)
    assert WorkerNode(stack, WorkerSettings()).data_dir == tmp_path / "worker" / "data"
    chosen = WorkerSettings(data_dir=tmp_path / "elsewhere")
    assert WorkerNode(stack, chosen).data_dir == tmp_path / "elsewhere"
