"""CEF lines: header and extension escaping, severity mapping, one record = one line."""

from __future__ import annotations

import pytest

from agents.channels.syslog import CEF_SEVERITY, cef, message
from tests.unit.agents.alerts import record

TRICKY = "door|a = main\\hall\nsecond line"


def test_header_escapes_pipe_and_backslash_and_flattens_newlines() -> None:
    line = cef(record(message=TRICKY))
    assert line.startswith(
        "CEF:0|sovwatch|sovwatch|1|sec.duress|door\\|a = main\\\\hall second line|10|"
    )


def test_extension_escapes_equals_backslash_and_newlines() -> None:
    line = cef(record(message=TRICKY))
    assert "msg=door|a \\= main\\\\hall\\nsecond line" in line
    assert "\n" not in line and "externalId=alert-" in line and "act=firing" in line


@pytest.mark.parametrize(
    ("severity", "cef_level", "pri"),
    [
        ("info", 1, 134),
        ("low", 3, 133),
        ("medium", 5, 132),
        ("high", 8, 131),
        ("critical", 10, 130),
    ],
)
def test_severity_maps_to_cef_and_syslog_priority(severity: str, cef_level: int, pri: int) -> None:
    alert = record(severity=severity)
    assert CEF_SEVERITY[severity] == cef_level
    assert message(alert).startswith(
        f"<{pri}>1 2026-01-05T12:00:00Z sovwatch sovwatch - firing - ".encode()
    )
    assert f"|{cef_level}|" in cef(alert)


def test_a_resolved_record_says_so_and_ends_when_it_was_resolved() -> None:
    line = cef(record("resolved"))
    assert "act=resolved" in line
    assert f"end={int(record('resolved').ends_at.timestamp() * 1000)}" in line  # type: ignore[union-attr]
