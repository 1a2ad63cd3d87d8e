"""No secret ever reaches a log, a CLI message or /metrics.

A real worker runs with distinctive values for every secret it holds (pseudonymisation key,
audit signing key, InfluxDB tokens, web token, webhook token) through a small pipeline run: an
audit event that is chained, signed and raises an alert; a webhook that refuses it; a write to
an InfluxDB target whose token is refused. Then the worker log, the output of CLI commands
(succeeding and failing ones) and the /metrics body are searched for every secret value.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from agents.rules.fixtures import build_event
from streams.admin.influx_tokens import WORKER, stack_token
from streams.admin.produce import produce
from tests.integration.agents.audit_harness import keypair, servers  # noqa: F401 - fixture
from tests.integration.pipeline import SOVWATCH, Isolated, Worker, wait_for

pytestmark = pytest.mark.usefixtures("servers")


class RefusingWebhook(BaseHTTPRequestHandler):
    """Answers 500 to every alert; remembers the Authorization headers it was sent."""

    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        RefusingWebhook.seen.append(self.headers.get("Authorization", ""))
        self.send_response(500)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), RefusingWebhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/alerts"
    finally:
        server.shutdown()
        server.server_close()


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SOVWATCH, *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def event(site: str, name: str, country: str = "DE", family: str = "audit") -> bytes:
    spec: dict[str, object] = {"family": family, "site_id": site, "country": country}
    if family == "audit":
        spec.update(
            action="data_transfer",
            dataset_id="health-records",
            classification="secret",
            source_country=country,
            destination_country="US",
            approval_ref="CHG-1",
        )
    else:
        spec["gpu_temp_c"] = 40
    spec["ts"] = datetime.now(UTC).isoformat()
    return build_event(spec, name).model_dump_json(exclude_none=True).encode()


def test_no_secret_in_worker_log_cli_output_or_metrics(
    unique: str, tmp_path: Path, webhook: str
) -> None:
    private_pem, public_file = keypair(tmp_path)
    key_body = "".join(line for line in private_pem.splitlines() if "-----" not in line)
    worker_token = stack_token(Isolated(unique, tmp_path).settings, WORKER)
    assert worker_token is not None
    secrets = {
        "pseudonym key": f"pseudonym-key-LEAKCHECK-{unique}",
        "DLQ key": hashlib.sha256(f"dlq-key-LEAKCHECK-{unique}".encode()).hexdigest(),
        "signing key (PEM body)": key_body,
        "signing key (raw)": base64.b64decode(key_body)[-32:].hex(),
        "worker InfluxDB token": worker_token.get_secret_value(),
        "refused InfluxDB token": f"influx-token-LEAKCHECK-{unique}",
        "web token": f"web-token-LEAKCHECK-{unique}",
        "webhook token": f"webhook-token-LEAKCHECK-{unique}",
    }
    influx = Isolated(unique, tmp_path).settings.influxdb  # the stack's own server and org
    residency = json.dumps(
        {"LU": {"url": influx.url, "org": influx.org, "token": secrets["refused InfluxDB token"]}}
    )
    pipeline = Isolated(
        unique,
        tmp_path,
        SOVWATCH_PRIVACY__PSEUDONYM_KEY=secrets["pseudonym key"],
        SOVWATCH_PRIVACY__DLQ_KEY=secrets["DLQ key"],
        SOVWATCH_AUDIT__SIGNING_KEY=private_pem,
        SOVWATCH_AUDIT__PUBLIC_KEY_FILE=str(public_file),
        SOVWATCH_WORKER__WEB_TOKEN=secrets["web token"],
        SOVWATCH_ALERTS__WEBHOOK_URL=webhook,
        SOVWATCH_ALERTS__WEBHOOK_TOKEN=secrets["webhook token"],
        SOVWATCH_INFLUXDB__RESIDENCY=residency,
        SOVWATCH_RESIDENCY__DEFAULT="influxdb",  # the DE site's events go to the stack's server
    )
    topics = pipeline.settings.topics
    site = f"x{unique}"
    refused = {"SOVWATCH_INFLUXDB__AUDIT_READ_TOKEN": secrets["refused InfluxDB token"]}
    as_worker = {"SOVWATCH_INFLUXDB__AUDIT_READ_TOKEN": secrets["worker InfluxDB token"]}
    outputs: dict[str, str] = {}
    with pipeline.worker() as worker:
        produce(pipeline.settings.kafka, [(topics.audit, site.encode(), event(site, "e1"))])
        assert wait_for(lambda: worker.metric("sovwatch_audit_records_total") >= 1)
        assert wait_for(lambda: worker.metric("sovwatch_alerts_total") >= 1)
        assert wait_for(lambda: f"Bearer {secrets['webhook token']}" in RefusingWebhook.seen)

        env = {**pipeline.env, **worker.env}
        url = f"http://127.0.0.1:{worker.port}"
        ran = {
            "checkpoint": cli("audit", "checkpoint", "--worker", url, env=env),
            "checkpoint, wrong web token": cli(
                "audit", "checkpoint", "--worker", url,
                env={**env, "SOVWATCH_WORKER__WEB_TOKEN": "not-it"},
            ),
            # The reader token is used: a broken main token does not matter to `audit query`.
            "query": cli(
                "audit", "query", "--site", site, "--format", "jsonl",
                env={**env, "SOVWATCH_INFLUXDB__TOKEN": secrets["refused InfluxDB token"]},
            ),
            "query, refused token": cli(
                "audit", "query", "--site", site,
                env={**env, **refused},
            ),
            "query, worker token": cli(
                "audit", "query", "--site", site,
                env={**env, **as_worker},
            ),
            "verify": cli("audit", "verify", "--site", site, env=env),
            "setup, refused token": cli(
                "setup", env={**env, "SOVWATCH_INFLUXDB__TOKEN": secrets["refused InfluxDB token"]}
            ),
        }  # fmt: skip
        assert ran["checkpoint"].returncode == 0, ran["checkpoint"].stderr
        assert site in ran["checkpoint"].stdout
        assert ran["query"].returncode == 0 and site in ran["query"].stdout, ran["query"].stderr
        assert "health-records" in ran["query"].stdout
        for name in ("checkpoint, wrong web token", "query, refused token", "query, worker token"):
            assert ran[name].returncode == 2, (name, ran[name].stderr)
            assert ran[name].stderr.count("\n") == 1, (name, ran[name].stderr)
        assert "HTTP 401" in ran["query, refused token"].stderr
        assert "HTTP 404" in ran["query, worker token"].stderr  # the worker cannot read audit
        assert ran["verify"].returncode in (0, 1), ran["verify"].stderr
        assert ran["setup, refused token"].returncode == 2, ran["setup, refused token"].stderr
        assert "Traceback" not in "".join(r.stderr for r in ran.values())
        outputs.update({f"sovwatch {k}": r.stdout + r.stderr for k, r in ran.items()})

        # Last, as it blocks the ingest agent: a write InfluxDB refuses (401), retried.
        gpu = event(f"y{unique}", "g1", country="LU", family="gpu")
        produce(pipeline.settings.kafka, [(topics.gpu, b"y", gpu)])
        assert wait_for(lambda: worker.metric("sovwatch_influx_write_failures_total") >= 2), [
            line for line in worker.page("/metrics").decode().splitlines() if "_total{" in line
        ]
        outputs["/metrics"] = worker.page("/metrics").decode()
        outputs["/health"] = worker.page("/health").decode()
    outputs["worker log"] = worker.log.read_text(errors="replace")
    assert "HTTP 401" in outputs["worker log"]  # the refused write was logged ...
    # ... and so was the refused webhook delivery
    assert re.search(r"webhook delivery of \S+ \(firing\) failed", outputs["worker log"])

    leaks = [
        f"{secret} in {where}"
        for where, text in outputs.items()
        for secret, value in secrets.items()
        if value in text
    ]
    assert not leaks, leaks


def test_the_harness_worker_gets_the_write_only_token(unique: str, tmp_path: Path) -> None:
    pipeline = Isolated(unique, tmp_path)
    worker: Worker = pipeline.worker()
    token = stack_token(pipeline.settings, WORKER)
    assert token is not None
    assert worker.env["SOVWATCH_INFLUXDB__TOKEN"] == token.get_secret_value()
    assert os.environ.get("SOVWATCH_INFLUXDB__TOKEN") != token.get_secret_value()
