"""dashboards/provisioning/ on a stock Grafana, as docker/compose.yaml mounts it: a second,
private Grafana started with those files (and dashboards/json/) shows the three team folders,
every dashboard and a working datasource with no API call of ours."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboards.boards import all_dashboards
from dashboards.build import JSON_DIR
from dashboards.folders import FOLDERS, folder_titled
from dashboards.model import DATASOURCE_UID
from streams.influx_tokens import GRAFANA, stack_token
from streams.settings import Settings
from streams.stack.grafana import GrafanaNode
from streams.stack.process import free_port
from tests.integration.pipeline import wait_for

PROVISIONING = Path(__file__).resolve().parents[3] / "dashboards" / "provisioning"


@pytest.fixture(scope="module")
def file_grafana(
    settings: Settings, grafana_node: GrafanaNode, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GrafanaNode]:
    stack = settings.stack.model_copy(update={"run_dir": tmp_path_factory.mktemp("run")})
    influx = settings.influxdb
    readonly = stack_token(settings, GRAFANA)
    assert readonly is not None, "the stack's InfluxDB has a read-only Grafana token"
    node = GrafanaNode(
        stack,
        settings.grafana,
        free_port(),
        name="grafana-files",
        provisioning=PROVISIONING,
        env={
            "SOVWATCH_DASHBOARDS_DIR": str(JSON_DIR),
            "SOVWATCH_INFLUXDB__URL": influx.url,
            "SOVWATCH_INFLUXDB__ORG": influx.org,
            # The read-only token, as in docker/compose.yaml.
            "SOVWATCH_GRAFANA__INFLUXDB_TOKEN": readonly.get_secret_value(),
        },
    )
    node.start()
    try:
        node.wait_ready(settings.stack.start_timeout_s)
        yield node
    finally:
        node.stop()


def test_folders_dashboards_and_datasource_come_from_the_files(file_grafana: GrafanaNode) -> None:
    admin = file_grafana.admin()
    expected_folders = {f.uid: f.title for f in FOLDERS}
    expected_placement = {b.uid: folder_titled(b.folder).uid for b in all_dashboards()}

    def folders() -> dict[str, str]:
        return {f["uid"]: f["title"] for f in admin.get("/folders")}

    def placed() -> dict[str, str | None]:
        found = admin.get("/search?type=dash-db&limit=5000")
        return {d["uid"]: d.get("folderUid") for d in found}

    # Grafana provisions dashboard files in the background once its API is up.
    wait_for(lambda: folders() == expected_folders and placed() == expected_placement, 60)
    assert folders() == expected_folders
    assert placed() == expected_placement
    for board in all_dashboards():
        stored = admin.get(f"/dashboards/uid/{board.uid}")
        assert stored["meta"]["provisioned"] is True
        assert stored["dashboard"]["title"] == board.title

    datasource = admin.get(f"/datasources/uid/{DATASOURCE_UID}")
    assert datasource["readOnly"] is True
    assert admin.get(f"/datasources/uid/{DATASOURCE_UID}/health")["status"] == "OK"
