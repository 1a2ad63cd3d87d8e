"""The scoped InfluxDB tokens `sovwatch stack up` creates, tried against the real InfluxDB: each
can do its job and, with the status code InfluxDB really answers, nothing more."""

from __future__ import annotations

import json
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from schemas.settings import Settings
from streams.admin.influx_tokens import AUDIT_READER, GRAFANA, ROLES, WORKER, Role, tokens_dir
from streams.stack import Stack
from streams.stack.influx_auth import ScopedTokens

PROBE = "sovwatch_token_probe"


class Influx:
    """Raw v2 API calls that return the HTTP status (and body) instead of raising."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.influxdb.url
        self.org = settings.influxdb.org
        self.buckets = settings.influxdb.buckets

    def call(self, token: str, method: str, path: str, body: bytes | None = None) -> int:
        return self.answer(token, method, path, body)[0]

    def answer(
        self, token: str, method: str, path: str, body: bytes | None = None
    ) -> tuple[int, bytes]:
        ctype = "text/plain" if path.startswith("/api/v2/write") else "application/json"
        request = urllib.request.Request(  # noqa: S310 - the stack's http://127.0.0.1 URL
            self.url + path,
            data=body,
            method=method,
            headers={"Authorization": f"Token {token}", "Content-Type": ctype},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def write(self, token: str, bucket: str, unique: str) -> int:
        line = f"{PROBE},test={unique} v=1i".encode()
        return self.call(token, "POST", f"/api/v2/write?org={self.org}&bucket={bucket}", line)

    def query(self, token: str, bucket: str) -> int:
        flux = {"query": f'from(bucket: "{bucket}") |> range(start: -1m) |> limit(n: 1)'}
        return self.call(token, "POST", f"/api/v2/query?org={self.org}", json.dumps(flux).encode())

    def org_id(self, token: str) -> str:
        status, body = self.answer(token, "GET", f"/api/v2/orgs?org={self.org}")
        assert status == 200, body
        return str(json.loads(body)["orgs"][0]["id"])


@pytest.fixture(scope="module")
def influx(stack: Stack, settings: Settings) -> Iterator[Influx]:
    api = Influx(settings)
    yield api
    operator = settings.influxdb.token.get_secret_value()
    for bucket in (api.buckets.telemetry, api.buckets.alerts, api.buckets.audit):
        predicate = {
            "start": "1970-01-01T00:00:00Z",
            "stop": "2100-01-01T00:00:00Z",
            "predicate": f'_measurement="{PROBE}"',
        }
        path = f"/api/v2/delete?org={api.org}&bucket={bucket}"
        assert api.call(operator, "POST", path, json.dumps(predicate).encode()) == 204


def token(settings: Settings, role: Role) -> str:
    return (tokens_dir(settings.stack) / role.name).read_text().strip()


def test_stack_up_stores_every_role_token_0600_and_keeps_them(
    stack: Stack, settings: Settings
) -> None:
    before = {role.name: token(settings, role) for role in ROLES}
    for role in ROLES:
        for path in (
            tokens_dir(settings.stack) / role.name,
            tokens_dir(settings.stack) / f"{role.name}.id",
        ):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert len(set(before.values())) == len(ROLES)
    assert settings.influxdb.token.get_secret_value() not in before.values()
    stack.influx.initialise()  # what every `stack up` does
    assert {role.name: token(settings, role) for role in ROLES} == before


def test_worker_token_writes_its_buckets_and_can_do_nothing_else(
    influx: Influx, settings: Settings, unique: str
) -> None:
    worker = token(settings, WORKER)
    buckets = settings.influxdb.buckets
    for bucket in (buckets.telemetry, buckets.alerts, buckets.audit):
        assert influx.write(worker, bucket, unique) == 204, bucket
    # An unreadable bucket does not exist for a token: InfluxDB answers 404.
    assert influx.query(worker, buckets.audit) == 404
    assert influx.query(worker, buckets.telemetry) == 404
    org_id = influx.org_id(settings.influxdb.token.get_secret_value())
    new_bucket = json.dumps({"orgID": org_id, "name": f"token-test-{unique}"}).encode()
    assert influx.call(worker, "POST", "/api/v2/buckets", new_bucket) == 401
    escalate = ScopedTokens(
        influx.url, settings.influxdb.token, influx.org, buckets, Path("/nonexistent")
    ).wanted(AUDIT_READER, org_id)  # a token that could read what the worker cannot
    new_token = json.dumps({"orgID": org_id, "permissions": escalate}).encode()
    assert influx.call(worker, "POST", "/api/v2/authorizations", new_token) == 401


def test_audit_reader_reads_audit_only_and_cannot_write(
    influx: Influx, settings: Settings, unique: str
) -> None:
    reader = token(settings, AUDIT_READER)
    buckets = settings.influxdb.buckets
    assert influx.query(reader, buckets.audit) == 200
    assert influx.write(reader, buckets.audit, unique) == 403
    assert influx.query(reader, buckets.telemetry) == 404
    assert influx.query(reader, buckets.alerts) == 404


def test_grafana_token_reads_the_three_buckets_and_cannot_write(
    influx: Influx, settings: Settings, unique: str
) -> None:
    grafana = token(settings, GRAFANA)
    buckets = settings.influxdb.buckets
    for bucket in (buckets.telemetry, buckets.alerts, buckets.audit):
        assert influx.query(grafana, bucket) == 200, bucket
        assert influx.write(grafana, bucket, unique) == 403, bucket


def test_a_revoked_token_is_replaced_and_a_working_one_kept(
    influx: Influx, settings: Settings, tmp_path: Path, unique: str
) -> None:
    influx_settings = settings.influxdb
    tokens = ScopedTokens(
        influx_settings.url,
        influx_settings.token,
        influx_settings.org,
        influx_settings.buckets,
        tmp_path / "tokens",
    )
    operator = influx_settings.token.get_secret_value()
    tokens.ensure()
    first = (tmp_path / "tokens" / "worker").read_text().strip()
    first_id = (tmp_path / "tokens" / "worker.id").read_text().strip()
    try:
        assert influx.call(operator, "DELETE", f"/api/v2/authorizations/{first_id}") == 204
        assert influx.write(first, influx_settings.buckets.telemetry, unique) == 401
        tokens.ensure()
        second = (tmp_path / "tokens" / "worker").read_text().strip()
        assert second != first
        assert influx.write(second, influx_settings.buckets.telemetry, unique) == 204
    finally:
        for role in ROLES:
            auth_id = (tmp_path / "tokens" / f"{role.name}.id").read_text().strip()
            influx.call(operator, "DELETE", f"/api/v2/authorizations/{auth_id}")


def test_a_token_with_other_permissions_is_replaced(
    influx: Influx, settings: Settings, tmp_path: Path
) -> None:
    """E.g. after a bucket was recreated, or the role's scope changed in code."""
    influx_settings = settings.influxdb
    operator = influx_settings.token.get_secret_value()
    directory = tmp_path / "tokens"
    tokens = ScopedTokens(
        influx_settings.url,
        influx_settings.token,
        influx_settings.org,
        influx_settings.buckets,
        directory,
    )
    org_id = influx.org_id(operator)
    too_broad = [
        *tokens.wanted(AUDIT_READER, org_id),
        *tokens.wanted(Role("x", (("read", "telemetry"),)), org_id),
    ]
    status, body = influx.answer(
        operator,
        "POST",
        "/api/v2/authorizations",
        json.dumps({"orgID": org_id, "permissions": too_broad}).encode(),
    )
    assert status == 201, body
    created = json.loads(body)
    directory.mkdir()
    (directory / "audit-reader").write_text(created["token"])
    (directory / "audit-reader.id").write_text(created["id"])
    try:
        tokens.ensure()
        assert influx.call(operator, "GET", f"/api/v2/authorizations/{created['id']}") == 404
        reader = SecretStr((directory / "audit-reader").read_text().strip())
        assert influx.query(reader.get_secret_value(), influx_settings.buckets.telemetry) == 404
        assert influx.query(reader.get_secret_value(), influx_settings.buckets.audit) == 200
    finally:
        for role in ROLES:
            auth_id = (directory / f"{role.name}.id").read_text().strip()
            influx.call(operator, "DELETE", f"/api/v2/authorizations/{auth_id}")
