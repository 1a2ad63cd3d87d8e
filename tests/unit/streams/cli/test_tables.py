"""CLI tables: whole rows per line in a pipe, JSON lines and CSV for scripts."""

from __future__ import annotations

import csv
import io
import json

import pytest
from rich.console import Console

from agents.rules.loader import PACKS_DIR, load_packs, pack_files
from schemas.errors import SovwatchError
from streams.cli.tables import Listing, chosen_format, plain, show
from tests.unit.streams.cli.run import run_cli


def listing() -> Listing:
    rows = Listing(("id", "time (UTC)", "message"), title="2 things")
    rows.add("a-very-long-identifier-that-would-wrap-at-eighty-columns.x", "12:00", "one two")
    rows.add("b", 7, "two\nlines\tand tab")
    return rows


def test_plain_text_aligns_columns_and_keeps_each_row_on_one_line() -> None:
    assert plain(listing()).splitlines() == [
        "2 things",
        "id                                                          time (UTC)  message",
        "a-very-long-identifier-that-would-wrap-at-eighty-columns.x  12:00       one two",
        "b                                                           7           two lines and tab",
    ]


def test_a_console_that_is_not_a_terminal_gets_plain_text() -> None:
    out = io.StringIO()
    show(listing(), "auto", Console(file=out, width=40))
    assert out.getvalue() == plain(listing()) + "\n"


def test_a_terminal_gets_a_rich_table() -> None:
    out = io.StringIO()
    show(listing(), "auto", Console(file=out, force_terminal=True, width=200))
    assert "┏━" in out.getvalue() and "│ b " in out.getvalue()


def test_json_lines_use_the_columns_as_keys() -> None:
    out = io.StringIO()
    show(listing(), "json", Console(file=out))
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first == {
        "id": "a-very-long-identifier-that-would-wrap-at-eighty-columns.x",
        "time_utc": "12:00",
        "message": "one two",
    }
    assert second["time_utc"] == "7"


def test_csv_has_a_header_row() -> None:
    out = io.StringIO()
    show(listing(), "csv", Console(file=out))
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["id", "time (UTC)", "message"] and len(rows) == 3


def test_a_row_of_the_wrong_width_is_refused() -> None:
    with pytest.raises(ValueError, match="2 cells for 3 columns"):
        listing().add("x", "y")


def test_json_and_csv_together_are_a_user_error() -> None:
    with pytest.raises(SovwatchError, match="cannot be combined"):
        chosen_format(True, True)


def rule_ids() -> list[str]:
    return [rule.id for pack in load_packs(pack_files(PACKS_DIR)) for rule in pack.rules]


def test_rules_list_in_a_pipe_prints_every_rule_id_whole_on_its_own_line() -> None:
    result = run_cli(["rules", "list"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "kind", "families", "severity", "team", "title"]
    assert [line.split()[0] for line in lines[1:]] == rule_ids()


def test_rules_list_as_json_and_csv() -> None:
    as_json = run_cli(["rules", "list", "--json"])
    assert [json.loads(line)["id"] for line in as_json.stdout.splitlines()] == rule_ids()
    as_csv = run_cli(["rules", "list", "--csv"])
    assert [row["id"] for row in csv.DictReader(io.StringIO(as_csv.stdout))] == rule_ids()
    both = run_cli(["rules", "list", "--json", "--csv"])
    assert both.returncode == 2 and "cannot be combined" in both.stderr
