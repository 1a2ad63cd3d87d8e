"""GrafanaNode on a private run directory and port: start, service-account token, restart, stop."""

from __future__ import annotations

import stat
from pathlib import Path

from dashboards.api import Grafana
from streams.settings import Settings
from streams.stack.grafana import GrafanaNode
from streams.stack.process import free_port, port_open


def test_start_token_restart_and_stop(settings: Settings, tmp_path: Path) -> None:
    stack = settings.stack.model_copy(update={"run_dir": tmp_path})
    node = GrafanaNode(stack, settings.grafana, free_port())
    try:
        node.start()
        node.wait_ready(settings.stack.start_timeout_s)
        node.initialise()
        for secret in (node.password_file, node.token_file):
            assert stat.S_IMODE(secret.stat().st_mode) == 0o600, secret
        token = node.token_file.read_text().strip()
        org = Grafana(node.url, token).get("/org")
        assert org["name"] == "Main Org."
        password = node.password_file.read_text().strip()
        logs = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*.log"))
        assert password not in logs and token not in logs
        assert password not in (tmp_path / "grafana" / "grafana.ini").read_text()

        assert node.stop()
        assert node.process.pid() is None and not port_open("127.0.0.1", node.port)
        node.start()
        node.wait_ready(settings.stack.start_timeout_s)
        node.initialise()
        assert node.token_file.read_text().strip() == token, "a working token is kept"
    finally:
        node.stop()
    assert node.process.pid() is None
