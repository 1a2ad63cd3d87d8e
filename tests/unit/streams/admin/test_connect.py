"""The InfluxDB client of the CLI against a server that is slow to answer (an in-process fake
that answers `/ping` at once and holds queries): a query is sent again after a timeout, and a
server that never answers in time gives one clear line, not a traceback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from schemas.settings import InfluxSettings
from streams.admin.connect import influx_client
from streams.evidence.store import Filters, read_page
from tests.unit.streams.cli.run import run_cli


class SlowQueries(ThreadingHTTPServer):
    """Holds the first `held` queries for `hold_s` seconds; answers the others with no rows."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, held: int, hold_s: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.held, self.hold_s, self.queries = held, hold_s, 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: SlowQueries

    def do_GET(self) -> None:  # /ping
        self.send_response(204)
        self.end_headers()

    def do_POST(self) -> None:  # /api/v2/query
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.queries += 1
        if self.server.queries <= self.server.held:
            time.sleep(self.server.hold_s)
        self.send_response(200)
        self.send_header("Content-Type", "text/csv; charset=utf-8")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def serving(held: int, hold_s: float) -> Iterator[SlowQueries]:
    server = SlowQueries(held, hold_s)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def slow_once() -> Iterator[SlowQueries]:
    yield from serving(held=1, hold_s=3)


@pytest.fixture
def never_in_time() -> Iterator[SlowQueries]:
    yield from serving(held=100, hold_s=3)


def test_a_query_that_timed_out_is_sent_again(slow_once: SlowQueries) -> None:
    influx = InfluxSettings(url=slow_once.url, timeout_s=0.5)
    with influx_client(influx) as client:
        rows = read_page(client, influx.org, "audit", Filters(), limit=10, offset=0)
    assert rows == []
    assert slow_once.queries == 2


def test_an_influxdb_that_never_answers_in_time_gives_one_clear_line(
    never_in_time: SlowQueries,
) -> None:
    env = {"SOVWATCH_INFLUXDB__URL": never_in_time.url, "SOVWATCH_INFLUXDB__TIMEOUT_S": "0.5"}
    result = run_cli(["audit", "query"], env=env)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    port = never_in_time.server_address[1]
    assert lines[0].startswith(f"error: InfluxDB at 127.0.0.1:{port} did not answer"), lines[0]
    assert "SOVWATCH_INFLUXDB__TIMEOUT_S" in lines[0]
    assert never_in_time.queries == 3  # the first try and two retries
