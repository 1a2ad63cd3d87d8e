"""The Faust (aiokafka) side of `KafkaSettings`: TLS context and SASL credentials.

kafka-python clients take `KafkaSettings.client_config()`; Faust wants a credentials object
instead, built here from the same settings so both kinds of client always agree.
"""

from __future__ import annotations

import ssl

import faust
from faust.types.auth import CredentialsT

from schemas.settings import KafkaSettings


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext | None:
    """A verifying client context (hostname and chain) trusting ssl_cafile, or the system CAs."""
    if not kafka.uses_tls:
        return None
    cafile = str(kafka.ssl_cafile.expanduser()) if kafka.ssl_cafile else None
    return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)


def faust_credentials(kafka: KafkaSettings) -> CredentialsT | None:
    """`broker_credentials` for faust.App (None for PLAINTEXT)."""
    context = ssl_context(kafka)
    if kafka.security_protocol.startswith("SASL_"):
        password = kafka.sasl_password.get_secret_value() if kafka.sasl_password else None
        return faust.SASLCredentials(
            username=kafka.sasl_username,
            password=password,
            mechanism=kafka.sasl_mechanism,
            ssl_context=context,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def aiokafka_credentials(kafka: KafkaSettings) -> dict[str, object]:
    """Connection keyword arguments for an aiokafka client of the worker's own."""
    config: dict[str, object] = {
        "bootstrap_servers": kafka.bootstrap_servers.split(","),
        "security_protocol": kafka.security_protocol,
        "request_timeout_ms": int(kafka.request_timeout_s * 1000),
    }
    context = ssl_context(kafka)
    if context is not None:
        config["ssl_context"] = context
    if kafka.security_protocol.startswith("SASL_"):
        password = kafka.sasl_password.get_secret_value() if kafka.sasl_password else None
        config |= {
            "sasl_mechanism": kafka.sasl_mechanism,
            "sasl_plain_username": kafka.sasl_username,
            "sasl_plain_password": password,
        }
    return config
