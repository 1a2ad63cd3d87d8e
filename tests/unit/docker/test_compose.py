"""docker/compose.yaml: valid for Compose (checked by docker-compose's schema, no engine needed)
and wired the way sovwatch needs it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

COMPOSE = Path(__file__).resolve().parents[3] / "docker" / "compose.yaml"
SECRETS = {
    "SOVWATCH_INFLUXDB__TOKEN": "t",
    "INFLUXDB_ADMIN_PASSWORD": "p",
    "GRAFANA_ADMIN_PASSWORD": "g",
}


def compose_config(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def resolved() -> dict[str, Any]:
    result = compose_config(**SECRETS)
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def test_compose_file_passes_compose_schema_validation() -> None:
    assert set(resolved()["services"]) == {"kafka", "influxdb", "grafana", "setup", "worker"}


def test_secrets_have_no_defaults_and_are_required() -> None:
    result = compose_config()
    assert result.returncode != 0
    assert "set " in result.stderr


def test_every_long_running_server_has_a_healthcheck_and_binds_to_loopback() -> None:
    services = resolved()["services"]
    for name in ("kafka", "influxdb", "grafana"):
        assert services[name]["healthcheck"]["test"], name
        # docker-compose 1.x prints short syntax: HOST_IP:HOST_PORT:CONTAINER_PORT/PROTO
        for port in services[name].get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)


def test_worker_waits_for_setup_which_waits_for_healthy_servers() -> None:
    services = resolved()["services"]
    assert services["worker"]["depends_on"]["setup"]["condition"] == (
        "service_completed_successfully"
    )
    assert {dep["condition"] for dep in services["setup"]["depends_on"].values()} == {
        "service_healthy"
    }


def test_grafana_mounts_the_repo_provisioning_files() -> None:
    volumes = resolved()["services"]["grafana"]["volumes"]
    mounts = dict(volume.split(":")[:2] for volume in volumes)
    source = COMPOSE.parent.parent / "dashboards" / "provisioning"
    assert mounts[str(source)] == "/etc/grafana/provisioning"
    assert source.is_dir()
