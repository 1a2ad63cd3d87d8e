"""SOVWATCH_WORKER__WEB_TOKEN on a real `sovwatch worker`: every page, sovwatch's and Faust's
own, answers 401 without the bearer token; the CLI and the test harness send it."""

from __future__ import annotations

import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.integration.agents.audit_harness import keypair, servers  # noqa: F401 - fixture
from tests.integration.pipeline import SOVWATCH, Isolated, Worker

pytestmark = pytest.mark.usefixtures("servers")

TOKEN = "web-token-for-the-test-4f1d9a7c0b2e"
PAGES = (
    ("GET", "/metrics"),
    ("GET", "/health"),
    ("POST", "/audit/checkpoint"),
    ("GET", "/router/"),
)


def status(worker: Worker, method: str, path: str, header: str | None) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{worker.port}{path}",
        method=method,
        data=b"" if method == "POST" else None,
        headers={"Authorization": header} if header is not None else {},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def checkpoint_cli(worker: Worker, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SOVWATCH, "audit", "checkpoint", "--worker", f"http://127.0.0.1:{worker.port}"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        check=False,
    )


def test_every_page_needs_the_bearer_token(unique: str, tmp_path: Path) -> None:
    private, _ = keypair(tmp_path)
    pipeline = Isolated(
        unique,
        tmp_path,
        SOVWATCH_WORKER__WEB_TOKEN=TOKEN,
        SOVWATCH_AUDIT__SIGNING_KEY=private,
    )
    with pipeline.worker() as worker:
        for method, path in PAGES:
            assert status(worker, method, path, None) == 401, path
            assert status(worker, method, path, f"Bearer {TOKEN}x") == 401, path
            assert status(worker, method, path, f"Bearer {TOKEN[:-1]}") == 401, path
            assert status(worker, method, path, TOKEN) == 401, path  # no scheme
            assert status(worker, method, path, f"Bearer {TOKEN}") == 200, path
        assert worker.metric("sovwatch_events_in_total") == 0  # the harness sends the token

        refused = checkpoint_cli(worker)
        assert refused.returncode == 2
        assert refused.stderr.count("\n") == 1, refused.stderr
        assert "HTTP 401" in refused.stderr and "SOVWATCH_WORKER__WEB_TOKEN" in refused.stderr

        accepted = checkpoint_cli(worker, SOVWATCH_WORKER__WEB_TOKEN=TOKEN)
        assert accepted.returncode == 0, accepted.stderr
        assert "nothing to sign" in accepted.stdout
        assert TOKEN not in accepted.stdout + accepted.stderr + refused.stderr


def test_without_a_token_the_pages_stay_open(unique: str, tmp_path: Path) -> None:
    pipeline = Isolated(unique, tmp_path)
    pipeline.env.pop("SOVWATCH_WORKER__WEB_TOKEN", None)  # the developer flow sets none
    with pipeline.worker() as worker:
        assert status(worker, "GET", "/health", None) == 200
