"""The rule engine: dispatches events to the rules of their family, keeps per-rule state in a
store, and turns firings into alerts (see `agents.rules.incidents`).

A rule that raises is skipped for that input (`RuleErrors`); the other rules and the event go on.
Time-driven rules are judged by `tick`, which stores nothing itself: it returns a `TickResult`
whose `commit()` stores the fired state once the caller has delivered the alerts, so a crash in
between fires the same alerts (same ids) again instead of losing them.

State is bounded: `prune` (run by every commit) deletes what expired, per kind, `grace_s` ago,
and each rule keeps at most `max_groups` groups. An index of deadlines and expiries
(`agents.rules.index`) spares the timer a walk over all state; `reindex` rebuilds it from the
state, and must be called when the state changed behind the engine (partitions assigned).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agents import metrics
from agents.compliance.rule_state import TableState
from agents.rules import incidents
from agents.rules.compiled import CompiledRule, compile_rule
from agents.rules.errors import RuleErrors
from agents.rules.incidents import INCIDENT
from agents.rules.index import StateIndex, group_of
from agents.rules.kinds import KINDS, Firing, State
from agents.rules.language import Compiler
from agents.rules.model import RulePack
from agents.sites.registry import Sites
from schemas.alert import Alert

StateStore = MutableMapping[str, Any]
Active = Callable[[str], bool]
"""Whether this worker actively owns a state key (`TableState.in_partitions`); None: all."""
GRACE_S = 3600.0
"""How long expired state is kept for data that lags behind the event clock (late sites, a
backlog after an outage, replays)."""
MAX_GROUPS = 100_000
"""Groups one rule may hold on one worker."""
RESCAN_EVERY = 720
"""Ticks between full rebuilds of the index (1 h at 5 s): a safety net for state restored
behind the engine's back when nobody called `reindex`."""
RECHECK_S = 60.0
"""How often (event time) an expired key still waiting for its timer is looked at again."""


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


@dataclass(frozen=True)
class _Resolved:
    """Incidents the timer resolved: their state, stored only if it still is `before`."""

    rule: CompiledRule
    key: str
    before: State
    after: State


@dataclass
class TickResult:
    """Alerts due by time alone; `commit()` stores the state they leave once they are delivered.
    Without a commit, the next tick fires them again with the same ids."""

    alerts: list[Alert]
    _engine: RuleEngine = field(repr=False)
    _fired: list[_Fired] = field(repr=False)
    _now: datetime = field(repr=False)
    _active: Active | None = field(repr=False)
    _resolved: list[_Resolved] = field(default_factory=list, repr=False)
    _now_of: Callable[[str], datetime] | None = field(default=None, repr=False)
    _committed: bool = field(default=False, repr=False)

    def commit(self) -> None:
        """Store the fired state, then prune expired state (call it also when there are no
        alerts). A second call does nothing."""
        if not self._committed:
            self._committed = True
            self._engine._store_fired(self._fired, self._resolved)
            self._engine.prune(self._now, self._active, self._now_of)


class RuleEngine:
    def __init__(
        self,
        packs: Iterable[RulePack],
        state: StateStore | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        grace_s: float = GRACE_S,
        max_groups: int = MAX_GROUPS,
        rescan_every: int = RESCAN_EVERY,
        sites: Sites | None = None,
    ) -> None:
        """`clock` (seconds, any origin) only paces the error log; `rescan_every` ticks the
        index is rebuilt from the state (0: only on `reindex`). `sites`: the registry the rules
        read `site.*`, `zone.*`, `rack.*` and the site calendars from (a reload swaps its
        registry in place); default none."""
        self.sites = sites if sites is not None else Sites()
        self.rules: list[CompiledRule] = []
        for pack in packs:
            compiler = Compiler(
                lists={name: frozenset(values) for name, values in pack.lists.items()},
                macros=pack.macros,
                sites=self.sites,
            )
            self.rules.extend(compile_rule(rule, compiler) for rule in pack.rules)
        self.by_family: dict[str, list[CompiledRule]] = {}
        for rule in self.rules:
            for family in rule.rule.families:
                self.by_family.setdefault(family, []).append(rule)
        self._by_id = {rule.id: rule for rule in self.rules}
        self._timed = {
            r.id: r for r in self.rules if r.rule.kind in ("absence", "sequence", "two_person")
        }
        self.state: StateStore = state if state is not None else {}
        self.grace_s = grace_s
        self.max_groups = max_groups
        self.rescan_every = rescan_every
        self._errors = RuleErrors(clock)
        self._index = StateIndex(self._by_id)
        self._indexed = False
        self._ticks = 0

    def process(self, event: Any, now: datetime | None = None) -> list[Alert]:
        """Alerts (new or updated) caused by one validated, pseudonymised event; `now` is their
        creation time (default: the wall clock when one fires)."""
        alerts: list[Alert] = []
        rules = self.by_family.get(event.family)
        if rules:
            self._evaluate(event, rules, now, alerts)
        return alerts

    def process_batch(self, items: Iterable[tuple[Any, int | None]], now: datetime) -> list[Alert]:
        """Alerts of a batch of validated, pseudonymised events, in event order. Each item is an
        event and the Kafka partition it was read from: on a `TableState` the event's state is
        written to that partition's changelog (None: the state's current partition)."""
        alerts: list[Alert] = []
        state = self.state
        table = state if isinstance(state, TableState) else None
        previous = table.partition if table is not None else None
        by_family = self.by_family
        try:
            for event, partition in items:
                rules = by_family.get(event.family)
                if not rules:
                    continue
                if table is not None and partition is not None:
                    table.partition = partition
                self._evaluate(event, rules, now, alerts)
        finally:
            if table is not None:
                table.partition = previous
        return alerts

    def _evaluate(
        self, event: Any, rules: list[CompiledRule], now: datetime | None, alerts: list[Alert]
    ) -> None:
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
                    if after is None:
                        self._index.forget(key, key + INCIDENT in state)
                    else:
                        self._index.wrote(rule, key, after)
            except Exception:  # one rule's bug must not stop the event or the other rules
                self._errors.report(rule.id, f"on event {getattr(event, 'event_id', '?')}")

    def tick(
        self,
        now: datetime,
        active: Active | None = None,
        now_of: Callable[[str], datetime] | None = None,
    ) -> TickResult:
        """Alerts due by time (absence, not-followed-by, two-person and late-A deadlines) for the
        keys `active` accepts; stores nothing until `TickResult.commit()`. Visits due keys only
        (a full walk the first time and every `rescan_every` ticks). `now_of`: each key's own
        time (its partition's event clock), at most `now`; default `now` for every key."""
        self._ticks += 1
        if not self._indexed or (self.rescan_every and self._ticks % self.rescan_every == 0):
            self.reindex(active)
        alerts: list[Alert] = []
        fired: list[_Fired] = []
        epoch = _epoch(now)
        deadlines = self._index.deadlines
        due_incidents: list[tuple[str, State, datetime]] = []
        for key in deadlines.pop_due(epoch):
            before: State | None = self.state.get(key)
            if before is None or (active is not None and not active(key)):
                continue  # gone, or not ours: `reindex` brings it back once it is assigned here
            key_now = now if now_of is None else min(now, now_of(key))
            if key.endswith(INCIDENT):
                due_incidents.append((key, before, key_now))
                continue
            key_epoch = _epoch(key_now)
            rule_id, _, group = key.partition("|")
            rule = self._timed.get(rule_id)
            if rule is None:
                continue
            kind = KINDS[rule.rule.kind]
            try:
                after, firings = kind.on_tick(rule, key_epoch, before)
                if firings or after is not before:
                    current = self.state.get(key + INCIDENT)
                    for firing in firings:
                        meta = {
                            "site_id": firing.context.get("site_id") or group.split("/")[0],
                            "country": firing.context.get("country", "ZZ"),
                        }
                        current, incident, status = incidents.join(
                            rule, group, firing, current, meta
                        )
                        alerts.append(incidents.alert_of(rule, incident, status, key_now))
                    fired.append(_Fired(rule, key, group, before, after, tuple(firings)))
                    deadlines.set(key, key_epoch)  # due again until committed
                elif (deadline := kind.deadline(rule, before)) is not None:
                    deadlines.set(key, deadline)
            except Exception:
                self._errors.report(rule.id, f"on the timer for {key}")
                deadlines.set(key, key_epoch)  # judged again next tick
        fired_groups = {change.key + INCIDENT for change in fired}
        resolved = self._resolve_due(due_incidents, fired_groups, alerts)
        return TickResult(alerts, self, fired, now, active, resolved, now_of)

    def _resolve_due(
        self,
        due: list[tuple[str, State, datetime]],
        fired: set[str],
        alerts: list[Alert],
    ) -> list[_Resolved]:
        """Resolve the incidents whose suppress period passed without new evidence (a group
        whose timer also fired this tick is judged at the next one)."""
        resolved: list[_Resolved] = []
        deadlines = self._index.deadlines
        for key, before, now in due:  # each incident at its own partition's time
            epoch = _epoch(now)
            rule = self._by_id.get(key.partition("|")[0])
            if rule is None:
                continue
            if key in fired:
                deadlines.set(key, epoch)
                continue
            try:
                after, closed = incidents.resolve_due(rule, before, epoch)
                if after is not None:
                    alerts.extend(incidents.alert_of(rule, i, "resolved", now) for i in closed)
                    resolved.append(_Resolved(rule, key, before, after))
                    deadlines.set(key, epoch)  # due again until committed
                elif (deadline := incidents.deadline(rule, before)) is not None:
                    deadlines.set(key, deadline)
            except Exception:
                self._errors.report(rule.id, f"resolving the incidents of {key}")
                deadlines.set(key, epoch)
        return resolved

    def prune(
        self,
        now: datetime,
        active: Active | None = None,
        now_of: Callable[[str], datetime] | None = None,
    ) -> int:
        """Delete, among the keys `active` accepts, the state that expired `grace_s` before
        `now` (never a window still open or a deadline not yet fired) and each rule's groups
        beyond `max_groups`, least recently active first. Returns the keys deleted. `now_of`:
        each key's own time, at most `now` (as for `tick`): a key of a partition whose events
        lag is not pruned by another partition's time."""
        if not self._indexed:
            self.reindex(active)
        horizon = _epoch(now) - self.grace_s
        expiries = self._index.expiries
        pruned = 0
        for key in expiries.pop_due(horizon):
            state = self.state.get(key)
            if state is None or (active is not None and not active(key)):
                continue
            try:
                expiry = self._index.expiry(key, state)
            except Exception:
                self._errors.report(key.partition("|")[0], f"judging the expiry of {key}")
                continue
            key_now = now if now_of is None else min(now, now_of(key))
            key_horizon = _epoch(key_now) - self.grace_s
            if expiry is None:  # waits for its timer (or for the commit of its firing)
                expiries.set(key, horizon + RECHECK_S)
            elif expiry <= key_horizon:
                self._delete(key)
                pruned += 1
            else:
                expiries.set(key, expiry)
        if pruned:
            metrics.RULE_STATE_PRUNED.inc(pruned)
        return pruned + self._evict(active)

    def reindex(self, active: Active | None = None) -> None:
        """Rebuild the index from the state, keeping the keys `active` accepts: call it once
        state was restored or reassigned behind the engine (partitions assigned, recovered)."""
        index = StateIndex(self._by_id)
        activity: dict[str, dict[str, float]] = {}
        for key in list(self.state):
            if active is not None and not active(key):
                continue
            state = self.state.get(key)
            if state is None:
                continue
            try:
                index.add(key, state, activity)
            except Exception:
                self._errors.report(key.partition("|")[0], f"indexing {key}")
        index.order_groups(activity)
        self._index = index
        self._indexed = True

    def _store_fired(self, fired: Sequence[_Fired], resolved: Sequence[_Resolved] = ()) -> None:
        for done in resolved:
            try:
                # Evidence may have joined while the records were delivered: it wins, and the
                # next tick judges the incidents again.
                if self.state.get(done.key) == done.before:
                    self.state[done.key] = done.after
                    self._index.settled(done.rule, done.key, done.after)
            except Exception:
                self._errors.report(done.rule.id, f"storing the resolution of {done.key}")
        for change in fired:
            try:
                current = self.state.get(change.key)
                # An event may have changed the state while the alerts were delivered: it wins,
                # and the next tick judges the new state.
                if current is not None and current == change.before:
                    self._store(change.key, current, change.after)
                    if change.after is None:
                        self._index.forget(change.key, change.key + INCIDENT in self.state)
                    else:
                        self._index.settled(change.rule, change.key, change.after)
                incident_key = change.key + INCIDENT
                joined = self.state.get(incident_key)
                for firing in change.firings:
                    meta = {
                        "site_id": firing.context.get("site_id") or change.group.split("/")[0],
                        "country": firing.context.get("country", "ZZ"),
                    }
                    joined, _, _ = incidents.join(change.rule, change.group, firing, joined, meta)
                if joined is not None:
                    self.state[incident_key] = joined
                    self._index.settled(change.rule, incident_key, joined)
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
        """The alerts of an event's firings (and clearings); their incidents are stored once all
        are built."""
        key = f"{rule.id}|{group}{INCIDENT}"
        before = current = self.state.get(key)
        alerts: list[Alert] = []
        for firing in firings:
            if firing.clears:
                cleared, closed = incidents.clear(current, firing.end)
                current = cleared or current
                alerts.extend(incidents.alert_of(rule, i, "resolved", now) for i in closed)
                continue
            current, incident, status = incidents.join(rule, group, firing, current, meta)
            alerts.append(incidents.alert_of(rule, incident, status, now))
        if current is not None and current is not before:
            self.state[key] = current
            self._index.wrote(rule, key, current)
        return alerts

    def _store(self, key: str, before: State | None, after: State | None) -> None:
        if after is None:
            if before is not None:
                del self.state[key]
        elif after is not before:  # only changed state is written (a changelog record each)
            self.state[key] = after

    def _delete(self, key: str) -> None:
        del self.state[key]
        group = group_of(key)
        sibling = group if key != group else group + INCIDENT
        self._index.forget(key, sibling in self.state)

    def _evict(self, active: Active | None) -> int:
        """Drop each rule's least recently active groups beyond `max_groups`; returns keys."""
        deleted = 0
        for rule_id, groups in self._index.groups.items():
            evicted = 0
            while len(groups) > self.max_groups:
                group, _ = groups.popitem(last=False)
                keys = [k for k in (group, group + INCIDENT) if k in self.state]
                if active is not None and not any(active(k) for k in keys):
                    continue  # another worker's: it keeps its own groups in bounds
                for key in keys:
                    del self.state[key]
                    self._index.forget(key, True)
                deleted += len(keys)
                evicted += 1
            if evicted:
                metrics.RULE_GROUPS_EVICTED.labels(rule=rule_id).inc(evicted)
            metrics.RULE_GROUPS.labels(rule=rule_id).set(len(groups))
        return deleted
