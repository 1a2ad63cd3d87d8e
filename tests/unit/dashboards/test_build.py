"""dashboards/build.py: the committed JSON is what the code renders."""

from __future__ import annotations

import json
from pathlib import Path

from dashboards.boards import all_dashboards
from dashboards.build import JSON_DIR, main, path_of, stale, text_of, write


def test_committed_json_is_not_stale() -> None:
    assert stale() == [], "run 'sovwatch grafana build' (python -m dashboards.build)"


def test_one_file_per_dashboard_in_its_folder_directory() -> None:
    files = sorted(JSON_DIR.glob("*/*.json"))
    assert files == sorted(path_of(board) for board in all_dashboards())
    assert {p.parent.name for p in files} == {"operations", "security", "compliance"}


def test_write_creates_updates_and_removes_then_check_passes(tmp_path: Path) -> None:
    assert len(write(tmp_path)) == len(all_dashboards())
    board = all_dashboards()[0]
    path_of(board, tmp_path).write_text("{}\n")
    orphan = tmp_path / "operations" / "gone.json"
    orphan.write_text("{}\n")
    assert set(stale(tmp_path)) == {path_of(board, tmp_path), orphan}
    write(tmp_path)
    assert stale(tmp_path) == []
    assert not orphan.exists()
    assert json.loads(path_of(board, tmp_path).read_text())["uid"] == board.uid


def test_rendering_is_deterministic() -> None:
    assert [text_of(b) for b in all_dashboards()] == [text_of(b) for b in all_dashboards()]


def test_check_mode_exit_code() -> None:
    assert main(["--check"]) == 0
