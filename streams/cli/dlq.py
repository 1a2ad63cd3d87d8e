"""`sovwatch dlq list|show|replay`: what was dead-lettered, why, and replaying it once fixed.

Anyone who may read the DLQ topic sees reasons, fields and pseudonyms; the raw bytes open only
for holders of the DLQ key (`SOVWATCH_PRIVACY__DLQ_KEY`, or a previous one).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import typer
from rich.console import Console

from agents.dlq_crypto import DlqCipher
from schemas.errors import SovwatchError, constraint_kind
from streams.admin.dlq import (
    Entry,
    as_json,
    find,
    opened_raw,
    parse_ref,
    read_entries,
    replay,
    unopenable,
)
from streams.cli.report import parse_time
from streams.cli.tables import Listing, show
from streams.config import get_settings

dlq_app = typer.Typer(
    help="Dead letters: count and list them, show one, replay them to their source topic.",
    no_args_is_help=True,
)
# Markup off: reasons and values come from producers, and "[...]" in them is text.
console = Console(soft_wrap=True, highlight=False, markup=False)

Reason = typer.Option(
    [], "--reason", help="Only this reason kind (as `list` counts them, e.g. missing); repeat"
)
Since = typer.Option(None, "--since", help="Only those received since: ISO time or now-6h")


@dataclass(frozen=True)
class Selection:
    """Which dead letters a command means, parsed before any server is asked."""

    reasons: tuple[str, ...] = ()
    since: datetime | None = None
    sources: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, reasons: Sequence[str], since: str | None, sources: Sequence[str]) -> Selection:
        start = parse_time(since, datetime.now(UTC)) if since else None
        wanted = frozenset(":".join(map(str, parse_ref(ref))) for ref in sources)
        return cls(tuple(reasons), start, wanted)

    def of(self, entries: Sequence[Entry]) -> list[Entry]:
        """The readable entries matching every given filter."""
        return [
            entry
            for entry in entries
            if entry.letter is not None
            and (not self.reasons or constraint_kind(entry.letter.errors) in self.reasons)
            and (self.since is None or entry.letter.received_ts >= self.since)
            and (not self.sources or entry.letter.source in self.sources)
        ]


@dlq_app.command("list")
def list_cmd(
    reason: list[str] = Reason,
    since: str | None = Since,
    json_lines: bool = typer.Option(False, "--json", help="One JSON line per dead letter"),
) -> None:
    """Count dead letters by reason and list them (source record, reason, time)."""
    selection = Selection.parse(reason, since, [])
    settings = get_settings()
    entries = read_entries(settings)
    chosen = selection.of(entries)
    if json_lines:
        for entry in chosen:
            print(as_json(entry), flush=True)
        return
    counts = Counter(constraint_kind(e.letter.errors) for e in chosen if e.letter)
    summary = Listing(
        ("reason", "count"), title=f"{len(chosen)} dead letters on {settings.topics.dlq}"
    )
    for kind, count in counts.most_common():
        summary.add(kind, count)
    show(summary, "auto", console)
    for entry in chosen:  # one line each: readable in a pipe as on a terminal
        assert entry.letter is not None
        letter = entry.letter
        console.print(
            f"{letter.received_ts:%Y-%m-%d %H:%M:%S}Z {letter.source} "
            f"{constraint_kind(letter.errors)} (dead letter {entry.dlq}): {letter.reason[:160]}",
        )
    unreadable = sum(1 for e in entries if e.letter is None)
    if unreadable:
        console.print(f"{unreadable} record(s) on the topic are not dead letters of this version")


@dlq_app.command("show")
def show_cmd(
    ref: str = typer.Argument(
        ..., help="Source record TOPIC:PARTITION:OFFSET, or the dead letter's place on the DLQ"
    ),
    json_line: bool = typer.Option(False, "--json", help="The dead letter as JSON"),
) -> None:
    """Print one dead letter; its raw bytes too, opened, if the DLQ key is configured."""
    parse_ref(ref)
    settings = get_settings()
    entry = find(read_entries(settings), ref, settings.topics.dlq)
    letter = entry.letter
    if letter is None:
        raise SovwatchError(
            f"the record at {entry.dlq} is not a dead letter this version reads",
            "read it with a Kafka consumer of your own",
        )
    if json_line:
        print(as_json(entry))
        return
    console.print(f"dead letter {entry.dlq} of {letter.source}, received {letter.received_ts}")
    console.print(f"reason: {letter.reason}")
    for issue in letter.errors:
        shown = "" if issue.value is None else f" (got {issue.value})"
        console.print(f"  {issue.field or '<record>'}: {issue.constraint}{shown}")
    for path, pseudonym in letter.pseudonyms.items():
        console.print(f"  personal {path}: {pseudonym}")
    console.print(f"raw: {letter.raw_size} bytes, sha256 {letter.raw_sha256}")
    cipher = DlqCipher.from_settings(settings.privacy)
    problem = unopenable(letter, cipher)
    if problem is not None:
        console.print(f"raw bytes: not shown: {problem}")
        return
    console.print("raw bytes (opened):")
    console.print(opened_raw(letter, cipher).decode("utf-8", "backslashreplace"))


@dlq_app.command("replay")
def replay_cmd(
    reason: list[str] = Reason,
    since: str | None = Since,
    source: list[str] = typer.Option(
        [], "--source", help="Only this source record TOPIC:PARTITION:OFFSET; repeat"
    ),
    every: bool = typer.Option(False, "--all", help="Every dead letter (no filter needed)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say what would be replayed"),
) -> None:
    """Send dead letters' raw bytes back to their source topic (original key and partition,
    header sovwatch-replay-of), e.g. after a producer or schema fix. Each source record is
    replayed at most once, however often this runs."""
    if not (reason or since or source or every):
        raise SovwatchError("replay needs a selection", "pass --reason, --since, --source or --all")
    selection = Selection.parse(reason, since, source)
    settings = get_settings()
    cipher = DlqCipher.from_settings(settings.privacy)
    if cipher is None and not dry_run:
        raise SovwatchError(
            "no DLQ key is set: the raw bytes cannot be opened",
            "set SOVWATCH_PRIVACY__DLQ_KEY (or the previous keys) to the key they were sealed with",
        )
    chosen = selection.of(read_entries(settings))
    if not chosen:
        raise SovwatchError("no dead letter matches", "see `sovwatch dlq list`")
    if dry_run:
        for entry in chosen:
            assert entry.letter is not None
            console.print(f"would replay {entry.letter.source} (dead letter {entry.dlq})")
        return
    outcome = replay(settings, chosen, cipher)
    for name in outcome.replayed:
        console.print(f"replayed {name}")
    for name in outcome.already:
        console.print(f"already replayed {name}")
    for name, why in outcome.unreplayable:
        console.print(f"cannot replay {name}: {why}")
    console.print(
        f"{len(outcome.replayed)} replayed, {len(outcome.already)} already replayed, "
        f"{len(outcome.unreplayable)} not replayable"
    )
