"""Verification of stored audit records and checkpoints: what is missing, altered, inserted,
reordered or cut off the end, and which checkpoints are bad or missing. Pure logic over plain
records.

Checkpoints witnessed outside the audited store (the Kafka topic `audit.checkpoints`, the witness
directory) are checked with the same key and count like stored ones: records deleted together
with their last stored checkpoint still fall short of the witnessed one (`truncated`).

Findings point at sequence numbers in the order a reviewer would fix them: a record's own
hash first (with the changed fields, from its field digests), then its place in the chain
(duplicate seq = inserted record; a record that verifies under another seq = reordered), then
links, gaps and checkpoints. Consequences of a finding already reported (the broken link after a
deleted record, the Merkle root of a period with an altered record) are not reported again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agents.audit.checkpoints import Checkpoint, key_id, signature_ok
from agents.audit.records import (
    DIGEST_CHARS,
    DIGESTS,
    GENESIS_HASH,
    HASH,
    PREV_HASH,
    SEQ,
    canonical_json,
    changed_fields,
    merkle_root,
    parse_digests,
    record_hash,
    sha256_hex,
)
from agents.influx.lineprotocol import FieldValue

Kind = Literal[
    "unchained",
    "altered",
    "inserted",
    "reordered",
    "missing",
    "broken_link",
    "bad_checkpoint",
    "missing_checkpoint",
    "truncated",
    "unsigned",
    "unsigned_tail",
]
INFO_KINDS: frozenset[str] = frozenset({"unsigned", "unsigned_tail"})
Status = Literal["intact", "unsigned", "tampering"]
HEADLINES: dict[Status, str] = {
    "intact": "INTACT",
    "unsigned": "UNSIGNED (no signing key configured)",
    "tampering": "TAMPERING OR LOSS DETECTED",
}
EXIT_CODES: dict[Status, int] = {"intact": 0, "tampering": 1, "unsigned": 3}
UNSIGNED: str = "unsigned (no signing key configured)"


@dataclass(frozen=True)
class Witnessed:
    """A checkpoint as held outside the audited store: `source` says where (the Kafka topic, a
    witness file). `checkpoint` None: what is there is no checkpoint (`problem` says why)."""

    source: str
    site: str
    checkpoint: Checkpoint | None
    problem: str = ""


@dataclass(frozen=True)
class Finding:
    kind: Kind
    site: str
    seq: int | None
    detail: str

    @property
    def is_error(self) -> bool:
        return self.kind not in INFO_KINDS

    def line(self) -> str:
        where = f"seq {self.seq}" if self.seq is not None else "-"
        if self.kind == "truncated":
            where = f"expected seq >= {self.seq}"
        return f"{self.kind:<18} site={self.site} {where}: {self.detail}"


@dataclass
class Report:
    records: int = 0
    checkpoints: int = 0
    sites: dict[str, dict[str, int]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    witnessed_by: list[str] = field(default_factory=list)  # the witnesses consulted

    @property
    def status(self) -> Status:
        if any(f.is_error for f in self.findings):
            return "tampering"
        return "unsigned" if any(f.kind == "unsigned" for f in self.findings) else "intact"

    @property
    def ok(self) -> bool:
        """Intact and signed: every record older than the checkpoint interval is proven."""
        return self.status == "intact"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "status": self.status,
            "witnessed_by": self.witnessed_by,
            "records": self.records,
            "checkpoints": self.checkpoints,
            "sites": self.sites,
            "findings": [asdict(f) for f in self.findings],
        }

    def text(self) -> str:
        lines = [
            f"{HEADLINES[self.status]}: {self.records} records, "
            f"{self.checkpoints} checkpoints, {len(self.sites)} sites, "
            f"{len(self.errors())} problems",
            "  witnessed by: "
            + (
                ", ".join(self.witnessed_by)
                if self.witnessed_by
                else "none (records deleted with their last checkpoint would go unnoticed)"
            ),
        ]
        for site, stats in sorted(self.sites.items()):
            lines.append(
                f"  site {site}: seq {stats['first_seq']}..{stats['last_seq']}, "
                f"{stats['records']} records, {stats['checkpoints']} checkpoints, "
                f"signed up to seq {stats['signed_to']}, witnessed up to seq "
                f"{stats['witnessed_to']}"
            )
        lines.extend(f"  {finding.line()}" for finding in self.findings)
        return "\n".join(lines)


Rec = Mapping[str, FieldValue]


def _seq_digest(seq: int) -> str:
    return sha256_hex(canonical_json([SEQ, seq]))[:DIGEST_CHARS]


def _original_seq(record: Rec, candidates: Iterable[int]) -> int | None:
    """The seq under which this record verifies, when only its seq was changed (moved)."""
    digests = record.get(DIGESTS)
    if not isinstance(digests, str):
        return None
    wanted = parse_digests(digests).get(SEQ)
    for seq in candidates:
        if seq != record[SEQ] and _seq_digest(seq) == wanted:
            moved = {**record, SEQ: seq}
            if record_hash(moved) == record[HASH]:
                return seq
    return None


@dataclass
class _Site:
    name: str
    by_seq: dict[int, list[Rec]] = field(default_factory=lambda: defaultdict(list))
    order: list[int] = field(default_factory=list)  # seqs in the order they were read


def verify(
    records: Iterable[Rec],
    checkpoints: Iterable[Checkpoint],
    public_key: Ed25519PublicKey | None,
    *,
    from_genesis: bool = True,
    unsigned_before_ns: int | None = None,
    witnesses: Iterable[Witnessed] = (),
    witnessed_by: Sequence[str] = (),
) -> Report:
    """Check records (in the order read) and checkpoints.

    `from_genesis`: the records start at seq 1 (a full history), else at the lowest seq seen or
    covered by a checkpoint. `unsigned_before_ns`: records older than this must be covered by a
    checkpoint (newer ones may wait for the next one: reported as info only). `witnesses`: the
    newest checkpoints held outside the store, from the sources named in `witnessed_by`.
    """
    report = Report(witnessed_by=list(witnessed_by))
    sites: dict[str, _Site] = {}
    for record in records:
        report.records += 1
        site_name = str(record.get("site", ""))
        site = sites.setdefault(site_name, _Site(site_name))
        if not isinstance(record.get(SEQ), int) or not isinstance(record.get(HASH), str):
            report.findings.append(
                Finding(
                    "unchained",
                    site_name,
                    None,
                    f"record without chain fields (event_id {record.get('event_id')})",
                )
            )
            continue
        seq = int(record[SEQ])
        site.by_seq[seq].append(record)
        site.order.append(seq)
    by_site: dict[str, list[Checkpoint]] = defaultdict(list)
    for checkpoint in checkpoints:
        report.checkpoints += 1
        by_site[checkpoint.site].append(checkpoint)
        sites.setdefault(checkpoint.site, _Site(checkpoint.site))
    witnessed: dict[str, list[Witnessed]] = defaultdict(list)
    for witness in witnesses:
        witnessed[witness.site].append(witness)
        sites.setdefault(witness.site, _Site(witness.site))
    for name in sorted(sites):
        _verify_site(
            report,
            sites[name],
            sorted(by_site[name], key=lambda c: (c.first_seq, c.last_seq)),
            witnessed[name],
            public_key,
            from_genesis,
            unsigned_before_ns,
        )
    return report


def _signature_problem(public_key: Ed25519PublicKey | None, checkpoint: Checkpoint) -> str:
    """Why the checkpoint's signature proves nothing ("" when it verifies)."""
    if public_key is None:
        return "no public key to check its signature"
    if checkpoint.key_id != key_id(public_key):
        return f"signed with unknown key {checkpoint.key_id}"
    if not signature_ok(public_key, checkpoint):
        return "signature does not verify"
    return ""


def _span(checkpoint: Checkpoint) -> str:
    return f"checkpoint {checkpoint.first_seq}..{checkpoint.last_seq} of {checkpoint.ts}"


def _merge_witnessed(
    stored: Sequence[Checkpoint],
    witnesses: Sequence[Witnessed],
    public_key: Ed25519PublicKey | None,
    add: Callable[[Kind, int | None, str], None],
) -> tuple[list[Checkpoint], dict[int, str]]:
    """The stored checkpoints plus every valid witnessed one the store lacks (sorted), and the
    witnesses' sources by last_seq. Unreadable or badly signed witnesses are findings."""
    sources: dict[int, list[str]] = defaultdict(list)
    extra: dict[Checkpoint, None] = {}  # in order, once each (Kafka and the directory agree)
    for witness in witnesses:
        checkpoint = witness.checkpoint
        if checkpoint is None:
            add("bad_checkpoint", None, f"{witness.source}: {witness.problem}")
            continue
        problem = _signature_problem(public_key, checkpoint)
        if problem:
            add(
                "bad_checkpoint",
                checkpoint.last_seq,
                f"{_span(checkpoint)} in {witness.source}: {problem}",
            )
            continue
        sources[checkpoint.last_seq].append(witness.source)
        if checkpoint not in stored:
            extra[checkpoint] = None
    ranges = {(c.first_seq, c.last_seq) for c in stored}
    for checkpoint in extra:
        if (checkpoint.first_seq, checkpoint.last_seq) not in ranges:
            add(
                "missing_checkpoint",
                checkpoint.first_seq,
                f"{_span(checkpoint)} is in {' and '.join(sources[checkpoint.last_seq])} "
                "but not in InfluxDB",
            )
    merged = sorted([*stored, *extra], key=lambda c: (c.first_seq, c.last_seq))
    return merged, {seq: " and ".join(where) for seq, where in sources.items()}


def _verify_site(
    report: Report,
    site: _Site,
    stored: Sequence[Checkpoint],
    witnesses: Sequence[Witnessed],
    public_key: Ed25519PublicKey | None,
    from_genesis: bool,
    unsigned_before_ns: int | None,
) -> None:
    findings: list[Finding] = []

    def add(kind: Kind, seq: int | None, detail: str) -> None:
        findings.append(Finding(kind, site.name, seq, detail))

    checkpoints, witnessed_at = _merge_witnessed(stored, witnesses, public_key, add)

    # 1. Each record against its own hash; moved records back to where they were written.
    placed: dict[int, list[Rec]] = defaultdict(list)
    flagged: set[int] = set()
    known = sorted(site.by_seq)
    span = range(min(known), max(known) + 1) if known else range(0)
    for seq in known:
        for record in site.by_seq[seq]:
            if record_hash(record) == record[HASH]:
                placed[seq].append(record)
                continue
            original = _original_seq(record, span)
            if original is not None:
                add("reordered", original, f"record written as seq {original} is stored as {seq}")
                flagged.add(original)
                placed[original].append({**record, SEQ: original})
                continue
            fields = changed_fields(record)
            what = f"field(s) changed: {', '.join(fields)}" if fields else "its hash was changed"
            add("altered", seq, f"event_id {record.get('event_id')}: {what}")
            flagged.add(seq)
            placed[seq].append(record)

    # 2. Records in the order read (an export's lines; InfluxDB returns them sorted).
    read = site.order
    expected_order = sorted(read)
    for position, seq in enumerate(read):
        if seq != expected_order[position] and seq not in flagged:
            add("reordered", seq, f"read at position {position + 1}, out of sequence order")
            flagged.add(seq)

    # 3. One record per seq: extra ones are inserted (the genuine one links both ways).
    chosen: dict[int, Rec] = {}
    cp_last_hash = {c.last_seq: c.last_hash for c in checkpoints}
    for seq in sorted(placed):
        candidates = placed[seq]
        if len(candidates) > 1:

            def score(record: Rec, seq: int = seq) -> int:
                prev = placed.get(seq - 1)
                nxt = placed.get(seq + 1)
                points = int(record_hash(record) == record[HASH])
                if prev and any(p[HASH] == record[PREV_HASH] for p in prev):
                    points += 1
                if seq == 1 and record[PREV_HASH] == GENESIS_HASH:
                    points += 1
                if nxt and any(n[PREV_HASH] == record[HASH] for n in nxt):
                    points += 2
                if cp_last_hash.get(seq) == record[HASH]:
                    points += 2
                return points

            ranked = sorted(candidates, key=score, reverse=True)
            for extra in ranked[1:]:
                add(
                    "inserted",
                    seq,
                    f"extra record for seq {seq} (event_id {extra.get('event_id')})",
                )
            flagged.add(seq)
            candidates = ranked[:1]
        chosen[seq] = candidates[0]

    # 4. Links and gaps.
    covered = [(c.first_seq, c.last_seq) for c in checkpoints]
    first = 1 if from_genesis else min([*chosen, *(lo for lo, _ in covered)], default=1)
    last = max([*chosen, *(hi for _, hi in covered)], default=0)
    held = max(chosen, default=first - 1)
    if last > held:
        # The end is gone: one finding, named by the checkpoint that says how far it reached.
        reach = max(checkpoints, key=lambda c: (c.last_seq, c.last_seq in witnessed_at))
        where = witnessed_at.get(reach.last_seq, "InfluxDB")
        holds = f"seq {min(chosen)}..{held}" if chosen else "no record"
        add(
            "truncated",
            last,
            f"InfluxDB holds {holds}, but {_span(reach)} (in {where}) covers up to seq "
            f"{last}: the last {last - held} record(s) are gone",
        )
        flagged.update(range(held + 1, last + 1))
    for seq in range(first, held + 1):
        found = chosen.get(seq)
        if found is None:
            add("missing", seq, "no record with this sequence number")
            flagged.add(seq)
            continue
        record = found
        if seq == 1 and record[PREV_HASH] != GENESIS_HASH:
            add("broken_link", 1, "the first record does not start from the genesis hash")
        prev = chosen.get(seq - 1)
        if prev is not None and record[PREV_HASH] != prev[HASH] and not {seq, seq - 1} & flagged:
            add("broken_link", seq, f"prev_hash does not match the hash of seq {seq - 1}")
            flagged.add(seq)

    # 5. Checkpoints: signature, key, last hash, Merkle root; coverage without gaps.
    signed_to = first - 1
    for checkpoint in checkpoints:
        lo, hi = checkpoint.first_seq, checkpoint.last_seq
        span_text = _span(checkpoint)
        problem = _signature_problem(public_key, checkpoint)
        if problem:
            add("bad_checkpoint", hi, f"{span_text}: {problem}")
        hashes = [chosen[s][HASH] for s in range(lo, hi + 1) if s in chosen]
        explained = any(lo <= s <= hi for s in flagged)
        if not explained and len(hashes) == hi - lo + 1:
            if merkle_root([str(h) for h in hashes]) != checkpoint.merkle_root:
                add("bad_checkpoint", hi, f"{span_text}: Merkle root does not match the records")
            elif chosen[hi][HASH] != checkpoint.last_hash:
                add("bad_checkpoint", hi, f"{span_text}: last_hash does not match seq {hi}")
        if lo > signed_to + 1:
            add(
                "missing_checkpoint",
                signed_to + 1,
                f"no checkpoint covers seq {signed_to + 1}..{lo - 1}",
            )
        signed_to = max(signed_to, hi)
    tail = [s for s in chosen if s > signed_to]
    if tail:
        late = [
            s
            for s in tail
            if unsigned_before_ns is not None
            and int(chosen[s].get("time_ns", 0)) < unsigned_before_ns
        ]
        if late and not checkpoints and not witnesses:
            add(
                "unsigned",
                min(late),
                f"{UNSIGNED}: no checkpoint of this site in InfluxDB"
                f"{' or ' + ' or '.join(report.witnessed_by) if report.witnessed_by else ''}; "
                f"{len(tail)} records (seq {min(tail)}..{max(tail)}) are chained, not signed: "
                "set SOVWATCH_AUDIT__SIGNING_KEY on the workers",
            )
        elif late:
            add(
                "missing_checkpoint",
                min(late),
                f"{len(late)} records older than the checkpoint interval are not signed "
                f"(seq {min(late)}..{max(late)})",
            )
        else:
            add("unsigned_tail", min(tail), f"{len(tail)} records wait for the next checkpoint")
    findings.sort(key=lambda f: (f.seq if f.seq is not None else -1, f.kind))
    report.findings.extend(findings)
    report.sites[site.name] = {
        "records": sum(len(v) for v in site.by_seq.values()),
        "first_seq": min(chosen, default=0),
        "last_seq": max(chosen, default=0),
        "checkpoints": len(checkpoints),
        "signed_to": signed_to,
        "witnessed_to": max(witnessed_at, default=0),
    }
