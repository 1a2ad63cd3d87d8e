"""Bad input to `sovwatch` (its entry point, in this process): wrong flags and commands, bad
files and settings, unreachable servers. Each gives exactly one line on stderr that says what is
wrong and how to fix it, exit code 2, and no traceback. No server is needed: every address is a
closed port on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.audit.checkpoints import generate_keypair
from streams.stack.process import free_port
from tests.unit.streams.cli.run import run_cli

KAFKA_DOWN = "Kafka is not reachable at 127.0.0.1:"
INFLUX_DOWN = "InfluxDB is not reachable at http://127.0.0.1:"
START_STACK = "sovwatch stack up"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory with bad files (and no .env: settings come from the test only)."""
    root = tmp_path_factory.mktemp("cli")
    (root / "bad.yaml").write_text("rules: [\n  - id: x\n")
    (root / "binary.yaml").write_bytes(b"\xff\xfe\x00 not text")
    (root / "list.yaml").write_text("- just\n- a list\n")
    (root / "bad.json").write_text('{"run": ')
    (root / "notzip.zip").write_text("not a zip")
    (root / "not-a-key.pem").write_text("-----BEGIN NOTHING-----\n")
    (root / "public.pem").write_bytes(generate_keypair()[1])
    for name in ("badrules", "badfixtures"):
        (root / name).mkdir()
        (root / name / "pack.yaml").write_text("rules: [\n  - id: x\n")
    (root / "empty").mkdir()
    return root


def closed() -> str:
    return f"127.0.0.1:{free_port()}"


CASES: list[tuple[str, list[str], dict[str, str], str]] = [
    # id, arguments, environment, what the line must say
    ("unknown option", ["--bogus"], {}, "No such option: --bogus; see 'sovwatch --help'"),
    ("unknown command", ["nosuch"], {}, "No such command 'nosuch'; see 'sovwatch --help'"),
    ("unknown subcommand", ["rules", "nosuch"], {}, "see 'sovwatch rules --help'"),
    ("bad option value", ["audit", "query", "--page", "0"], {}, "'--page'"),
    ("missing option", ["collect", "dcgm"], {}, "Missing option '--url'"),
    ("option without value", ["rules", "lint", "--rules"], {}, "requires an argument"),
    ("bad duration", ["simulate", "--duration", "xyz", "--dry-run", "o"], {}, "not a duration"),
    ("bad time", ["audit", "query", "--since", "soon"], {}, "is not a time; use ISO 8601"),
    ("bad format", ["audit", "query", "--format", "xml"], {}, "use table, csv or jsonl"),
    ("bad team", ["alerts", "tail", "--team", "x"], {}, "use ops, security or compliance"),
    (
        "bad country",
        ["collect", "dcgm", "--url", "http://x", "--site", "a", "--country", "XX"],
        {},
        "--country 'XX' is invalid",
    ),
    (
        "telegraf config: bad site",
        ["collect", "telegraf-config", "--site", "fra 1", "--country", "DE", "--nvidia-smi"],
        {},
        "--site 'fra 1' is invalid",
    ),
    (
        "telegraf config: nothing to collect",
        ["collect", "telegraf-config", "--site", "fra-1", "--country", "DE"],
        {},
        "nothing to collect; add --nvidia-smi, --ipmi and/or one --redfish",
    ),
    (
        "telegraf config: redfish not a URL",
        ["collect", "telegraf-config", "--site", "fra-1", "--country", "DE", "--redfish", "bmc7"],
        {},
        "--redfish 'bmc7' is not a URL",
    ),
    (
        "otelcol config: nothing to scrape",
        ["collect", "otelcol-config", "--site", "fra-1", "--country", "DE"],
        {},
        "nothing to scrape; add one --dcgm http://<node>:9400/metrics per node",
    ),
    (
        "otelcol config: dcgm not a URL",
        ["collect", "otelcol-config", "--site", "fra-1", "--country", "DE", "--dcgm", "node:9400"],
        {},
        "--dcgm 'node:9400' is not a dcgm-exporter URL",
    ),
    ("truth missing", ["score", "--truth", "nope.jsonl"], {}, "does not exist"),
    ("truth is a directory", ["score", "--truth", "empty"], {}, "is a directory"),
    ("truth not JSON", ["score", "--truth", "bad.json"], {}, "is not a ground-truth file"),
    ("truth not text", ["score", "--truth", "binary.yaml"], {}, "is not a ground-truth file"),
    (
        "scenario missing",
        ["simulate", "--scenario", "nope.yaml", "--dry-run", "o"],
        {},
        "does not exist",
    ),
    (
        "scenario bad YAML",
        ["simulate", "--scenario", "bad.yaml", "--dry-run", "o"],
        {},
        "cannot read the scenario",
    ),
    (
        "scenario not text",
        ["simulate", "--scenario", "binary.yaml", "--dry-run", "o"],
        {},
        "cannot read the scenario",
    ),
    (
        "scenario a list",
        ["simulate", "--scenario", "list.yaml", "--dry-run", "o"],
        {},
        "is not a YAML mapping",
    ),
    ("rules dir missing", ["rules", "lint", "--rules", "nope"], {}, "does not exist; pass --rules"),
    ("rules dir empty", ["rules", "lint", "--rules", "empty"], {}, "no *.yaml rule packs"),
    ("rules bad YAML (test)", ["rules", "test", "--rules", "badrules"], {}, "do not load"),
    ("rules bad YAML (list)", ["rules", "list", "--rules", "badrules"], {}, "do not load"),
    ("fixtures missing", ["rules", "test", "--fixtures", "nope"], {}, "pass --fixtures DIR"),
    ("fixtures bad YAML", ["rules", "test", "--fixtures", "badfixtures"], {}, "do not load"),
    ("schemas onto a file", ["schemas", "export", "bad.json"], {}, "cannot write schemas"),
    ("bundle missing", ["audit", "verify", "--bundle", "nope.zip"], {}, "evidence bundle"),
    ("bundle not a zip", ["audit", "verify", "--bundle", "notzip.zip"], {}, "evidence bundle"),
    ("key missing", ["audit", "verify", "--public-key", "nope.pem"], {}, "cannot read the public"),
    ("key not PEM", ["audit", "verify", "--public-key", "not-a-key.pem"], {}, "not a PEM public"),
    ("keygen unwritable", ["audit", "keygen", "--out", "bad.json/keys"], {}, "cannot create"),
    (
        "setting not an int",
        ["topics", "create"],
        {"SOVWATCH_TOPICS__PARTITIONS": "abc"},
        "setting SOVWATCH_TOPICS__PARTITIONS is not valid",
    ),
    (
        "setting not a choice",
        ["topics", "create"],
        {"SOVWATCH_KAFKA__SECURITY_PROTOCOL": "TLS"},
        "setting SOVWATCH_KAFKA__SECURITY_PROTOCOL is not valid",
    ),
    (
        "setting bad JSON",
        ["setup"],
        {"SOVWATCH_INFLUXDB__RESIDENCY": "{bad"},
        "a setting is not valid",
    ),
    ("kafka down: topics", ["topics", "create"], {}, KAFKA_DOWN),
    ("kafka down: setup", ["setup"], {}, KAFKA_DOWN),
    ("kafka down: check", ["stack", "check"], {}, KAFKA_DOWN),
    ("kafka down: produce", ["demo-produce", "--minutes", "1"], {}, KAFKA_DOWN),
    ("kafka down: alerts", ["alerts", "tail", "--limit", "1"], {}, KAFKA_DOWN),
    ("influxdb down: query", ["audit", "query"], {}, INFLUX_DOWN),
    ("influxdb down: verify", ["audit", "verify", "--public-key", "public.pem"], {}, INFLUX_DOWN),
    ("grafana down", ["grafana", "provision"], {}, "Grafana is not reachable at http://127.0.0.1:"),
    (
        "worker down",
        ["audit", "checkpoint", "--worker", "http://{closed}"],
        {},
        "no sovwatch worker answered",
    ),
    (
        "exporter down",
        [
            "collect",
            "dcgm",
            "--url",
            "http://{closed}/metrics",
            "--site",
            "a",
            "--country",
            "DE",
            "--once",
        ],
        {},
        "cannot scrape",
    ),
]


@pytest.mark.parametrize(
    ("args", "env", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_bad_input_gives_one_clear_line(
    files: Path, args: list[str], env: dict[str, str], expected: str
) -> None:
    servers = {
        "SOVWATCH_KAFKA__BOOTSTRAP_SERVERS": closed(),
        "SOVWATCH_KAFKA__CONNECT_TIMEOUT_S": "1",
        "SOVWATCH_KAFKA__REQUEST_TIMEOUT_S": "1",
        "SOVWATCH_INFLUXDB__URL": f"http://{closed()}",
        "SOVWATCH_INFLUXDB__TIMEOUT_S": "1",
        "SOVWATCH_GRAFANA__URL": f"http://{closed()}",
        "SOVWATCH_GRAFANA__TOKEN": "unused",
        "SOVWATCH_GRAFANA__TIMEOUT_S": "1",
        "SOVWATCH_STACK__RUN_DIR": str(files / "run"),
    }
    result = run_cli(
        [arg.replace("{closed}", closed()) for arg in args], env={**servers, **env}, cwd=files
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.returncode == 2, result.stderr
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]
    if "not reachable" in expected:
        assert START_STACK in lines[0]
