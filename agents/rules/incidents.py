"""Incidents: what turns a rule's firings into alerts with stable ids and a lifecycle.

Suppression: a firing within `suppress` seconds of an open incident of the same rule and group
extends that incident (same alert id, later window end, more evidence) instead of raising a new
alert. The first record of an incident is `firing`, every extension an `updated` record; a replayed
event re-emits the same version, which is harmless (same id, same content).

Resolution (`resolved`, with `ends_at`), by the rule's kind:
- sustained: a sample of the group no longer meets the condition;
- absence: data from the group again;
- stateless, count, sequence, two_person: the incident's suppress period (plus the rule's window,
  as a firing may start up to a window before the event that caused it) passed in event time
  without new evidence joining it. The engine's timer judges this (`deadline`, `resolve_due`).

An incident state (stored under "rule|group|alert") is the current incident plus up to
`KEEP_EARLIER` earlier ones. Each incident keeps what its resolved record needs (site, country,
message), as the timer resolves it without an event. Functions here are pure: the engine decides
when state is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from agents.rules.compiled import CompiledRule
from agents.rules.kinds import MAX_EVENTS, Firing, State
from schemas.alert import Alert, Status, alert_id

INCIDENT = "|alert"
"""Suffix of the key of a group's incidents (the group's own state is under "rule|group")."""
EARLIER = "earlier"
KEEP_EARLIER = 3
"""Incidents a group remembers besides its current one. Events replayed after a crash meet
state that has already moved on; a firing inside an earlier incident joins it instead of opening
a new one, so a replay re-emits the same alert id."""
RESOLVED_BY_CONDITION = frozenset({"sustained", "absence"})
"""Kinds whose incidents end when their condition clears (a clearing `Firing`), not by time."""
OPEN_FOREVER = float("inf")
_Predicate = Callable[[State], bool]
_EndsAt = Callable[[State], float]


def join(
    rule: CompiledRule, group: str, firing: Firing, current: State | None, meta: dict[str, str]
) -> tuple[State, State, Status]:
    """The group's incident state once `firing` joined it, the incident it joined and the state
    change that is: `firing` for a new incident (or one resolved before this firing started: it
    reopens), `updated` for an open one, `resolved` for late evidence of an incident resolved
    after it (the incident stays resolved)."""
    known = [] if current is None else [current, *current.get(EARLIER, [])]
    match = next((i for i in known if i["start"] <= firing.start < i["until"]), None)
    if match is not None:
        seen = set(match["ids"])
        ids = [*match["ids"], *(i for i in firing.evidence if i not in seen)][:MAX_EVENTS]
        incident = {
            **_plain(match),
            "end": max(match["end"], firing.end),
            "ids": ids,
            "message": rule.message({**firing.context, "count": str(len(ids))}),
        }
        status: Status = "updated"
        if match.get("status") == "resolved":
            if firing.start >= match["ends_at"]:  # the condition is back: the incident reopens
                incident = {k: v for k, v in incident.items() if k != "ends_at"}
                incident["status"] = status = "firing"
            else:  # late evidence of what was already resolved
                status = "resolved"
        earlier = [_plain(i) if i is not match else incident for i in known[1:]]
        head = incident if match is current else _plain(known[0])
    else:
        ids = list(dict.fromkeys(firing.evidence))[:MAX_EVENTS]
        incident = {
            "id": alert_id(rule.id, group, _utc(firing.start)),
            "start": firing.start,
            "end": firing.end,
            "until": firing.start + rule.rule.suppress,
            "ids": ids,
            "status": "firing",
            "site": meta["site_id"],
            "country": meta["country"],
            "message": rule.message({**firing.context, "count": str(len(ids))}),
        }
        earlier = [_plain(i) for i in known][:KEEP_EARLIER]
        head = incident
        status = "firing"
    return {**head, EARLIER: earlier}, incident, status


def clear(current: State | None, at: float) -> tuple[State | None, list[State]]:
    """The condition cleared at event time `at`: every open incident that started by then is
    resolved. Returns the new state (None: unchanged) and the incidents resolved."""
    return _resolve(current, lambda i: i["start"] <= at, lambda i: max(at, float(i["end"])))


def deadline(rule: CompiledRule, state: State) -> float | None:
    """When the timer resolves the earliest open incident (None: no open incident the timer
    resolves)."""
    if rule.rule.kind in RESOLVED_BY_CONDITION:
        return None
    due = [_quiet_from(rule, i) for i in _known(state) if i.get("status") != "resolved"]
    return min(due) if due else None


def resolve_due(rule: CompiledRule, state: State, now: float) -> tuple[State | None, list[State]]:
    """Resolve the open incidents whose suppress period passed by event time `now` without new
    evidence (not for kinds resolved by their condition)."""
    if rule.rule.kind in RESOLVED_BY_CONDITION:
        return None, []
    return _resolve(state, lambda i: _quiet_from(rule, i) <= now, lambda i: _quiet_from(rule, i))


def alert_of(rule: CompiledRule, incident: State, status: Status, now: datetime) -> Alert:
    resolved = status == "resolved"
    return Alert(
        id=incident["id"],
        rule_id=rule.id,
        severity=rule.rule.severity,
        team=rule.rule.team,
        site_id=incident.get("site") or incident["id"],
        country=incident.get("country") or "ZZ",
        window_start=_utc(incident["start"]),
        window_end=_utc(incident["end"]),
        evidence_event_ids=incident["ids"],
        message=(incident.get("message") or rule.rule.title or rule.id)[:4096],
        created_ts=now,
        status=status,
        ends_at=_utc(incident["ends_at"]) if resolved else None,
    )


def expires(rule: CompiledRule, state: State) -> float:
    """Event time after which no firing can join these incidents: the latest suppression end,
    plus the rule's window (a firing may start up to a window before the event that caused it).
    An open incident of a kind resolved by its condition never expires: it waits for the
    condition to clear (the per-rule group cap bounds them)."""
    known = _known(state)
    if rule.rule.kind in RESOLVED_BY_CONDITION and any(
        i.get("status") != "resolved" for i in known
    ):
        return OPEN_FOREVER
    return max(_quiet_from(rule, i) for i in known)


def _quiet_from(rule: CompiledRule, incident: State) -> float:
    return float(incident["until"]) + (rule.rule.window or 0.0)


def _known(state: State) -> list[State]:
    return [state, *state.get(EARLIER, [])]


def _resolve(
    current: State | None, due: _Predicate, ends_at: _EndsAt
) -> tuple[State | None, list[State]]:
    if current is None:
        return None, []
    known = _known(current)
    resolved: list[State] = []
    changed: list[State] = []
    for incident in known:
        plain = _plain(incident)
        if incident.get("status") != "resolved" and due(incident):
            plain = {**plain, "status": "resolved", "ends_at": ends_at(incident)}
            resolved.append(plain)
        changed.append(plain)
    if not resolved:
        return None, []
    return {**changed[0], EARLIER: changed[1:]}, resolved


def _plain(incident: State) -> State:
    """An incident without its list of earlier ones."""
    return {k: v for k, v in incident.items() if k != EARLIER}


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
