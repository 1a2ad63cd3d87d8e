"""`sovwatch grafana build|provision` without a server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from schemas.errors import SovwatchError
from streams.cli.grafana import grafana_app
from streams.config import get_settings


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SOVWATCH_STACK__RUN_DIR", str(tmp_path))
    monkeypatch.delenv("SOVWATCH_GRAFANA__TOKEN", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_build_check_passes_on_the_committed_json() -> None:
    result = CliRunner().invoke(grafana_app, ["build", "--check"])
    assert result.exit_code == 0, result.output


def test_provision_without_any_token_is_a_user_error(isolated: Path) -> None:
    result = CliRunner().invoke(grafana_app, ["provision", "--dry-run"])
    assert isinstance(result.exception, SovwatchError)
    assert "SOVWATCH_GRAFANA__TOKEN" in str(result.exception)


def test_provision_to_a_closed_port_is_unreachable(isolated: Path) -> None:
    result = CliRunner().invoke(
        grafana_app, ["provision", "--url", "http://127.0.0.1:9", "--token", "t0ken-secret"]
    )
    assert isinstance(result.exception, SovwatchError)
    assert "Grafana is not reachable at http://127.0.0.1:9" in str(result.exception)
    assert "t0ken-secret" not in str(result.exception) + result.output
