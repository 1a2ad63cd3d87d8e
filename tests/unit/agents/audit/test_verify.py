"""Verification finds every tampering of an exported copy, at the right sequence number.

A thousand randomised trials: each takes an intact two-site chain with signed checkpoints,
applies one tampering and expects exactly the findings that point at what was done.
"""

from __future__ import annotations

import base64
from dataclasses import replace
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.audit.checkpoints import Checkpoint, Signer, generate_keypair
from agents.audit.records import DIGESTS, HASH, PREV_HASH, SEQ, Record, chain_record
from agents.audit.verify import Report, verify
from tests.unit.agents.audit.fixtures import audit_event, build_chain

CHAIN_FIELDS = {SEQ, HASH, PREV_HASH, DIGESTS, "site"}
EVERYTHING_SIGNED = 2**63  # records older than this must be under a checkpoint: all of them


@cache
def signer() -> Signer:
    from pydantic import SecretStr

    return Signer.from_secret(SecretStr(generate_keypair()[0].decode()))


@cache
def intact() -> tuple[tuple[Record, ...], tuple[Checkpoint, ...]]:
    events = [audit_event(i, site="fra-1") for i in range(40)]
    events += [audit_event(i, site="par-1", country="FR") for i in range(25)]
    records, checkpoints, _ = build_chain(events, signer(), every=9)
    return tuple(records), tuple(checkpoints)


def check(records: list[Record], checkpoints: list[Checkpoint]) -> Report:
    return verify(records, checkpoints, signer().public_key, unsigned_before_ns=EVERYTHING_SIGNED)


def errors(report: Report) -> set[tuple[str, str, int | None]]:
    return {(f.kind, f.site, f.seq) for f in report.errors()}


def test_an_intact_chain_verifies() -> None:
    records, checkpoints = intact()
    report = check(list(records), list(checkpoints))
    assert report.ok, report.text()
    assert report.findings == []
    assert report.sites["fra-1"]["last_seq"] == 40 and report.sites["par-1"]["signed_to"] == 25


def test_a_chain_signed_with_another_key_fails() -> None:
    records, checkpoints = intact()
    other = Signer.from_secret(
        __import__("pydantic").SecretStr(generate_keypair()[0].decode())
    ).public_key
    report = verify(list(records), list(checkpoints), other)
    assert not report.ok
    assert {f.kind for f in report.errors()} == {"bad_checkpoint"}


def _edited(value: object) -> object:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    return f"{value}x"


OPS = ("edit", "delete", "insert", "swap_seq", "swap_lines", "signature", "drop_checkpoint")


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(op=st.sampled_from(OPS), data=st.data())
def test_every_tampering_is_reported_at_its_sequence_number(op: str, data: st.DataObject) -> None:
    records_t, checkpoints_t = intact()
    records, checkpoints = [dict(r) for r in records_t], list(checkpoints_t)
    index = data.draw(st.integers(0, len(records) - 1), label="record")
    target = records[index]
    site, seq = str(target["site"]), int(target[SEQ])
    expected: set[tuple[str, str, int | None]]
    if op == "edit":
        name = data.draw(st.sampled_from(sorted(set(target) - CHAIN_FIELDS)), label="field")
        records[index] = {**target, name: _edited(target[name])}  # type: ignore[dict-item]
        expected = {("altered", site, seq)}
    elif op == "delete":
        last = max(int(r[SEQ]) for r in records if r["site"] == site)
        del records[index]
        # The last record gone: the chain was cut short (named by its checkpoint's end).
        expected = {("truncated" if seq == last else "missing", site, seq)}
    elif op == "insert":
        forged = {k: v for k, v in target.items() if k not in (HASH, DIGESTS)}
        forged["event_id"] = "forged-" + str(target["event_id"])
        forged = chain_record(forged, seq, str(target[PREV_HASH]))  # a well-formed forgery
        records.insert(index + data.draw(st.integers(0, 1), label="after"), forged)
        expected = {("inserted", site, seq)}
    elif op in ("swap_seq", "swap_lines"):
        same_site = [i for i, r in enumerate(records) if r["site"] == site and i != index]
        other = data.draw(st.sampled_from(same_site), label="other")
        other_seq = int(records[other][SEQ])
        if op == "swap_seq":
            records[index] = {**target, SEQ: other_seq}
            records[other] = {**records[other], SEQ: seq}
        else:
            records[index], records[other] = records[other], records[index]
        expected = {("reordered", site, seq), ("reordered", site, other_seq)}
    else:
        c = data.draw(st.integers(0, len(checkpoints) - 1), label="checkpoint")
        cp = checkpoints[c]
        if op == "signature":
            fake = base64.b64encode(data.draw(st.binary(min_size=64, max_size=64))).decode()
            donor = [x.signature for x in checkpoints if x.signature != cp.signature]
            bad = data.draw(st.sampled_from([fake, *donor]), label="signature")
            checkpoints[c] = replace(cp, signature=bad)
            expected = {("bad_checkpoint", cp.site, cp.last_seq)}
        else:
            del checkpoints[c]
            expected = {("missing_checkpoint", cp.site, cp.first_seq)}
    report = check(records, checkpoints)
    assert not report.ok
    assert errors(report) == expected, report.text()


def test_a_rewritten_record_with_a_fixed_up_hash_breaks_the_next_link() -> None:
    records_t, checkpoints = intact()
    records = [dict(r) for r in records_t]
    forged = {k: v for k, v in records[5].items() if k not in (HASH, DIGESTS)}
    forged["destination_country"] = "CN"
    records[5] = chain_record(forged, int(records[5][SEQ]), str(records[5][PREV_HASH]))
    report = check(records, list(checkpoints))
    assert errors(report) == {("broken_link", "fra-1", 7)}


def test_the_last_record_rewritten_consistently_fails_its_checkpoint() -> None:
    records_t, checkpoints = intact()
    records = [dict(r) for r in records_t]
    last = max(i for i, r in enumerate(records) if r["site"] == "fra-1")
    forged = {k: v for k, v in records[last].items() if k not in (HASH, DIGESTS)}
    forged["encrypted"] = True
    records[last] = chain_record(forged, 40, str(records[last][PREV_HASH]))
    report = check(records, list(checkpoints))
    assert errors(report) == {("bad_checkpoint", "fra-1", 40)}
    assert "Merkle root" in report.text()


def test_records_not_yet_signed_are_information_not_failure() -> None:
    records, checkpoints = intact()
    latest = [c for c in checkpoints if not (c.site == "fra-1" and c.last_seq == 40)]
    report = verify(list(records), latest, signer().public_key)
    assert report.ok
    assert [(f.kind, f.seq) for f in report.findings] == [("unsigned_tail", 37)]
