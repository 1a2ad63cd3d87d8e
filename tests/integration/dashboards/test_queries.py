"""Every panel, annotation and variable query of every dashboard, run by a real Grafana
(`/api/ds/query`, the endpoint its panels use) against a real InfluxDB holding seeded points.

Template variables are rendered as Grafana's frontend renders them before it sends a query:
the site variable selects this run's two sites, every other variable is "All" (`.*`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dashboards.boards import all_dashboards
from dashboards.flux import interpolate
from dashboards.model import DATASOURCE_UID
from tests.integration.dashboards.conftest import Org
from tests.integration.dashboards.seed import Fleet

ALL = ".*"
CASES = [
    pytest.param(query.flux, query.expect, id=f"{board.uid}/{panel.title}/{query.ref_id}")
    for board in all_dashboards()
    for panel in board.panels
    for query in panel.queries
]
ANNOTATIONS = [
    pytest.param(annotation.flux, id=f"{board.uid}/{annotation.name}")
    for board in all_dashboards()
    for annotation in board.annotations
]
VARIABLES = [
    pytest.param(variable.flux, id=f"{board.uid}/{variable.name}")
    for board in all_dashboards()
    for variable in board.variables
    if variable.flux
]


def run(org: Org, fleet: Fleet, flux: str) -> list[dict[str, Any]]:
    """The frames Grafana returns for one query over the fleet's time range."""
    values = {name: ALL for name in ("country", "node", "gpu", "hall", "zone", "team", "severity")}
    values["site"] = fleet.site_regex
    start = fleet.start - timedelta(minutes=1)
    end = datetime.now(UTC) + timedelta(minutes=1)
    answer = org.api.post(
        "/ds/query",
        {
            "from": str(int(start.timestamp() * 1000)),
            "to": str(int(end.timestamp() * 1000)),
            "queries": [
                {
                    "refId": "A",
                    "datasource": {"type": "influxdb", "uid": DATASOURCE_UID},
                    "query": interpolate(flux, values),
                    "intervalMs": 60_000,
                    "maxDataPoints": 500,
                }
            ],
        },
    )
    result = answer["results"]["A"]
    assert "error" not in result, result["error"]
    frames: list[dict[str, Any]] = result.get("frames", [])
    return frames


def names_and_rows(frames: list[dict[str, Any]]) -> tuple[set[str], int]:
    """Field names and label keys of all frames, and the number of rows."""
    names: set[str] = set()
    rows = 0
    for frame in frames:
        for field in frame["schema"]["fields"]:
            names.add(field["name"])
            names.update((field.get("labels") or {}).keys())
        columns = frame.get("data", {}).get("values", [])
        rows += len(columns[0]) if columns else 0
    return names, rows


@pytest.mark.parametrize(("flux", "expect"), CASES)
def test_panel_query_returns_the_expected_fields(
    org: Org, fleet: Fleet, flux: str, expect: tuple[str, ...]
) -> None:
    names, rows = names_and_rows(run(org, fleet, flux))
    assert rows > 0, "no rows"
    assert set(expect) <= names, f"missing {sorted(set(expect) - names)} in {sorted(names)}"


@pytest.mark.parametrize("flux", ANNOTATIONS)
def test_alert_annotations_have_a_time_and_a_text(org: Org, fleet: Fleet, flux: str) -> None:
    names, rows = names_and_rows(run(org, fleet, flux))
    assert rows > 0
    assert {"text", "rule_id", "severity", "site"} <= names


@pytest.mark.parametrize("flux", VARIABLES)
def test_variable_query_lists_values(org: Org, fleet: Fleet, flux: str) -> None:
    names, rows = names_and_rows(run(org, fleet, flux))
    assert rows > 0
    assert "_value" in names


def test_every_panel_has_a_query_with_expectations() -> None:
    for board in all_dashboards():
        for panel in board.panels:
            assert panel.queries, (board.uid, panel.title)
            assert all(q.expect for q in panel.queries), (board.uid, panel.title)
