"""Reload: a changed file is swapped in and its changes logged; a broken one is refused."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from agents.sites.lint import load_registry
from agents.sites.registry import Sites
from agents.sites.reload import Reloader, open_sites
from schemas.errors import SovwatchError
from schemas.settings import SiteSettings
from tests.unit.agents.sites.helpers import REGISTRY, registry_file


def test_a_changed_file_is_loaded_and_what_changed_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = registry_file(tmp_path)
    sites = Sites(load_registry(path))
    reloader = Reloader(path, sites)
    assert not reloader.check()  # unchanged
    path.write_text(REGISTRY.replace("tz: Asia/Riyadh", "tz: Asia/Dubai") + _new_site())
    with caplog.at_level(logging.INFO):
        assert reloader.check()
    assert sites.current is not None and "dxb-1" in sites.current.sites
    assert "added dxb-1; ruh-1: tz changed" in caplog.text


def test_a_broken_file_is_refused_and_the_previous_registry_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = registry_file(tmp_path)
    sites = Sites(load_registry(path))
    before = sites.current
    reloader = Reloader(path, sites)
    path.write_text(REGISTRY.replace("tz: Asia/Tokyo", "tz: Mars/Olympus"))
    assert not reloader.check()
    assert sites.current is before
    assert "refused, the previous one stays in force" in caplog.text
    assert "'Mars/Olympus' is not an IANA time zone" in caplog.text
    assert not reloader.check()  # said once per version, not at every look
    assert reloader.check(force=True) is False  # SIGHUP: read again, still refused


def test_open_sites_fails_clearly_or_warns_without_a_registry(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = registry_file(tmp_path, REGISTRY.replace("allocated_w: 30000", "allocated_w: -1"))
    with pytest.raises(
        SovwatchError, match=r"(?s)does not lint.*allocated_w: Input should be greater than 0"
    ):
        open_sites(SiteSettings(registry=broken))
    caplog.clear()
    assert open_sites(SiteSettings()).current is None
    (warning,) = caplog.records
    assert warning.levelno == logging.WARNING
    assert "no site registry" in warning.message and "as before the registry" in warning.message


def _new_site() -> str:
    return "  - {id: dxb-1, country: AE, tz: Asia/Dubai}\n"
