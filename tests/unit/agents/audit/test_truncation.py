"""Truncation is caught through checkpoints witnessed outside the store (Kafka, witness files).

Seeded random trials on a two-site chain: each cuts the last records (alone, or with the last
checkpoint as well), inserts, reorders or edits, and expects exactly the findings that name it.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from agents.audit.checkpoints import Checkpoint
from agents.audit.records import DIGESTS, HASH, PREV_HASH, SEQ, Record, chain_record
from agents.audit.verify import Report, Witnessed, verify
from tests.unit.agents.audit.test_verify import (
    CHAIN_FIELDS,
    EVERYTHING_SIGNED,
    _edited,
    errors,
    intact,
    signer,
)

TRIALS = 250
KAFKA = "Kafka topic audit.checkpoints"
SOURCES = (KAFKA, "witness directory /w")
KINDS = ("truncate", "truncate_with_checkpoint", "insert", "reorder", "edit")
Expected = set[tuple[str, str, int | None]]


def newest(checkpoints: tuple[Checkpoint, ...], site: str) -> Checkpoint:
    return max((c for c in checkpoints if c.site == site), key=lambda c: c.last_seq)


def witnesses(checkpoints: tuple[Checkpoint, ...]) -> list[Witnessed]:
    """What the Kafka topic and the witness directory hold: the newest checkpoint per site."""
    sites = sorted({c.site for c in checkpoints})
    return [Witnessed(s, site, newest(checkpoints, site)) for s in SOURCES for site in sites]


def check(records: list[Record], checkpoints: list[Checkpoint], witnessed: bool = True) -> Report:
    return verify(
        records,
        checkpoints,
        signer().public_key,
        unsigned_before_ns=EVERYTHING_SIGNED,
        witnesses=witnesses(intact()[1]) if witnessed else (),
        witnessed_by=SOURCES if witnessed else (),
    )


def tamper(
    rng: random.Random, kind: str, records: list[Record], checkpoints: list[Checkpoint]
) -> Expected:
    """Apply one tampering of `kind` in place; the findings that must name it."""
    site = rng.choice(["fra-1", "par-1"])
    mine = [i for i, r in enumerate(records) if r["site"] == site]
    last = newest(tuple(checkpoints), site)
    end = last.last_seq
    if kind == "truncate":  # the last k records, anything from one to all of them
        k = rng.randint(1, len(mine))
        for i in reversed(mine[-k:]):
            del records[i]
        return {("truncated", site, end)}
    if kind == "truncate_with_checkpoint":  # so that the store alone looks intact
        k = rng.randint(1, end - last.first_seq + 1)
        for i in reversed(mine[-k:]):
            del records[i]
        checkpoints.remove(last)
        return {("truncated", site, end), ("missing_checkpoint", site, last.first_seq)}
    index = rng.choice(mine)
    target = records[index]
    seq = int(target[SEQ])
    if kind == "insert":
        forged = {k: v for k, v in target.items() if k not in (HASH, DIGESTS)}
        forged["event_id"] = f"forged-{target['event_id']}"
        records.insert(index + rng.randint(0, 1), chain_record(forged, seq, str(target[PREV_HASH])))
        return {("inserted", site, seq)}
    if kind == "reorder":
        other = rng.choice([i for i in mine if i != index])
        other_seq = int(records[other][SEQ])
        records[index] = {**target, SEQ: other_seq}
        records[other] = {**records[other], SEQ: seq}
        return {("reordered", site, seq), ("reordered", site, other_seq)}
    name = rng.choice(sorted(set(target) - CHAIN_FIELDS))
    records[index] = {**target, name: _edited(target[name])}  # type: ignore[dict-item]
    return {("altered", site, seq)}


def test_an_intact_witnessed_chain_verifies() -> None:
    records, checkpoints = intact()
    report = check(list(records), list(checkpoints))
    assert report.ok and report.findings == [], report.text()
    assert report.sites["fra-1"]["witnessed_to"] == 40
    assert f"witnessed by: {KAFKA}" in report.text()


def test_without_a_witness_records_deleted_with_their_checkpoint_pass() -> None:
    """Why the witnesses exist: the store alone cannot tell a cut chain from a short one."""
    records, checkpoints = intact()
    last = newest(checkpoints, "fra-1")
    cut = [r for r in records if not (r["site"] == "fra-1" and int(r[SEQ]) >= last.first_seq)]
    kept = [c for c in checkpoints if c != last]
    assert check(cut, kept, witnessed=False).ok
    report = check(cut, kept)
    assert errors(report) == {
        ("truncated", "fra-1", 40),
        ("missing_checkpoint", "fra-1", last.first_seq),
    }
    assert "truncated          site=fra-1 expected seq >= 40" in report.text()


@pytest.mark.parametrize("trial", range(TRIALS))
def test_each_tampering_is_detected_and_named(trial: int) -> None:
    rng = random.Random(trial)
    kind = KINDS[trial % len(KINDS)]
    records_t, checkpoints_t = intact()
    records, checkpoints = [dict(r) for r in records_t], list(checkpoints_t)
    expected = tamper(rng, kind, records, checkpoints)
    report = check(records, checkpoints)
    assert report.status == "tampering" and report.exit_code == 1
    assert errors(report) == expected, f"{kind}: {report.text()}"


def test_a_forged_witness_is_reported_and_not_trusted() -> None:
    records, checkpoints = intact()
    real = newest(checkpoints, "par-1")
    forged = replace(real, last_seq=99)  # its signature no longer covers the body
    report = verify(
        list(records),
        list(checkpoints),
        signer().public_key,
        witnesses=[Witnessed(KAFKA, "par-1", forged)],
        witnessed_by=[KAFKA],
    )
    assert errors(report) == {("bad_checkpoint", "par-1", 99)}
    assert "signature does not verify" in report.text()


def test_an_unreadable_witness_is_reported() -> None:
    records, checkpoints = intact()
    bad = Witnessed("witness file /w/fra-1/x.json", "fra-1", None, "not a checkpoint")
    report = verify(list(records), list(checkpoints), signer().public_key, witnesses=[bad])
    assert errors(report) == {("bad_checkpoint", "fra-1", None)}


def test_a_witnessed_checkpoint_the_store_lacks_still_checks_the_records() -> None:
    """The last checkpoint deleted from InfluxDB alone: the witness covers the records again."""
    records, checkpoints = intact()
    last = newest(checkpoints, "fra-1")
    report = check(list(records), [c for c in checkpoints if c != last])
    assert errors(report) == {("missing_checkpoint", "fra-1", last.first_seq)}
    assert "is in Kafka topic audit.checkpoints and witness directory /w" in report.text()


def test_an_unsigned_setup_is_unsigned_not_tampering() -> None:
    records, _ = intact()
    report = verify(list(records), [], None, unsigned_before_ns=EVERYTHING_SIGNED)
    assert report.status == "unsigned" and report.exit_code == 3
    assert report.errors() == [] and not report.ok
    assert [(f.kind, f.site) for f in report.findings] == [
        ("unsigned", "fra-1"),
        ("unsigned", "par-1"),
    ]
    assert report.text().startswith("UNSIGNED (no signing key configured)")
    assert "TAMPERING" not in report.text()


def test_records_newer_than_the_interval_without_checkpoint_are_intact() -> None:
    records, _ = intact()
    report = verify(list(records), [], None, unsigned_before_ns=0)
    assert report.status == "intact" and {f.kind for f in report.findings} == {"unsigned_tail"}
