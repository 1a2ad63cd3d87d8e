"""`sovwatch audit verify` against checkpoints witnessed outside InfluxDB, on the real stack:
records cut together with their last checkpoint are `truncated`; the demo's flow verifies intact;
an unsigned setup is `unsigned`, not tampering.

Each `verify` runs as its own `sovwatch` process in the test's directory, with the test's topics
(its Kafka witness) and none of the repository's `.env`.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from dotenv import dotenv_values

from streams.admin.connect import influx_client
from streams.admin.produce import produce
from streams.dev.demo_audit import sign_and_explain
from streams.dev.env import ensure_dev_env
from streams.dev.next_steps import verify_args
from streams.simulator.recent import recent_records, small_fleet
from streams.stack.process import free_port
from tests.integration.agents.audit_harness import (  # noqa: F401 - fixtures by name
    audit_records,
    checkpoint_now,
    checkpoints,
    keypair,
    servers,
    stored,
)
from tests.integration.pipeline import SOVWATCH, Isolated, wait_for
from tests.integration.streams.cli.test_audit import _rfc3339

pytestmark = pytest.mark.usefixtures("servers")


def sovwatch(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SOVWATCH, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def verify(env: dict[str, str], cwd: Path, site: str, *args: str) -> tuple[int, dict[str, Any]]:
    done = sovwatch(env, cwd, "audit", "verify", "--site", site, "--json", *args)
    assert done.returncode in (0, 1, 3), done.stderr
    return done.returncode, json.loads(done.stdout)


def kinds(report: dict[str, Any]) -> set[tuple[str, int | None]]:
    return {(f["kind"], f["seq"]) for f in report["findings"] if f["kind"] != "unsigned_tail"}


def holds(isolated: Isolated, site: str, count: int) -> bool:
    return len(stored(isolated, site)) == count


def audit_counts(isolated: Isolated, records: list[tuple[str, bytes, bytes]]) -> Counter[str]:
    """Audit events per site among `records` (their key is the site)."""
    topic = isolated.settings.topics.audit
    return Counter(key.decode() for t, key, _ in records if t == topic)


def delete_points(isolated: Isolated, measurement: str, site: str, start: str, stop: str) -> None:
    influx = isolated.settings.influxdb
    with influx_client(influx) as client:
        client.delete_api().delete(
            start,
            stop,
            f'_measurement="{measurement}" AND site="{site}"',
            influx.buckets.audit,
            influx.org,
        )


def test_records_cut_with_their_last_checkpoint_are_reported_truncated(
    unique: str, tmp_path: Path
) -> None:
    private, public = keypair(tmp_path)
    witness = tmp_path / "witness"
    pipeline = Isolated(
        unique,
        tmp_path,
        SOVWATCH_AUDIT__SIGNING_KEY=private,
        SOVWATCH_AUDIT__WITNESS_DIR=str(witness),
    )
    site = f"t{unique}-cut"
    with pipeline.worker(cwd=tmp_path) as worker:
        for start, count in ((0, 8), (8, 4)):
            produce(pipeline.settings.kafka, audit_records(pipeline, {site: "DE"}, count, start))
            assert wait_for(partial(holds, pipeline, site, start + count))
            assert checkpoint_now(worker.port)
    assert sorted(p.name for p in (witness / site).iterdir()) == [
        "000000000008.json",
        "000000000012.json",
    ]
    key = ("--public-key", str(public))
    env = pipeline.env
    code, report = verify(env, tmp_path, site, *key)
    assert code == 0 and report["status"] == "intact" and kinds(report) == set(), report
    assert report["sites"][site]["witnessed_to"] == 12
    keyless = sovwatch(env, tmp_path, "audit", "verify", "--site", site)
    assert keyless.returncode == 2, "signatures to check: a key is required"
    assert "no public key to check checkpoint signatures with" in keyless.stderr

    # Cut seq 10..12 and the checkpoint 9..12 that covers them out of InfluxDB.
    chain = stored(pipeline, site)
    last = checkpoints(pipeline, site)[-1]
    assert (last.first_seq, last.last_seq) == (9, 12)
    first_cut, last_cut = (_rfc3339(int(chain[i]["time_ns"])) for i in (9, 11))
    delete_points(pipeline, "audit", site, first_cut, last_cut)
    at = datetime.fromisoformat(last.ts)
    stamp = _rfc3339((int(at.timestamp()) * 1_000_000 + at.microsecond) * 1000)
    delete_points(pipeline, "audit_checkpoint", site, stamp, stamp)
    assert len(stored(pipeline, site)) == 9 and checkpoints(pipeline, site)[-1].last_seq == 8

    unwitnessed = {k: v for k, v in env.items() if k != "SOVWATCH_AUDIT__WITNESS_DIR"}
    # InfluxDB alone cannot tell (why the witnesses exist): seq 9 looks like a record waiting
    # for the next checkpoint (these records are 3 h old, hence a longer interval).
    daily = {**unwitnessed, "SOVWATCH_AUDIT__CHECKPOINT_INTERVAL_S": "86400"}
    code, report = verify(daily, tmp_path, site, *key, "--no-kafka")
    assert code == 0 and report["status"] == "intact", report

    cut = {("truncated", 12), ("missing_checkpoint", 9)}
    for name, run_env, extra in (
        ("Kafka", unwitnessed, ()),
        ("witness directory", env, ("--no-kafka",)),
        ("both", env, ()),
    ):
        code, report = verify(run_env, tmp_path, site, *key, *extra)
        assert code == 1 and report["status"] == "tampering", name
        assert kinds(report) == cut, (name, report)
    text = sovwatch(env, tmp_path, "audit", "verify", "--site", site, *key)
    assert text.returncode == 1
    assert f"truncated          site={site} expected seq >= 12" in text.stdout
    assert "TAMPERING OR LOSS DETECTED" in text.stdout

    kafka_down = {
        **env,
        "SOVWATCH_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
        "SOVWATCH_KAFKA__CONNECT_TIMEOUT_S": "1",
    }
    down = sovwatch(kafka_down, tmp_path, "audit", "verify", "--site", site, *key)
    assert down.returncode == 2 and "Traceback" not in down.stderr, down.stderr
    (line,) = down.stderr.strip().splitlines()
    assert "Kafka is not reachable" in line and "--no-kafka" in line, line


def test_verify_right_after_the_demo_flow_exits_0_and_says_intact(
    unique: str, tmp_path: Path
) -> None:
    """What `make demo` does, shortened: keys from `make dev-env`, a worker with them, the
    demo's records, the demo's checkpoint request, then the verify command it prints."""
    ensure_dev_env(tmp_path)
    dev = {k: str(v) for k, v in dotenv_values(tmp_path / ".env").items() if v is not None}
    audit_keys = {k: v for k, v in dev.items() if k.startswith("SOVWATCH_AUDIT__")}
    pipeline = Isolated(unique, tmp_path, **audit_keys)
    sites = ((f"d{unique}-fra", "DE"), (f"d{unique}-par", "FR"))
    records = list(recent_records(pipeline.settings.topics, small_fleet(sites), minutes=3))
    audited = audit_counts(pipeline, records)
    assert set(audited) == {site for site, _ in sites}, audited
    with pipeline.worker(cwd=tmp_path) as worker:
        produce(pipeline.settings.kafka, records)
        assert wait_for(lambda: all(len(stored(pipeline, s)) == audited[s] for s, _ in sites))
        told, signed = sign_and_explain(pipeline.settings, f"http://127.0.0.1:{worker.port}")
    assert signed, told
    for site, _ in sites:
        assert f"{site} seq 1..{audited[site]}" in told, told
    command = verify_args(pipeline.settings)
    assert command is not None and command[:4] == ["audit", "verify", "--since", "-1d"]
    for site, _ in sites:
        done = sovwatch(pipeline.env, tmp_path, *command, "--site", site)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.startswith(f"INTACT: {audited[site]} records, 1 checkpoints"), (
            done.stdout
        )


def test_an_unsigned_setup_is_reported_unsigned_not_tampering(unique: str, tmp_path: Path) -> None:
    _, public = keypair(tmp_path)
    pipeline = Isolated(unique, tmp_path)  # no signing key
    site = f"u{unique}-fra"
    records = list(
        recent_records(pipeline.settings.topics, small_fleet(((site, "DE"),)), minutes=5)
    )
    audited = audit_counts(pipeline, records)[site]
    assert audited > 0
    with pipeline.worker(cwd=tmp_path):
        produce(pipeline.settings.kafka, records)
        assert wait_for(lambda: len(stored(pipeline, site)) == audited)
    # A 1 s interval: the demo's records (up to 5 minutes old) should all be signed by now.
    env = {**pipeline.env, "SOVWATCH_AUDIT__CHECKPOINT_INTERVAL_S": "1"}
    args = ("audit", "verify", "--since", "-1d", "--site", site, "--public-key", str(public))
    done = sovwatch(env, tmp_path, *args)
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stdout.startswith(
        f"UNSIGNED (no signing key configured): {audited} records, 0 checkpoints"
    ), done.stdout
    assert "TAMPERING" not in done.stdout and "missing_checkpoint" not in done.stdout
    assert "unsigned (no signing key configured)" in done.stdout
    # An unsigned setup has no key to give the verifier either: the answer is the same.
    keyless = sovwatch(env, tmp_path, *args[:-2])
    assert keyless.returncode == 3 and keyless.stdout == done.stdout, keyless.stderr


def test_a_signed_setup_before_its_first_checkpoint_is_not_yet_checkpointed(
    unique: str, tmp_path: Path
) -> None:
    """Right after new audit events, with a signing key configured: the sites have no
    checkpoint yet, which is not the same as having no key."""
    private, public = keypair(tmp_path)
    pipeline = Isolated(unique, tmp_path, SOVWATCH_AUDIT__SIGNING_KEY=private)  # 300 s interval
    site = f"n{unique}-fra"
    # 20 minutes of history: the older records are past the verifier's grace (2 x 300 s + 60 s).
    records = list(
        recent_records(pipeline.settings.topics, small_fleet(((site, "DE"),)), minutes=20)
    )
    audited = audit_counts(pipeline, records)[site]
    with pipeline.worker(cwd=tmp_path):
        produce(pipeline.settings.kafka, records)
        assert wait_for(lambda: len(stored(pipeline, site)) == audited)
        args = ("audit", "verify", "--since", "-1d", "--site", site, "--public-key", str(public))
        done = sovwatch(pipeline.env, tmp_path, *args)
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stdout.startswith(
        f"NOT YET CHECKPOINTED (NEXT IN ≤ 300 S): {audited} records, 0 checkpoints"
    ), done.stdout
    assert "no signing key" not in done.stdout and "TAMPERING" not in done.stdout
    assert f"not_checkpointed   site={site} seq " in done.stdout
