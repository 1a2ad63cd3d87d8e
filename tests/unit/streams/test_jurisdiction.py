"""A jurisdiction's worker and collectors use only its own Kafka cluster and InfluxDB."""

from __future__ import annotations

import pytest

from schemas.errors import SovwatchError
from schemas.settings import Settings
from streams.config import get_settings
from streams.jurisdiction import jurisdiction_settings, kafka_for

DE_INFLUX = {"url": "http://influx.de.invalid:8086", "org": "de", "token": "de-token"}
FR_INFLUX = {"url": "http://influx.fr.invalid:8086", "org": "fr", "token": "fr-token"}


def settings(**residency: object) -> Settings:
    return Settings.model_validate(
        {
            "kafka": {"bootstrap_servers": "kafka.main.invalid:9092"},
            "influxdb": {"residency": {"DE": DE_INFLUX, "FR": FR_INFLUX}},
            "residency": {
                "kafka": {
                    "DE": {"bootstrap_servers": "kafka.de.invalid:9093"},
                    "FR": {"bootstrap_servers": "kafka.fr.invalid:9093"},
                },
                **residency,
            },
        }
    )


def test_a_jurisdiction_worker_reads_its_cluster_and_stores_only_on_its_influxdb() -> None:
    de = jurisdiction_settings(settings(default="influxdb"), "DE")
    assert de.kafka.bootstrap_servers == "kafka.de.invalid:9093"
    assert (de.influxdb.url, de.influxdb.org) == (DE_INFLUX["url"], "de")
    assert de.influxdb.token.get_secret_value() == "de-token"
    assert list(de.influxdb.residency) == ["DE"]
    assert de.residency.default == "none"  # a French event on DE's cluster is dead-lettered
    assert de.worker.app_id == "sovwatch-de"


def test_a_jurisdiction_without_a_cluster_is_a_clear_error() -> None:
    with pytest.raises(SovwatchError, match="no Kafka cluster for AT"):
        jurisdiction_settings(settings(), "AT")


def test_a_jurisdiction_without_an_influxdb_is_a_clear_error() -> None:
    configured = settings(kafka={"AT": {"bootstrap_servers": "kafka.at.invalid:9093"}})
    with pytest.raises(SovwatchError, match="no InfluxDB for AT"):
        jurisdiction_settings(configured, "AT")


def test_collectors_produce_to_their_countrys_cluster_and_never_to_another() -> None:
    assert kafka_for(settings(), "FR").bootstrap_servers == "kafka.fr.invalid:9093"
    with pytest.raises(SovwatchError, match="no Kafka cluster for AT"):
        kafka_for(settings(), "AT")
    assert kafka_for(Settings(), "AT").bootstrap_servers == Settings().kafka.bootstrap_servers


def test_every_command_reads_the_chosen_jurisdiction(monkeypatch: pytest.MonkeyPatch) -> None:
    kafka = '{"FR": {"bootstrap_servers": "kafka.fr.invalid:9093"}}'
    influx = '{"FR": {"url": "http://influx.fr.invalid:8086", "audit_read_token": "fr-reader"}}'
    monkeypatch.setenv("SOVWATCH_RESIDENCY__KAFKA", kafka)
    monkeypatch.setenv("SOVWATCH_INFLUXDB__RESIDENCY", influx)
    monkeypatch.setenv("SOVWATCH_JURISDICTION", "FR")
    get_settings.cache_clear()
    try:
        chosen = get_settings()
    finally:
        get_settings.cache_clear()
    assert chosen.kafka.bootstrap_servers == "kafka.fr.invalid:9093"
    assert chosen.influxdb.url == "http://influx.fr.invalid:8086"
    assert chosen.influxdb.audit_read_token is not None
    assert chosen.influxdb.audit_read_token.get_secret_value() == "fr-reader"
