"""A small, safe expression language for rule conditions, compiled to Python closures.

Syntax is a subset of Python expressions, readable by compliance officers:

    gpu_temp_c > 85 and node not in maintenance_nodes
    classification >= "restricted" and destination_country != country
    zone.kind == "gpu_hall" and after_hours(ts)

Allowed: literals (numbers, strings, true/false/null), event fields (dotted for nested ones:
`actor.nationality`), names of lists and macros from the rule file, `and` `or` `not`, comparisons
(`== != < <= > >= in not in`), `+ - * / %`, and the functions in FUNCTIONS. Nothing else parses:
no attribute access on values, no subscripts, no calls of arbitrary names, no lambdas — and never
Python's `eval`. A missing (null) field makes any ordering comparison false, so a rule never fires
on data that is not there. Ordered enums (classification) compare by rank, also against strings.

Facts of the site registry are read by name: `site.<field>`, `zone.<field>` and `rack.<field>`
(`schemas.sites`) are those of the event's site, of the zone it happened in and of the rack it is
about, null when the registry does not list them. SITE_FUNCTIONS judge a timestamp in the site's
own calendar (time zone, working hours, weekend, holidays); for a site the registry does not list
they are null, so a rule that needs them never fires on it. Without a registry configured, both
are what the event implies, as before the registry existed (`agents.sites.implied`).

The compiler records which fields a condition reads: the engine passes events as they are and
reads only those attributes (no per-event conversion to dicts).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from agents.sites.calendar import SiteCalendar, describe_local
from agents.sites.registry import Sites

Compiled = Callable[[Any], Any]


class ExpressionError(ValueError):
    """A condition that does not compile; `line`/`column` are 1-based within the expression."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(f"{message} (line {line}, column {column})")
        self.message = message
        self.line = line
        self.column = column


def _hour(ts: datetime | None) -> int | None:
    return None if ts is None else ts.hour


def _weekday(ts: datetime | None) -> int | None:
    return None if ts is None else ts.weekday()


def _has_bit(value: int | None, mask: int) -> bool:
    return value is not None and bool(value & mask)


def _len(value: Any) -> int:
    return 0 if value is None else len(value)


def _startswith(value: str | None, prefix: str) -> bool:
    return value is not None and value.startswith(prefix)


def _endswith(value: str | None, suffix: str) -> bool:
    return value is not None and value.endswith(suffix)


def _contains(value: str | None, part: str) -> bool:
    return value is not None and part in value


def _lower(value: str | None) -> str | None:
    return None if value is None else value.lower()


FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "hour": _hour,  # hour of day, UTC, 0-23
    "weekday": _weekday,  # 0 = Monday ... 6 = Sunday
    "has_bit": _has_bit,  # has_bit(clock_throttle_reasons, 0x40)
    "len": _len,
    "startswith": _startswith,
    "endswith": _endswith,
    "contains": _contains,
    "lower": _lower,
}
CONSTANTS: Mapping[str, Any] = {"true": True, "false": False, "null": None}

SITE_FUNCTIONS: Mapping[str, Callable[[SiteCalendar, datetime], Any]] = {
    "local_hour": SiteCalendar.local_hour,  # hour of day in the site's time zone, 0-23
    "local_weekday": SiteCalendar.local_weekday,  # 0 = Monday, in the site's time zone
    "after_hours": SiteCalendar.after_hours,  # outside working hours, weekend or holiday
    "holiday": SiteCalendar.holiday,  # a public holiday or closure of the site
}
"""Functions of a timestamp judged in the calendar of the event's site (see `SiteCalendar`)."""
REGISTRY_NAMES: Mapping[str, str] = {"site": "site", "zone": "zone", "rack": "rack"}
"""Names that read the site registry (`Sites.site/zone/rack` of the event), not the event."""


def _rank(value: Any) -> Any:
    if isinstance(value, Enum):
        rank = getattr(value, "rank", None)
        return rank if rank is not None else value.value
    return value


def _align(left: Any, right: Any) -> tuple[Any, Any]:
    """Make an enum comparable with a string naming one of its members, then compare ranks."""
    if isinstance(left, Enum) and isinstance(right, str):
        right = type(left)(right)
    elif isinstance(right, Enum) and isinstance(left, str):
        left = type(right)(left)
    return _rank(left), _rank(right)


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(left: Any, right: Any) -> bool:
        if left is None or right is None:
            return False
        try:
            a, b = _align(left, right)
            return op(a, b)
        except (TypeError, ValueError):  # incomparable types, or a string naming no enum member
            return False

    return compare


def _equal(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return left is right
    try:
        a, b = _align(left, right)
    except ValueError:  # a string that names no member of the enum
        return False
    return bool(a == b)


def _member(left: Any, right: Any) -> bool:
    if right is None:
        return False
    if isinstance(left, Enum):
        left = left.value
    return left in right


COMPARE: Mapping[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: _equal,
    ast.NotEq: lambda a, b: not _equal(a, b),
    ast.Lt: _ordered(operator.lt),
    ast.LtE: _ordered(operator.le),
    ast.Gt: _ordered(operator.gt),
    ast.GtE: _ordered(operator.ge),
    ast.In: _member,
    ast.NotIn: lambda a, b: b is not None and not _member(a, b),
}


def _arith(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def apply(left: Any, right: Any) -> Any:
        if left is None or right is None:
            return None
        try:
            return op(left, right)
        except (TypeError, ZeroDivisionError):
            return None

    return apply


ARITH: Mapping[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: _arith(operator.add),
    ast.Sub: _arith(operator.sub),
    ast.Mult: _arith(operator.mul),
    ast.Div: _arith(operator.truediv),
    ast.Mod: _arith(operator.mod),
    ast.BitAnd: _arith(operator.and_),
}


@dataclass
class Compiler:
    """Compiles conditions against a rule file's lists and macros."""

    lists: Mapping[str, frozenset[Any]] = field(default_factory=dict)
    macros: Mapping[str, str] = field(default_factory=dict)
    sites: Sites = field(default_factory=Sites)
    _expanding: list[str] = field(default_factory=list)

    def compile(self, source: str) -> tuple[Compiled, frozenset[str]]:
        """The closure and the set of event fields (dotted) it reads."""
        try:
            tree = ast.parse(source.strip(), mode="eval")
        except SyntaxError as exc:
            raise ExpressionError(
                f"syntax error: {exc.msg}", exc.lineno or 1, (exc.offset or 0) or 1
            ) from None
        fields: set[str] = set()
        return self._node(tree.body, fields), frozenset(fields)

    def _node(self, node: ast.expr, fields: set[str]) -> Compiled:
        match node:
            case ast.Constant(value=value) if (
                isinstance(value, str | int | float | bool) or value is None
            ):
                return lambda _event: value
            case ast.Name(id=name):
                return self._name(node, name, fields)
            case ast.Attribute():
                path = self._dotted(node)
                if any(part.startswith("_") for part in path.split(".")):
                    raise self._error(node, f"'{path}' is not allowed: no field starts with '_'")
                fields.add(path)
                return registry_getter(path, self.sites) or getter(path)
            case ast.BoolOp(op=ast.And(), values=values):
                parts = [self._node(v, fields) for v in values]
                if len(parts) == 2:  # the common case, without a generator per call
                    first, second = parts
                    return lambda event: bool(first(event)) and bool(second(event))
                return lambda event: all(part(event) for part in parts)
            case ast.BoolOp(op=ast.Or(), values=values):
                parts = [self._node(v, fields) for v in values]
                if len(parts) == 2:
                    first, second = parts
                    return lambda event: bool(first(event)) or bool(second(event))
                return lambda event: any(part(event) for part in parts)
            case ast.UnaryOp(op=ast.Not(), operand=operand):
                inner = self._node(operand, fields)
                return lambda event: not inner(event)
            case ast.UnaryOp(op=ast.USub(), operand=operand):
                inner = self._node(operand, fields)
                return lambda event: None if (v := inner(event)) is None else -v
            case ast.Compare(left=left, ops=ops, comparators=comparators):
                return self._compare(left, ops, comparators, fields)
            case ast.BinOp(left=left, op=op, right=right) if type(op) in ARITH:
                apply = ARITH[type(op)]
                a, b = self._node(left, fields), self._node(right, fields)
                return lambda event: apply(a(event), b(event))
            case ast.List(elts=elts) | ast.Tuple(elts=elts) | ast.Set(elts=elts):
                items = [self._node(e, fields) for e in elts]
                if all(isinstance(e, ast.Constant) for e in elts):
                    constant = frozenset(item(None) for item in items)
                    return lambda _event: constant
                return lambda event: [item(event) for item in items]
            case ast.Call(func=ast.Name(id=name), args=args, keywords=[]) if name in FUNCTIONS:
                function = FUNCTIONS[name]
                arguments = [self._node(a, fields) for a in args]
                return lambda event: function(*(a(event) for a in arguments))
            case ast.Call(func=ast.Name(id=name), args=args, keywords=[]) if name in SITE_FUNCTIONS:
                if len(args) != 1:
                    raise self._error(node, f"{name}() takes 1 argument (a timestamp, e.g. ts)")
                return self._site_function(SITE_FUNCTIONS[name], self._node(args[0], fields))
            case ast.Call(func=ast.Name(id=name)):
                known = ", ".join([*FUNCTIONS, *SITE_FUNCTIONS])
                raise self._error(node, f"unknown function '{name}' (known: {known})")
        raise self._error(node, f"'{ast.unparse(node)}' is not allowed in a condition")

    def _site_function(
        self, function: Callable[[SiteCalendar, datetime], Any], argument: Compiled
    ) -> Compiled:
        calendar_of = self.sites.calendar

        def call(event: Any) -> Any:
            calendar = calendar_of(event)
            ts = argument(event)
            return None if calendar is None or ts is None else function(calendar, ts)

        return call

    def local_time(self, event: Any) -> str | None:
        """The event's time as its registered site says it ('2026-01-06 02:30 JST (Wed)'); None
        when unknown or without a registry (outputs as before it: UTC only)."""
        found = self.sites.index(event)
        ts = getattr(event, "ts", None)
        return None if found is None or ts is None else describe_local(ts, found.calendar.zone)

    def _name(self, node: ast.Name, name: str, fields: set[str]) -> Compiled:
        if name.startswith("_"):
            raise self._error(node, f"'{name}' is not allowed: no field starts with '_'")
        if name in CONSTANTS:
            constant = CONSTANTS[name]
            return lambda _event: constant
        if name in self.lists:
            values = self.lists[name]
            return lambda _event: values
        if name in self.macros:
            if name in self._expanding:
                raise self._error(node, f"macro '{name}' refers to itself")
            self._expanding.append(name)
            try:
                inner, used = self.compile(self.macros[name])
            except ExpressionError as exc:
                raise self._error(node, f"in macro '{name}': {exc.message}") from None
            finally:
                self._expanding.pop()
            fields.update(used)
            return inner
        fields.add(name)
        return getter(name)

    def _compare(
        self, left: ast.expr, ops: list[ast.cmpop], rights: list[ast.expr], fields: set[str]
    ) -> Compiled:
        operands = [self._node(left, fields), *(self._node(r, fields) for r in rights)]
        steps = [(COMPARE[type(op)], i) for i, op in enumerate(ops)]
        if len(steps) == 1:  # `a > b`: no list per call
            test, (a, b) = steps[0][0], operands
            return lambda event: test(a(event), b(event))

        def compare(event: Any) -> bool:
            values = [operand(event) for operand in operands]
            return all(test(values[i], values[i + 1]) for test, i in steps)

        return compare

    def _dotted(self, node: ast.expr) -> str:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            return f"{self._dotted(node.value)}.{node.attr}"
        raise self._error(node, "only event fields may be dotted, e.g. actor.nationality")

    @staticmethod
    def _error(node: ast.AST, message: str) -> ExpressionError:
        return ExpressionError(
            message, getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1
        )


def _is_literal(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def registry_getter(path: str, sites: Sites) -> Compiled | None:
    """A reader of `site.x` / `zone.x` / `rack.x` from the registry; None for an event field."""
    head, _, rest = path.partition(".")
    if head not in REGISTRY_NAMES or not rest:
        return None
    lookup: Callable[[Any], Any] = getattr(sites, REGISTRY_NAMES[head])
    inner = getter(rest)

    def get(event: Any) -> Any:
        found = lookup(event)
        return None if found is None else inner(found)

    return get


def getter(path: str) -> Compiled:
    parts = path.split(".")
    if len(parts) == 1:
        name = parts[0]
        return lambda event: getattr(event, name, None)

    def get(event: Any) -> Any:
        value = event
        for part in parts:
            value = getattr(value, part, None)
            if value is None:
                return None
        return value

    return get
