"""Webhook headers: bearer token and an HMAC signature a receiver can verify."""

from __future__ import annotations

import hashlib
import hmac

from agents.channels.webhook import SIGNATURE, TIMESTAMP, Webhook, from_settings
from schemas.settings import Settings


def test_the_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    hook = Webhook("http://127.0.0.1:1/hook", "tok", b"key")
    body = b'{"id": "alert-1"}'
    headers = hook.headers(body, now=1_767_614_400.9)
    assert headers["Authorization"] == "Bearer tok"
    assert headers[TIMESTAMP] == "1767614400"
    expected = hmac.new(b"key", b"1767614400." + body, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE] == f"sha256={expected}"


def test_without_secrets_no_auth_headers_and_unconfigured_is_none() -> None:
    headers = Webhook("http://127.0.0.1:1/hook", None, None).headers(b"{}", now=0)
    assert headers == {"Content-Type": "application/json"}
    assert from_settings(Settings()) is None
