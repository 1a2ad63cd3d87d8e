"""`sovwatch schemas export` and `sovwatch collect` (the DCGM collector, option checks)."""

import json
import socket
import threading
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from schemas import GpuSample, decode
from schemas.errors import SovwatchError
from schemas.jsonschema import json_schemas
from streams.cli.collect import collect_app
from streams.cli.schemas import schemas_app
from streams.collectors.dcgm import collect_once, fetch

FIXTURE = Path(__file__).parents[2] / "schemas" / "fixtures" / "dcgm_a100_mig_k8s.prom"


@pytest.fixture
def exporter() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving the fixture page at /metrics."""
    page = FIXTURE.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/metrics":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/metrics"
    finally:
        server.shutdown()
        server.server_close()


def _app(sub: typer.Typer, name: str) -> typer.Typer:
    app = typer.Typer()
    app.add_typer(sub, name=name)
    return app


def test_schemas_export(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(schemas_app, "schemas"), ["schemas", "export", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = {p.name: json.loads(p.read_text()) for p in tmp_path.iterdir()}
    assert written == {f"{n}.schema.json": s for n, s in json_schemas().items()}


def test_collect_once_produces_keyed_samples(exporter: str) -> None:
    sent: list[tuple[str, bytes, bytes]] = []

    def send(records: Iterable[tuple[str, bytes, bytes]]) -> int:
        sent.extend(records)
        return len(sent)

    line = collect_once(
        exporter, site="fra-1", country="DE", source="dcgm:test", node=None,
        timeout=5, topic="telemetry.gpu", send=send,
    )  # fmt: skip
    assert "produced 3 GPU samples to telemetry.gpu" in line
    assert {(topic, key) for topic, key, _ in sent} == {("telemetry.gpu", b"fra-1")}
    samples = [decode(value, topic) for topic, _, value in sent]
    assert all(isinstance(s, GpuSample) and s.site_id == "fra-1" for s in samples)
    assert [s.mig_instance_id for s in samples] == [None, 1, 2]  # type: ignore[union-attr]


def test_fetch_errors_are_one_line_user_errors(exporter: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    with pytest.raises(SovwatchError, match="cannot scrape") as caught:
        fetch(f"http://127.0.0.1:{closed}/metrics", timeout=2)
    assert "9400" in caught.value.hint
    with pytest.raises(SovwatchError, match="404"):
        fetch(exporter.replace("/metrics", "/nope"), timeout=2)
    with pytest.raises(SovwatchError, match="http"):
        fetch("file:///etc/passwd", timeout=2)


@pytest.mark.parametrize(
    ("option", "value"), [("--country", "XX"), ("--site", "has space"), ("--source", "bad source")]
)
def test_bad_options_fail_before_connecting(option: str, value: str) -> None:
    args = {"--url": "http://127.0.0.1:9/metrics", "--site": "fra-1", "--country": "DE"}
    args[option] = value
    argv = ["collect", "dcgm", "--once", *[x for pair in args.items() for x in pair]]
    result = CliRunner().invoke(_app(collect_app, "collect"), argv)
    assert isinstance(result.exception, SovwatchError)
    assert option in result.exception.message
