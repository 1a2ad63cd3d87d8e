"""Grafana's substitution rules as the runner applies them: template formats, the Flux
datasource's macros, the interval ladder and its two spellings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboards.queries.interval import (
    calculate_interval,
    format_interval,
    go_duration,
    interval_ms,
    round_interval,
)
from dashboards.queries.macros import DatasourceOptions, interpolate, rfc3339
from dashboards.queries.templating import Variable, escape_regex
from dashboards.queries.templating import interpolate as template

SITES = Variable("site", ("fra-1", "par.1"), ("fra-1", "par.1"), multi=True, all_value=".*")
TEAM = Variable("team", ("ops", "security", "compliance"), None, multi=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${site}", "{fra-1,par.1}"),  # a plain multi-value: glob braces, not Flux
        ("$site", "{fra-1,par.1}"),
        ("[[site]]", "{fra-1,par.1}"),
        ("${site:regex}", r"(fra-1|par\.1)"),
        ("${site:json}", '["fra-1","par.1"]'),
        ("${site:csv}", "fra-1,par.1"),
        ("${site:pipe}", "fra-1|par.1"),
        ("${site:singlequote}", "'fra-1','par.1'"),
        ("${site:doublequote}", '"fra-1","par.1"'),
        ("${site:text}", "fra-1 + par.1"),
        ("${team:json}", '["ops","security","compliance"]'),  # All without a custom value
        ("${team:text}", "All"),
        ("${other:regex} $__interval $__interval_ms", "${other:regex} $__interval $__interval_ms"),
        ("${__from}..${__to}", "1000..2000"),
    ],
)
def test_template_formats(text: str, expected: str) -> None:
    assert template(text, [SITES, TEAM], {"__from": "1000", "__to": "2000"}) == expected


def test_all_with_a_custom_value_is_inserted_unformatted() -> None:
    every = Variable("site", ("a", "b"), None, multi=True, all_value=".*")
    assert template("/^${site:regex}$/ ${site:json} ${site}", [every], {}) == "/^.*$/ .* .*"


def test_one_selected_value_of_a_multi_variable() -> None:
    one = Variable("site", ("a.b", "c"), ("a.b",), multi=True)
    assert template("${site:regex} ${site:json} ${site}", [one], {}) == r'a\.b ["a.b"] a.b'
    single = Variable("node", ("n1",), ("n1",), multi=False)
    assert template("${node:json}", [single], {}) == '"n1"'


def test_regex_escape_covers_grafanas_characters() -> None:
    assert escape_regex("a/b(c)|d.e*f") == r"a\/b\(c\)\|d\.e\*f"


def test_datasource_macros_on_the_server() -> None:
    start = datetime(2026, 1, 5, 20, 0, tzinfo=UTC)
    stop = start + timedelta(hours=6, milliseconds=500)
    flux = (
        "from(bucket: v.defaultBucket) |> range(start: v.timeRangeStart, stop: v.timeRangeStop)"
        " |> aggregateWindow(every: v.windowPeriod) // v.organization params.timeRangeStart"
        " v.bucket $__interval_ms $__interval schema.tagValues"
    )
    got = interpolate(flux, start, stop, 90_000, DatasourceOptions("sovwatch", "telemetry"))
    assert got == (
        'from(bucket: "telemetry") |> range(start: 2026-01-05T20:00:00Z, '
        "stop: 2026-01-06T02:00:00.5Z) |> aggregateWindow(every: 1m30s) "
        '// "sovwatch" 2026-01-05T20:00:00Z "telemetry" 90000 1m schema.tagValues'
    )


def test_rfc3339_is_utc_with_only_the_digits_needed() -> None:
    local = datetime(2026, 1, 5, 21, 0, 0, 120000, tzinfo=UTC).astimezone()
    assert rfc3339(local) == "2026-01-05T21:00:00.12Z"


@pytest.mark.parametrize(
    ("ms", "duration", "short"),
    [
        (1, "1ms", "1ms"),
        (500, "500ms", "500ms"),
        (1_500, "1.5s", "1s"),
        (30_000, "30s", "30s"),
        (60_000, "1m0s", "1m"),
        (90_000, "1m30s", "1m"),
        (3_600_000, "1h0m0s", "1h"),
        (86_400_000, "24h0m0s", "1d"),
    ],
)
def test_interval_spellings(ms: int, duration: str, short: str) -> None:
    assert go_duration(ms) == duration
    assert format_interval(ms) == short


def test_interval_ladder_and_minimum() -> None:
    assert round_interval(40_000) == 30_000
    assert round_interval(46_000) == 60_000
    assert round_interval(5_000_000_000) == 31_536_000_000
    six_hours = 6 * 3_600_000
    assert calculate_interval(six_hours, 900) == 20_000  # 24 s rounds to 20 s
    assert calculate_interval(3_600_000, 1800, "15s") == 15_000  # 2 s raised to the minimum
    assert interval_ms("15s") == 15_000 and interval_ms("10") == 10_000
    with pytest.raises(ValueError, match="interval"):
        interval_ms("soon")
