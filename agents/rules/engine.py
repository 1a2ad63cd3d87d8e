"""The rule engine: dispatches events to the rules of their family, keeps per-rule state in a
store, and turns firings into alerts with deterministic ids and per-rule suppression.

Suppression: a firing within `suppress` seconds of an open incident of the same rule and group
extends that incident (same alert id, later window end, more evidence) instead of raising a new
alert. Every extension re-emits the alert, so downstream always holds its latest version; a
replayed event re-emits the same version, which is harmless (same id, same content).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from datetime import UTC, datetime
from typing import Any

from agents.rules.compiled import CompiledRule, compile_rule
from agents.rules.errors import RuleErrors
from agents.rules.kinds import KINDS, MAX_EVENTS, Firing, State
from agents.rules.language import Compiler
from agents.rules.model import RulePack
from schemas.alert import Alert, alert_id

StateStore = MutableMapping[str, Any]
EARLIER = "earlier"
KEEP_EARLIER = 3
"""Incidents a group remembers besides its current one. Events replayed after a crash meet
state that has already moved on; a firing inside an earlier incident joins it instead of opening
a new one, so a replay re-emits the same alert id."""


def _epoch(ts: datetime) -> float:
    return ts.timestamp()


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class RuleEngine:
    def __init__(
        self,
        packs: Iterable[RulePack],
        state: StateStore | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`clock` (seconds, any origin) only paces the error log."""
        self.rules: list[CompiledRule] = []
        for pack in packs:
            compiler = Compiler(
                lists={name: frozenset(values) for name, values in pack.lists.items()},
                macros=pack.macros,
            )
            self.rules.extend(compile_rule(rule, compiler) for rule in pack.rules)
        self.by_family: dict[str, list[CompiledRule]] = {}
        for rule in self.rules:
            for family in rule.rule.families:
                self.by_family.setdefault(family, []).append(rule)
        self._timed = [
            r for r in self.rules if r.rule.kind in ("absence", "sequence", "two_person")
        ]
        self.state: StateStore = state if state is not None else {}
        self._errors = RuleErrors(clock)

    def process(self, event: Any, now: datetime | None = None) -> list[Alert]:
        """Alerts (new or updated) caused by one validated, pseudonymised event."""
        alerts: list[Alert] = []
        rules = self.by_family.get(event.family)
        if not rules:
            return alerts
        ts = _epoch(event.ts)
        state = self.state
        for rule in rules:
            try:
                if not rule.relevant(event):
                    continue
                group = rule.group(event)
                key = f"{rule.id}|{group}"
                before = state.get(key)
                after, firings = KINDS[rule.rule.kind].on_event(rule, event, ts, before)
                if firings:
                    meta = {"site_id": event.site_id, "country": event.country}
                    created = now or datetime.now(UTC)
                    alerts.extend(self._alert(rule, group, f, meta, created) for f in firings)
                if after is not before:
                    self._store(key, before, after)
            except Exception:  # one rule's bug must not stop the event or the other rules
                self._errors.report(rule.id, f"on event {getattr(event, 'event_id', '?')}")
        return alerts

    def tick(self, now: datetime) -> list[Alert]:
        """Alerts due by time alone (absence, not-followed-by, two-person deadlines)."""
        alerts: list[Alert] = []
        epoch = _epoch(now)
        timed = {rule.id: rule for rule in self._timed}
        for key in [k for k in self.state if not k.endswith("|alert")]:
            rule_id, _, group = key.partition("|")
            rule = timed.get(rule_id)
            if rule is None:
                continue
            try:
                before = self.state[key]
                after, firings = KINDS[rule.rule.kind].on_tick(rule, epoch, before)
                for firing in firings:
                    meta = {
                        "site_id": firing.context.get("site_id") or group.split("/")[0],
                        "country": firing.context.get("country", "ZZ"),
                    }
                    alerts.append(self._alert(rule, group, firing, meta, now))
                self._store(key, before, after)
            except Exception:
                self._errors.report(rule.id, f"on the timer for {key}")
        return alerts

    def _store(self, key: str, before: State | None, after: State | None) -> None:
        if after is None:
            if before is not None:
                del self.state[key]
        elif after is not before:  # only changed state is written (a changelog record each)
            self.state[key] = after

    def _alert(
        self, rule: CompiledRule, group: str, firing: Firing, meta: dict[str, str], now: datetime
    ) -> Alert:
        key = f"{rule.id}|{group}|alert"
        current = self.state.get(key)
        known = [] if current is None else [current, *current.get(EARLIER, [])]
        match = next((i for i in known if i["start"] <= firing.start < i["until"]), None)
        if match is not None:
            seen = set(match["ids"])
            ids = [*match["ids"], *(i for i in firing.evidence if i not in seen)]
            incident = {
                **_plain(match),
                "end": max(match["end"], firing.end),
                "ids": ids[:MAX_EVENTS],
            }
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
        alert = Alert(
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
        self.state[key] = {**head, EARLIER: earlier}  # once the alert is built: it may raise
        return alert

    def prune(self, now: datetime, keep_s: float = 7 * 86400) -> int:
        """Forget incidents and idle state older than keep_s; returns how many keys went."""
        horizon = _epoch(now) - keep_s
        stale = [k for k, v in self.state.items() if _last_activity(v) < horizon]
        for key in stale:
            del self.state[key]
        return len(stale)


def _plain(incident: State) -> State:
    """An incident without its list of earlier ones."""
    return {k: v for k, v in incident.items() if k != EARLIER}


def _last_activity(state: State) -> float:
    candidates: list[float] = []
    for name in ("until", "last", "end"):
        if isinstance(state.get(name), int | float):
            candidates.append(float(state[name]))
    for name in ("events", "a", "pending", "seen"):
        items: Sequence[Any] = state.get(name) or ()
        candidates.extend(float(item[0]) for item in items)
    return max(candidates, default=float("inf"))
