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
    "SOVWATCH_INFLUXDB__TOKEN": "operator-token-t",
    "INFLUXDB_ADMIN_PASSWORD": "influx-password-p",
    "GRAFANA_ADMIN_PASSWORD": "grafana-password-g",
    "SOVWATCH_WORKER_INFLUXDB_TOKEN": "worker-token-w",
    "SOVWATCH_GRAFANA_INFLUXDB_TOKEN": "grafana-readonly-token-r",
    "SOVWATCH_PRIVACY__PSEUDONYM_KEY": "pseudonym-key-k",
    "SOVWATCH_PRIVACY__DLQ_KEY": "dlq-key-d",
    "SOVWATCH_WORKER__WEB_TOKEN": "web-token-x",
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
    assert set(resolved()["services"]) == {
        "kafka",
        "influxdb",
        "grafana",
        "alertmanager",
        "setup",
        "worker",
    }


def test_alertmanager_routes_each_team_and_the_worker_posts_to_it() -> None:
    services = resolved()["services"]
    assert services["alertmanager"]["image"] == "prom/alertmanager:v0.35.0"
    assert env_of("worker")["SOVWATCH_ALERTS__ALERTMANAGER_URL"] == "http://alertmanager:9093"
    config = yaml.safe_load((COMPOSE.parent / "alertmanager" / "alertmanager.yml").read_text())
    routes = {r["matchers"][0]: r["receiver"] for r in config["route"]["routes"]}
    assert routes == {f'team="{t}"': t for t in ("ops", "security", "compliance")}
    assert {r["name"] for r in config["receivers"]} == {"ops", "security", "compliance"}


def without(name: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return {**env, **{k: v for k, v in SECRETS.items() if k != name}}


def test_every_secret_is_required_and_has_no_default() -> None:
    for name in SECRETS:
        result = subprocess.run(
            ["docker-compose", "-f", str(COMPOSE), "config"],
            env=without(name),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode != 0, name
        assert f"set {name}" in result.stderr, (name, result.stderr)
    text = COMPOSE.read_text()
    for name in SECRETS:
        assert f"${{{name}:-" not in text and f"${{{name}-" not in text, name


def env_of(service: str) -> dict[str, str]:
    return dict(resolved()["services"][service]["environment"])


def test_each_process_gets_only_its_own_influxdb_token() -> None:
    assert env_of("worker")["SOVWATCH_INFLUXDB__TOKEN"] == SECRETS["SOVWATCH_WORKER_INFLUXDB_TOKEN"]
    assert env_of("setup")["SOVWATCH_INFLUXDB__TOKEN"] == SECRETS["SOVWATCH_INFLUXDB__TOKEN"]
    grafana = env_of("grafana")
    assert grafana["SOVWATCH_GRAFANA__INFLUXDB_TOKEN"] == SECRETS["SOVWATCH_GRAFANA_INFLUXDB_TOKEN"]
    assert SECRETS["SOVWATCH_INFLUXDB__TOKEN"] not in grafana.values()
    assert env_of("worker")["SOVWATCH_WORKER__WEB_TOKEN"] == SECRETS["SOVWATCH_WORKER__WEB_TOKEN"]
    datasource = COMPOSE.parent.parent / "dashboards" / "provisioning" / "datasources"
    assert "$SOVWATCH_GRAFANA__INFLUXDB_TOKEN" in (datasource / "influxdb.yaml").read_text()


def test_only_grafana_is_reachable_from_outside_and_only_on_loopback() -> None:
    config = resolved()
    assert config["networks"]["default"] == {"internal": True}
    assert config["networks"]["edge"].get("internal") is not True
    for name, service in config["services"].items():
        networks = set(service.get("networks") or {"default": None})
        if name == "grafana":
            assert networks == {"default", "edge"}
            assert service["ports"] == ["127.0.0.1:3000:3000/tcp"]
        else:
            assert networks == {"default"}, name  # internal only: unreachable from the host
    published = {n for n, svc in config["services"].items() if svc.get("ports")}
    assert published == {"grafana"}


def test_every_long_running_server_has_a_healthcheck_and_binds_to_loopback() -> None:
    services = resolved()["services"]
    for name in ("kafka", "influxdb", "grafana", "alertmanager"):
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
