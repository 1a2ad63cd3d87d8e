"""The `sovwatch` entry point run inside the test process: the same `main` the console script
calls, with its own arguments, environment and working directory, and what it printed.

In-process because a console-script process costs about a second of imports per call; the one
test of the installed script itself is in tests/integration/streams/test_console_script.py.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from streams.cli.main import main
from streams.config import get_settings


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def run_cli(args: list[str], env: Mapping[str, str] = {}, cwd: Path | None = None) -> CliResult:
    """Run `sovwatch ARGS` with the environment minus every SOVWATCH_ setting plus `env`, and
    settings read afresh (a process reads them once).

    An exception other than SystemExit propagates: the test fails with it, as a user would have
    seen a traceback."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SOVWATCH_")}
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with (
        mock.patch.dict(os.environ, {**clean, **env}, clear=True),
        contextlib.chdir(cwd or Path.cwd()),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        get_settings.cache_clear()
        try:
            main(args)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        finally:
            get_settings.cache_clear()
    return CliResult(code, out.getvalue(), err.getvalue())
