"""The condition language: what compiles, what it evaluates to, what is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from agents.rules.language import Compiler, ExpressionError
from schemas.audit import Classification


def evaluate(source: str, **fields: object) -> object:
    compiler = Compiler(
        lists={"halls": frozenset({"hall-1", "hall-2"})}, macros={"hot": "temp > 85"}
    )
    check, _ = compiler.compile(source)
    return check(SimpleNamespace(**fields))


@pytest.mark.parametrize(
    ("source", "fields", "expected"),
    [
        ("temp > 85", {"temp": 90}, True),
        ("temp > 85", {"temp": 85}, False),
        ("temp > 85", {"temp": None}, False),  # missing data never fires
        ("temp <= 85", {"temp": None}, False),
        ("temp == null", {"temp": None}, True),
        ("temp != null and temp >= 10", {"temp": 10}, True),
        ("zone in halls", {"zone": "hall-2"}, True),
        ("zone not in halls", {"zone": "hall-3"}, True),
        ("zone not in halls", {"zone": None}, True),
        ("kind in ['a', 'b']", {"kind": "b"}, True),
        ("hot and not (zone in halls)", {"temp": 99, "zone": "cage"}, True),
        ("a / b > 1.5", {"a": 1600.0, "b": 1000.0}, True),
        ("a / b > 1.5", {"a": 1.0, "b": 0.0}, False),  # division by zero is "no value"
        ("-x < 0", {"x": 3}, True),
        ("has_bit(mask, 0x40)", {"mask": 0x48}, True),
        ("has_bit(mask, 0x40)", {"mask": 0x8}, False),
        ("startswith(zone, 'gpu-') or contains(zone, 'cage')", {"zone": "gpu-hall"}, True),
        ("1 < x < 3", {"x": 2}, True),
        ("1 < x < 3", {"x": 3}, False),
        ("true", {}, True),
    ],
)
def test_evaluation(source: str, fields: dict[str, object], expected: bool) -> None:
    assert evaluate(source, **fields) is expected


def test_time_functions_read_utc_hour_and_weekday() -> None:
    sunday_night = datetime(2026, 1, 4, 23, 30, tzinfo=UTC)
    assert evaluate("hour(ts) >= 22 and weekday(ts) == 6", ts=sunday_night) is True


def test_ordered_enums_compare_by_rank_also_against_strings() -> None:
    assert evaluate("c >= 'restricted'", c=Classification.SECRET) is True
    assert evaluate("c >= 'restricted'", c=Classification.INTERNAL) is False
    assert evaluate("c < 'restricted'", c=Classification.PUBLIC) is True
    assert evaluate("c == 'secret'", c=Classification.SECRET) is True
    assert evaluate("c == 'no-such-level'", c=Classification.SECRET) is False


def test_nested_fields_are_dotted_and_recorded() -> None:
    compiler = Compiler()
    check, fields = compiler.compile("actor.nationality != country and hot_thing > 1")
    assert fields == {"actor.nationality", "country", "hot_thing"}
    event = SimpleNamespace(actor=SimpleNamespace(nationality="FR"), country="DE", hot_thing=2)
    assert check(event) is True
    assert check(SimpleNamespace(actor=None, country="DE", hot_thing=2)) is True


def test_macros_expand_and_contribute_their_fields() -> None:
    _, fields = Compiler(macros={"hot": "temp > 85"}).compile("hot and node == 'n1'")
    assert fields == {"temp", "node"}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("__import__('os').system('x')", "not allowed"),
        ("__import__('os')", "unknown function '__import__'"),
        ("__builtins__", "not allowed"),
        ("open('/etc/passwd')", "unknown function 'open'"),
        ("x.__class__", "not allowed"),  # dunder attribute chains are fields of nothing
        ("f(x)(y)", "not allowed"),
        ("x[0]", "not allowed"),
        ("lambda: 1", "not allowed"),
        ("[a for a in b]", "not allowed"),
        ("temp >", "syntax error"),
    ],
)
def test_anything_outside_the_language_is_refused(source: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Compiler().compile(source)


def test_errors_carry_line_and_column() -> None:
    with pytest.raises(ExpressionError) as err:
        Compiler().compile("temp > 85 and frob(x)")
    assert (err.value.line, err.value.column) == (1, 15)


def test_a_macro_that_refers_to_itself_is_an_error() -> None:
    with pytest.raises(ExpressionError, match="refers to itself"):
        Compiler(macros={"loop": "loop and x"}).compile("loop")
