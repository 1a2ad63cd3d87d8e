"""`alerts tail`: the live board keeps one row per incident, dims then drops resolved ones; the
pipe format is one line per state change; filters; undecodable records are skipped."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from streams.admin.alerts_tail import Board, Filters, decoded, line
from tests.unit.agents.alerts import record


def rendered(board: Board) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(board.table(clock=lambda: datetime(2026, 1, 5, 12, 30, tzinfo=UTC)))
    return console.export_text()


def test_one_row_per_incident_updated_in_place() -> None:
    board = Board()
    for status in ("firing", "updated", "updated"):
        board.apply(record(status, 1, evidence_event_ids=["e1", "e2", "e3"]), now=0)
    board.apply(record("firing", 2), now=0)
    assert list(board.rows) == [record("firing", 1).id, record("firing", 2).id]
    text = rendered(board)
    assert "2 open at 12:30:00Z" in text and text.count("sec.duress") == 2
    assert "updated" in text and "?" not in text


def test_a_resolved_row_stays_dimmed_then_is_dropped() -> None:
    board = Board(linger_s=10)
    board.apply(record("firing", 1), now=0)
    board.apply(record("resolved", 1), now=5)
    board.expire(now=14)
    assert "resolved" in rendered(board) and "0 open" in rendered(board)
    row_style = board.table().rows[0].style
    assert row_style == "dim"
    board.expire(now=15)
    assert board.rows == {}


def test_an_incident_back_to_firing_is_not_dropped() -> None:
    board = Board(linger_s=10)
    board.apply(record("resolved", 1), now=0)
    board.apply(record("firing", 1), now=1)
    board.expire(now=100)
    assert list(board.rows) == [record("firing", 1).id]


def test_a_pipe_line_per_state_change() -> None:
    text = line(record("resolved"))
    assert text.startswith("2026-01-05 12:00:00Z resolved ")
    assert "ended 12:15:00Z" in text and "sec.duress: DURESS at door-1" in text


def test_filters_and_garbage() -> None:
    values = [
        record(severity="low").model_dump_json().encode(),
        record(severity="high", site_id="site-2").model_dump_json().encode(),
        b"not json",
        None,
    ]
    kept = list(decoded(values, Filters(min_severity="medium")))
    assert [a.severity for a in kept] == ["high"]
    assert list(decoded(values, Filters(site="site-1"))) == [record(severity="low")]
