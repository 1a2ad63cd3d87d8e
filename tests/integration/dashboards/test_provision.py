"""`dashboards.provision` against a real Grafana: a fresh org gets teams, folders with their
permissions, the InfluxDB datasource and every dashboard; a second run changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dashboards.boards import all_dashboards
from dashboards.folders import FOLDERS, TEAM_NAMES, folder_titled
from dashboards.model import DATASOURCE_UID
from dashboards.provision import DATASOURCE_NAME, Provisioner
from streams.influx_tokens import GRAFANA, stack_token
from streams.settings import Settings
from streams.stack.grafana import GrafanaNode
from tests.integration.dashboards.conftest import Org

SOVWATCH = str(Path(sys.executable).with_name("sovwatch"))


def test_first_run_creates_every_object_kind(org: Org) -> None:
    kinds = {step.kind for step in org.first_plan}
    assert kinds == {"team", "folder", "permissions", "datasource", "dashboard"}
    created = {step.name for step in org.first_plan if step.kind == "dashboard"}
    assert created == {board.uid for board in all_dashboards()}


def test_folders_teams_and_permissions_exist(org: Org) -> None:
    for folder in FOLDERS:
        assert org.api.get(f"/folders/{folder.uid}")["title"] == folder.title
        items = org.api.get(f"/folders/{folder.uid}/permissions")
        roles = {i["role"]: i["permissionName"] for i in items if i.get("role")}
        teams = {i["team"]: i["permissionName"] for i in items if i.get("teamId")}
        assert roles == {"Viewer": "View", "Editor": folder.editor_role}
        assert teams == {TEAM_NAMES[folder.team]: "Edit"}
        assert not [i for i in items if i.get("userId")], "no per-user grants are left behind"
    operations = next(f for f in FOLDERS if f.title == "Operations")
    assert operations.editor_role == "Edit"
    assert {f.editor_role for f in FOLDERS if f is not operations} == {"View"}


def test_datasource_exists_and_grafana_reaches_influxdb_with_it(org: Org) -> None:
    datasource = org.api.get(f"/datasources/uid/{DATASOURCE_UID}")
    assert datasource["type"] == "influxdb"
    assert datasource["jsonData"]["version"] == "Flux"
    assert datasource["secureJsonFields"] == {"token": True}
    assert org.api.get(f"/datasources/uid/{DATASOURCE_UID}/health")["status"] == "OK"


def test_grafana_accepted_every_dashboard_as_generated(org: Org) -> None:
    for board in all_dashboards():
        stored = org.api.get(f"/dashboards/uid/{board.uid}")
        assert stored["meta"]["folderUid"] == folder_titled(board.folder).uid
        expected = board.to_json()
        assert {k: v for k, v in stored["dashboard"].items() if k not in ("id", "version")} == (
            expected
        )


def test_second_run_is_a_no_op(org: Org, settings: Settings) -> None:
    readonly = stack_token(settings, GRAFANA)
    again = Provisioner(org.api, settings.influxdb, settings.influxdb.url, readonly).plan()
    assert again == []


# Like streams.cli.main(): a SovwatchError is one line on stderr and exit code 2.
MAIN_LIKE = (
    "import sys\n"
    "from streams.errors import SovwatchError\n"
    "from streams.grafana_cli import grafana_app\n"
    "try:\n"
    "    grafana_app()\n"
    "except SovwatchError as exc:\n"
    "    print(f'error: {exc}', file=sys.stderr)\n"
    "    sys.exit(2)\n"
)


def grafana_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`sovwatch grafana …`; until streams.cli mounts grafana_app, the same app run as main()
    runs it."""
    wired = subprocess.run([SOVWATCH, "grafana", "--help"], capture_output=True, check=False)
    argv = [SOVWATCH, "grafana"] if wired.returncode == 0 else [sys.executable, "-c", MAIN_LIKE]
    return subprocess.run([*argv, *args], capture_output=True, text=True, timeout=120, check=False)


def run_cli(org: Org, node: GrafanaNode, *args: str) -> subprocess.CompletedProcess[str]:
    return grafana_cli("provision", *args, "--url", node.url, "--token", org.token)


def test_cli_says_so_when_nothing_changes_and_never_prints_the_token(
    org: Org, grafana_node: GrafanaNode
) -> None:
    result = run_cli(org, grafana_node)
    assert result.returncode == 0, result.stderr
    assert "nothing to change" in result.stdout
    assert org.token not in result.stdout + result.stderr


def test_dry_run_shows_the_diff_of_a_changed_dashboard_and_changes_nothing(
    org: Org, grafana_node: GrafanaNode
) -> None:
    stored = org.api.get("/dashboards/uid/sovwatch-fleet")["dashboard"]
    org.api.post(
        "/dashboards/db",
        {
            "dashboard": {**stored, "title": "Fleet overview (edited by hand)"},
            "folderUid": folder_titled("Operations").uid,
            "overwrite": True,
        },
    )
    dry = run_cli(org, grafana_node, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "update dashboard sovwatch-fleet" in dry.stdout
    assert '-  "title": "Fleet overview (edited by hand)"' in dry.stdout
    assert '+  "title": "Fleet overview"' in dry.stdout
    assert "1 change(s) not applied" in dry.stdout
    edited = org.api.get("/dashboards/uid/sovwatch-fleet")["dashboard"]["title"]
    assert edited == "Fleet overview (edited by hand)"

    real = run_cli(org, grafana_node)
    assert real.returncode == 0, real.stderr
    assert "applied 1 change(s)" in real.stdout
    assert org.api.get("/dashboards/uid/sovwatch-fleet")["dashboard"]["title"] == ("Fleet overview")


def test_a_rejected_token_is_one_line_naming_the_setting(grafana_node: GrafanaNode) -> None:
    result = grafana_cli(
        "provision", "--url", grafana_node.url, "--token", "glsa_not_a_real_token_00000000"
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "rejected the credentials" in result.stderr
    assert "SOVWATCH_GRAFANA__TOKEN" in result.stderr


def test_an_unreachable_grafana_is_one_line(org: Org) -> None:
    result = grafana_cli("provision", "--url", "http://127.0.0.1:9", "--token", org.token)
    assert result.returncode == 2
    assert result.stderr.startswith("error: Grafana is not reachable at http://127.0.0.1:9")
    assert org.token not in result.stderr


def test_provision_needs_only_the_service_account_token_never_the_admin_password(
    org: Org, grafana_node: GrafanaNode, settings: Settings, tmp_path: Path
) -> None:
    """A run dir without Grafana's admin-password file: the CLI cannot have used it."""
    readonly = stack_token(settings, GRAFANA)
    assert readonly is not None
    env = {
        **os.environ,
        "SOVWATCH_STACK__RUN_DIR": str(tmp_path),
        "SOVWATCH_GRAFANA__INFLUXDB_TOKEN": readonly.get_secret_value(),
    }
    result = subprocess.run(
        [SOVWATCH, "grafana", "provision", "--url", grafana_node.url, "--token", org.token],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "nothing to change" in result.stdout
    assert "datasource token: SOVWATCH_GRAFANA__INFLUXDB_TOKEN" in result.stdout
    assert not list(tmp_path.rglob("admin-password"))
    assert readonly.get_secret_value() not in result.stdout + result.stderr


def test_another_datasource_token_is_detected_by_its_fingerprint(
    org: Org, settings: Settings
) -> None:
    """The operator token instead of the read-only one: one token update, nothing else."""
    plan = Provisioner(org.api, settings.influxdb, settings.influxdb.url).plan()
    assert [step.summary() for step in plan] == [f"update datasource {DATASOURCE_NAME}"]
    assert "~ token (fingerprint" in plan[0].diff
    assert settings.influxdb.token.get_secret_value() not in plan[0].diff
