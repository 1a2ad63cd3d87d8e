"""What the engine knows about its state without walking it: when each timed key is due
(`deadlines`), from when each key may be pruned (`expiries`), and each rule's groups in order of
last activity (`groups`, for the per-rule cap).

Times are event times. A deadline is never later than the key's true one (an event may move it
earlier, so it is lowered on every write; a key that comes up early is judged and rescheduled).
An expiry is only a hint: a key is pruned only when its state, read again, says so.

The index is built from the engine's own writes; state written by others (restored from the
changelog when partitions are assigned) needs `RuleEngine.reindex`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

from agents.rules import incidents
from agents.rules.compiled import CompiledRule
from agents.rules.incidents import INCIDENT
from agents.rules.kinds import KINDS, NEVER, State
from agents.rules.schedule import Schedule


def group_of(key: str) -> str:
    """The group key ("rule|group") of a state or incident key."""
    return key[: -len(INCIDENT)] if key.endswith(INCIDENT) else key


class StateIndex:
    def __init__(self, rules: Mapping[str, CompiledRule]) -> None:
        self._rules = rules
        self.deadlines = Schedule()
        self.expiries = Schedule()
        self.groups: dict[str, OrderedDict[str, None]] = {}

    def rule_of(self, key: str) -> CompiledRule | None:
        return self._rules.get(key.partition("|")[0])

    def expiry(self, key: str, state: State) -> float | None:
        """Event time from which the key's state changes no outcome; None while it waits for
        its timer. State of a rule no longer loaded expires at once."""
        rule = self.rule_of(key)
        if rule is None:
            return NEVER
        if key.endswith(INCIDENT):
            if incidents.deadline(rule, state) is not None:
                return None
            return incidents.expires(rule, state)
        kind = KINDS[rule.rule.kind]
        if kind.deadline(rule, state) is not None:
            return None
        return kind.expires(rule, state)

    def wrote(self, rule: CompiledRule, key: str, state: State) -> None:
        """An event changed the key's state (or incidents): the group is the most recent."""
        group = group_of(key)
        groups = self.groups.get(rule.id)
        if groups is None:
            groups = self.groups[rule.id] = OrderedDict()
        if group in groups:
            groups.move_to_end(group)
        else:
            groups[group] = None
        self._schedule(rule, key, state)

    def settled(self, rule: CompiledRule, key: str, state: State) -> None:
        """The timer's firings (or resolutions) were stored: the key's next deadline is its
        true one."""
        self.groups.setdefault(rule.id, OrderedDict()).setdefault(group_of(key), None)
        if key.endswith(INCIDENT):
            deadline = incidents.deadline(rule, state)
        else:
            deadline = KINDS[rule.rule.kind].deadline(rule, state)
        if deadline is None:
            self.deadlines.discard(key)
        else:
            self.deadlines.set(key, deadline)
        expiry = self.expiry(key, state)
        if expiry is not None:
            self.expiries.set(key, expiry)

    def forget(self, key: str, sibling_exists: bool) -> None:
        """The key was deleted; its group goes too once neither of its keys is left."""
        self.deadlines.discard(key)
        self.expiries.discard(key)
        if not sibling_exists:
            groups = self.groups.get(key.partition("|")[0])
            if groups is not None:
                groups.pop(group_of(key), None)

    def add(self, key: str, state: State, activity: dict[str, dict[str, float]]) -> None:
        """Index a key found in the state; `activity` collects each group's latest time, by
        which `order_groups` ranks the groups it did not see written."""
        rule = self.rule_of(key)
        if rule is None:
            self.expiries.set(key, NEVER)
            return
        if key.endswith(INCIDENT):
            group = key[: -len(INCIDENT)]
            deadline = incidents.deadline(rule, state)
            if deadline is None:
                when = incidents.expires(rule, state)
            else:  # waits for its timer to resolve it
                self.deadlines.set(key, deadline)
                when = deadline
        else:
            group = key
            kind = KINDS[rule.rule.kind]
            deadline = kind.deadline(rule, state)
            if deadline is None:
                when = kind.expires(rule, state)
            else:  # waits for its timer: no expiry before its deadline
                self.deadlines.set(key, deadline)
                when = deadline
        self.expiries.set(key, when)
        seen = activity.setdefault(rule.id, {})
        if seen.get(group, NEVER) <= when:
            seen[group] = when

    def order_groups(self, activity: dict[str, dict[str, float]]) -> None:
        for rule_id, seen in activity.items():
            ranked = sorted(seen.items(), key=lambda item: item[1])
            self.groups[rule_id] = OrderedDict((group, None) for group, _ in ranked)

    def _schedule(self, rule: CompiledRule, key: str, state: State) -> None:
        if key.endswith(INCIDENT):
            # Written once per alert (not per event): the expiry follows the incidents' status.
            deadline = incidents.deadline(rule, state)
            if deadline is None:
                self.expiries.set(key, incidents.expires(rule, state))
            else:
                self.deadlines.earliest(key, deadline)
                self.expiries.set(key, deadline)
            return
        kind = KINDS[rule.rule.kind]
        if key not in self.expiries:
            self.expiries.set(key, kind.expires(rule, state))
        deadline = kind.deadline(rule, state)
        if deadline is not None:
            self.deadlines.earliest(key, deadline)
