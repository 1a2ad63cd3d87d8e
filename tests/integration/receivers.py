"""Real receivers for the alert-channel tests: an HTTP server (http.server in a thread), rsyslog
(the Debian package, started on free ports, UDP and TCP) and a CEF parser for what it wrote."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from streams.stack.process import ManagedProcess, free_port, port_open


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class LocalHttpServer:
    """A real HTTP server on 127.0.0.1 (a free port) with `handler`, served by a thread from
    `with` on."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.shutdown()
        self.server.server_close()


class HttpReceiver(LocalHttpServer):
    """A real HTTP server on 127.0.0.1 that records every POST. `statuses` are answered in turn
    (then 200), e.g. [503] to refuse the first request."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.requests: list[Request] = []
        self._statuses = list(statuses or [])
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    status = receiver._statuses.pop(0) if receiver._statuses else 200
                    if status == 200:
                        receiver.requests.append(Request(self.path, dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        super().__init__(Handler)

    def on(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]


RSYSLOG_CONFIG = """\
global(workDirectory="{workdir}")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="{udp}")
input(type="imtcp" address="127.0.0.1" port="{tcp}")
template(name="sovwatch_json" type="list" option.jsonf="on") {{
  property(outname="facility" name="syslogfacility" format="jsonf")
  property(outname="severity" name="syslogseverity" format="jsonf")
  property(outname="app" name="app-name" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
}}
action(type="omfile" file="{output}" template="sovwatch_json")
"""


class Rsyslog:
    """rsyslogd in the foreground with a config of its own: UDP and TCP inputs on free ports, every
    message written as one JSON line (facility, severity, app, msgid, msg)."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
        self.binary = binary
        self.workdir = workdir
        self.udp_port = free_port()
        self.tcp_port = free_port()
        self.output = workdir / "received.jsonl"
        self.process = ManagedProcess("rsyslogd", workdir)

    def __enter__(self) -> Rsyslog:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "rsyslog.conf"
        config.write_text(
            RSYSLOG_CONFIG.format(
                workdir=self.workdir, udp=self.udp_port, tcp=self.tcp_port, output=self.output
            )
        )
        self.process.start(
            [self.binary, "-n", "-f", str(config), "-i", str(self.workdir / "rsyslogd-own.pid")]
        )
        self.process.wait_ready(
            lambda: port_open("127.0.0.1", self.tcp_port), 30, "rsyslogd", f"tcp/{self.tcp_port}"
        )
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.process.stop(timeout_s=10)

    def received(self) -> list[dict[str, str]]:
        try:
            text = self.output.read_text()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def wait_until(check: Callable[[], bool], timeout_s: float = 30) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


_HEADER_SPLIT = re.compile(r"(?<!\\)\|")
_EXTENSION_KEY = re.compile(r"(?:^| )([A-Za-z0-9_]+)=")


def _unescape(text: str, header: bool) -> str:
    out, chars = [], iter(text)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        nxt = next(chars, "")
        out.append({"n": "\n", "r": "\r"}.get(nxt, nxt) if not header else nxt)
    return "".join(out)


def parse_cef(line: str) -> tuple[list[str], dict[str, str]]:
    """The 7 header fields and the extension of a CEF:0 line, unescaped (a strict reading of the
    format: the header splits on unescaped `|`, extension keys on ` key=` with `=` unescaped)."""
    assert line.startswith("CEF:0|"), line
    parts: list[str] = []
    rest = line
    for _ in range(7):
        pipe = _find_unescaped_pipe(rest)
        parts.append(rest[:pipe])
        rest = rest[pipe + 1 :]
    header = [_unescape(p, header=True) for p in parts]
    header[0] = header[0].removeprefix("CEF:")
    keys = [m for m in _EXTENSION_KEY.finditer(rest) if not _escaped(rest, m.end() - 1)]
    extension = {}
    for i, match in enumerate(keys):
        end = keys[i + 1].start() if i + 1 < len(keys) else len(rest)
        extension[match.group(1)] = _unescape(rest[match.end() : end], header=False)
    return header, extension


def _escaped(text: str, index: int) -> bool:
    slashes = 0
    while index - slashes - 1 >= 0 and text[index - slashes - 1] == "\\":
        slashes += 1
    return slashes % 2 == 1


def _find_unescaped_pipe(text: str) -> int:
    for index, char in enumerate(text):
        if char == "|" and not _escaped(text, index):
            return index
    raise AssertionError(f"CEF header ends early: {text!r}")


def iter_json(requests: list[Request]) -> Iterator[Any]:
    for request in requests:
        yield request.json()
