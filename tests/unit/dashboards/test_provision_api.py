"""`Provisioner` against recorded Grafana API answers (responses/org.json): what a fresh org
gets, that an org provisioned once needs nothing more, and the diffs of what drifted."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from dashboards.boards import all_dashboards
from dashboards.folders import FOLDERS, TEAM_NAMES, folder_titled
from dashboards.provision import FINGERPRINT, Provisioner, datasource_body, token_fingerprint
from schemas.errors import SovwatchError
from schemas.settings import InfluxSettings

RECORDED = json.loads((Path(__file__).with_name("responses") / "org.json").read_text())
INFLUX = InfluxSettings(token=SecretStr("read-only-token"))
URL = "http://influxdb:8086"


def filled(name: str, **values: str) -> Any:
    text = json.dumps(RECORDED[name])
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return json.loads(text)


class RecordedGrafana:
    """Answers GETs from a dict of path -> JSON (None: 404); records writes."""

    url = "http://grafana.test"

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.writes: list[tuple[str, str, Any]] = []

    def get(self, path: str) -> Any:
        return copy.deepcopy(self.answers.get(path))

    def post(self, path: str, body: Any) -> Any:
        self.writes.append(("POST", path, body))
        return {"teamId": 11} if path == "/teams" else {"status": "success"}

    def put(self, path: str, body: Any) -> Any:
        self.writes.append(("PUT", path, body))
        return {}


def provisioned_org() -> dict[str, Any]:
    """The answers of an org after one complete provisioning."""
    answers: dict[str, Any] = {}
    for team in TEAM_NAMES.values():
        answers[f"/teams/search?name={team}"] = filled("teams_search", team=team)
    for folder in FOLDERS:
        answers[f"/folders/{folder.uid}"] = filled("folder", uid=folder.uid, title=folder.title)
        answers[f"/folders/{folder.uid}/permissions"] = [
            *(
                filled("permission_role", role=role, permission=permission)
                for role, permission in folder.roles().items()
            ),
            filled("permission_team", team=TEAM_NAMES[folder.team]),
        ]
    datasource = filled("datasource")
    wanted = datasource_body(INFLUX, URL)
    datasource.update({k: v for k, v in wanted.items() if k != "jsonData"})
    datasource["jsonData"] = {**wanted["jsonData"], FINGERPRINT: token_fingerprint(INFLUX.token)}
    answers["/datasources/uid/sovwatch-influxdb"] = datasource
    answers["/datasources/uid/sovwatch-influxdb/health"] = filled("datasource_health")
    for board in all_dashboards():
        folder = folder_titled(board.folder)
        answers[f"/dashboards/uid/{board.uid}"] = {
            "dashboard": {**board.json, "id": 40, "version": 3},
            "meta": filled("dashboard_meta", uid=folder.uid, title=folder.title),
        }
    return answers


def plan(answers: dict[str, Any]) -> tuple[RecordedGrafana, list[Any]]:
    grafana = RecordedGrafana(answers)
    return grafana, Provisioner(grafana, INFLUX, URL).plan()  # type: ignore[arg-type]


def test_a_fresh_org_gets_teams_folders_permissions_datasource_and_dashboards() -> None:
    grafana, steps = plan({})
    assert [s.kind for s in steps].count("team") == 3
    assert {s.kind for s in steps} == {"team", "folder", "permissions", "datasource", "dashboard"}
    Provisioner.apply(steps)
    saved = [body for method, path, body in grafana.writes if path == "/dashboards/db"]
    assert sorted(b["dashboard"]["uid"] for b in saved) == sorted(b.uid for b in all_dashboards())
    assert all(b["overwrite"] and b["dashboard"]["id"] is None for b in saved)
    created = next(body for _, path, body in grafana.writes if path == "/datasources")
    assert created["secureJsonData"] == {"token": "read-only-token"}
    assert created["jsonData"]["timeInterval"] == "15s"


def test_an_org_provisioned_once_needs_nothing() -> None:
    assert plan(provisioned_org())[1] == []


def test_an_edited_dashboard_is_one_update_with_its_diff() -> None:
    answers = provisioned_org()
    answers["/dashboards/uid/sovwatch-fleet"]["dashboard"]["title"] = "Fleet (edited by hand)"
    _, steps = plan(answers)
    assert [s.summary() for s in steps] == ["update dashboard sovwatch-fleet"]
    assert '-  "title": "Fleet (edited by hand)"' in steps[0].diff
    assert '+  "title": "Fleet overview"' in steps[0].diff


def test_another_datasource_token_is_found_by_its_fingerprint_only() -> None:
    answers = provisioned_org()
    answers["/datasources/uid/sovwatch-influxdb"]["jsonData"][FINGERPRINT] = "0" * 16
    _, steps = plan(answers)
    assert [s.summary() for s in steps] == ["update datasource sovwatch-influxdb"]
    assert "read-only-token" not in steps[0].diff


def test_a_file_provisioned_datasource_that_differs_is_a_clear_error() -> None:
    answers = provisioned_org()
    answers["/datasources/uid/sovwatch-influxdb"].update(readOnly=True, url="http://elsewhere")
    with pytest.raises(SovwatchError, match="provisioned from files"):
        plan(answers)
