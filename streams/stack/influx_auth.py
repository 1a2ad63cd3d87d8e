"""Create (or reuse) the scoped InfluxDB tokens of `streams.admin.influx_tokens` through the v2 API.

Each role's token is kept in `<dir>/<role>` and its authorization id in `<dir>/<role>.id`, both
mode 0600 from creation. A stored token is reused while its authorization exists, is active and
grants exactly the role's permissions on today's bucket ids; otherwise it is deleted (when it
still exists) and replaced. A file lock keeps concurrent `stack up`s from racing.
"""

from __future__ import annotations

import fcntl
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import SecretStr

from schemas.errors import StackError
from schemas.settings import InfluxBuckets
from streams.admin.influx_tokens import ROLES, Role

Permission = tuple[str, str, str, str]  # action, resource type, resource id, org id


def write_private(path: Path, text: str) -> None:
    """Replace `path` atomically with a file that is 0600 from its first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    os.replace(temporary, path)


class ScopedTokens:
    """The scoped tokens of one InfluxDB org, managed with its operator token."""

    def __init__(
        self,
        url: str,
        operator_token: SecretStr,
        org: str,
        buckets: InfluxBuckets,
        directory: Path,
        timeout_s: float = 10.0,
    ) -> None:
        self.url = url.rstrip("/")
        self._operator = operator_token
        self.org = org
        self.buckets = buckets
        self.directory = directory
        self.timeout_s = timeout_s

    def ensure(self) -> dict[str, Path]:
        """Every role's token file, created or replaced where needed."""
        with self._locked():
            org_id = self._org_id()
            return {role.name: self._ensure(role, org_id) for role in ROLES}

    def wanted(self, role: Role, org_id: str) -> list[dict[str, Any]]:
        """The role's permissions as the authorizations API takes them."""
        return [
            {
                "action": action,
                "resource": {
                    "type": "buckets",
                    "id": self._bucket_id(name, org_id),
                    "orgID": org_id,
                },
            }
            for action, name in role.bucket_grants(self.buckets)
        ]

    def _ensure(self, role: Role, org_id: str) -> Path:
        token_file = self.directory / role.name
        id_file = self.directory / f"{role.name}.id"
        wanted = self.wanted(role, org_id)
        current = self._stored(token_file, id_file)
        if current is not None:
            if current.get("status") == "active" and _perms(current) == _perms_of(wanted):
                return token_file
            self._request("DELETE", f"/api/v2/authorizations/{quote(str(current['id']))}")
        created = self._request(
            "POST",
            "/api/v2/authorizations",
            {"orgID": org_id, "description": f"sovwatch {role.name}", "permissions": wanted},
        )
        write_private(token_file, str(created["token"]))
        write_private(id_file, str(created["id"]))
        return token_file

    def _stored(self, token_file: Path, id_file: Path) -> dict[str, Any] | None:
        """The authorization behind the stored token, if both files and it exist."""
        try:
            auth_id = id_file.read_text().strip()
            if not token_file.read_text().strip():
                return None
        except OSError:
            return None
        found = self._request("GET", f"/api/v2/authorizations/{quote(auth_id)}", missing_ok=True)
        return found if isinstance(found, dict) else None

    def _org_id(self) -> str:
        orgs = self._request("GET", f"/api/v2/orgs?org={quote(self.org)}", missing_ok=True)
        if not orgs or not orgs.get("orgs"):
            raise StackError(f"InfluxDB at {self.url} has no org '{self.org}'")
        return str(orgs["orgs"][0]["id"])

    def _bucket_id(self, name: str, org_id: str) -> str:
        found = self._request(
            "GET", f"/api/v2/buckets?orgID={quote(org_id)}&name={quote(name)}", missing_ok=True
        )
        if not found or not found.get("buckets"):
            raise StackError(
                f"InfluxDB at {self.url} has no bucket '{name}'", "run 'sovwatch setup' first"
            )
        return str(found["buckets"][0]["id"])

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None, missing_ok: bool = False
    ) -> Any:
        request = urllib.request.Request(  # noqa: S310 - the configured InfluxDB URL
            self.url + path,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={
                "Authorization": f"Token {self._operator.get_secret_value()}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and missing_ok:
                return None
            message = _influx_message(exc)
            raise StackError(
                f"InfluxDB at {self.url} refused {method} {path.split('?')[0]} "
                f"(HTTP {exc.code}): {message}",
                "the operator token (SOVWATCH_INFLUXDB__TOKEN) must be an all-access token",
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            raise StackError(f"InfluxDB at {self.url} did not answer: {exc}") from None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        with (self.directory / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _perms_of(permissions: list[dict[str, Any]]) -> set[Permission]:
    return {
        (
            str(p["action"]),
            str(p["resource"].get("type")),
            str(p["resource"].get("id")),
            str(p["resource"].get("orgID")),
        )
        for p in permissions
    }


def _perms(authorization: dict[str, Any]) -> set[Permission]:
    return _perms_of(list(authorization.get("permissions") or []))


def _influx_message(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read()).get("message", ""))
    except (ValueError, AttributeError, OSError):
        return ""
