"""Flux fragments and Grafana-style variable interpolation."""

from __future__ import annotations

from dashboards.flux import matches, one_of, series, source, tag_values


def test_matches_filters_each_tag_by_its_variable_as_a_regex() -> None:
    assert matches({"site": "site", "scope_id": "hall"}) == (
        "r.site =~ /^${site:regex}$/ and r.scope_id =~ /^${hall:regex}$/"
    )


def test_source_filters_measurement_fields_tags_and_extra() -> None:
    flux = source("telemetry", "power", ["power_w", "capacity_w"], {"site": "site"}, "r.x == 1")
    assert 'from(bucket: "telemetry")' in flux
    assert 'r._measurement == "power" and (r._field == "power_w" or r._field == "capacity_w")' in (
        flux
    )
    assert "r.site =~ /^${site:regex}$/ and r.x == 1" in flux


def test_series_keeps_only_what_grafana_needs_to_name_a_series() -> None:
    tail = series(["kind"], "count", field="events")
    assert 'set(key: "_field", value: "events")' in tail
    assert 'keep(columns: ["_time", "_value", "kind", "_field"])' in tail


def test_tag_values_is_a_schema_query_with_optional_predicate() -> None:
    flux = tag_values("audit", "site", 'r.country == "DE"')
    assert flux.startswith('import "influxdata/influxdb/schema"\n')
    assert 'tag: "site", predicate: (r) => r.country == "DE",' in flux
    assert flux.endswith("start: v.timeRangeStart, stop: v.timeRangeStop)")


def test_one_of_takes_a_json_array_variable() -> None:
    assert one_of("team", "team") == "contains(value: r.team, set: ${team:json})"
