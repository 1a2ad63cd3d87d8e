"""Settings: one object, read from the environment, secrets never shown."""

from __future__ import annotations

import pytest

from schemas.settings import InfluxSettings, KafkaSettings, Settings


def test_nested_environment_variables_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOVWATCH_KAFKA__BOOTSTRAP_SERVERS", "10.0.0.5:9092,10.0.0.6:9092")
    monkeypatch.setenv("SOVWATCH_INFLUXDB__BUCKETS__TELEMETRY", "tele-eu")
    monkeypatch.setenv("SOVWATCH_TOPICS__PARTITIONS", "12")
    settings = Settings()
    assert settings.kafka.client_config()["bootstrap_servers"] == ["10.0.0.5:9092", "10.0.0.6:9092"]
    assert settings.influxdb.buckets.telemetry == "tele-eu"
    assert settings.topics.partitions == 12


def test_secrets_do_not_appear_in_reprs_or_dumps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOVWATCH_INFLUXDB__TOKEN", "tok-very-secret")
    monkeypatch.setenv("SOVWATCH_KAFKA__SASL_PASSWORD", "pw-very-secret")
    settings = Settings()
    shown = repr(settings) + str(settings) + settings.model_dump_json()
    assert "tok-very-secret" not in shown
    assert "pw-very-secret" not in shown
    assert settings.influxdb.token.get_secret_value() == "tok-very-secret"


def test_sasl_settings_reach_the_kafka_client_config() -> None:
    kafka = KafkaSettings.model_validate(
        {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_username": "worker",
            "sasl_password": "s3cret",
        }
    )
    config = kafka.client_config()
    assert config["security_protocol"] == "SASL_SSL"
    assert config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert config["sasl_plain_username"] == "worker"
    assert config["sasl_plain_password"] == "s3cret"


def test_plaintext_config_carries_no_sasl_keys() -> None:
    assert not any(key.startswith("sasl") for key in KafkaSettings().client_config())


def test_invalid_values_are_rejected_naming_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOVWATCH_TOPICS__PARTITIONS", "0")
    with pytest.raises(ValueError, match="partitions"):
        Settings()


def test_every_topic_name_is_listed_once() -> None:
    names = Settings().topics.all_names()
    assert len(names) == len(set(names)) == 12
    assert "telemetry.gpu" in names
    assert "audit.checkpoints" in names
    assert "telemetry.telegraf" in names
    assert "telemetry.otlp" in names
    assert "sovwatch.dlq.replays" in names


def test_each_store_is_listed_once_with_its_countries() -> None:
    de = {"url": "http://influx-de.invalid:8086", "org": "de", "token": "de-token-secret"}
    fr = {**de, "org": "fr"}
    influx = InfluxSettings.model_validate({"residency": {"DE": de, "AT": de, "FR": fr}})
    stores = influx.stores()
    assert list(stores) == ["main", "AT,DE", "FR"]
    assert (stores["AT,DE"].url, stores["AT,DE"].org) == (de["url"], "de")
    assert stores["AT,DE"].token.get_secret_value() == "de-token-secret"
    assert stores["FR"].residency == {} and stores["FR"].buckets == stores["main"].buckets
