"""The end-of-run checks of a chaos run: each compares what the servers hold (read by
`tests.chaos.readback`) with what was produced, and names what is missing or extra.

Pure functions over plain data, each with its own unit tests on hand-made data
(`tests/chaos/test_checks.py`). A check returns its problems (empty: it passed) and counts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from agents.audit.verify import HEADLINES, Report
from schemas.alert import Alert
from streams.simulator.incidents import Incident
from streams.simulator.score import AlertSeen, score
from streams.simulator.truth import Truth as IncidentTruth

Source = tuple[str, int, int]  # topic, partition, offset of a produced record
SHOWN = 8  # items named per problem line; the rest are counted


def some(items: Iterable[object], shown: int = SHOWN) -> str:
    """Items sorted and named, at most `shown` of them, the rest counted."""
    ordered = sorted(str(i) for i in items)
    text = ", ".join(ordered[:shown])
    return text + (f" (+{len(ordered) - shown} more)" if len(ordered) > shown else "")


@dataclass(frozen=True)
class CheckResult:
    name: str
    problems: tuple[str, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.counts.items())
        head = f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {counts}"
        return "\n".join([head, *(f"       - {p}" for p in self.problems)])


# ---- events ---------------------------------------------------------------------------------


def check_events(
    expected: Mapping[str, Collection[str]],
    stored: Mapping[tuple[str, str], int],
    dead_lettered: Mapping[str, str],
) -> CheckResult:
    """Every valid event stored exactly once, or dead-lettered. `expected`: family -> event ids
    produced; `stored`: (measurement, event id) -> points; `dead_lettered`: event id -> reason
    of the valid events found in the DLQ."""
    problems = []
    stored_ids: dict[str, set[str]] = defaultdict(set)
    for (family, event_id), points in stored.items():
        if points > 0:
            stored_ids[family].add(event_id)
    repeated = {f"{fam}/{eid} x{n}" for (fam, eid), n in stored.items() if n > 1}
    if repeated:
        problems.append(f"{len(repeated)} events stored more than once: {some(repeated)}")
    missing_total = 0
    for family in sorted(set(expected) | set(stored_ids)):
        want = set(expected.get(family, ()))
        have = stored_ids.get(family, set())
        missing = want - have - set(dead_lettered)
        missing_total += len(missing)
        if missing:
            problems.append(
                f"{family}: {len(missing)} of {len(want)} events neither stored nor "
                f"dead-lettered: {some(missing)}"
            )
        extra = have - want
        if extra:
            problems.append(f"{family}: {len(extra)} stored events never produced: {some(extra)}")
        both = want & have & set(dead_lettered)
        if both:
            problems.append(
                f"{family}: {len(both)} events both stored and dead-lettered: "
                f"{some(f'{e} ({dead_lettered[e]})' for e in both)}"
            )
    return CheckResult(
        "events stored exactly once or dead-lettered",
        tuple(problems),
        {
            "expected": sum(len(ids) for ids in expected.values()),
            "stored": sum(len(ids) for ids in stored_ids.values()),
            "valid dead-lettered": len(dead_lettered),
            "missing": missing_total,
            "stored twice": len(repeated),
        },
    )


def check_dead_letters(
    malformed: Collection[Source], produced: Collection[Source], letters: Mapping[Source, int]
) -> CheckResult:
    """Every malformed record dead-lettered (a re-sent letter is allowed and counted); no letter
    for a record nobody produced. `letters`: source -> dead letters naming it."""
    problems = []
    lost = set(malformed) - set(letters)
    if lost:
        problems.append(
            f"{len(lost)} of {len(malformed)} malformed records not dead-lettered: "
            f"{some(_source_text(s) for s in lost)}"
        )
    unknown = set(letters) - set(produced)
    if unknown:
        problems.append(
            f"{len(unknown)} dead letters name a record never produced: "
            f"{some(_source_text(s) for s in unknown)}"
        )
    return CheckResult(
        "malformed records dead-lettered",
        tuple(problems),
        {
            "malformed": len(malformed),
            "dead letters": sum(letters.values()),
            "re-sent": sum(n - 1 for n in letters.values()),
            "valid dead-lettered": len(set(letters) - set(malformed) - unknown),
        },
    )


def _source_text(source: Source) -> str:
    topic, partition, offset = source
    return f"{topic}[{partition}]@{offset}"


# ---- audit ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainRecord:
    """What the checks need of one stored audit record."""

    seq: int
    event_id: str
    hash: str
    prev_hash: str


def check_audit(
    expected: Mapping[str, Collection[str]],
    chains: Mapping[str, Sequence[ChainRecord]],
    verified: Mapping[str, Report],
) -> CheckResult:
    """Per site: `audit verify` intact, seq 1..n with n its audit events, no seq held twice (a
    fork), each link to the record before, every audit event chained exactly once.
    `expected`: site -> audit event ids produced; `chains`: site -> its stored records;
    `verified`: site -> the verify report of that site."""
    problems: list[str] = []
    for site in sorted(set(expected) | set(chains)):
        want = set(expected.get(site, ()))
        chain = list(chains.get(site, ()))
        report = verified.get(site)
        if report is None:
            problems.append(f"{site}: not verified")
        elif report.status != "intact":
            lines = [f.line() for f in report.errors()]
            problems.append(
                f"{site}: audit verify says {HEADLINES[report.status]}: "
                + ("; ".join(lines[:SHOWN]) or "no finding")
                + (f" (+{len(lines) - SHOWN} more)" if len(lines) > SHOWN else "")
            )
        problems.extend(f"{site}: {p}" for p in _chain_problems(want, chain))
    return CheckResult(
        "audit chains",
        tuple(problems),
        {
            "sites": len(expected),
            "audit events": sum(len(ids) for ids in expected.values()),
            "records": sum(len(c) for c in chains.values()),
        },
    )


def _chain_problems(want: set[str], chain: list[ChainRecord]) -> list[str]:
    problems = []
    by_seq: dict[int, list[ChainRecord]] = defaultdict(list)
    for record in chain:
        by_seq[record.seq].append(record)
    forks = {s: rs for s, rs in by_seq.items() if len(rs) > 1}
    for seq, held in sorted(forks.items())[:SHOWN]:
        problems.append(
            f"fork: seq {seq} held by {len(held)} records ({some(r.event_id for r in held)})"
        )
    if len(forks) > SHOWN:
        problems.append(f"forks at {len(forks) - SHOWN} more seqs")
    top = max(len(want), max(by_seq, default=0))
    gaps = [s for s in range(1, top + 1) if s not in by_seq]
    if gaps:
        problems.append(f"seq not contiguous: {len(gaps)} missing of 1..{top}: {some(gaps)}")
    if len(by_seq) != len(want) and not gaps:
        problems.append(f"{len(by_seq)} seqs for {len(want)} audit events")
    for seq in sorted(by_seq):
        after = by_seq.get(seq + 1, [])
        single = len(after) == 1 and len(by_seq[seq]) == 1
        if single and after[0].prev_hash != by_seq[seq][0].hash:
            problems.append(f"broken link: seq {seq + 1} does not follow seq {seq}")
    chained = Counter(r.event_id for r in chain)
    twice = {e: n for e, n in chained.items() if n > 1}
    if twice:
        seqs = {e: sorted(r.seq for r in chain if r.event_id == e) for e in twice}
        problems.append(
            f"{len(twice)} audit events chained more than once: "
            f"{some(f'{e} (seq {seqs[e]})' for e in twice)}"
        )
    missing = want - set(chained)
    if missing:
        problems.append(f"{len(missing)} audit events never chained: {some(missing)}")
    extra = set(chained) - want
    if extra:
        problems.append(f"{len(extra)} chained events never produced: {some(extra)}")
    return problems


# ---- alerts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmittedAlert:
    """One record of an alert topic (one state change of an incident)."""

    id: str
    rule_id: str
    site_id: str
    status: str
    evidence: int
    window_start: datetime
    window_end: datetime

    @classmethod
    def of(cls, alert: Alert) -> EmittedAlert:
        return cls(
            alert.id,
            alert.rule_id,
            alert.site_id,
            alert.status,
            len(alert.evidence_event_ids),
            alert.window_start,
            alert.window_end,
        )

    @classmethod
    def from_json(cls, raw: bytes) -> EmittedAlert:
        return cls.of(Alert.model_validate_json(raw))

    @property
    def change(self) -> StateChange:
        return StateChange(self.status, self.evidence, self.window_end)

    def overlaps(self, incident: Incident) -> bool:
        return (
            self.rule_id == incident.rule
            and self.site_id == incident.site
            and self.window_start <= incident.end
            and self.window_end >= incident.start
        )


@dataclass(frozen=True, order=True)
class StateChange:
    """What tells one state change of an incident from another (re-sends are identical)."""

    status: str
    evidence: int
    window_end: datetime

    def text(self) -> str:
        return f"{self.status}/{self.evidence} ev/to {self.window_end:%H:%M:%S}"


@dataclass(frozen=True)
class TimedIncident:
    """A time-driven incident and the one alert, with its state changes, it must give."""

    incident: Incident
    alert_id: str
    changes: tuple[StateChange, ...]


def check_event_driven_alerts(
    expected: Mapping[str, str], stored: Mapping[tuple[str, str], int]
) -> CheckResult:
    """The event-driven alert ids the rule engine computes in-process on the same events, each
    stored once. `expected`: alert id -> rule id; `stored`: (alert id, rule id) -> points."""
    problems = []
    got = {alert_id: rule for alert_id, rule in stored}
    missing = {f"{rule}:{a}" for a, rule in expected.items() if a not in got}
    if missing:
        problems.append(f"{len(missing)} alerts missing: {some(missing)}")
    extra = {f"{rule}:{a}" for a, rule in got.items() if a not in expected}
    if extra:
        problems.append(f"{len(extra)} alerts not computed from the traffic: {some(extra)}")
    twice = {f"{rule}:{a} x{n}" for (a, rule), n in stored.items() if n > 1}
    if twice:
        problems.append(f"{len(twice)} alert ids stored more than once: {some(twice)}")
    return CheckResult(
        "event-driven alerts stored once",
        tuple(problems),
        {"expected": len(expected), "stored": len(got)},
    )


def check_incidents_alerted(
    incidents: Sequence[Incident],
    start: datetime,
    end: datetime,
    alerts: Sequence[EmittedAlert],
) -> CheckResult:
    """Every injected incident has an alert of its rule at its site whose window overlaps it
    (the simulator's own scoring: `streams.simulator.score`)."""
    truth = IncidentTruth(start, end, tuple(sorted({i.site for i in incidents})), 0)
    truth.incidents = list(incidents)
    seen = [AlertSeen(a.id, a.rule_id, a.site_id, a.window_start, a.window_end) for a in alerts]
    report = score(truth, seen)
    by_id = {i.id: i for i in incidents}
    missed = [by_id[m] for rule in report.rules.values() for m in rule.missed]
    problems = tuple(
        f"{i.id} ({i.rule} at {i.site}, {i.start:%H:%M}..{i.end:%H:%M}): no alert"
        for i in sorted(missed, key=lambda i: i.id)
    )
    return CheckResult(
        "every injected incident alerted",
        problems,
        {"incidents": len(incidents), "alerted": len(incidents) - len(missed)},
    )


def check_timed_incidents(
    expected: Sequence[TimedIncident], emitted: Sequence[EmittedAlert]
) -> CheckResult:
    """Each time-driven incident under its one alert id with each of its state changes. An
    identical re-send (after a crash) is allowed and counted; so is a state change of the same
    id judged again after a crash with what the new owner knew by then (counted as re-judged:
    the alert was on Kafka before the state that records it was written, and the replay's
    ticks fall elsewhere in event time). A second id or a missing state change fails."""
    problems = []
    resent = 0
    rejudged = 0
    records = 0
    for timed in expected:
        inc = timed.incident
        what = f"{inc.id} ({inc.rule} at {inc.site})"
        matching = [a for a in emitted if a.overlaps(inc)]
        ids = {a.id for a in matching}
        if not ids:
            problems.append(f"{what}: no alert")
            continue
        if ids != {timed.alert_id}:
            others = sorted(ids - {timed.alert_id})
            seen = "; ".join(_alert_text(i, [a for a in matching if a.id == i]) for i in others)
            problems.append(
                f"{what}: alert ids {some(ids)}, expected only {timed.alert_id}; unexpected: {seen}"
            )
        changes = Counter(a.change for a in matching if a.id == timed.alert_id)
        records += sum(changes.values())
        resent += sum(n - 1 for n in changes.values())
        missing = [c for c in timed.changes if c not in changes]
        if missing:
            problems.append(f"{what}: state changes missing: {some(c.text() for c in missing)}")
        rejudged += sum(changes[c] for c in changes if c not in timed.changes)
    return CheckResult(
        "time-driven incidents: one id, every state change",
        tuple(problems),
        {
            "incidents": len(expected),
            "state changes": sum(len(t.changes) for t in expected),
            "records": records,
            "re-sent": resent,
            "re-judged": rejudged,
        },
    )


def _alert_text(alert_id: str, records: list[EmittedAlert]) -> str:
    """An alert id with its window start and its state changes, as emitted."""
    changes = sorted({r.change for r in records})
    start = min(r.window_start for r in records)
    return f"{alert_id} (from {start:%H:%M:%S}: {', '.join(c.text() for c in changes)})"
