"""The dashboards' own invariants: stable uids, folders, variables, units, a sane layout."""

from __future__ import annotations

import re

import pytest

from dashboards.boards import Board, all_dashboards
from dashboards.flux_query import DATASOURCE_UID
from dashboards.folders import FOLDERS
from dashboards.queries.dashboard_json import annotation_targets, panels, targets, variables

BOARDS = all_dashboards()
IDS = [board.uid for board in BOARDS]
GRID_WIDTH = 24


def titled(uid: str, title: str) -> dict[str, object]:
    board = next(b for b in BOARDS if b.uid == uid)
    return next(p for p in panels(board.json) if p["title"] == title)


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


def test_schema_version_is_grafana_11_6s() -> None:
    assert {b.json["schemaVersion"] for b in BOARDS} == {41}


@pytest.mark.parametrize("board", BOARDS, ids=IDS)
def test_every_variable_used_in_a_query_is_defined(board: Board) -> None:
    defined = {str(v["name"]) for v in variables(board.json)}
    queries = [t.flux for p in panels(board.json) for t in targets(p)]
    queries += [t.flux for _, t in annotation_targets(board.json)]
    queries += [str(v.get("query", "")) for v in variables(board.json) if v["type"] == "query"]
    used = {m for flux in queries for m in re.findall(r"\$\{(\w+)", flux)}
    assert used <= defined, used - defined
    assert {"country", "site"} <= defined


@pytest.mark.parametrize("board", BOARDS, ids=IDS)
def test_no_query_uses_a_plain_multi_value_variable(board: Board) -> None:
    """`${site}` of a multi-value variable is `{a,b}`: only `:regex` and `:json` make Flux."""
    texts = [t.flux for p in panels(board.json) for t in targets(p)]
    texts += [str(v.get("query", "")) for v in variables(board.json)]
    for text in texts:
        assert not re.search(r"\$\{\w+\}|\$(?!__)\w+|\[\[", text), text
        assert set(re.findall(r"\$\{\w+:(\w+)\}", text)) <= {"regex", "json"}


@pytest.mark.parametrize("board", BOARDS, ids=IDS)
def test_panels_fit_the_grid_without_overlapping(board: Board) -> None:
    taken: set[tuple[int, int]] = set()
    for panel in board.json["panels"]:
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
def test_every_panel_queries_sovwatch_influxdb(board: Board) -> None:
    ids = [p["id"] for p in board.json["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels(board.json):
        assert panel["datasource"]["uid"] == DATASOURCE_UID
        assert targets(panel), panel["title"]
        assert all(t["datasource"]["uid"] == DATASOURCE_UID for t in panel["targets"])


def test_units_follow_the_data_model() -> None:
    def unit(uid: str, title: str) -> object:
        return titled(uid, title)["fieldConfig"]["defaults"]["unit"]  # type: ignore[index]

    assert unit("sovwatch-gpu", "GPU temperature (hottest GPU per node)") == "celsius"
    assert unit("sovwatch-gpu", "GPU power draw (mean per GPU, per node)") == "watt"
    assert unit("sovwatch-fleet", "GPU utilisation by site") == "percent"
    assert unit("sovwatch-power", "Facility vs IT power") == "kwatt"
    assert unit("sovwatch-physical", "Doors held open") == "s"


def test_gpu_dashboard_has_what_gpu_operators_ask_for() -> None:
    gpu = next(b for b in BOARDS if b.uid == "sovwatch-gpu")
    by_title = {p["title"]: p for p in panels(gpu.json)}
    xid = targets(by_title["XID events by code"])[0].flux
    assert "difference(" in xid and "meaning" in xid, "events, not the sticky last value"
    throttle = targets(by_title["Clock throttle reasons"])[0].flux
    assert "bitwise.sand" in throttle and "hw_power_brake_slowdown" in throttle
    ecc = targets(by_title["ECC errors and row remapping (GPUs with any)"])[0].flux
    assert "uncorrectable_remapped_rows" in ecc and "ecc_dbe_volatile_total" in ecc
    assert "nvlink_crc_flit_errors_total" in targets(by_title["NVLink errors per window"])[0].flux
    for title in ("Utilisation by MIG instance (top 10)", "Utilisation by Kubernetes pod (top 10)"):
        assert "top(n: 10)" in targets(by_title[title])[0].flux, title
    assert by_title["Fleet heat map: GPU utilisation per node"]["type"] == "heatmap"


def test_pue_over_the_range_is_a_ratio_of_energies() -> None:
    flux = targets(titled("sovwatch-power", "PUE over the range"))[0].flux
    assert "r.facility_energy_kwh / r.it_energy_kwh" in flux
    assert "r.last - r.first" in flux and "power_w" not in flux


def test_every_dashboard_shows_its_teams_alerts_as_annotations() -> None:
    for board in BOARDS:
        notes = list(annotation_targets(board.json))
        assert notes, board.uid
        assert all('r._measurement == "alert"' in t.flux for _, t in notes)
