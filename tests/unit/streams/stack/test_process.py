"""ManagedProcess: pid files are trusted only for our own processes."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from schemas.errors import StackError
from streams.stack.process import ManagedProcess, ensure_port_free, free_port


def sleeper() -> list[str]:
    return ["bash", "-c", "sleep 60; exit 0"]


def test_start_records_pid_and_stop_ends_the_process(tmp_path: Path) -> None:
    proc = ManagedProcess("sleeper", tmp_path)
    pid = proc.start(sleeper())
    assert proc.pid() == pid
    assert proc.stop(timeout_s=5)
    assert proc.pid() is None
    assert not proc.pid_file.exists()
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()


def test_stop_kills_a_process_that_ignores_sigterm(tmp_path: Path) -> None:
    proc = ManagedProcess("stubborn", tmp_path)
    proc.start(["bash", "-c", "trap '' TERM; sleep 60 & wait"])
    assert proc.stop(timeout_s=0.5)
    assert proc.pid() is None


def test_a_pid_file_naming_someone_elses_process_is_ignored_and_removed(tmp_path: Path) -> None:
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        proc = ManagedProcess("kafka", tmp_path)
        proc.pid_file.write_text(f"{stranger.pid}\n")
        assert proc.pid() is None
        assert not proc.pid_file.exists()
        assert proc.stop() is False
        assert stranger.poll() is None  # not signalled
    finally:
        stranger.kill()
        stranger.wait()


def test_garbage_pid_file_means_not_running(tmp_path: Path) -> None:
    proc = ManagedProcess("influxd", tmp_path)
    proc.pid_file.write_text("not a pid")
    assert proc.pid() is None


def test_log_tail_returns_the_last_lines(tmp_path: Path) -> None:
    proc = ManagedProcess("noisy", tmp_path)
    proc.log_file.write_text("".join(f"line {i}\n" for i in range(100)))
    assert proc.log_tail(3) == "line 97\nline 98\nline 99"


def test_wait_ready_returns_once_ready_and_names_the_log_when_the_process_dies(
    tmp_path: Path,
) -> None:
    proc = ManagedProcess("sleeper", tmp_path)
    proc.start(sleeper())
    calls = iter([False, False, True])
    proc.wait_ready(lambda: next(calls), 10, "sleeper", "nowhere")
    proc.stop(timeout_s=5)
    dying = ManagedProcess("dying", tmp_path)
    dying.start(["bash", "-c", "echo broken config; exit 3"])
    with pytest.raises(StackError) as err:
        dying.wait_ready(lambda: False, 10, "dying", "nowhere")
    assert "dying exited during start-up" in str(err.value) and "broken config" in str(err.value)


def test_a_port_another_process_listens_on_is_refused_with_the_setting_to_change() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(StackError) as refused:
            ensure_port_free("127.0.0.1", port, "InfluxDB", "SOVWATCH_INFLUXDB__URL")
    assert f"port 127.0.0.1:{port} is taken by a process that is not this stack's InfluxDB" in str(
        refused.value
    )
    assert "point SOVWATCH_INFLUXDB__URL at a free port" in str(refused.value)
    ensure_port_free("127.0.0.1", free_port(), "InfluxDB", "SOVWATCH_INFLUXDB__URL")  # no error
