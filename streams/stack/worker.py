"""A background `sovwatch worker` for the demo, managed like the stack's servers."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from pathlib import Path

from schemas.settings import Settings, StackSettings, WorkerSettings
from streams.admin import influx_tokens, kafka_principals
from streams.stack.process import ManagedProcess, port_open
from streams.worker import web_auth


def worker_env(settings: Settings) -> dict[str, str]:
    """What a worker started here needs of the stack: its write-only InfluxDB token and, on the
    sasl_ssl broker, the `worker` Kafka login (each empty when the stack has none)."""
    return {
        **influx_tokens.worker_token_env(settings),
        **kafka_principals.login_env(settings, kafka_principals.WORKER),
    }


class WorkerNode:
    def __init__(self, stack: StackSettings, worker: WorkerSettings) -> None:
        self.workdir = stack.run_dir / "worker"
        self.process = ManagedProcess("worker", self.workdir)
        self.host = worker.web_host
        self.port = worker.web_port
        self.headers = web_auth.client_headers(worker)
        # Its tables' local state goes beside its log, not into the caller's directory.
        self.data_dir = worker.data_dir or self.workdir / "data"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def get(self, path: str, timeout_s: float = 5.0) -> bytes:
        """GET one of the worker's pages (with its web token, if one is set)."""
        request = urllib.request.Request(self.url + path, headers=self.headers)  # noqa: S310
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            body: bytes = response.read()
            return body

    def start(self, timeout_s: float, env: dict[str, str] | None = None) -> None:
        """Start the worker (if not running) and wait until its /health answers. `env`: extra
        environment, e.g. the stack's scoped credentials (`worker_env`)."""
        if self.process.pid() is None:
            sovwatch = Path(sys.executable).with_name("sovwatch")
            # The caller's directory, so the worker reads the same `.env` as the caller.
            env = {**(env or {}), "SOVWATCH_WORKER__DATA_DIR": str(self.data_dir)}
            self.process.start([str(sovwatch), "worker"], env=env, cwd=Path.cwd())

        def answers() -> bool:
            try:
                self.get("/health", timeout_s=2)
                return True
            except (urllib.error.URLError, OSError):
                return False

        self.process.wait_ready(answers, timeout_s, "the worker", f"{self.url}/health")

    def is_up(self) -> bool:
        return port_open(self.host, self.port)

    def stop(self) -> bool:
        return self.process.stop(timeout_s=30.0)
