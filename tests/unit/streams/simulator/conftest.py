"""A small fleet simulated once per session to a dry-run file: 2 sites, 10 simulated hours from a
Monday evening (day shift, night, after-hours), every incident injected."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from streams.cli.simulate import simulate_app

ARGS = [
    "simulate",
    "--sites", "2",
    "--halls", "1",
    "--nodes-per-hall", "2",
    "--gpus-per-node", "2",
    "--duration", "10h",
    "--start", "2026-01-05T20:00:00+00:00",
    "--sample-interval", "30s",
    "--no-progress",
]  # fmt: skip


@dataclass(frozen=True)
class Run:
    records: list[dict[str, Any]]
    truth: Path
    raw: bytes
    registry: Path


def simulate(tmp: Path, *extra: str) -> Run:
    dry, truth, registry = tmp / "events.jsonl", tmp / "truth.jsonl", tmp / "sites.yaml"
    result = CliRunner().invoke(
        simulate_app,
        [
            *ARGS,
            *extra,
            *("--dry-run", str(dry), "--truth", str(truth)),
            "--write-registry",
            str(registry),
        ],
    )
    assert result.exit_code == 0, result.output
    raw = dry.read_bytes()
    return Run([json.loads(line) for line in raw.splitlines()], truth, raw, registry)


@pytest.fixture(scope="session")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return simulate(tmp_path_factory.mktemp("sim"), "--seed", "7")
