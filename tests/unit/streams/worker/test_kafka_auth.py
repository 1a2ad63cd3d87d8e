"""Kafka client security from settings: kafka-python config and Faust (aiokafka) credentials."""

from __future__ import annotations

import ssl
from pathlib import Path

import faust
import pytest
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from schemas.settings import KafkaSettings, Settings
from streams.stack.tls import ensure_certificates
from streams.worker.app import create_app
from streams.worker.kafka_auth import faust_credentials, ssl_context


@pytest.fixture
def cafile(tmp_path: Path) -> Path:
    return ensure_certificates(tmp_path / "tls").ca_cert


def secure(cafile: Path) -> KafkaSettings:
    return KafkaSettings.model_validate(
        {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_username": "sovwatch",
            "sasl_password": "s3cret",
            "ssl_cafile": str(cafile),
        }
    )


def test_sasl_without_credentials_is_a_settings_error_naming_what_is_missing() -> None:
    with pytest.raises(ValueError, match=r"sasl_username.*sasl_password"):
        KafkaSettings.model_validate(
            {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512"}
        )


def test_kafka_python_config_for_sasl_ssl(cafile: Path) -> None:
    config = secure(cafile).client_config()
    assert config["security_protocol"] == "SASL_SSL"
    assert config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert config["sasl_plain_username"] == "sovwatch"
    assert config["sasl_plain_password"] == "s3cret"
    assert config["ssl_cafile"] == str(cafile)


def test_plaintext_clients_get_no_tls_or_sasl_keys_even_if_some_are_set(cafile: Path) -> None:
    kafka = KafkaSettings.model_validate({"ssl_cafile": str(cafile), "sasl_mechanism": "PLAIN"})
    config = kafka.client_config()
    assert not any(key.startswith(("sasl", "ssl")) for key in config)
    assert faust_credentials(kafka) is None
    assert ssl_context(kafka) is None


def test_faust_gets_scram_over_a_verifying_tls_context(cafile: Path) -> None:
    credentials = faust_credentials(secure(cafile))
    assert isinstance(credentials, faust.SASLCredentials)
    auth = credentials_to_aiokafka_auth(credentials)
    assert auth["security_protocol"] == "SASL_SSL"
    assert auth["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (auth["sasl_plain_username"], auth["sasl_plain_password"]) == ("sovwatch", "s3cret")
    context = auth["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert any("sovwatch dev Kafka CA" in str(ca["subject"]) for ca in context.get_ca_certs())
    assert "s3cret" not in repr(credentials)


def test_tls_without_sasl_gives_ssl_credentials(cafile: Path) -> None:
    kafka = KafkaSettings.model_validate({"security_protocol": "SSL", "ssl_cafile": str(cafile)})
    auth = credentials_to_aiokafka_auth(faust_credentials(kafka))
    assert auth["security_protocol"] == "SSL"
    assert "sasl_mechanism" not in auth


def test_the_worker_app_uses_the_kafka_settings_credentials(cafile: Path) -> None:
    app = create_app(Settings.model_validate({"kafka": secure(cafile).model_dump()}))
    auth = credentials_to_aiokafka_auth(app.conf.broker_credentials)
    assert auth["security_protocol"] == "SASL_SSL"
    assert auth["sasl_plain_username"] == "sovwatch"
    assert create_app(Settings.model_validate({})).conf.broker_credentials is None
