"""`sovwatch audit` on a real chain in InfluxDB: verify, export (and its HTML in a real browser),
and tampering done to InfluxDB itself, each reported at the right sequence number."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from influxdb_client.client.write_api import SYNCHRONOUS
from typer.testing import CliRunner

from agents.audit.checkpoints import checkpoint_line
from agents.audit.records import DIGESTS, HASH, PREV_HASH, SEQ, chain_record, record_line
from schemas.settings import InfluxSettings
from streams.admin.connect import influx_client
from streams.admin.produce import produce
from streams.cli.audit import audit_app
from streams.report.chromium import rendered_dom, screenshot
from tests.integration.agents.audit_harness import (  # noqa: F401 - fixtures by name
    audit_records,
    checkpoints,
    keypair,
    servers,
    stored,
)
from tests.integration.pipeline import Isolated, wait_for

pytestmark = pytest.mark.usefixtures("servers")
runner = CliRunner()
EVENTS = 12


def _verify(site: str, public: Path) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(
        audit_app, ["verify", "--site", site, "--public-key", str(public), "--json"]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)


def _errors(report: dict[str, Any]) -> set[tuple[str, int]]:
    return {(f["kind"], f["seq"]) for f in report["findings"] if f["kind"] != "unsigned_tail"}


def _write(influx: InfluxSettings, lines: list[str]) -> None:
    with influx_client(influx) as client:
        writer = client.write_api(write_options=SYNCHRONOUS)
        writer.write(bucket=influx.buckets.audit, org=influx.org, record=lines)


def test_verify_export_and_tampering_in_influxdb(unique: str, tmp_path: Path) -> None:
    private, public = keypair(tmp_path)
    pipeline = Isolated(unique, tmp_path, SOVWATCH_AUDIT__SIGNING_KEY=private)
    sites = {f"v{unique}-{name}": "DE" for name in ("ok", "edit", "del", "ins", "swap", "sig")}
    with pipeline.worker() as worker:
        produce(pipeline.settings.kafka, audit_records(pipeline, sites, EVENTS))
        assert wait_for(lambda: all(len(stored(pipeline, s)) == EVENTS for s in sites))
        result = runner.invoke(
            audit_app, ["checkpoint", "--worker", f"http://127.0.0.1:{worker.port}"]
        )
        assert result.exit_code == 0, result.output
    for site in sites:
        code, report = _verify(site, public)
        assert code == 0 and report["ok"] and _errors(report) == set(), report

    # Export: every file, the same report as verify, an HTML page a browser renders.
    ok_site = f"v{unique}-ok"
    bundle = tmp_path / "evidence.zip"
    result = runner.invoke(
        audit_app, ["export", "--site", ok_site, "--out", str(bundle), "--public-key", str(public)]
    )
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        in_bundle = json.loads(zf.read("verification.json"))
        zf.extract("summary.html", tmp_path)
        lines = zf.read("records.jsonl").splitlines()
    assert {"records.jsonl", "records.csv", "checkpoints.jsonl", "public_key.pem"} <= names
    assert {"verification.json", "verification.txt", "summary.html", "manifest.json"} <= names
    assert len(lines) == EVENTS
    _, now = _verify(ok_site, public)
    assert {k: in_bundle[k] for k in ("ok", "records", "checkpoints", "sites", "findings")} == {
        k: now[k] for k in ("ok", "records", "checkpoints", "sites", "findings")
    }
    _screenshot(tmp_path / "summary.html", tmp_path / "summary.png")

    # Tampering with InfluxDB itself.
    influx = pipeline.settings.influxdb
    chain = {site: stored(pipeline, site) for site in sites}
    edit = chain[f"v{unique}-edit"][4]
    _write(influx, [record_line({**edit, "actor_id": "p_000000000000000000000000"})])
    gone = chain[f"v{unique}-del"][6]
    with influx_client(influx) as client:
        t = _rfc3339(int(gone["time_ns"]))
        client.delete_api().delete(
            t,
            t,
            f'_measurement="audit" AND site="{gone["site"]}"',
            influx.buckets.audit,
            influx.org,
        )
    base = chain[f"v{unique}-ins"][3]
    forged = {k: v for k, v in base.items() if k not in (HASH, DIGESTS, SEQ, PREV_HASH)}
    forged |= {"event_id": "forged-1", "time_ns": int(base["time_ns"]) + 1_000_000_000}
    _write(influx, [record_line(chain_record(forged, 4, str(base[PREV_HASH])))])
    a, b = chain[f"v{unique}-swap"][2], chain[f"v{unique}-swap"][8]
    _write(influx, [record_line({**a, SEQ: 9}), record_line({**b, SEQ: 3})])
    cp = checkpoints(pipeline, f"v{unique}-sig")[-1]
    other = checkpoints(pipeline, ok_site)[-1]
    _write(influx, [checkpoint_line(replace(cp, signature=other.signature))])

    expected = {
        "edit": {("altered", 5)},
        "del": {("missing", 7)},
        "ins": {("inserted", 4)},
        "swap": {("reordered", 3), ("reordered", 9)},
        "sig": {("bad_checkpoint", EVENTS)},
    }
    for name, findings in expected.items():
        code, report = _verify(f"v{unique}-{name}", public)
        assert code == 1 and not report["ok"]
        assert _errors(report) == findings, report
    _, edited = _verify(f"v{unique}-edit", public)
    assert "actor_id" in edited["findings"][0]["detail"]


def _rfc3339(ns: int) -> str:
    seconds, rest = divmod(ns, 1_000_000_000)
    stamp = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + f".{rest:09d}Z"


def _screenshot(page: Path, png: Path) -> None:
    """Render the summary in headless Chromium (Debian package `chromium`): it must load from
    the file with no server and draw its SVG charts."""
    dom = rendered_dom(page)
    screenshot(page, png, width=1200, height=1600)
    assert "INTACT" in dom and dom.count("<svg") >= 3 and "<rect" in dom
    assert png.stat().st_size > 20_000  # a rendered page, not a blank one
