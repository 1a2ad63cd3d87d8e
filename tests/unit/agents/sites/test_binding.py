"""The country binding: with a registry, the site's registered country or a DecodeError."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.rules.fixtures import build_event
from agents.sites.binding import bind_country
from agents.sites.lint import load_registry
from agents.sites.registry import Sites
from schemas.errors import DecodeError
from tests.unit.agents.sites.helpers import registry_file


def test_the_registered_country_passes_another_is_refused_naming_both(tmp_path: Path) -> None:
    sites = Sites(load_registry(registry_file(tmp_path)))
    good = build_event({"family": "gpu", "site_id": "osa-1", "country": "JP"}, "e1")
    assert bind_country(good, sites) is good
    wrong = build_event({"family": "gpu", "site_id": "osa-1", "country": "DE"}, "e2")
    with pytest.raises(DecodeError) as refused:
        bind_country(wrong, sites)
    assert refused.value.reason == "site osa-1 is registered in JP, the event says DE"
    assert refused.value.issues[0].field == "country"


def test_an_unknown_site_is_refused_and_without_a_registry_all_pass(tmp_path: Path) -> None:
    stranger = build_event({"family": "gpu", "site_id": "xyz-9", "country": "DE"}, "e3")
    with pytest.raises(DecodeError, match="site xyz-9 is not in the site registry"):
        bind_country(stranger, Sites(load_registry(registry_file(tmp_path))))
    assert bind_country(stranger, Sites()) is stranger
