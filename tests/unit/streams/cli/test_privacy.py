"""Pseudonyms across a key rotation: reveal with the right key only; audit look-ups by real id
search under every key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agents.privacy import Pseudonymiser
from schemas.errors import SovwatchError
from schemas.settings import Settings
from streams.cli.audit import _actor
from streams.cli.privacy import privacy_app
from streams.config import get_settings
from streams.evidence.store import Filters, records_flux

OLD, NEW = "old-key-0123456789abcdef", "new-key-0123456789abcdef"
runner = CliRunner()


@pytest.fixture
def rotated(monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("SOVWATCH_PRIVACY__PSEUDONYM_KEY", NEW)
    monkeypatch.setenv("SOVWATCH_PRIVACY__PREVIOUS_PSEUDONYM_KEYS", json.dumps([OLD]))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_reveal_finds_the_holder_of_a_pseudonym_from_before_the_rotation(
    rotated: Settings, tmp_path: Path
) -> None:
    before = Pseudonymiser(OLD.encode())("B-1234")
    holders = tmp_path / "holders.txt"
    holders.write_text("B-0001\nB-1234\nB-9999\n")
    result = runner.invoke(privacy_app, ["reveal", before, "--candidates", str(holders)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "B-1234"


def test_reveal_without_the_key_in_use_finds_nothing(
    rotated: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOVWATCH_PRIVACY__PREVIOUS_PSEUDONYM_KEYS")
    get_settings.cache_clear()
    before = Pseudonymiser(OLD.encode())("B-1234")
    holders = tmp_path / "holders.txt"
    holders.write_text("B-1234\n")
    result = runner.invoke(privacy_app, ["reveal", before, "--candidates", str(holders)])
    assert isinstance(result.exception, SovwatchError)
    assert "none of the 1 candidates" in str(result.exception)


def test_pseudonymise_uses_the_current_key(rotated: Settings) -> None:
    result = runner.invoke(privacy_app, ["pseudonymise", "B-1234"])
    assert result.output.strip() == Pseudonymiser(NEW.encode())("B-1234")


def test_an_audit_look_up_by_real_id_matches_the_pseudonyms_of_every_key(
    rotated: Settings,
) -> None:
    actors = _actor("operator-7", rotated)
    assert actors == (
        Pseudonymiser(NEW.encode())("operator-7"),
        Pseudonymiser(OLD.encode())("operator-7"),
    )
    flux = records_flux("audit", Filters(actor=actors))
    assert f'(r.actor_id == "{actors[0]}" or r.actor_id == "{actors[1]}")' in flux
