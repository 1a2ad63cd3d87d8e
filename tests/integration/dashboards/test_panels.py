"""Every panel, variable and annotation query of every committed dashboard, run with Grafana's
substitution rules against the real InfluxDB holding the simulated fleet: each panel gets at
least one frame with rows and every column its field config uses."""

from __future__ import annotations

import pytest

from dashboards.boards import all_dashboards
from dashboards.build import committed
from dashboards.queries.dashboard_json import label, panels
from dashboards.queries.expect import problems
from dashboards.queries.runner import DashboardRun
from streams.simulator.incidents import INJECTORS
from tests.integration.dashboards.conftest import Simulated

PANELS = [
    pytest.param(board.uid, panel["id"], id=f"{board.uid}/{panel['title']}")
    for board in all_dashboards()
    for panel in panels(board.json)
]


def test_the_runner_runs_the_committed_files() -> None:
    assert sorted(b["uid"] for b in committed()) == sorted(b.uid for b in all_dashboards())


def test_the_simulation_injected_every_incident_kind(simulated: Simulated) -> None:
    assert simulated.truth.missed == []
    assert {i.name for i in simulated.truth.incidents} == {i.name for i in INJECTORS}


@pytest.mark.parametrize(("uid", "panel_id"), PANELS)
def test_panel_draws_from_the_real_influxdb(
    runs: dict[str, DashboardRun], uid: str, panel_id: int
) -> None:
    run = runs[uid]
    result = next(p for p in run.panels if p.panel["id"] == panel_id)
    where = label(run.dashboard, result.panel)
    assert not result.errors, f"{where}: {result.errors}\n{result.results[0].flux}"
    found = problems(result.panel, result.frames)
    assert not found, f"{where}: {found}\n{result.results[0].flux}"


def test_variables_list_this_runs_values(
    runs: dict[str, DashboardRun], simulated: Simulated
) -> None:
    for uid, run in runs.items():
        for name, result in run.variable_results:
            assert result.error is None, f"{uid} variable {name}: {result.error}"
            options = next(v.options for v in run.variables if v.name == name)
            assert options, f"{uid} variable {name} lists nothing"
        sites = next(v for v in run.variables if v.name == "site")
        assert set(simulated.sites) <= set(sites.options), uid


def test_alert_annotations_have_a_time_and_a_text(runs: dict[str, DashboardRun]) -> None:
    for uid, run in runs.items():
        for name, result in run.annotations:
            assert result.error is None, f"{uid} annotation {name}: {result.error}"
            texts = [f for frame in result.frames for f in frame.fields if f.name == "text"]
            assert any(f.values for f in texts), f"{uid} annotation {name}: no alert text"
