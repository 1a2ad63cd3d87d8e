"""`sovwatch privacy pseudonymise|reveal`: for holders of the pseudonymisation key only.

A pseudonym is a keyed HMAC, so it cannot be decrypted: the real id behind one is found by
pseudonymising candidates (the badge system's holders, the operator directory) with the current
and every previous key and matching. Without a key nothing can be tested.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from agents.privacy import PREFIX, Pseudonymiser, reveal
from schemas.errors import SovwatchError
from streams.config import get_settings

privacy_app = typer.Typer(
    help="Pseudonyms of personal identifiers (needs SOVWATCH_PRIVACY__PSEUDONYM_KEY).",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)


@privacy_app.command("pseudonymise")
def pseudonymise_cmd(
    real_id: str = typer.Argument(..., help="A badge id, holder or operator id"),
) -> None:
    """Print the pseudonym the worker stores for a real id (under the current key)."""
    console.print(Pseudonymiser.from_settings(get_settings().privacy)(real_id))


@privacy_app.command("reveal")
def reveal_cmd(
    pseudonym: str = typer.Argument(..., help=f"A stored pseudonym ({PREFIX}...)"),
    candidates: Path = typer.Option(
        ..., "--candidates", help="Text file of real ids, one per line (e.g. the badge holders)"
    ),
) -> None:
    """Print the candidate whose pseudonym this is, under the current or a previous key."""
    if not pseudonym.startswith(PREFIX):
        raise SovwatchError(
            f"{pseudonym!r} is not a pseudonym", f"pass a stored value starting with {PREFIX}"
        )
    keys = Pseudonymiser.every_key(get_settings().privacy)
    try:
        lines = candidates.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SovwatchError(
            f"cannot read candidates file {candidates}: {exc}", "pass a UTF-8 text file"
        ) from None
    names = [line.strip() for line in lines if line.strip()]
    found = reveal(pseudonym, names, keys)
    if found is None:
        raise SovwatchError(
            f"none of the {len(names)} candidates has pseudonym {pseudonym} under the "
            f"{len(keys)} configured key(s)",
            "check the candidate list, or add the key in use at the time to "
            "SOVWATCH_PRIVACY__PREVIOUS_PSEUDONYM_KEYS",
        )
    console.print(found)
