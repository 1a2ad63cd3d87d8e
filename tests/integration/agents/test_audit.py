"""The audit agent against real Kafka and InfluxDB, with real `sovwatch worker` processes."""

from __future__ import annotations

import itertools
import signal
from pathlib import Path

import pytest

from agents.audit.checkpoints import load_public_key
from agents.audit.records import HASH, PREV_HASH, SEQ
from agents.audit.verify import verify
from streams.admin.produce import produce
from tests.integration.agents.audit_harness import (  # noqa: F401 - fixtures by name
    audit_records,
    checkpoint_now,
    checkpoints,
    keypair,
    servers,
    stored,
)
from tests.integration.pipeline import Isolated, wait_for

pytestmark = pytest.mark.usefixtures("servers")

BAD = (b"{not json", b'{"family": "audit", "site_id": "x"}')


def test_a_stream_of_audit_events_becomes_a_verifiable_chain(unique: str, tmp_path: Path) -> None:
    private, public_file = keypair(tmp_path)
    pipeline = Isolated(unique, tmp_path, SOVWATCH_AUDIT__SIGNING_KEY=private)
    sites = {f"a{unique}-1": "DE", f"a{unique}-2": "FR"}
    records = audit_records(pipeline, sites, 30)
    topic = pipeline.settings.topics.audit
    with pipeline.worker() as worker:
        produce(pipeline.settings.kafka, [*records, *((topic, b"a", raw) for raw in BAD)])
        assert wait_for(lambda: all(len(stored(pipeline, s)) == 30 for s in sites))
        published = checkpoint_now(worker.port)
        assert {(c["site"], c["first_seq"], c["last_seq"]) for c in published} == {
            (site, 1, 30) for site in sites
        }
        assert checkpoint_now(worker.port) == []  # nothing new since
        dead = pipeline.dead_letters(expected=len(BAD))
    assert len(dead) == len(BAD)  # dead-lettered once, by ingest
    for site in sites:
        chain = stored(pipeline, site)
        assert [r[SEQ] for r in chain] == list(range(1, 31))
        assert all(b[PREV_HASH] == a[HASH] for a, b in itertools.pairwise(chain))
        assert all(
            str(r["actor_id"]).startswith("p_") and r["actor_id"] != "p_operator1" for r in chain
        )
        report = verify(
            chain, checkpoints(pipeline, site), load_public_key(public_file.read_bytes())
        )
        assert report.ok and not report.findings, report.text()


def test_a_worker_killed_mid_stream_and_restarted_leaves_no_gap_and_no_duplicate(
    unique: str, tmp_path: Path
) -> None:
    private, public_file = keypair(tmp_path)
    # Checkpoints every 5 s: the kill lands while written records are still uncommitted, so the
    # restarted worker replays them and must number them exactly as before.
    pipeline = Isolated(
        unique,
        tmp_path,
        SOVWATCH_AUDIT__SIGNING_KEY=private,
        SOVWATCH_WORKER__CHECKPOINT_S="5",
    )
    sites = {f"k{unique}-1": "DE", f"k{unique}-2": "SA"}
    first, second, third = (audit_records(pipeline, sites, 150, start=s) for s in (0, 150, 300))
    total = 450
    with pipeline.worker("w1") as w1:
        produce(pipeline.settings.kafka, first)
        assert wait_for(lambda: all(len(stored(pipeline, s)) >= 100 for s in sites), every_s=0.2)
        checkpoint_now(w1.port)
        produce(pipeline.settings.kafka, second)
        w1.stop(signal.SIGKILL)
    with pipeline.worker("w2") as w2:
        produce(pipeline.settings.kafka, third)
        complete = wait_for(lambda: all(len(stored(pipeline, s)) >= total for s in sites), 90)
        assert complete, (
            {  # which events of which site have no record, and the worker's view
                site: sorted(
                    {f"{site}-audit-{i}" for i in range(total)}
                    - {str(r["event_id"]) for r in stored(pipeline, site)}
                )[:20]
                for site in sites
            }
            | {"health": w2.page("/health").decode()}
        )
        checkpoint_now(w2.port)
    public = load_public_key(public_file.read_bytes())
    for site in sites:
        chain = stored(pipeline, site)
        assert [r[SEQ] for r in chain] == list(range(1, total + 1))
        assert sorted(str(r["event_id"]) for r in chain) == sorted(
            f"{site}-audit-{i}" for i in range(total)
        )
        report = verify(chain, checkpoints(pipeline, site), public)
        assert report.ok and not report.findings, report.text()


def test_a_second_worker_takes_over_the_chains_of_a_stopped_one(
    unique: str, tmp_path: Path
) -> None:
    private, public_file = keypair(tmp_path)
    pipeline = Isolated(unique, tmp_path, SOVWATCH_AUDIT__SIGNING_KEY=private)
    # Eight sites (= keys) spread over the four partitions, so both workers own some chains.
    sites = {f"r{unique}-{i}": "FR" for i in range(8)}
    first, second = audit_records(pipeline, sites, 40), audit_records(pipeline, sites, 40, 40)
    with pipeline.worker("w1") as w1, pipeline.worker("w2") as w2:
        produce(pipeline.settings.kafka, first)
        assert wait_for(lambda: all(len(stored(pipeline, s)) == 40 for s in sites), 90)
        assert w1.metric("sovwatch_audit_records_total") > 0
        assert w2.metric("sovwatch_audit_records_total") > 0
        w1.stop()  # w2 now recovers w1's chain heads from the changelog and continues them
        produce(pipeline.settings.kafka, second)
        assert wait_for(lambda: all(len(stored(pipeline, s)) == 80 for s in sites), 120)
        checkpoint_now(w2.port)
    public = load_public_key(public_file.read_bytes())
    for site in sites:
        chain = stored(pipeline, site)
        assert [r[SEQ] for r in chain] == list(range(1, 81))
        report = verify(chain, checkpoints(pipeline, site), public)
        assert report.ok and not report.findings, report.text()
