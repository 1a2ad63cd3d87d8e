"""Incidents: what turns a rule's firings into alerts with stable ids.

Suppression: a firing within `suppress` seconds of an open incident of the same rule and group
extends that incident (same alert id, later window end, more evidence) instead of raising a new
alert. Every extension re-emits the alert, so downstream always holds its latest version; a
replayed event re-emits the same version, which is harmless (same id, same content).

An incident state (stored under "rule|group|alert") is the current incident plus up to
`KEEP_EARLIER` earlier ones. Functions here are pure: the engine decides when state is stored.
"""

from __future__ import annotations

from datetime import UTC, datetime

from agents.rules.compiled import CompiledRule
from agents.rules.kinds import MAX_EVENTS, Firing, State
from schemas.alert import Alert, alert_id

INCIDENT = "|alert"
"""Suffix of the key of a group's incidents (the group's own state is under "rule|group")."""
EARLIER = "earlier"
KEEP_EARLIER = 3
"""Incidents a group remembers besides its current one. Events replayed after a crash meet
state that has already moved on; a firing inside an earlier incident joins it instead of opening
a new one, so a replay re-emits the same alert id."""


def join(
    rule: CompiledRule, group: str, firing: Firing, current: State | None
) -> tuple[State, State]:
    """The group's incident state once `firing` joined it, and the incident it joined."""
    known = [] if current is None else [current, *current.get(EARLIER, [])]
    match = next((i for i in known if i["start"] <= firing.start < i["until"]), None)
    if match is not None:
        seen = set(match["ids"])
        ids = [*match["ids"], *(i for i in firing.evidence if i not in seen)]
        incident = {**_plain(match), "end": max(match["end"], firing.end), "ids": ids[:MAX_EVENTS]}
        earlier = [_plain(i) if i is not match else incident for i in known[1:]]
        head = incident if match is current else _plain(known[0])
    else:
        incident = {
            "id": alert_id(rule.id, group, _utc(firing.start)),
            "start": firing.start,
            "end": firing.end,
            "until": firing.start + rule.rule.suppress,
            "ids": list(dict.fromkeys(firing.evidence))[:MAX_EVENTS],
        }
        earlier = [_plain(i) for i in known][:KEEP_EARLIER]
        head = incident
    return {**head, EARLIER: earlier}, incident


def alert_of(
    rule: CompiledRule, incident: State, firing: Firing, meta: dict[str, str], now: datetime
) -> Alert:
    return Alert(
        id=incident["id"],
        rule_id=rule.id,
        severity=rule.rule.severity,
        team=rule.rule.team,
        site_id=meta["site_id"],
        country=meta["country"],
        window_start=_utc(incident["start"]),
        window_end=_utc(incident["end"]),
        evidence_event_ids=incident["ids"],
        message=rule.message({**firing.context, "count": str(len(incident["ids"]))})[:4096],
        created_ts=now,
    )


def expires(rule: CompiledRule, state: State) -> float:
    """Event time after which no firing can join these incidents: the latest suppression end,
    plus the rule's window (a firing may start up to a window before the event that caused it)."""
    known = [state, *state.get(EARLIER, [])]
    return max(float(i["until"]) for i in known) + (rule.rule.window or 0.0)


def _plain(incident: State) -> State:
    """An incident without its list of earlier ones."""
    return {k: v for k, v in incident.items() if k != EARLIER}


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
