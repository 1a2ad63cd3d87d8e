"""Residency fails closed: once a map is set, a country without a target is refused (its events
dead-lettered, named), unless the operator chose the main InfluxDB as default; map keys are
validated when settings load."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from agents.influx.residency import Residency
from agents.ingest.steps import Ingest
from agents.privacy import Pseudonymiser
from agents.rules.fixtures import build_event
from schemas.errors import DecodeError
from schemas.settings import Settings

DE = {"url": "http://influx-de.invalid:8086", "org": "de", "token": "de-token-secret"}


def settings(default: str = "none", residency: dict[str, object] | None = None) -> Settings:
    return Settings.model_validate(
        {
            "influxdb": {"url": "http://influx-main.invalid:8086", "residency": residency or {}},
            "residency": {"default": default},
        }
    )


def raw(country: str) -> bytes:
    event = build_event({"family": "gpu", "gpu_util_pct": 50.0, "country": country}, "g1")
    return event.model_dump_json().encode()


def test_a_country_without_a_target_is_dead_lettered_with_its_name() -> None:
    ingest = Ingest(settings(residency={"DE": DE}), Pseudonymiser(b"k" * 24))
    assert ingest.decode(raw("DE"), "telemetry.gpu").country == "DE"
    with pytest.raises(DecodeError) as refused:
        ingest.decode(raw("FR"), "telemetry.gpu")
    assert str(refused.value).startswith("no residency target for FR")
    assert [issue.field for issue in refused.value.issues] == ["country"]


def test_an_explicit_default_stores_other_countries_on_the_main_influxdb() -> None:
    residency = Residency.from_settings(settings("influxdb", {"DE": DE}))
    assert residency.target_for("DE").url == DE["url"]
    assert residency.target_for("FR").url == "http://influx-main.invalid:8086"


def test_without_a_map_the_main_influxdb_stores_every_country() -> None:
    residency = Residency.from_settings(settings())
    assert residency.target_for("FR").url == "http://influx-main.invalid:8086"


@pytest.mark.parametrize("key", ["de", "XX", "DEU", ""])
def test_a_map_key_that_is_no_iso_code_fails_at_load(key: str) -> None:
    with pytest.raises(ValidationError, match=r"influxdb\.residency"):
        settings(residency={key: DE})


def test_the_policy_is_logged_at_start_without_tokens(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="agents.influx.residency"):
        Residency.from_settings(settings("influxdb", {"DE": DE})).log_policy()
    logged = caplog.text
    assert "DE -> http://influx-de.invalid:8086" in logged
    assert "countries other than DE are stored on http://influx-main.invalid:8086" in logged
    assert "de-token-secret" not in logged
