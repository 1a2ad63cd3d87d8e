"""`sovwatch collect telegraf-config`: a valid TOML Telegraf configuration that sends exactly what
the Telegraf adapter maps, to the worker's topic and format. (The real Telegraf runs it in
tests/integration/collectors.)"""

from __future__ import annotations

import tomllib
from typing import Any

from agents.telegraf.mapping import EXHAUST, INLET, TelegrafAdapter
from schemas.settings import Settings
from streams.collectors.telegraf_config import AIR_SENSOR_GLOBS, SiteCollectors, telegraf_config
from tests.unit.streams.cli.run import run_cli


def config(site: SiteCollectors, **settings: Any) -> dict[str, Any]:
    return tomllib.loads(telegraf_config(site, Settings.model_validate(settings)))


def test_the_site_tags_and_kafka_output_match_the_workers_settings() -> None:
    parsed = config(
        SiteCollectors("fra-1", "DE", nvidia_smi=True),
        kafka={"bootstrap_servers": "k1:9092,k2:9092"},
        topics={"telegraf": "site.telegraf"},
    )
    assert parsed["global_tags"] == {"site": "fra-1", "country": "DE"}
    [kafka] = parsed["outputs"]["kafka"]
    assert kafka["brokers"] == ["k1:9092", "k2:9092"]
    assert (kafka["topic"], kafka["routing_tag"], kafka["data_format"]) == (
        "site.telegraf",
        "site",
        "json",
    )
    assert kafka["json_timestamp_units"] == "1ms"


def test_the_influx_format_is_written_when_the_worker_reads_it() -> None:
    parsed = config(
        SiteCollectors("fra-1", "DE", nvidia_smi=True), telegraf={"data_format": "influx"}
    )
    [kafka] = parsed["outputs"]["kafka"]
    assert kafka["data_format"] == "influx"
    assert "json_timestamp_units" not in kafka


def test_sasl_credentials_are_an_environment_reference_never_the_secret() -> None:
    text = telegraf_config(
        SiteCollectors("fra-1", "DE", nvidia_smi=True),
        Settings.model_validate(
            {
                "kafka": {
                    "security_protocol": "SASL_SSL",
                    "sasl_mechanism": "SCRAM-SHA-512",
                    "sasl_username": "site-fra-1",
                    "sasl_password": "s3cret-never-printed",
                }
            }
        ),
    )
    assert "s3cret-never-printed" not in text
    [kafka] = tomllib.loads(text)["outputs"]["kafka"]
    assert kafka["sasl_password"] == "${SOVWATCH_KAFKA_SASL_PASSWORD}"
    assert kafka["enable_tls"] is True


def test_inputs_pass_only_mapped_metrics() -> None:
    parsed = config(
        SiteCollectors("fra-1", "DE", nvidia_smi=True, redfish=["https://10.1.0.7", "https://b8"])
    )
    [nvidia] = parsed["inputs"]["nvidia_smi"]
    redfish = parsed["inputs"]["redfish"]
    assert len(redfish) == 4  # power + thermal per BMC
    passed = set(nvidia["namepass"]) | {name for r in redfish for name in r["namepass"]}
    mappers = TelegrafAdapter("json")._mappers
    assert passed == set(mappers) - {"ipmi_sensor"}  # ipmi: --ipmi, below
    assert all(r["username"] == "${REDFISH_USERNAME}" for r in redfish)
    thermal = [r for r in redfish if r["include_metrics"] == ["thermal"]]
    assert all(r["tagpass"]["name"] == AIR_SENSOR_GLOBS for r in thermal)


def test_ipmi_passes_power_and_air_sensors_of_the_local_bmc() -> None:
    [ipmi] = config(SiteCollectors("fra-1", "DE", ipmi=True))["inputs"]["ipmi_sensor"]
    assert ipmi["tagpass"]["unit"] == ["watts"]
    assert "*inlet*" in ipmi["tagpass"]["name"] and "*exhaust*" in ipmi["tagpass"]["name"]


def test_every_air_sensor_glob_is_a_name_the_adapter_maps() -> None:
    for glob in AIR_SENSOR_GLOBS:
        word = glob.strip("*")
        assert INLET.search(word) or EXHAUST.search(word), word


def test_the_command_prints_the_configuration() -> None:
    result = run_cli(
        ["collect", "telegraf-config", "--site", "fra-1", "--country", "DE",
         "--redfish", "https://10.1.0.7", "--interval", "30"],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    parsed = tomllib.loads(result.stdout)
    assert parsed["agent"]["interval"] == "30s"
    assert "nvidia_smi" not in parsed["inputs"]
    assert {r["address"] for r in parsed["inputs"]["redfish"]} == {"https://10.1.0.7"}
