"""A thin, typed face on `grafana_client` that turns its failures into sovwatch's user errors.

Paths are relative to `/api`, as in Grafana's HTTP API reference. A missing object is `None`
(`get`), never an exception, because "does it exist yet?" is the provisioner's main question.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import niquests
from grafana_client import GrafanaApi
from grafana_client.client import (
    GrafanaClientError,
    GrafanaException,
    GrafanaUnauthorizedError,
)

from schemas.errors import ServiceUnreachableError, SovwatchError

CREDENTIALS_HINT = (
    "set SOVWATCH_GRAFANA__TOKEN (or --token) to a token of a Grafana service account with the "
    "Admin role (Administration > Service accounts in your Grafana)"
)


class Grafana:
    """One Grafana server and org, authenticated with a service-account token (or basic auth)."""

    def __init__(
        self,
        url: str,
        auth: str | tuple[str, str] | None,
        timeout_s: float = 10.0,
        org_id: int | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SovwatchError(
                f"Grafana URL '{url}' is not an http(s) URL",
                "set SOVWATCH_GRAFANA__URL (or --url) to e.g. http://127.0.0.1:3000",
            )
        self.url = url.rstrip("/")
        self._api = GrafanaApi(
            auth=auth,
            host=parts.hostname,
            port=parts.port,
            protocol=parts.scheme,
            url_path_prefix=parts.path.strip("/") + "/" if parts.path.strip("/") else "",
            timeout=timeout_s,
            organization_id=org_id,
        )

    def _call(self, method: str, path: str, body: Any = None, missing_ok: bool = False) -> Any:
        runner = getattr(self._api.client, method)
        try:
            return runner(path, json=body) if body is not None else runner(path)
        except GrafanaUnauthorizedError as exc:
            raise SovwatchError(
                f"Grafana at {self.url} rejected the credentials", CREDENTIALS_HINT
            ) from exc
        except GrafanaClientError as exc:
            if exc.status_code == 404 and missing_ok:
                return None
            if exc.status_code == 403:
                raise SovwatchError(
                    f"Grafana at {self.url} refused {method} /api{path}: permission denied",
                    "the service account needs the Admin role in this org",
                ) from exc
            raise SovwatchError(
                f"Grafana at {self.url} refused {method} /api{path}: {_message(exc)}",
                "Grafana's message says what it did not accept",
            ) from exc
        except (GrafanaException, niquests.exceptions.RequestException) as exc:
            if isinstance(exc, GrafanaException) and exc.status_code >= 500:
                raise SovwatchError(
                    f"Grafana at {self.url} failed on {method} /api{path}: {exc}",
                    "see the Grafana server log",
                ) from exc
            raise ServiceUnreachableError("Grafana", self.url, type(exc).__name__) from exc

    def get(self, path: str) -> Any:
        """The decoded JSON answer, or None when Grafana answers 404."""
        return self._call("GET", path, missing_ok=True)

    def post(self, path: str, body: Any) -> Any:
        return self._call("POST", path, body)

    def put(self, path: str, body: Any) -> Any:
        return self._call("PUT", path, body)

    def delete(self, path: str) -> Any:
        return self._call("DELETE", path)

    def health(self) -> dict[str, Any]:
        """GET /api/health (no authentication needed)."""
        answer: dict[str, Any] = self._call("GET", "/health")
        return answer


def _message(exc: GrafanaException) -> str:
    response = exc.response
    if isinstance(response, dict) and "message" in response:
        return f"HTTP {exc.status_code}: {response['message']}"
    return f"HTTP {exc.status_code}"
