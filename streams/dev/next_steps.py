"""What the demo prints at its end: `sovwatch` commands that work as printed in a new shell.

A new shell has none of this process's environment: it starts elsewhere, and it lacks any
`SOVWATCH_*` variable that was exported here rather than written into `.env`. So every command
starts from a `cd` to where the demo ran (`.env` is read from there), calls sovwatch the way it
was called, and carries the non-secret settings only this environment had as `VAR=value`
prefixes. Secrets are never printed: one that only this environment had is named instead.
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from dotenv import dotenv_values

from schemas.settings import Settings
from schemas.settings_catalog import names, secrets

RUNBOOKS: Final = "docs/operating/runbooks.md"
TAIL_LIMIT: Final = 20
"""At most this many alert records in the printed `alerts tail`: it stops there."""


@dataclass(frozen=True)
class Shell:
    """How to write a command so a new shell runs it as this process would."""

    cwd: Path
    program: str
    prefix: tuple[str, ...] = ()
    """`VAR=value` for the settings only this environment had."""
    unprinted: tuple[str, ...] = ()
    """Secret settings only this environment had: named, never printed."""

    def sovwatch(self, *args: str) -> str:
        return " ".join([*self.prefix, self.program, *map(shlex.quote, args)])


def shell_for(environ: Mapping[str, str], cwd: Path, argv0: str) -> Shell:
    """The shell commands for a process with `environ`, run in `cwd` as `argv0`."""
    program = argv0 if Path(argv0).name == "sovwatch" and Path(argv0).exists() else None
    if program is None:
        program = shutil.which("sovwatch") or ".venv/bin/sovwatch"
    env_file = {k: v for k, v in dotenv_values(cwd / ".env").items() if v is not None}
    known, secret = names(), secrets()
    only_here = sorted(
        name for name, value in environ.items() if name in known and env_file.get(name) != value
    )
    return Shell(
        cwd=cwd,
        program=shlex.quote(program),
        prefix=tuple(f"{n}={shlex.quote(environ[n])}" for n in only_here if n not in secret),
        unprinted=tuple(n for n in only_here if n in secret),
    )


def verify_args(settings: Settings) -> list[str] | None:
    """The demo's verify command (None: it would not work, as no public key is configured)."""
    key = settings.audit.public_key_file
    if key is None:
        return None
    return ["audit", "verify", "--since", "-1d", "--public-key", str(key.expanduser().resolve())]


def next_steps(
    shell: Shell, settings: Settings, *, signed: bool, alert_records: int
) -> list[tuple[str, str]]:
    """(command, what it shows), in the order a newcomer would run them."""
    steps = [(f"cd {shlex.quote(str(shell.cwd))}", "where the demo ran (its .env is here)")]
    verify = verify_args(settings) if signed else None
    if verify is not None:
        steps.append((shell.sovwatch(*verify), "the audit trail: exit 0 and INTACT"))
    steps.append(
        (
            shell.sovwatch("audit", "query", "--since", "-1d", "--page-size", "10"),
            "who moved what data where, pseudonymised",
        )
    )
    limit = min(alert_records, TAIL_LIMIT)
    if limit:
        steps.append(
            (
                shell.sovwatch("alerts", "tail", "--from-beginning", "--limit", str(limit)),
                f"the first {limit} incident records; each rule's runbook: {RUNBOOKS}",
            )
        )
    steps.append((shell.sovwatch("dlq", "list"), "the malformed records and why"))
    steps.append((shell.sovwatch("stack", "status"), "the servers and the worker"))
    steps.append((shell.sovwatch("stack", "down"), "stop everything (data is kept)"))
    return steps


COMMAND_MARK: Final = "  $ "
"""What starts each printed command line (the integration test finds them by it)."""


def render(shell: Shell, steps: list[tuple[str, str]]) -> str:
    """Each step as a `# what it shows` line over its `$ command` line."""
    lines = ["Next, in any shell (each command works as printed):"]
    for command, what in steps:
        lines += [f"  # {what}", f"{COMMAND_MARK}{command}"]
    if shell.unprinted:
        lines.append(
            f"  (this shell also had {', '.join(shell.unprinted)}: secrets are not printed; "
            "export them, or put them into .env, before running these)"
        )
    return "\n".join(lines)
