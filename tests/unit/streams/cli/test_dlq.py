"""`sovwatch dlq` in process, without servers: mistakes are one line on stderr and exit code 2,
found before any broker is asked (its address here is a closed port); what list and show print
of a DLQ topic faked in memory."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from agents.dlq_crypto import DlqCipher, key_id
from schemas.deadletter import DeadLetter
from schemas.errors import DecodeError, FieldIssue
from streams.admin.dlq import Entry
from streams.cli.dlq import Selection, dlq_app
from streams.stack.process import free_port
from tests.unit.streams.cli.run import run_cli

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
    assert selection.since == datetime(2026, 1, 5, 20, tzinfo=UTC)
    assert selection.sources == {"telemetry.gpu:2:41", "a.b:0:7"}


def _entries(cipher: DlqCipher) -> list[Entry]:
    error = DecodeError(
        "invalid PhysicalEvent: zone_id [/bold] too short",
        (FieldIssue(field="zone_id", constraint="string_too_short", value="", message="short"),),
    )
    letter = DeadLetter.for_record(
        topic="security.physical",
        partition=2,
        offset=41,
        key=b"fra-1",
        value=b'{"badge_id": "B-CLEAR-1"}',
        error=error,
        received_ts=datetime(2026, 1, 5, 20, tzinfo=UTC),
        seal=cipher.seal,
        pseudonyms={"badge_id": "p_0123"},
    )
    return [Entry("sovwatch.dlq:0:5", letter), Entry("sovwatch.dlq:0:6", None)]


@pytest.fixture
def on_topic(monkeypatch: pytest.MonkeyPatch) -> list[Entry]:
    entries = _entries(DlqCipher([bytes.fromhex(KEY)]))
    monkeypatch.setattr("streams.cli.dlq.read_entries", lambda _settings: entries)
    return entries


def test_list_counts_by_reason_kind_and_shows_no_clear_value(on_topic: list[Entry]) -> None:
    result = run_cli(["dlq", "list"], {})
    assert result.returncode == 0, result.stderr
    assert "string_too_short  1" in result.stdout.splitlines()
    assert "security.physical:2:41" in result.stdout and "[/bold]" in result.stdout
    assert "1 record(s) on the topic are not dead letters" in result.stdout
    assert "B-CLEAR-1" not in result.stdout


def test_show_opens_the_raw_bytes_only_with_the_key(on_topic: list[Entry]) -> None:
    with_key = run_cli(
        ["dlq", "show", "security.physical:2:41"], {"SOVWATCH_PRIVACY__DLQ_KEY": KEY}
    )
    assert with_key.returncode == 0, with_key.stderr
    assert "B-CLEAR-1" in with_key.stdout and "personal badge_id: p_0123" in with_key.stdout
    other_key = {"SOVWATCH_PRIVACY__DLQ_KEY": "22" * 32}
    for env in ({}, other_key):
        result = run_cli(["dlq", "show", "sovwatch.dlq:0:5"], env)
        assert "B-CLEAR-1" not in result.stdout + result.stderr
    assert (
        f"sealed under DLQ key {key_id(bytes.fromhex(KEY))}"
        in run_cli(["dlq", "show", "sovwatch.dlq:0:5"], {}).stdout
    )
    wrong = run_cli(["dlq", "show", "sovwatch.dlq:0:5"], other_key)
    assert wrong.returncode == 2 and "which is not configured" in wrong.stderr


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("security.physical:2:40", "no dead letter for security.physical:2:40"),
        ("sovwatch.dlq:0:6", "is not a dead letter this version reads"),
    ],
)
def test_show_of_an_unknown_or_unreadable_record_is_an_error(
    on_topic: list[Entry], ref: str, message: str
) -> None:
    result = run_cli(["dlq", "show", ref], {})
    assert result.returncode == 2 and message in result.stderr, result
