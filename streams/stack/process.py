"""A background server process owned by the native stack, tracked by a pid file.

The pid file alone is not trusted: a pid is ours only while its environment carries the marker
this class sets at start (naming the process's work directory), so a recycled pid is never
signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from schemas.errors import StackError

MARKER = "SOVWATCH_STACK_PROCESS"


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_port_free(host: str, port: int, service: str, setting: str) -> None:
    """`StackError` when another process (not this stack's `service`) listens on host:port;
    `setting` is the variable that moves the service to another port."""
    if port_open(host, port):
        raise StackError(
            f"port {host}:{port} is taken by a process that is not this stack's {service}",
            f"stop it, or point {setting} at a free port",
        )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (for test and benchmark workers)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def free_port_pair(host: str = "127.0.0.1") -> int:
    """A free port whose successor is free too (a broker's controller takes port + 1)."""
    while True:
        port = free_port(host)
        if not port_open(host, port + 1):
            return port


@dataclass(frozen=True)
class ManagedProcess:
    """One server: how to start it, where its pid and log live."""

    name: str
    workdir: Path

    @property
    def pid_file(self) -> Path:
        return self.workdir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def pid(self) -> int | None:
        """The pid of our running process, or None (a stale pid file is removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if self._is_ours(pid):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def _is_ours(self, pid: int) -> bool:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        zombie = stat.rsplit(")", 1)[-1].split()[0] == "Z"
        return not zombie and self._marker() in environ.split(b"\0")

    def _marker(self) -> bytes:
        return f"{MARKER}={self.workdir}".encode()

    def start(
        self, argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> int:
        """Start argv in its own session, output appended to the log; returns the pid."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            proc = subprocess.Popen(
                argv,
                cwd=cwd or self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {}), MARKER: str(self.workdir)},
                start_new_session=True,
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        # Until exec completes, /proc shows the forking parent's environment.
        deadline = time.monotonic() + 5
        while not self._is_ours(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        return proc.pid

    def wait_ready(
        self, ready: Callable[[], bool], timeout_s: float, what: str, address: str
    ) -> None:
        """Poll `ready` until it holds; fails at once if the process exited, else after
        timeout_s, naming the log either way."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.pid() is None:
                raise StackError(
                    f"{what} exited during start-up; last log lines:\n{self.log_tail()}",
                    f"full log: {self.log_file}",
                )
            if ready():
                return
            time.sleep(0.3)
        raise StackError(
            f"{what} did not become ready at {address} within {timeout_s:.0f}s",
            f"see {self.log_file}",
        )

    def stop(self, timeout_s: float = 30.0) -> bool:
        """SIGTERM the process group, SIGKILL after timeout_s. True if something was stopped."""
        pid = self.pid()
        if pid is None:
            return False
        self._signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self._is_ours(pid):
            _reap(pid)
            time.sleep(0.2)
        if self._is_ours(pid):
            self._signal_group(pid, signal.SIGKILL)
            while self._is_ours(pid):
                _reap(pid)
                time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)
        return True

    @staticmethod
    def _signal_group(pid: int, sig: signal.Signals) -> None:
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:
            os.kill(pid, sig)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the log, for error messages."""
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def _reap(pid: int) -> None:
    """Collect the exit status if the process is our child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
