"""`sovwatch dlq` argument handling, in process, without servers: mistakes are one line on
stderr and exit code 2, found before any broker is asked (its address here is a closed port)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from streams.dlq_cli import Selection, dlq_app
from streams.stack.process import free_port
from tests.unit.streams.cli_run import run_cli

KEY = "11" * 32
runner = CliRunner()


def closed_kafka() -> dict[str, str]:
    return {
        "SOVWATCH_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
        "SOVWATCH_KAFKA__CONNECT_TIMEOUT_S": "1",
        "SOVWATCH_PRIVACY__DLQ_KEY": KEY,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay"], "replay needs a selection; pass --reason, --since, --source or --all"),
        (["replay", "--source", "gpu-2-41"], "'gpu-2-41' is not TOPIC:PARTITION:OFFSET"),
        (["replay", "--since", "yesterday"], "time 'yesterday' is not a time"),
        (["list", "--since", "now-1x"], "'1x' is not a duration"),
        (["show", "telemetry.gpu:two:41"], "is not TOPIC:PARTITION:OFFSET"),
        (["show"], "Missing argument 'ref'"),
        (["list"], "Kafka is not reachable at 127.0.0.1:"),
        (["show", "telemetry.gpu:2:41"], "Kafka is not reachable at 127.0.0.1:"),
        (["replay", "--all"], "Kafka is not reachable at 127.0.0.1:"),
    ],
)
def test_mistakes_and_an_unreachable_broker_are_one_line_and_exit_2(
    args: list[str], message: str
) -> None:
    result = run_cli(["dlq", *args], closed_kafka())
    assert result.returncode == 2, result
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_replay_without_a_dlq_key_says_so_before_reading_anything() -> None:
    env = closed_kafka()
    del env["SOVWATCH_PRIVACY__DLQ_KEY"]
    result = run_cli(["dlq", "replay", "--all"], env)
    assert result.returncode == 2
    assert "no DLQ key is set" in result.stderr and "SOVWATCH_PRIVACY__DLQ_KEY" in result.stderr


def test_a_malformed_dlq_key_is_refused_without_being_shown() -> None:
    secret = "not-a-key-LEAKCHECK"
    result = run_cli(
        ["dlq", "replay", "--all"], closed_kafka() | {"SOVWATCH_PRIVACY__DLQ_KEY": secret}
    )
    assert result.returncode == 2
    assert "SOVWATCH_PRIVACY__DLQ_KEY is not 32 bytes" in result.stderr
    assert secret not in result.stderr + result.stdout


def test_the_commands_and_their_options_parse() -> None:
    for command in ("list", "show", "replay"):
        result = runner.invoke(dlq_app, [command, "--help"])
        assert result.exit_code == 0, result.output
    assert "--dry-run" in runner.invoke(dlq_app, ["replay", "--help"]).output


def test_a_selection_parses_sources_times_and_reasons() -> None:
    selection = Selection.parse(
        ["missing", "future_skew"], "2026-01-05T20:00Z", ["telemetry.gpu:2:41", "a.b:0:7"]
    )
    assert selection.reasons == ("missing", "future_skew")
    assert (
        selection.since is not None and selection.since.isoformat() == "2026-01-05T20:00:00+00:00"
    )
    assert selection.sources == {"telemetry.gpu:2:41", "a.b:0:7"}
