"""The bearer-token check of the worker's pages, and what clients send."""

from __future__ import annotations

from pydantic import SecretStr

from schemas.settings import WorkerSettings
from streams.worker.web_auth import authorized, client_headers

TOKEN = SecretStr("s3cret-web-token")


def test_only_the_exact_bearer_token_is_authorized() -> None:
    assert authorized("Bearer s3cret-web-token", TOKEN)
    for header in (
        None,
        "",
        "s3cret-web-token",
        "bearer s3cret-web-token",
        "Bearer s3cret-web-toke",
        "Bearer s3cret-web-tokenx",
        "Token s3cret-web-token",
        "Bearer  s3cret-web-token",
    ):
        assert not authorized(header, TOKEN), header


def test_clients_send_the_token_only_when_one_is_set() -> None:
    assert client_headers(WorkerSettings()) == {}
    with_token = WorkerSettings(web_token=TOKEN)
    assert client_headers(with_token) == {"Authorization": "Bearer s3cret-web-token"}
    assert "s3cret" not in repr(with_token)
