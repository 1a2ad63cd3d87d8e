"""A local Grafana (backend built from its Go module) with a service account for sovwatch.

Secrets stay in files of mode 0600 in the run directory: the admin password (read by Grafana
itself through `$__file{}` in grafana.ini, so it is never in an argument or environment) and
the service-account token sovwatch uses. Neither is ever printed.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from dashboards.api import Grafana
from streams.errors import SovwatchError, StackError
from streams.settings import GrafanaSettings, Settings, StackSettings
from streams.stack.process import ManagedProcess, port_open
from streams.stack.recipes import run_recipe

HOST = "127.0.0.1"
ADMIN_USER = "admin"
SERVICE_ACCOUNT = "sovwatch"


def _write_secret(path: Path, value: str) -> None:
    """Create the file 0600 before anything is written into it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    path.chmod(0o600)


class GrafanaNode:
    """Install, start, initialise (service account + token) and stop the dev Grafana."""

    def __init__(
        self,
        stack: StackSettings,
        grafana: GrafanaSettings,
        port: int,
        name: str = "grafana",
        provisioning: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """`provisioning`: a directory of Grafana provisioning files to load at start (default:
        an empty one, so the stack's Grafana is provisioned through the API); `env`: extra
        environment, e.g. the variables those files reference."""
        self.stack = stack
        self.grafana = grafana
        self.port = port
        self.workdir = stack.run_dir / name
        self.process = ManagedProcess("grafana", self.workdir)
        self.prefix = stack.cache_dir / f"grafana-{grafana.native_version}"
        self.binary = self.prefix / "bin" / "grafana"
        self.homepath = self.prefix / "home"
        self.password_file = self.workdir / "admin-password"
        self.token_file = self.workdir / "sovwatch-token"
        self.provisioning = provisioning or self.workdir / "provisioning"
        self.env = env or {}

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def install(self) -> None:
        if not (self.binary.is_file() and (self.homepath / "conf" / "defaults.ini").is_file()):
            run_recipe(
                "grafana.sh",
                {
                    **os.environ,
                    "SOVWATCH_CACHE": str(self.stack.cache_dir),
                    "SOVWATCH_GRAFANA_VERSION": self.grafana.native_version,
                },
            )

    def configure(self) -> Path:
        """grafana.ini in the run dir: paths, 127.0.0.1 only, no phoning home."""
        if not self.password_file.is_file():
            _write_secret(self.password_file, secrets.token_urlsafe(18))
        for sub in ("data", "logs", "plugins"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        if self.provisioning == self.workdir / "provisioning":
            for sub in ("datasources", "dashboards", "plugins", "alerting", "notifiers"):
                (self.provisioning / sub).mkdir(parents=True, exist_ok=True)
        ini = self.workdir / "grafana.ini"
        ini.write_text(
            "\n".join(
                [
                    "[paths]",
                    f"data = {self.workdir / 'data'}",
                    f"logs = {self.workdir / 'logs'}",
                    f"plugins = {self.workdir / 'plugins'}",
                    f"provisioning = {self.provisioning}",
                    "[server]",
                    f"http_addr = {HOST}",
                    f"http_port = {self.port}",
                    "[security]",
                    f"admin_user = {ADMIN_USER}",
                    f"admin_password = $__file{{{self.password_file}}}",
                    "[users]",
                    "allow_sign_up = false",
                    "[analytics]",
                    "reporting_enabled = false",
                    "check_for_updates = false",
                    "check_for_plugin_updates = false",
                    "[news]",
                    "news_feed_enabled = false",
                    "[log]",
                    "mode = file",
                    "level = warn",
                    "",
                ]
            )
        )
        return ini

    def start(self) -> None:
        if self.process.pid() is not None:
            return
        if port_open(HOST, self.port):
            raise StackError(
                f"port {HOST}:{self.port} is taken by a process that is not this stack's Grafana",
                "stop it, or point SOVWATCH_GRAFANA__URL at a free port",
            )
        self.install()
        ini = self.configure()
        self.process.start(
            [str(self.binary), "server", f"--homepath={self.homepath}", f"--config={ini}"],
            env={**self.env, "GF_PLUGINS_PREINSTALL_DISABLED": "true"},
        )

    def admin(self, org_id: int | None = None) -> Grafana:
        """Basic auth as the admin user (server admin): only for setting up service accounts."""
        password = self.password_file.read_text().strip()
        return Grafana(self.url, (ADMIN_USER, password), self.grafana.timeout_s, org_id)

    def wait_ready(self, timeout_s: float) -> None:
        """Ready means /api/health reports the database ok."""
        deadline = time.monotonic() + timeout_s
        probe = Grafana(self.url, None, self.grafana.timeout_s)
        while time.monotonic() < deadline:
            if self.process.pid() is None:
                raise StackError(
                    f"grafana exited during start-up; last log lines:\n{self.process.log_tail()}",
                    f"full logs: {self.process.log_file}, {self.workdir / 'logs'}",
                )
            try:
                if probe.health().get("database") == "ok":
                    return
            except SovwatchError:
                pass
            time.sleep(0.3)
        raise StackError(
            f"Grafana did not become ready at {self.url} within {timeout_s:.0f}s",
            f"see {self.workdir / 'logs' / 'grafana.log'}",
        )

    def initialise(self) -> None:
        """Ensure sovwatch's service account (Admin) and a working token in `token_file`."""
        if self.token_file.is_file() and self._token_works(self.token_file.read_text().strip()):
            return
        try:
            token = self._new_token(self.admin())
        except SovwatchError as exc:
            raise StackError(
                f"could not create sovwatch's Grafana token: {exc.message}",
                f"this Grafana's data was set up with another admin password: remove "
                f"{self.workdir} to start afresh",
            ) from exc
        _write_secret(self.token_file, token)

    @staticmethod
    def _new_token(admin: Grafana) -> str:
        found = admin.get(f"/serviceaccounts/search?query={SERVICE_ACCOUNT}") or {}
        accounts = [a for a in found.get("serviceAccounts", []) if a["name"] == SERVICE_ACCOUNT]
        if accounts:
            account_id = accounts[0]["id"]
        else:
            created = admin.post("/serviceaccounts", {"name": SERVICE_ACCOUNT, "role": "Admin"})
            account_id = created["id"]
        token = admin.post(
            f"/serviceaccounts/{account_id}/tokens",
            {"name": f"sovwatch-{int(time.time() * 1000)}"},
        )
        key: str = token["key"]
        return key

    def _token_works(self, token: str) -> bool:
        try:
            Grafana(self.url, token, self.grafana.timeout_s).get("/org")
        except SovwatchError:
            return False
        return True

    def token(self) -> str:
        """The token sovwatch uses here: SOVWATCH_GRAFANA__TOKEN, else the stack's own."""
        return resolve_token(self.grafana, self.token_file)

    def is_up(self) -> bool:
        return port_open(HOST, self.port)

    def stop(self) -> bool:
        return self.process.stop(timeout_s=30.0)


def native_token_file(settings: Settings) -> Path:
    return settings.stack.run_dir / "grafana" / "sovwatch-token"


def resolve_token(grafana: GrafanaSettings, token_file: Path) -> str:
    """The configured token, or the one the native stack stored; a clear error otherwise."""
    if grafana.token is not None:
        return grafana.token.get_secret_value()
    try:
        return token_file.read_text().strip()
    except FileNotFoundError:
        raise SovwatchError(
            f"no Grafana token: SOVWATCH_GRAFANA__TOKEN is unset and {token_file} does not exist",
            "set SOVWATCH_GRAFANA__TOKEN (or --token), or start the native Grafana with "
            "'sovwatch stack up'",
        ) from None
