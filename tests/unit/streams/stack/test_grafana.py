"""GrafanaNode's configuration and secrets, without starting Grafana."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from streams.errors import SovwatchError, StackError
from streams.settings import GrafanaSettings, Settings, StackSettings
from streams.stack import Stack
from streams.stack.grafana import GrafanaNode, resolve_token


def node(tmp_path: Path, port: int = 13999) -> GrafanaNode:
    stack = StackSettings(cache_dir=tmp_path / "cache", run_dir=tmp_path / "run")
    return GrafanaNode(stack, GrafanaSettings(), port)


def test_config_binds_loopback_on_the_settings_port_and_keeps_the_password_out(
    tmp_path: Path,
) -> None:
    grafana = node(tmp_path)
    ini = grafana.configure().read_text()
    password = grafana.password_file.read_text().strip()
    assert "http_addr = 127.0.0.1" in ini
    assert "http_port = 13999" in ini
    assert f"admin_password = $__file{{{grafana.password_file}}}" in ini
    assert password not in ini
    assert stat.S_IMODE(grafana.password_file.stat().st_mode) == 0o600
    assert f"data = {tmp_path / 'run' / 'grafana' / 'data'}" in ini


def test_the_admin_password_is_generated_once(tmp_path: Path) -> None:
    grafana = node(tmp_path)
    grafana.configure()
    first = grafana.password_file.read_text()
    grafana.configure()
    assert grafana.password_file.read_text() == first


def test_stack_takes_grafanas_port_from_its_url_and_refuses_remote_ones() -> None:
    stack = Stack(Settings.model_validate({"grafana": {"url": "http://localhost:23000"}}))
    assert stack.grafana.url == "http://127.0.0.1:23000"
    with pytest.raises(StackError) as err:
        Stack(Settings.model_validate({"grafana": {"url": "https://grafana.example"}}))
    assert "SOVWATCH_GRAFANA__URL" in str(err.value)


def test_token_setting_wins_over_the_stack_token_file(tmp_path: Path) -> None:
    token_file = tmp_path / "sovwatch-token"
    token_file.write_text("from-file\n")
    assert resolve_token(GrafanaSettings(), token_file) == "from-file"
    configured = GrafanaSettings(token=SecretStr("from-env"))
    assert resolve_token(configured, token_file) == "from-env"


def test_missing_token_names_the_setting_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(SovwatchError) as err:
        resolve_token(GrafanaSettings(), tmp_path / "absent")
    assert "SOVWATCH_GRAFANA__TOKEN" in err.value.message
    assert "sovwatch stack up" in err.value.hint
