"""A local Prometheus Alertmanager (built from its Go module by docker/native/alertmanager.sh),
for `sovwatch stack up --with alertmanager` and the alert-delivery tests.

Gossip clustering is off (`--cluster.listen-address=`: it would bind every interface); the HTTP API
listens on 127.0.0.1 only. The configuration is docker/alertmanager/alertmanager.yml unless the
caller gives one (tests route to their own receivers).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from schemas.settings import StackSettings
from streams.stack.native_server import HOST, NativeServer
from streams.stack.recipes import RECIPES

SAMPLE_CONFIG = RECIPES.parent / "alertmanager" / "alertmanager.yml"


class AlertmanagerNode(NativeServer):
    label = "Alertmanager"
    address_setting = "SOVWATCH_ALERTS__ALERTMANAGER_URL"
    stop_timeout_s = 15.0

    def __init__(
        self, stack: StackSettings, port: int, config: str | None = None, name: str = "alertmanager"
    ) -> None:
        version = stack.alertmanager_version
        super().__init__(
            stack, port, package="alertmanager", tool="alertmanager", version=version, name=name
        )
        self.config = config

    def config_file(self) -> Path:
        path = self.workdir / "alertmanager.yml"
        path.write_text(self.config if self.config is not None else SAMPLE_CONFIG.read_text())
        return path

    def start(self) -> None:
        if not self.prepare():
            return
        self.process.start(
            [
                str(self.binary),
                f"--config.file={self.config_file()}",
                f"--storage.path={self.workdir / 'data'}",
                f"--web.listen-address={HOST}:{self.port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ]
        )

    def wait_ready(self, timeout_s: float) -> None:
        """Ready means /-/ready answers 200."""

        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:  # noqa: S310
                    return bool(response.status == 200)
            except (urllib.error.URLError, OSError):
                return False

        self.process.wait_ready(ready, timeout_s, "Alertmanager", self.url)
