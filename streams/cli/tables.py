"""The tables the CLI prints. On a terminal a rich table; when stdout is not a terminal (a pipe,
a file) plain aligned text that never wraps, one row per line, so `grep`, `sort` and `awk` see
whole rows; and on request JSON lines or CSV for scripts."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from typing import Literal

import typer
from rich.console import Console
from rich.table import Table

from schemas.errors import SovwatchError

Format = Literal["auto", "json", "csv"]
GAP = "  "
"""Between two columns of plain text: two spaces, so a cell with one space stays one field for
`awk -F'  +'`."""

JsonOpt = typer.Option(False, "--json", help="One JSON object per row (for scripts)")
CsvOpt = typer.Option(False, "--csv", help="CSV with a header row (for spreadsheets)")


@dataclass
class Listing:
    """Rows of text under named columns, and an optional title line."""

    columns: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)
    title: str = ""

    def add(self, *cells: object) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(tuple(_one_line(str(cell)) for cell in cells))

    def keys(self) -> tuple[str, ...]:
        """The columns as JSON keys: `time (UTC)` -> `time_utc`, `merkle root` -> `merkle_root`."""
        return tuple(re.sub(r"[^a-z0-9]+", "_", c.lower()).strip("_") for c in self.columns)


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" in text or "\t" in text else text


def chosen_format(as_json: bool, as_csv: bool) -> Format:
    """The format of `--json` / `--csv` (neither: a table)."""
    if as_json and as_csv:
        raise SovwatchError("--json and --csv cannot be combined", "choose one of them")
    return "json" if as_json else "csv" if as_csv else "auto"


def plain(listing: Listing) -> str:
    """Aligned text: the title, a header line, one line per row; the last column unpadded."""
    widths = [
        max(len(cell) for cell in column)
        for column in zip(listing.columns, *listing.rows, strict=True)
    ]
    lines = [listing.title] if listing.title else []
    for row in (listing.columns, *listing.rows):
        padded = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        lines.append(GAP.join([*padded, row[-1]]).rstrip())
    return "\n".join(lines)


def rich_table(listing: Listing) -> Table:
    table = Table(*listing.columns, title=listing.title or None, title_justify="left")
    for row in listing.rows:
        table.add_row(*row)
    return table


def show(listing: Listing, fmt: Format = "auto", console: Console | None = None) -> None:
    """Print `listing` to stdout: a rich table on a terminal, plain text elsewhere, or the rows
    as JSON lines / CSV when `fmt` asks for them."""
    out = console or Console(soft_wrap=True)
    if fmt == "json":
        for row in listing.rows:
            print(json.dumps(dict(zip(listing.keys(), row, strict=True))), file=out.file)
    elif fmt == "csv":
        writer = csv.writer(out.file, lineterminator="\n")
        writer.writerow(listing.columns)
        writer.writerows(listing.rows)
    elif out.is_terminal:
        out.print(rich_table(listing))
    else:
        print(plain(listing), file=out.file)
