"""Which InfluxDB token each process picks: explicit setting, the native stack's file, the main
token, in that order; the stack's files only for the stack's own (local) InfluxDB."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from schemas.settings import InfluxSettings, Settings, StackSettings
from streams.admin.influx_tokens import (
    AUDIT_READER,
    GRAFANA,
    ROLES,
    WORKER,
    audit_reader,
    grafana_datasource_token,
    tokens_dir,
    worker_token_env,
)


def settings_in(run_dir: Path, **influx: object) -> Settings:
    return Settings(
        stack=StackSettings(run_dir=run_dir),
        influxdb=InfluxSettings(token=SecretStr("operator"), **influx),
    )


def store(settings: Settings, role_name: str, value: str) -> None:
    directory = tokens_dir(settings.stack)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / role_name).write_text(value + "\n")


def test_roles_grant_least_privilege() -> None:
    buckets = InfluxSettings().buckets
    assert WORKER.bucket_grants(buckets) == [
        ("write", "telemetry"),
        ("write", "alerts"),
        ("write", "audit"),
    ]
    assert AUDIT_READER.bucket_grants(buckets) == [("read", "audit")]
    assert {action for action, _ in GRAFANA.bucket_grants(buckets)} == {"read"}
    assert len({role.name for role in ROLES}) == 3


def test_without_stack_files_everything_falls_back_to_the_main_token(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    assert audit_reader(settings).token.get_secret_value() == "operator"
    token, source = grafana_datasource_token(settings)
    assert token.get_secret_value() == "operator" and "no read-only token" in source
    assert worker_token_env(settings) == {}


def test_stack_files_are_used_and_an_explicit_setting_wins(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    for role, value in ((AUDIT_READER, "reader"), (GRAFANA, "grafana"), (WORKER, "worker")):
        store(settings, role.name, value)
    assert audit_reader(settings).token.get_secret_value() == "reader"
    assert grafana_datasource_token(settings)[0].get_secret_value() == "grafana"
    assert worker_token_env(settings) == {"SOVWATCH_INFLUXDB__TOKEN": "worker"}
    explicit = settings_in(tmp_path, audit_read_token=SecretStr("mine"))
    assert audit_reader(explicit).token.get_secret_value() == "mine"
    assert "reader" not in grafana_datasource_token(settings)[1]  # the source, never the value


def test_stack_files_are_ignored_for_a_remote_influxdb(tmp_path: Path) -> None:
    settings = settings_in(tmp_path, url="https://influx.example:8086")
    store(settings, AUDIT_READER.name, "reader")
    assert audit_reader(settings).token.get_secret_value() == "operator"
