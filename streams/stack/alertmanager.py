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
from streams.stack.process import ManagedProcess, ensure_port_free, port_open
from streams.stack.recipes import RECIPES, ensure_installed

HOST = "127.0.0.1"
SAMPLE_CONFIG = RECIPES.parent / "alertmanager" / "alertmanager.yml"


class AlertmanagerNode:
    def __init__(
        self, stack: StackSettings, port: int, config: str | None = None, name: str = "alertmanager"
    ) -> None:
        self.stack = stack
        self.port = port
        self.config = config
        self.workdir = stack.run_dir / name
        self.process = ManagedProcess("alertmanager", self.workdir)
        version = stack.alertmanager_version
        self.binary = stack.cache_dir / f"alertmanager-{version}" / "bin" / "alertmanager"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def install(self) -> None:
        ensure_installed(
            self.binary,
            "alertmanager.sh",
            self.stack.cache_dir,
            SOVWATCH_ALERTMANAGER_VERSION=self.stack.alertmanager_version,
        )

    def config_file(self) -> Path:
        path = self.workdir / "alertmanager.yml"
        path.write_text(self.config if self.config is not None else SAMPLE_CONFIG.read_text())
        return path

    def start(self) -> None:
        if self.process.pid() is not None:
            return
        ensure_port_free(HOST, self.port, "Alertmanager", "SOVWATCH_ALERTS__ALERTMANAGER_URL")
        self.install()
        self.workdir.mkdir(parents=True, exist_ok=True)
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

    def is_up(self) -> bool:
        return port_open(HOST, self.port)

    def stop(self) -> bool:
        return self.process.stop(timeout_s=15.0)
