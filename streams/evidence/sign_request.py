"""Asking a running worker to sign every site's audit chain now (`audit checkpoint`, the demo)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from agents.audit.checkpoints import Checkpoint
from schemas.errors import SovwatchError


def request_checkpoints(url: str, headers: dict[str, str]) -> list[Checkpoint]:
    """Ask one worker (POST /audit/checkpoint) to sign now: the checkpoints it published."""
    if not url.startswith(("http://", "https://")):
        raise SovwatchError(f"--worker {url!r} is not an http(s) URL", "e.g. http://127.0.0.1:6066")
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
        f"{url}/audit/checkpoint", method="POST", data=b"", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            raise SovwatchError(
                f"the worker at {url} refused the request (HTTP 401)",
                "set SOVWATCH_WORKER__WEB_TOKEN to the worker's web token",
            ) from None
        if exc.code == 409:
            raise SovwatchError(
                f"the worker at {url} has no signing key",
                "start it with SOVWATCH_AUDIT__SIGNING_KEY set ('sovwatch audit keygen')",
            ) from None
        raise SovwatchError(f"the worker at {url} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise SovwatchError(
            f"no sovwatch worker answered at {url} ({exc})",
            "start one with 'sovwatch worker', or pass --worker http://HOST:PORT",
        ) from None
    return [Checkpoint.from_dict(item) for item in body.get("checkpoints", [])]
