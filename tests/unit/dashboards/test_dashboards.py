"""The dashboards' own invariants: stable uids, folders, variables, units, a sane layout."""

from __future__ import annotations

import re

import pytest

from dashboards.boards import all_dashboards
from dashboards.folders import FOLDERS
from dashboards.model import DATASOURCE_UID, GRID_WIDTH, Dashboard

BOARDS = all_dashboards()
IDS = [board.uid for board in BOARDS]


def test_the_six_dashboards_with_stable_uids_in_team_folders() -> None:
    assert {b.uid: b.folder for b in BOARDS} == {
        "sovwatch-fleet": "Operations",
        "sovwatch-gpu": "Operations",
        "sovwatch-power": "Operations",
        "sovwatch-alerts": "Operations",
        "sovwatch-physical": "Security",
        "sovwatch-compliance": "Compliance",
    }
    assert {b.folder for b in BOARDS} == {f.title for f in FOLDERS}
    assert not {f.uid for f in FOLDERS} & set(IDS), "Grafana keeps folder and dashboard uids apart"


@pytest.mark.parametrize("board", BOARDS, ids=IDS)
def test_every_variable_used_in_a_query_is_defined(board: Dashboard) -> None:
    defined = {v.name for v in board.variables}
    queries = [q.flux for p in board.panels for q in p.queries]
    queries += [a.flux for a in board.annotations] + [v.flux for v in board.variables]
    used = {m for flux in queries for m in re.findall(r"\$\{(\w+)", flux)}
    assert used <= defined, used - defined
    assert {"country", "site"} <= defined


@pytest.mark.parametrize("board", BOARDS, ids=IDS)
def test_panels_fit_the_grid_without_overlapping(board: Dashboard) -> None:
    taken: set[tuple[int, int]] = set()
    for panel in board.to_json()["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= GRID_WIDTH
        cells = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not cells & taken, panel["title"]
        taken |= cells


@pytest.mark.parametrize("board", BOARDS, ids=IDS)
def test_every_panel_queries_sovwatch_influxdb_with_a_unit(board: Dashboard) -> None:
    rendered = board.to_json()
    ids = [p["id"] for p in rendered["panels"]]
    assert len(ids) == len(set(ids))
    for panel in rendered["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == DATASOURCE_UID
        assert panel["targets"] and all(t["query"] for t in panel["targets"])
        assert panel["fieldConfig"]["defaults"]["unit"]


def test_units_follow_the_data_model() -> None:
    units = {(b.uid, p.title): p.unit for b in BOARDS for p in b.panels}
    assert units[("sovwatch-gpu", "GPU temperature")] == "celsius"
    assert units[("sovwatch-gpu", "GPU power draw")] == "watt"
    assert units[("sovwatch-fleet", "GPU utilisation by site")] == "percent"
    assert units[("sovwatch-power", "Facility vs IT power")] == "kwatt"
    assert units[("sovwatch-physical", "Doors held open")] == "s"


def test_other_dashboards_show_their_teams_alerts_as_annotations() -> None:
    for board in BOARDS:
        assert board.annotations, board.uid
        assert all('r._measurement == "alert"' in a.flux for a in board.annotations)
