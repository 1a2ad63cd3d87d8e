"""Locating and running the install recipes under docker/native/ (they fill the cache)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from schemas.errors import StackError

RECIPES = Path(__file__).resolve().parents[2] / "docker" / "native"


def run_recipe(script: str, env: dict[str, str]) -> None:
    """Run docker/native/<script>; its output goes to the terminal (builds can take minutes)."""
    path = RECIPES / script
    if not path.is_file():
        raise StackError(
            f"install recipe {path} not found",
            "the native stack runs from a sovwatch source checkout; clone the repo and run "
            "'make demo'",
        )
    result = subprocess.run(["bash", str(path)], env=env, check=False)
    if result.returncode != 0:
        raise StackError(
            f"install recipe {script} failed with exit code {result.returncode}",
            "read its output above; a rerun resumes from the cache",
        )


def ensure_installed(binary: Path, script: str, cache_dir: Path, **versions: str) -> None:
    """Run the recipe that builds `binary` into the cache unless it is there; `versions` are the
    recipe's version variables (e.g. SOVWATCH_INFLUXDB_VERSION="2.9.1")."""
    if not binary.is_file():
        run_recipe(script, {**os.environ, "SOVWATCH_CACHE": str(cache_dir), **versions})
