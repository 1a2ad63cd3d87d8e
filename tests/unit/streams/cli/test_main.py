"""CLI errors: one clear line on stderr, a non-zero exit, never a traceback."""

from __future__ import annotations

import pytest

from schemas.errors import ServiceUnreachableError
from schemas.settings import Settings
from streams.admin.connect import influx_client
from streams.stack.process import free_port
from tests.unit.streams.cli.run import CliResult, run_cli


def run(*args: str, **env: str) -> CliResult:
    return run_cli(list(args), env)


def assert_one_clean_line(result: CliResult) -> str:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_unreachable_kafka_names_the_address_and_how_to_start_the_stack() -> None:
    address = f"127.0.0.1:{free_port()}"
    line = assert_one_clean_line(
        run(
            "topics",
            "create",
            SOVWATCH_KAFKA__BOOTSTRAP_SERVERS=address,
            SOVWATCH_KAFKA__CONNECT_TIMEOUT_S="1",
        )
    )
    assert line.startswith(f"error: Kafka is not reachable at {address}")
    assert "sovwatch stack up" in line


def test_unreachable_influxdb_names_the_address_and_how_to_start_the_stack() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    settings = Settings.model_validate({"influxdb": {"url": url}})
    with pytest.raises(ServiceUnreachableError) as err:
        influx_client(settings.influxdb)
    assert err.value.address == url
    assert "sovwatch stack up" in str(err.value)


def test_stack_refuses_a_remote_address_in_one_line() -> None:
    line = assert_one_clean_line(
        run("stack", "status", SOVWATCH_INFLUXDB__URL="http://influx.example:8086")
    )
    assert "SOVWATCH_INFLUXDB__URL" in line


def test_unknown_command_is_a_usage_error_not_a_traceback() -> None:
    result = run("stak", "up")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "No such command" in result.stderr
