"""Pure parts of the provisioner: the datasource it declares, diffs, folder permissions."""

from __future__ import annotations

from pathlib import Path

import yaml

from dashboards.folders import FOLDERS, TEAM_NAMES, folder_titled
from dashboards.provision import _diff, datasource_body
from schemas.settings import InfluxSettings

PROVISIONING = Path(__file__).resolve().parents[3] / "dashboards" / "provisioning"


def test_api_datasource_matches_the_provisioning_file() -> None:
    declared = yaml.safe_load((PROVISIONING / "datasources" / "influxdb.yaml").read_text())
    (from_file,) = declared["datasources"]
    body = datasource_body(InfluxSettings(), "http://127.0.0.1:8086")
    for key in ("uid", "name", "type", "access", "isDefault"):
        assert body[key] == from_file[key], key
    for key in ("version", "defaultBucket", "timeInterval"):
        assert body["jsonData"][key] == from_file["jsonData"][key], key
    assert body["jsonData"]["version"] == "Flux"
    assert "token" not in str(body), "the token goes in secureJsonData only, never compared"


def test_dashboard_providers_cover_every_folder_by_uid() -> None:
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "sovwatch.yaml").read_text())
    by_uid = {p["folderUid"]: p for p in providers["providers"]}
    assert set(by_uid) == {f.uid for f in FOLDERS}
    for folder in FOLDERS:
        provider = by_uid[folder.uid]
        assert provider["folder"] == folder.title
        assert provider["options"]["path"] == f"$SOVWATCH_DASHBOARDS_DIR/{folder.directory}"


def test_permissions_viewers_see_all_editors_edit_operations_only() -> None:
    assert {f.title: f.roles() for f in FOLDERS} == {
        "Operations": {"Viewer": "View", "Editor": "Edit"},
        "Security": {"Viewer": "View", "Editor": "View"},
        "Compliance": {"Viewer": "View", "Editor": "View"},
    }
    assert folder_titled("Security").team == "security"
    assert set(TEAM_NAMES.values()) == {"sovwatch-ops", "sovwatch-security", "sovwatch-compliance"}


def test_diff_is_a_unified_diff_of_sorted_json() -> None:
    diff = _diff({"b": 1, "a": 1}, {"a": 1, "b": 2}, "x")
    assert diff.splitlines()[:2] == ["--- grafana:x", "+++ sovwatch:x"]
    assert '-  "b": 1' in diff and '+  "b": 2' in diff
    assert _diff(None, {"a": 1}, "y").count("+") >= 3
