"""The six rule kinds as state machines over event time.

Each kind keeps its state per (rule, group) in a plain JSON-able dict inside the engine's state
store (a Faust table in the worker, a dict elsewhere), so a restart restores every open window
from the changelog. Timestamps are epoch seconds. State remembers event ids, so an event seen
twice (a replay after a crash) never counts twice.

A kind returns `Firing`s; the engine turns them into alerts (suppression, ids, messages). It
also tells the engine when its timer may next fire for a state (`deadline`) and from when a state
no longer changes any outcome (`expires`), so the engine visits only due keys and prunes the rest.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Any, Protocol

from agents.rules.compiled import CompiledRule

State = dict[str, Any]
MAX_EVENTS = 1000  # per group and rule: bounds memory whatever the input rate
EVIDENCE = 10  # event ids a sustained run keeps: the last ones are its alert's evidence
NEVER = float("-inf")
LATE_GRACE_S = 60.0  # how long a B from another topic waits for an earlier A to be processed


@dataclass(frozen=True)
class Firing:
    """A rule's condition met over [start, end]; with `clears`, the condition stopped holding at
    `end` (sustained, absence): the group's open incidents resolve."""

    start: float
    end: float
    evidence: tuple[str, ...]
    context: dict[str, str]
    clears: bool = False


class Kind(Protocol):
    def on_event(
        self, rule: CompiledRule, event: Any, ts: float, state: State | None
    ) -> tuple[State | None, list[Firing]]:
        """New state (None = delete) and firings for one event of the rule's families."""
        ...

    def on_tick(
        self, rule: CompiledRule, now: float, state: State
    ) -> tuple[State | None, list[Firing]]:
        """Timer-driven firings (absence, not-followed-by, two-person deadlines)."""
        ...

    def deadline(self, rule: CompiledRule, state: State) -> float | None:
        """The earliest event time at which `on_tick` may fire for this state; None: never."""
        ...

    def expires(self, rule: CompiledRule, state: State) -> float:
        """Event time from which this state changes no outcome any more (a state with a
        deadline is kept whatever this says: it waits for its timer)."""
        ...


class _NoTimer:
    def on_tick(
        self, rule: CompiledRule, now: float, state: State
    ) -> tuple[State | None, list[Firing]]:
        return state, []

    def deadline(self, rule: CompiledRule, state: State) -> float | None:
        return None


class Stateless(_NoTimer):
    def on_event(
        self, rule: CompiledRule, event: Any, ts: float, state: State | None
    ) -> tuple[State | None, list[Firing]]:
        if not rule.matches(event):
            return state, []
        return state, [Firing(ts, ts, (event.event_id,), rule.context(event))]

    def expires(self, rule: CompiledRule, state: State) -> float:
        return NEVER  # keeps no state


class Count(_NoTimer):
    """At least `threshold` matching events within any `window`-long span (event time).

    Events are kept for two windows, so an event that arrives late, out of order, still counts
    with the events it lies within `window` of.
    """

    def on_event(
        self, rule: CompiledRule, event: Any, ts: float, state: State | None
    ) -> tuple[State | None, list[Firing]]:
        if not rule.matches(event):
            return state, []
        window = rule.rule.window or 0.0
        threshold = rule.rule.threshold or 0
        events = list((state or {}).get("events", []))
        if any(e[1] == event.event_id for e in events):
            return state, []
        latest = max([ts, *(e[0] for e in events)])
        events = sorted([*events, [ts, event.event_id]], key=lambda e: e[0])
        events = [e for e in events if e[0] > latest - 2 * window][-MAX_EVENTS:]
        times = [e[0] for e in events]
        for end in range(bisect_left(times, ts), len(times)):
            if times[end] >= ts + window:
                break
            start = bisect_right(times, times[end] - window)
            if end - start + 1 >= threshold:
                span = events[start : end + 1]
                context = rule.context(event, count=len(span))
                firing = Firing(span[0][0], span[-1][0], tuple(e[1] for e in span), context)
                return {"events": events}, [firing]
        return {"events": events}, []

    def expires(self, rule: CompiledRule, state: State) -> float:
        events = state.get("events") or [[NEVER]]  # sorted by time
        return float(events[-1][0]) + 2 * (rule.rule.window or 0.0)  # as long as events stay


class Sustained(_NoTimer):
    """The condition holds for every sample of the group for at least `window`."""

    def on_event(
        self, rule: CompiledRule, event: Any, ts: float, state: State | None
    ) -> tuple[State | None, list[Firing]]:
        window = rule.rule.window or 0.0
        if state is not None and ts < state["last"]:
            return state, []  # out of order: a run is judged on samples in time order
        if not rule.matches(event):
            if state is not None and state["fired"]:  # back under threshold: the run is over
                return None, [Firing(ts, ts, (event.event_id,), rule.context(event), clears=True)]
            return None, []
        if state is None or ts - state["last"] > window:  # first true sample, or data gap
            gap = state is not None and state["fired"]
            last = float(state["last"]) if state is not None else ts
            state = {"since": ts, "last": ts, "ids": [event.event_id], "fired": False}
            if gap:  # the fired run ended with its last sample: a new run must earn its alert
                return state, [Firing(last, last, (), rule.context(event), clears=True)]
            return state, []
        state = {**state, "last": ts, "ids": [*state["ids"][-EVIDENCE + 1 :], event.event_id]}
        if ts - state["since"] >= window and not state["fired"]:
            state["fired"] = True
            context = rule.context(event, duration_s=f"{ts - state['since']:.0f}")
            return state, [Firing(state["since"], ts, tuple(state["ids"][-EVIDENCE:]), context)]
        return state, []

    def expires(self, rule: CompiledRule, state: State) -> float:
        return float(state["last"]) + (rule.rule.window or 0.0)  # a later sample starts anew


class Absence:
    """No matching event from the group for `window`, judged by the timer; or, when the data
    comes back before any tick judged the silence (a backlog read faster than the ticks run),
    by that event: the silence fires and clears at once, under the same incident id."""

    def on_event(
        self, rule: CompiledRule, event: Any, ts: float, state: State | None
    ) -> tuple[State | None, list[Firing]]:
        if not rule.matches(event) or (state is not None and ts <= state["last"]):
            return state, []
        after = {"last": ts, "last_id": event.event_id, "fired": False, "ctx": rule.context(event)}
        if state is None:
            return after, []
        again = Firing(ts, ts, (event.event_id,), after["ctx"], clears=True)
        if state["fired"]:  # data again: the silence is over
            return after, [again]
        if ts - state["last"] >= (rule.rule.window or 0.0):  # a silence no tick saw
            return after, [self._silence(rule, state, ts), again]
        return after, []

    def on_tick(
        self, rule: CompiledRule, now: float, state: State
    ) -> tuple[State | None, list[Firing]]:
        window = rule.rule.window or 0.0
        if state["fired"] or now - state["last"] < window:
            return state, []
        return {**state, "fired": True}, [self._silence(rule, state, now)]

    @staticmethod
    def _silence(rule: CompiledRule, state: State, now: float) -> Firing:
        window = rule.rule.window or 0.0
        context = {**state["ctx"], "silent_s": f"{now - state['last']:.0f}"}
        return Firing(state["last"], state["last"] + window, (state["last_id"],), context)

    def deadline(self, rule: CompiledRule, state: State) -> float | None:
        return None if state["fired"] else float(state["last"]) + (rule.rule.window or 0.0)

    def expires(self, rule: CompiledRule, state: State) -> float:
        # Once fired, the state waits for data again to resolve the incident (the per-rule
        # group cap bounds such states).
        if state["fired"]:
            return float("inf")
        return float(state["last"]) + (rule.rule.window or 0.0)


class Sequence:
    """A (first) and B (then) in one group: B without A before it (`preceded_by`), A followed
    by B (`followed_by`), or A not followed by B within `window` (`not_followed_by`).

    When A and B come from different topics (`Rule.across_streams`), a B without an A before it
    is held as `late` and fires on the timer once `LATE_GRACE_S` of event time passed without an
    A of its window arriving: otherwise the order in which two topics are fetched decides."""

    def on_event(
        self, rule: CompiledRule, event: Any, ts: float, state: State | None
    ) -> tuple[State | None, list[Firing]]:
        assert rule.first is not None and rule.then is not None
        window = rule.rule.window or 0.0
        mode = rule.rule.mode
        family = event.family
        first = rule.rule.first
        then = rule.rule.then
        assert first is not None and then is not None
        state = dict(state or {"a": [], "pending": []})
        firings: list[Firing] = []
        is_b = family == then.applies_to and rule.then(event)
        if is_b:
            recent_a = [a for a in state["a"] if ts - window <= a[0] <= ts]
            if mode == "preceded_by" and not recent_a and rule.rule.across_streams:
                late = [b for b in state.get("late", []) if b[1] != event.event_id]
                held = [ts, event.event_id, rule.context(event)]
                state["late"] = [*late[-MAX_EVENTS + 1 :], held]
            elif mode == "preceded_by" and not recent_a:
                firings.append(Firing(ts - window, ts, (event.event_id,), rule.context(event)))
            elif mode == "followed_by" and recent_a:
                a = recent_a[-1]
                firings.append(Firing(a[0], ts, (a[1], event.event_id), rule.context(event)))
            state["pending"] = [p for p in state["pending"] if not (p[0] <= ts <= p[0] + window)]
        is_a = family == first.applies_to and rule.first(event)
        if is_a and not any(a[1] == event.event_id for a in state["a"]):
            state["a"] = [a for a in state["a"] if a[0] > ts - 2 * window][-MAX_EVENTS + 1 :]
            state["a"].append([ts, event.event_id])
            if state.get("late"):  # a late A clears the B's of its window
                state["late"] = [b for b in state["late"] if not (b[0] - window <= ts <= b[0])]
            if mode == "not_followed_by":
                state["pending"] = [
                    *state["pending"][-MAX_EVENTS + 1 :],
                    [ts, event.event_id, rule.context(event)],
                ]
        return state, firings

    def on_tick(
        self, rule: CompiledRule, now: float, state: State
    ) -> tuple[State | None, list[Firing]]:
        window = rule.rule.window or 0.0
        # A B held for a late A, still without one: the incident is the window before it.
        due = [b for b in state.get("late", []) if now - b[0] >= LATE_GRACE_S]
        if due:
            state = {**state, "late": [b for b in state["late"] if now - b[0] < LATE_GRACE_S]}
        late = [Firing(b[0] - window, b[0], (b[1],), b[2]) for b in due]
        # An A whose window passed without a B: the incident spans that window.
        after, firings = _fire_due(state, now, window, before=0.0)
        return after, [*late, *firings]

    def deadline(self, rule: CompiledRule, state: State) -> float | None:
        window = rule.rule.window or 0.0
        due = [p[0] + window for p in state.get("pending", [])]
        due += [b[0] + LATE_GRACE_S for b in state.get("late", [])]
        return float(min(due)) if due else None

    def expires(self, rule: CompiledRule, state: State) -> float:
        # An A matters to the B's up to a window after it.
        return max((float(a[0]) for a in state.get("a", [])), default=NEVER) + (
            rule.rule.window or 0.0
        )


class TwoPerson:
    """Each trigger event needs `people` distinct actors among the matching events of its group
    within `window` before or after it; judged when the window after it has passed."""

    def on_event(
        self, rule: CompiledRule, event: Any, ts: float, state: State | None
    ) -> tuple[State | None, list[Firing]]:
        if not rule.matches(event):
            return state, []
        window = rule.rule.window or 0.0
        state = dict(state or {"seen": [], "pending": []})
        if any(s[2] == event.event_id for s in state["seen"]):
            return state, []
        actor = _actor(rule, event)
        state["seen"] = [s for s in state["seen"] if s[0] > ts - 3 * window][-MAX_EVENTS + 1 :]
        state["seen"].append([ts, actor, event.event_id])
        is_trigger = rule.trigger is None or bool(rule.trigger(event))
        if is_trigger:
            state["pending"] = [*state["pending"], [ts, event.event_id, rule.context(event)]]
        state["pending"] = [p for p in state["pending"] if not self._satisfied(rule, state, p)]
        return state, []

    def on_tick(
        self, rule: CompiledRule, now: float, state: State
    ) -> tuple[State | None, list[Firing]]:
        # A trigger still alone once its window after passed: the incident spans both sides.
        window = rule.rule.window or 0.0
        return _fire_due(state, now, window, before=window)

    def deadline(self, rule: CompiledRule, state: State) -> float | None:
        window = rule.rule.window or 0.0
        return min((float(p[0]) + window for p in state.get("pending", [])), default=None)

    def expires(self, rule: CompiledRule, state: State) -> float:
        # A person seen counts for the triggers up to a window after them.
        return max((float(s[0]) for s in state.get("seen", [])), default=NEVER) + (
            rule.rule.window or 0.0
        )

    @staticmethod
    def _satisfied(rule: CompiledRule, state: State, pending: list[Any]) -> bool:
        window = rule.rule.window or 0.0
        actors = {s[1] for s in state["seen"] if abs(s[0] - pending[0]) <= window and s[1]}
        return len(actors) >= rule.rule.people


def _fire_due(
    state: State, now: float, window: float, before: float
) -> tuple[State | None, list[Firing]]:
    """Fire the pending entries ([ts, event_id, context]) whose `window` after them has passed;
    each incident spans from `before` seconds ahead of its entry to `window` after it."""
    due = [p for p in state.get("pending", []) if now - p[0] >= window]
    if not due:
        return state, []
    firings = [Firing(p[0] - before, p[0] + window, (p[1],), p[2]) for p in due]
    keep = [p for p in state["pending"] if now - p[0] < window]
    return {**state, "pending": keep}, firings


def _actor(rule: CompiledRule, event: Any) -> str | None:
    value = event
    for part in (rule.rule.actor or "").split("."):
        value = getattr(value, part, None)
    return None if value is None else str(value)


KINDS: dict[str, Kind] = {
    "stateless": Stateless(),
    "count": Count(),
    "sustained": Sustained(),
    "absence": Absence(),
    "sequence": Sequence(),
    "two_person": TwoPerson(),
}
