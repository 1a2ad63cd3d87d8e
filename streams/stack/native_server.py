"""What the stack's Go servers (influxd, Alertmanager) share: a binary their recipe builds into
the cache, a managed process with its working directory in the run dir, one port on 127.0.0.1."""

from __future__ import annotations

from schemas.settings import StackSettings
from streams.stack.process import ManagedProcess, ensure_port_free, port_open
from streams.stack.recipes import ensure_installed

HOST = "127.0.0.1"


class NativeServer:
    """One server of the stack: `package` is its recipe (`docker/native/<package>.sh`, cached as
    `<package>-<version>/bin/<tool>`), `name` its folder in the run dir. `label` names it in
    messages; `address_setting` is the variable that points clients elsewhere when its port is
    taken."""

    label = ""
    address_setting = ""
    stop_timeout_s = 30.0

    def __init__(
        self, stack: StackSettings, port: int, *, package: str, tool: str, version: str, name: str
    ) -> None:
        self.stack = stack
        self.port = port
        self.workdir = stack.run_dir / name
        self.process = ManagedProcess(tool, self.workdir)
        self.binary = stack.cache_dir / f"{package}-{version}" / "bin" / tool
        self._package = package
        self._version = version

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def install(self) -> None:
        version = {f"SOVWATCH_{self._package.upper()}_VERSION": self._version}
        ensure_installed(self.binary, f"{self._package}.sh", self.stack.cache_dir, **version)

    def prepare(self) -> bool:
        """Before a start: False if it runs already; else checks its port is free, installs it
        and makes its working directory."""
        if self.process.pid() is not None:
            return False
        ensure_port_free(HOST, self.port, self.label, self.address_setting)
        self.install()
        self.workdir.mkdir(parents=True, exist_ok=True)
        return True

    def is_up(self) -> bool:
        return port_open(HOST, self.port)

    def stop(self) -> bool:
        return self.process.stop(timeout_s=self.stop_timeout_s)
