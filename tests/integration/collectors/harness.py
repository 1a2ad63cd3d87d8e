"""The real collector programs for the collector tests: Telegraf 1.37.2 (docker/native/telegraf.sh),
the OpenTelemetry Collector (docker/native/otelcol.sh) and a dcgm-exporter page server,
sushy-static serving the Redfish mockup in recordings/, and an nvidia-smi stand-in that prints a
recorded `nvidia-smi -q -x` with a current timestamp."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from influxdb_client.client.flux_table import FluxRecord

from schemas.settings import Settings
from streams.admin.connect import influx_client
from streams.stack.process import free_port
from tests.integration.pipeline import Isolated
from tests.integration.receivers import LocalHttpServer

RECORDINGS = Path(__file__).with_name("recordings")
NVIDIA_SMI = RECORDINGS / "nvidia-smi"
MOCKUP = RECORDINGS / "redfish-mockup"
REPO = Path(__file__).resolve().parents[3]
SUSHY_STATIC = str(Path(sys.executable).with_name("sushy-static"))
TELEGRAF_VERSION = "1.37.2"
OTELCOL_VERSION = "0.165.0"


def telegraf_binary(settings: Settings) -> Path:
    """Telegraf from the repo's recipe (idempotent: builds once into the cache)."""
    return built(settings, "telegraf.sh", f"telegraf-{TELEGRAF_VERSION}/bin/telegraf")


def otelcol_binary(settings: Settings) -> Path:
    """The OpenTelemetry Collector from the repo's recipe (idempotent, like Telegraf)."""
    return built(settings, "otelcol.sh", f"otelcol-{OTELCOL_VERSION}/bin/otelcol")


def built(settings: Settings, recipe: str, binary: str) -> Path:
    """`binary` (under the cache) once `docker/native/<recipe>` has built it."""
    cache = settings.stack.cache_dir
    subprocess.run(
        ["bash", str(REPO / "docker/native" / recipe)],
        env={**os.environ, "SOVWATCH_CACHE": str(cache)},
        check=True,
        capture_output=True,
        timeout=1800,
    )
    return cache / binary


def nvidia_smi(
    directory: Path,
    recording: str,
    shifts_s: tuple[int, ...] = (),
    edits: dict[str, str] | None = None,
) -> Path:
    """An executable printing `recording` (with `edits`: old text -> new text) as now, or, for
    its first calls, as now plus each of `shifts_s` seconds (the sample's time, for windows)."""
    name = recording.removesuffix(".xml")
    xml = (NVIDIA_SMI / recording).read_text()
    for old, new in (edits or {}).items():
        assert old in xml, old
        xml = xml.replace(old, new)
    (directory / f"{name}.xml").write_text(xml)
    shifts = directory / f"{name}.shifts"
    shifts.write_text("".join(f"{s}\n" for s in shifts_s))
    script = directory / f"nvidia-smi-{name}"
    script.write_text(
        "#!/usr/bin/env bash\n"
        "# nvidia-smi stand-in: the recorded `nvidia-smi -q -x`, dated now (+ a shift)\n"
        "shift_s=0\n"
        f'if [[ -s "{shifts}" ]]; then shift_s=$(head -n1 "{shifts}"); sed -i 1d "{shifts}"; fi\n'
        "ts=$(date -u -d \"@$(( $(date +%s) + shift_s ))\" '+%a %b %e %H:%M:%S %Y')\n"
        f'sed "s|<timestamp>.*</timestamp>|<timestamp>$ts</timestamp>|" "{directory / name}.xml"\n'
    )
    script.chmod(0o755)
    return script


class Redfish:
    """sushy-static serving a copy of the mockup (edit it while it runs: files are read per
    request)."""

    def __init__(self, directory: Path) -> None:
        self.root = directory / "redfish-mockup"
        shutil.copytree(MOCKUP, self.root)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = directory / "sushy-static.log"
        self.process: subprocess.Popen[bytes] | None = None

    def resource(self, path: str) -> dict[str, Any]:
        document: dict[str, Any] = json.loads((self.root / path / "index.json").read_text())
        return document

    def edit(self, path: str, change: dict[str, Any], member: str = "PowerControl") -> None:
        """Set `change` on the first `member` entry of the resource at `path`."""
        document = self.resource(path)
        document[member][0].update(change)
        (self.root / path / "index.json").write_text(json.dumps(document))

    def __enter__(self) -> Redfish:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [SUSHY_STATIC, "-i", "127.0.0.1", "-p", str(self.port), "-m", str(self.root)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/redfish/v1", timeout=2):  # noqa: S310
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__(None, None, None)
        raise AssertionError(f"sushy-static did not answer: {self.log.read_text()[-2000:]}")

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        stop(self.process)


class Telegraf:
    """One Telegraf process running `config` (TZ=UTC: nvidia-smi's timestamp is local time)."""

    NAME = "telegraf"
    CONFIG = "telegraf.conf"

    def __init__(self, binary: Path, directory: Path, config: str) -> None:
        self.binary = binary
        self.config = directory / self.CONFIG
        self.config.write_text(config)
        self.log = directory / f"{self.NAME}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        env = {**os.environ, "TZ": "UTC", "REDFISH_USERNAME": "root", "REDFISH_PASSWORD": "pw"}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.binary), "--config", str(self.config)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        time.sleep(1)
        if self.process.poll() is not None:
            raise AssertionError(f"{self.NAME} exited: {self.log.read_text()[-3000:]}")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        stop(self.process)


class OtelCol(Telegraf):
    """One OpenTelemetry Collector process running `config` (same start and stop)."""

    NAME = "otelcol"
    CONFIG = "otelcol.yaml"


class DcgmExporter(LocalHttpServer):
    """A dcgm-exporter stand-in: a real HTTP server on 127.0.0.1 serving `page` at /metrics in
    the exporter's content type."""

    def __init__(self, page: str) -> None:
        self.page = page
        body = page.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200 if self.path == "/metrics" else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        super().__init__(Handler)
        self.metrics_url = f"{self.url}/metrics"


def last_records(pipeline: Isolated, site: str, measurement: str) -> list[FluxRecord]:
    """The last stored value of each field of each series of `measurement`, for one site."""
    with influx_client(pipeline.settings.influxdb) as client:
        tables = client.query_api().query(
            f'from(bucket: "{pipeline.settings.influxdb.buckets.telemetry}") '
            "|> range(start: -1h, stop: 1h) "
            f'|> filter(fn: (r) => r._measurement == "{measurement}" and r.site == "{site}") '
            "|> last()"
        )
    return [record for table in tables for record in table]


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def extra_gpu_node(config: str, script: Path, host: str) -> str:
    """`config` plus a second nvidia_smi input, like its first one, for another node's GPUs."""
    start = config.index("[[inputs.nvidia_smi]]")
    end = config.find("\n\n", start)
    block = config[start : end if end >= 0 else None].rstrip()
    bin_line = next(line for line in block.splitlines() if line.lstrip().startswith("bin_path"))
    block = block.replace(bin_line, f"  bin_path = {json.dumps(str(script))}")
    return f'{config}\n{block}\n  [inputs.nvidia_smi.tags]\n    host = "{host}"\n'
