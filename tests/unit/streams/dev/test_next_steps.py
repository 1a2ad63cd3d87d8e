"""The demo's closing commands: written so a new shell runs them as the demo's process would."""

from __future__ import annotations

import shlex
from pathlib import Path

from schemas.settings import AuditSettings, Settings
from streams.dev.next_steps import COMMAND_MARK, Shell, next_steps, render, shell_for


def test_settings_only_this_environment_had_are_carried_and_secrets_only_named(
    tmp_path: Path,
) -> None:
    (tmp_path / ".env").write_text("SOVWATCH_INFLUXDB__URL=http://127.0.0.1:8086\n")
    environ = {
        "SOVWATCH_INFLUXDB__URL": "http://127.0.0.1:8086",  # as in .env: a new shell has it
        "SOVWATCH_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:29192",
        "SOVWATCH_STACK__RUN_DIR": "/srv/a run dir",
        "SOVWATCH_WORKER__WEB_TOKEN": "s3cret-token",
        "SOVWATCH_FAULTS_REPORT": "/x",  # not a setting
        "HOME": "/home/x",
    }
    shell = shell_for(environ, tmp_path, "/nowhere/python")
    assert shell.prefix == (
        "SOVWATCH_KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:29192",
        "SOVWATCH_STACK__RUN_DIR='/srv/a run dir'",
    )
    assert shell.unprinted == ("SOVWATCH_WORKER__WEB_TOKEN",)
    command = shell.sovwatch("dlq", "list")
    assert shlex.split(command)[-2:] == ["dlq", "list"]
    text = render(shell, [(command, "dead letters")])
    assert "s3cret-token" not in text and "SOVWATCH_WORKER__WEB_TOKEN" in text


def test_sovwatch_is_called_the_way_the_demo_was(tmp_path: Path) -> None:
    program = tmp_path / "sovwatch"
    program.write_text("")
    assert shell_for({}, tmp_path, str(program)).program == str(program)


def settings(public_key: Path | None) -> Settings:
    return Settings.model_construct(audit=AuditSettings(public_key_file=public_key))


def test_a_signed_demo_prints_verify_with_the_absolute_public_key(tmp_path: Path) -> None:
    shell = Shell(tmp_path, ".venv/bin/sovwatch")
    steps = next_steps(shell, settings(Path("keys/pub.pem")), signed=True, alert_records=55)
    commands = [command for command, _ in steps]
    assert commands[0] == f"cd {tmp_path}"
    verify = f"--public-key {Path('keys/pub.pem').resolve()}"
    assert commands[1] == f".venv/bin/sovwatch audit verify --since -1d {verify}"
    assert ".venv/bin/sovwatch alerts tail --from-beginning --limit 20" in commands
    assert commands[-1] == ".venv/bin/sovwatch stack down"
    assert not any("curl" in command or "$" in command for command in commands)
    lines = render(shell, steps).splitlines()
    assert [line for line in lines if line.startswith(COMMAND_MARK)][1].startswith(
        f"{COMMAND_MARK}.venv/bin/sovwatch audit verify"
    )


def test_what_would_not_work_is_not_printed(tmp_path: Path) -> None:
    shell = Shell(tmp_path, "sovwatch")
    unsigned = [
        c for c, _ in next_steps(shell, settings(Path("p.pem")), signed=False, alert_records=0)
    ]
    assert not any("verify" in c or "alerts tail" in c for c in unsigned)
    keyless = [c for c, _ in next_steps(shell, settings(None), signed=True, alert_records=3)]
    assert not any("verify" in c for c in keyless)
    assert "sovwatch alerts tail --from-beginning --limit 3" in keyless
