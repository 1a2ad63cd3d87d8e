"""The rule engine: dispatches events to the rules of their family, keeps per-rule state in a
store, and turns firings into alerts (see `agents.rules.incidents`).

A rule that raises is skipped for that input (`RuleErrors`); the other rules and the event go on.
Time-driven rules are judged by `tick`, which stores nothing itself: it returns a `TickResult`
whose `commit()` stores the fired state once the caller has delivered the alerts, so a crash in
between fires the same alerts (same ids) again instead of losing them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agents.rules import incidents
from agents.rules.compiled import CompiledRule, compile_rule
from agents.rules.errors import RuleErrors
from agents.rules.incidents import INCIDENT
from agents.rules.kinds import KINDS, Firing, State
from agents.rules.language import Compiler
from agents.rules.model import RulePack
from schemas.alert import Alert

StateStore = MutableMapping[str, Any]
Active = Callable[[str], bool]
"""Whether this worker actively owns a state key (`TableState.in_partitions`); None: all."""


def _epoch(ts: datetime) -> float:
    return ts.timestamp()


@dataclass(frozen=True)
class _Fired:
    """What one key's timer firings change: its state (stored only if it still is `before`)
    and its incidents (the firings are joined into whatever the incidents are at commit)."""

    rule: CompiledRule
    key: str
    group: str
    before: State
    after: State | None
    firings: tuple[Firing, ...]


@dataclass
class TickResult:
    """Alerts due by time alone; `commit()` stores the state they leave once they are delivered.
    Without a commit, the next tick fires them again with the same ids."""

    alerts: list[Alert]
    _engine: RuleEngine = field(repr=False)
    _fired: list[_Fired] = field(repr=False)
    _committed: bool = field(default=False, repr=False)

    def commit(self) -> None:
        if not self._committed:
            self._committed = True
            self._engine._commit(self._fired)


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
        self._timed = {
            r.id: r for r in self.rules if r.rule.kind in ("absence", "sequence", "two_person")
        }
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
                    alerts.extend(self._raise(rule, group, firings, meta, created))
                if after is not before:
                    self._store(key, before, after)
            except Exception:  # one rule's bug must not stop the event or the other rules
                self._errors.report(rule.id, f"on event {getattr(event, 'event_id', '?')}")
        return alerts

    def tick(self, now: datetime, active: Active | None = None) -> TickResult:
        """Alerts due by time (absence, not-followed-by, two-person and late-A deadlines) for the
        keys `active` accepts; stores nothing until `TickResult.commit()`."""
        alerts: list[Alert] = []
        fired: list[_Fired] = []
        epoch = _epoch(now)
        for key in [k for k in self.state if not k.endswith(INCIDENT)]:
            rule_id, _, group = key.partition("|")
            rule = self._timed.get(rule_id)
            if rule is None or (active is not None and not active(key)):
                continue
            try:
                before = self.state[key]
                after, firings = KINDS[rule.rule.kind].on_tick(rule, epoch, before)
                if not firings:
                    continue
                current = self.state.get(key + INCIDENT)
                for firing in firings:
                    current, incident = incidents.join(rule, group, firing, current)
                    meta = {
                        "site_id": firing.context.get("site_id") or group.split("/")[0],
                        "country": firing.context.get("country", "ZZ"),
                    }
                    alerts.append(incidents.alert_of(rule, incident, firing, meta, now))
                fired.append(_Fired(rule, key, group, before, after, tuple(firings)))
            except Exception:
                self._errors.report(rule.id, f"on the timer for {key}")
        return TickResult(alerts, self, fired)

    def _commit(self, fired: Sequence[_Fired]) -> None:
        for change in fired:
            try:
                current = self.state.get(change.key)
                # An event may have changed the state while the alerts were delivered: it wins,
                # and the next tick judges the new state.
                if current is not None and current == change.before:
                    self._store(change.key, current, change.after)
                incident_key = change.key + INCIDENT
                joined = self.state.get(incident_key)
                for firing in change.firings:
                    joined, _ = incidents.join(change.rule, change.group, firing, joined)
                if joined is not None:
                    self.state[incident_key] = joined
            except Exception:
                self._errors.report(change.rule.id, f"storing the timer state of {change.key}")

    def _raise(
        self,
        rule: CompiledRule,
        group: str,
        firings: Sequence[Firing],
        meta: dict[str, str],
        now: datetime,
    ) -> list[Alert]:
        """The alerts of an event's firings; their incidents are stored once all are built."""
        key = f"{rule.id}|{group}{INCIDENT}"
        current = self.state.get(key)
        alerts = []
        for firing in firings:
            current, incident = incidents.join(rule, group, firing, current)
            alerts.append(incidents.alert_of(rule, incident, firing, meta, now))
        if current is not None:
            self.state[key] = current
        return alerts

    def _store(self, key: str, before: State | None, after: State | None) -> None:
        if after is None:
            if before is not None:
                del self.state[key]
        elif after is not before:  # only changed state is written (a changelog record each)
            self.state[key] = after

    def prune(self, now: datetime, keep_s: float = 7 * 86400) -> int:
        """Forget incidents and idle state older than keep_s; returns how many keys went."""
        horizon = _epoch(now) - keep_s
        stale = [k for k, v in self.state.items() if _last_activity(v) < horizon]
        for key in stale:
            del self.state[key]
        return len(stale)


def _last_activity(state: State) -> float:
    candidates: list[float] = []
    for name in ("until", "last", "end"):
        if isinstance(state.get(name), int | float):
            candidates.append(float(state[name]))
    for name in ("events", "a", "pending", "seen"):
        items: Sequence[Any] = state.get(name) or ()
        candidates.extend(float(item[0]) for item in items)
    return max(candidates, default=float("inf"))
