"""A rule compiled once at load: closures for its conditions, group key and message."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agents.rules.language import Compiled, Compiler, getter, registry_getter
from agents.rules.model import Rule, placeholders

LOCAL_TIME = "local_time"
"""An output placeholder every rule may name: the event's time by its site's clock."""
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_CLAUSE = re.compile(r"\[([^\[\]]*)\]")
"""An optional clause of an output template: `[ to {destination_country}]` is left out whole when
a field it names has no value."""


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    matches: Compiled  # condition and no exception
    first: Compiled | None  # sequence: A
    then: Compiled | None  # sequence: B
    trigger: Compiled | None  # two_person: events that need a second person
    fields: frozenset[str]  # every event field the rule reads
    group_getters: tuple[Compiled, ...]
    named: tuple[tuple[str, Compiled], ...] = ()  # the output's placeholders and their readers

    @property
    def id(self) -> str:
        return self.rule.id

    def group(self, event: Any) -> str:
        return "/".join([str(get(event)) for get in self.group_getters])

    def relevant(self, event: Any) -> bool:
        """Whether the event can change this rule's state: cheap checks before any state access.
        Sustained rules must see every sample (a false one ends a run)."""
        kind = self.rule.kind
        if kind == "sustained":
            return True
        if kind == "sequence":
            assert self.first is not None and self.then is not None
            return bool(self.first(event)) or bool(self.then(event))
        return bool(self.matches(event))

    def context(self, event: Any, **extra: Any) -> dict[str, str]:
        """The values the output template names, as strings (kept in state for timer alerts);
        a field without a value is left out."""
        values: dict[str, Any] = {"site_id": event.site_id, "country": event.country}
        values.update((name, get(event)) for name, get in self.named)
        values.update(extra)
        texts = {name: _text(value) for name, value in values.items()}
        return {name: text for name, text in texts.items() if text is not None}

    def message(self, context: Mapping[str, str]) -> str:
        """The output template filled in. A `[...]` clause naming a field the context lacks is
        left out whole; a bare placeholder without a value is left out with the space before it.
        Never a '?'."""

        def clause(match: re.Match[str]) -> str:
            names = _PLACEHOLDER.findall(match.group(1))
            return match.group(1) if all(context.get(n) for n in names) else ""

        text = _CLAUSE.sub(clause, self.rule.output)
        text = _MISSING_WORD.sub(lambda m: _fill(m, context), text)
        return " ".join(text.split())


def compile_rule(rule: Rule, compiler: Compiler) -> CompiledRule:
    condition, fields = compiler.compile(rule.condition)
    exceptions = []
    used = set(fields)
    for exception in rule.exceptions:
        check, exception_fields = compiler.compile(exception.condition)
        exceptions.append(check)
        used |= exception_fields

    def matches(event: Any) -> bool:
        return bool(condition(event)) and not any(check(event) for check in exceptions)

    first = then = trigger = None
    if rule.first is not None and rule.then is not None:
        first_check, first_fields = compiler.compile(rule.first.condition)
        then_check, then_fields = compiler.compile(rule.then.condition)
        used |= first_fields | then_fields
        first = _and_not(first_check, exceptions)
        then = _and_not(then_check, exceptions)
    if rule.trigger is not None:
        trigger, trigger_fields = compiler.compile(rule.trigger)
        used |= trigger_fields
    used |= set(rule.group_by) | ({rule.actor} if rule.actor else set())

    def reader(path: str) -> Compiled:
        if path == LOCAL_TIME:
            return compiler.local_time
        return registry_getter(path, compiler.sites) or getter(path)

    getters = tuple(reader(path) for path in rule.group_by)
    named = tuple((name, reader(name)) for name in dict.fromkeys(placeholders(rule.output)))
    return CompiledRule(rule, matches, first, then, trigger, frozenset(used), getters, named)


def _and_not(check: Compiled, exceptions: list[Compiled]) -> Compiled:
    return lambda event: bool(check(event)) and not any(e(event) for e in exceptions)


_MISSING_WORD = re.compile(r"\s?\{([^{}]+)\}")


def _fill(match: re.Match[str], context: Mapping[str, str]) -> str:
    value = context.get(match.group(1))
    if not value:
        return ""
    return match.group(0).replace("{" + match.group(1) + "}", value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))
