"""Each end-of-run check on hand-made data: it passes on what a correct run leaves and names
exactly what is missing or extra otherwise."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from agents.audit.verify import Finding, Report
from streams.simulator.incidents import Incident
from tests.chaos.checks import (
    ChainRecord,
    CheckResult,
    EmittedAlert,
    StateChange,
    TimedIncident,
    check_audit,
    check_dead_letters,
    check_event_driven_alerts,
    check_events,
    check_incidents_alerted,
    check_timed_incidents,
    some,
)

T = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return T + timedelta(minutes=n)


def test_some_names_at_most_a_few_and_counts_the_rest() -> None:
    assert some(["b", "a"]) == "a, b"
    assert some(range(10), shown=3) == "0, 1, 2 (+7 more)"


def test_check_result_text_says_ok_or_fail_with_each_problem() -> None:
    assert CheckResult("x", (), {"n": 1}).text() == "ok   x: n 1"
    failed = CheckResult("x", ("one", "two"), {"n": 1})
    assert not failed.ok
    assert failed.text().splitlines() == ["FAIL x: n 1", "       - one", "       - two"]


# ---- events ---------------------------------------------------------------------------------


def test_events_all_stored_once_pass() -> None:
    result = check_events(
        {"gpu": {"g1", "g2"}, "audit": {"a1"}}, _stored("gpu/g1 gpu/g2 audit/a1"), {}
    )
    assert result.ok, result.problems
    assert result.counts["stored"] == 3


def test_events_missing_twice_or_foreign_are_named() -> None:
    stored = _stored("gpu/g1 gpu/g1 gpu/zz power/p1")
    result = check_events(
        {"gpu": {"g1", "g2", "g3"}, "power": {"p1"}}, stored, {"g3": "too far ahead"}
    )
    assert result.problems == (
        "1 events stored more than once: gpu/g1 x2",
        "gpu: 1 of 3 events neither stored nor dead-lettered: g2",
        "gpu: 1 stored events never produced: zz",
    )
    assert result.counts["missing"] == 1 and result.counts["valid dead-lettered"] == 1


def test_an_event_both_stored_and_dead_lettered_fails() -> None:
    result = check_events({"gpu": {"g1"}}, _stored("gpu/g1"), {"g1": "bad"})
    assert result.problems == ("gpu: 1 events both stored and dead-lettered: g1 (bad)",)


def _stored(text: str) -> Counter[tuple[str, str]]:
    return Counter(tuple(item.split("/")) for item in text.split())  # type: ignore[misc]


# ---- dead letters ---------------------------------------------------------------------------


def test_every_malformed_record_dead_lettered_passes_and_counts_re_sends() -> None:
    bad = {("t", 0, 5), ("t", 1, 9)}
    produced = bad | {("t", 0, 4)}
    result = check_dead_letters(bad, produced, Counter({("t", 0, 5): 2, ("t", 1, 9): 1}))
    assert result.ok
    assert result.counts == {
        "malformed": 2,
        "dead letters": 3,
        "re-sent": 1,
        "valid dead-lettered": 0,
    }


def test_a_lost_malformed_record_and_a_letter_for_nothing_are_named() -> None:
    bad = {("t", 0, 5), ("t", 1, 9)}
    produced = bad | {("t", 0, 4)}
    result = check_dead_letters(
        bad, produced, Counter({("t", 0, 5): 1, ("x", 2, 7): 1, ("t", 0, 4): 1})
    )
    assert result.problems == (
        "1 of 2 malformed records not dead-lettered: t[1]@9",
        "1 dead letters name a record never produced: x[2]@7",
    )
    assert result.counts["valid dead-lettered"] == 1


# ---- audit ----------------------------------------------------------------------------------


def chain(*event_ids: str, seqs: list[int] | None = None) -> list[ChainRecord]:
    seqs = seqs or list(range(1, len(event_ids) + 1))
    return [ChainRecord(s, e, f"h{s}{e}", "") for s, e in zip(seqs, event_ids, strict=True)]


def linked(records: list[ChainRecord]) -> list[ChainRecord]:
    out: list[ChainRecord] = []
    for r in records:
        prev = out[-1].hash if out and out[-1].seq == r.seq - 1 else "genesis"
        out.append(ChainRecord(r.seq, r.event_id, r.hash, prev))
    return out


INTACT = Report()


def test_an_intact_complete_chain_passes() -> None:
    result = check_audit(
        {"s1": {"a", "b", "c"}}, {"s1": linked(chain("a", "b", "c"))}, {"s1": INTACT}
    )
    assert result.ok, result.problems
    assert result.counts == {"sites": 1, "audit events": 3, "records": 3}


def test_a_fork_a_gap_a_double_and_a_missing_event_are_named() -> None:
    records = linked(chain("a", "b", "b", "d", seqs=[1, 2, 2, 4]))
    tampered = Report(findings=[Finding("inserted", "s1", 2, "extra record for seq 2")])
    result = check_audit({"s1": {"a", "b", "c", "d"}}, {"s1": records}, {"s1": tampered})
    assert result.problems == (
        "s1: audit verify says TAMPERING OR LOSS DETECTED: inserted           site=s1 seq 2: "
        "extra record for seq 2",
        "s1: fork: seq 2 held by 2 records (b, b)",
        "s1: seq not contiguous: 1 missing of 1..4: 3",
        "s1: 1 audit events chained more than once: b (seq [2, 2])",
        "s1: 1 audit events never chained: c",
    )


def test_a_broken_link_an_unverified_site_and_a_foreign_event_are_named() -> None:
    records = chain("a", "b", "x")  # prev_hash "" everywhere: seq 2 and 3 do not link
    result = check_audit({"s1": {"a", "b"}}, {"s1": records}, {})
    assert result.problems == (
        "s1: not verified",
        "s1: 3 seqs for 2 audit events",
        "s1: broken link: seq 2 does not follow seq 1",
        "s1: broken link: seq 3 does not follow seq 2",
        "s1: 1 chained events never produced: x",
    )


def test_a_site_with_no_chain_at_all_is_named() -> None:
    result = check_audit({"s1": {"a"}}, {}, {"s1": INTACT})
    assert result.problems == (
        "s1: seq not contiguous: 1 missing of 1..1: 1",
        "s1: 1 audit events never chained: a",
    )


# ---- alerts ---------------------------------------------------------------------------------


def test_event_driven_alerts_as_computed_and_stored_once_pass() -> None:
    result = check_event_driven_alerts({"a1": "r1"}, Counter({("a1", "r1"): 1}))
    assert result.ok


def test_event_driven_alerts_missing_extra_or_doubled_are_named() -> None:
    result = check_event_driven_alerts(
        {"a1": "r1", "a2": "r2"}, Counter({("a1", "r1"): 2, ("a9", "r9"): 1})
    )
    assert result.problems == (
        "1 alerts missing: r2:a2",
        "1 alerts not computed from the traffic: r9:a9",
        "1 alert ids stored more than once: r1:a1 x2",
    )


def incident(ident: str = "inc-1", rule: str = "ops.node_heartbeat_lost") -> Incident:
    return Incident(ident, "node_down", rule, "s1", "s1|n1", minutes(10), minutes(20), minutes(15))


def alert(
    ident: str = "alert-1",
    status: str = "firing",
    start: float = 12,
    end: float = 17,
    rule: str = "ops.node_heartbeat_lost",
    site: str = "s1",
) -> EmittedAlert:
    return EmittedAlert(ident, rule, site, status, 1, minutes(start), minutes(end))


def test_an_incident_is_alerted_by_its_rule_at_its_site_in_its_window() -> None:
    found = check_incidents_alerted([incident()], T, minutes(60), [alert()])
    assert found.ok and found.counts == {"incidents": 1, "alerted": 1}
    for wrong in (alert(rule="other"), alert(site="s2"), alert(start=30, end=35)):
        missed = check_incidents_alerted([incident()], T, minutes(60), [wrong])
        assert missed.problems == ("inc-1 (ops.node_heartbeat_lost at s1, 10:10..10:20): no alert",)


def timed(*changes: StateChange) -> TimedIncident:
    return TimedIncident(incident(), "alert-1", changes)


FIRING = StateChange("firing", 1, minutes(17))
RESOLVED = StateChange("resolved", 1, minutes(17))


def test_a_timed_incident_with_every_state_change_passes_and_counts_identical_re_sends() -> None:
    emitted = [alert(), alert(), alert(status="resolved")]
    result = check_timed_incidents([timed(FIRING, RESOLVED)], emitted)
    assert result.ok, result.problems
    assert result.counts == {
        "incidents": 1, "state changes": 2, "records": 3, "re-sent": 1, "re-judged": 0,
    }  # fmt: skip


def test_a_second_id_for_one_incident_fails_and_says_what_it_held() -> None:
    emitted = [alert(), alert(status="resolved"), alert("alert-2", start=13)]
    result = check_timed_incidents([timed(FIRING, RESOLVED)], emitted)
    assert result.problems == (
        "inc-1 (ops.node_heartbeat_lost at s1): alert ids alert-1, alert-2, expected only "
        "alert-1; unexpected: alert-2 (from 10:13:00: firing/1 ev/to 10:17:00)",
    )


def test_an_incident_under_another_id_alone_fails() -> None:
    result = check_timed_incidents([timed(FIRING)], [alert("alert-9", start=11)])
    assert result.problems == (
        "inc-1 (ops.node_heartbeat_lost at s1): alert ids alert-9, expected only alert-1; "
        "unexpected: alert-9 (from 10:11:00: firing/1 ev/to 10:17:00)",
        "inc-1 (ops.node_heartbeat_lost at s1): state changes missing: firing/1 ev/to 10:17:00",
    )


def test_a_missing_state_change_fails_and_one_judged_again_is_counted() -> None:
    emitted = [alert(), alert(status="updated", end=18)]
    result = check_timed_incidents([timed(FIRING, RESOLVED)], emitted)
    assert result.problems == (
        "inc-1 (ops.node_heartbeat_lost at s1): state changes missing: resolved/1 ev/to 10:17:00",
    )
    assert result.counts["re-judged"] == 1


def test_a_timed_incident_never_alerted_fails() -> None:
    result = check_timed_incidents([timed(FIRING)], [alert(site="s2")])
    assert result.problems == ("inc-1 (ops.node_heartbeat_lost at s1): no alert",)


def test_an_alert_record_is_read_from_its_json() -> None:
    raw = (
        b'{"id": "alert-1", "rule_id": "r", "severity": "high", "team": "ops", "site_id": "s1", '
        b'"country": "DE", "window_start": "2026-03-02T10:12:00Z", '
        b'"window_end": "2026-03-02T10:17:00Z", "evidence_event_ids": ["e1", "e2"], '
        b'"message": "m", "created_ts": "2026-03-02T10:18:00Z", "status": "firing"}'
    )
    read = EmittedAlert.from_json(raw)
    assert read == EmittedAlert("alert-1", "r", "s1", "firing", 2, minutes(12), minutes(17))
    assert read.change == StateChange("firing", 2, minutes(17))
