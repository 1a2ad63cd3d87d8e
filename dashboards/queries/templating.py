r"""Grafana's template variable substitution (its front end, before a query is sent).

Syntax: `$name`, `${name}`, `${name:format}`, `[[name]]`, `[[name:format]]`. A value is one
string, or a list for a multi-value variable. Formats (Grafana's format registry, @grafana/scenes):

| format        | one value `a`  | values `a`, `b`     |
| ------------- | -------------- | ------------------- |
| none (`glob`) | `a`            | `{a,b}` (not Flux!) |
| `regex`       | `a` escaped    | `(a\|b)`, escaped   |
| `json`        | `"a"` / `["a"]`| `["a","b"]`         |
| `csv`, `raw`  | `a`            | `a,b`               |
| `pipe`        | `a`            | `a\|b`              |
| `singlequote` | `'a'`          | `'a','b'`           |
| `doublequote` | `"a"`          | `"a","b"`           |
| `text`        | display text   | texts joined ` + `  |

"All" is the variable's custom all value when it has one, inserted *unformatted* (except for
`text`, which gives `All`); without one it is every option's value, formatted as a list. The
InfluxDB datasource in Flux mode formats nothing itself and passes `$__interval` and
`$__interval_ms` through to the server (`macros`). Unknown names stay as written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

Value = str | list[str]
ALL_TEXT: Final = "All"
PASSED_THROUGH: Final = frozenset({"__interval", "__interval_ms"})

_REFERENCE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?::([^}]+))?\}")
_REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|\[\]{}/]")


def escape_regex(value: str) -> str:
    """@grafana/data's escapeRegex: a backslash before \\ ^ $ * + ? . ( ) | [ ] { } /."""
    return _REGEX_SPECIAL.sub(lambda m: "\\" + m.group(0), value)


def _glob(value: Value) -> str:
    if isinstance(value, list) and len(value) > 1:
        return "{" + ",".join(value) + "}"
    return _joined(value)


def _regex(value: Value) -> str:
    if isinstance(value, str):
        return escape_regex(value)
    escaped = [escape_regex(v) for v in value]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def _joined(value: Value, separator: str = ",") -> str:
    return value if isinstance(value, str) else separator.join(value)


def _quoted(quote: str) -> Callable[[Value], str]:
    def quote_each(value: Value) -> str:
        values = [value] if isinstance(value, str) else value
        return ",".join(quote + v.replace(quote, "\\" + quote) + quote for v in values)

    return quote_each


FORMATS: Final[Mapping[str, Callable[[Value], str]]] = {
    "glob": _glob,
    "regex": _regex,
    "json": lambda value: json.dumps(value, separators=(",", ":"), ensure_ascii=False),
    "csv": _joined,
    "raw": _joined,
    "pipe": lambda value: _joined(value, "|"),
    "singlequote": _quoted("'"),
    "doublequote": _quoted('"'),
}


@dataclass(frozen=True)
class Variable:
    """A dashboard variable with its options resolved and its current selection."""

    name: str
    options: tuple[str, ...]
    selected: tuple[str, ...] | None = None  # None: "All"
    multi: bool = True
    all_value: str | None = None

    @property
    def is_all(self) -> bool:
        return self.selected is None

    def value(self) -> Value:
        chosen = list(self.options) if self.selected is None else list(self.selected)
        if self.multi:
            return chosen
        return chosen[0] if chosen else ""

    def render(self, fmt: str | None) -> str:
        if fmt == "text":
            if self.is_all:
                return ALL_TEXT
            return _joined(self.value(), " + ")
        if self.is_all and self.all_value is not None:
            return self.all_value
        formatter = FORMATS.get(fmt or "glob", FORMATS["glob"])
        return formatter(self.value())


def interpolate(text: str, variables: Sequence[Variable], builtins: Mapping[str, str]) -> str:
    """`text` with every known variable replaced; `builtins` are scoped values such as
    `__from`/`__to` (always raw)."""
    by_name = {v.name: v for v in variables}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        fmt = match.group(3) or match.group(5)
        if name in PASSED_THROUGH:
            return f"${name}"
        if name in builtins:
            return builtins[name]
        variable = by_name.get(name)
        return match.group(0) if variable is None else variable.render(fmt)

    return _REFERENCE.sub(replace, text)
