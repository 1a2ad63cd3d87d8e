"""The witness directory: written whole, never overwritten, read back newest first per site."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import pytest

from agents import metrics
from agents.audit.checkpoints import Checkpoint
from agents.audit.stage import AuditStage
from agents.audit.witness import WitnessConflictError, newest_witnesses, write_witness
from schemas.settings import Settings
from tests.unit.agents.audit.test_verify import intact


def failures() -> float:
    return metrics.REGISTRY.get_sample_value("sovwatch_audit_witness_failures_total") or 0.0


def checkpoints(site: str) -> list[Checkpoint]:
    return [c for c in intact()[1] if c.site == site]


def test_one_file_per_site_and_seq_and_the_newest_comes_back(tmp_path: Path) -> None:
    for checkpoint in [*checkpoints("fra-1"), *checkpoints("par-1")]:
        write_witness(tmp_path, checkpoint)
    assert len(list((tmp_path / "fra-1").iterdir())) == len(checkpoints("fra-1"))
    newest = {w.site: w.checkpoint for w in newest_witnesses(tmp_path)}
    assert newest == {"fra-1": checkpoints("fra-1")[-1], "par-1": checkpoints("par-1")[-1]}
    assert [w.site for w in newest_witnesses(tmp_path, "par-1")] == ["par-1"]
    assert not list(tmp_path.rglob("*.tmp"))


def test_an_existing_file_is_never_replaced(tmp_path: Path) -> None:
    first = checkpoints("fra-1")[0]
    path = write_witness(tmp_path, first)
    assert write_witness(tmp_path, first) == path  # a re-publish: the same bytes, fine
    with pytest.raises(WitnessConflictError):
        write_witness(tmp_path, replace(first, merkle_root="0" * 64))
    assert newest_witnesses(tmp_path)[0].checkpoint == first
    assert not list(tmp_path.rglob("*.tmp"))


def test_site_names_with_slashes_stay_one_directory(tmp_path: Path) -> None:
    checkpoint = replace(checkpoints("fra-1")[0], site="eu/fra:1")
    write_witness(tmp_path, checkpoint)
    assert [p.name for p in tmp_path.iterdir()] == ["eu%2Ffra%3A1"]
    assert newest_witnesses(tmp_path, "eu/fra:1")[0].checkpoint == checkpoint


def test_a_file_that_is_not_its_checkpoint_is_a_problem(tmp_path: Path) -> None:
    write_witness(tmp_path, checkpoints("fra-1")[0])
    (tmp_path / "fra-1" / "999999999999.json").write_text("{not json")
    (found,) = newest_witnesses(tmp_path)
    assert found.checkpoint is None and "is not a checkpoint" in found.problem
    moved = tmp_path / "fra-1" / "999999999999.json"
    moved.write_bytes((tmp_path / "fra-1" / "000000000009.json").read_bytes())
    (found,) = newest_witnesses(tmp_path)
    assert found.checkpoint is None and "holds checkpoint 9 of fra-1" in found.problem


def test_no_directory_no_witnesses(tmp_path: Path) -> None:
    assert newest_witnesses(tmp_path / "absent") == []


async def test_the_worker_logs_and_counts_a_failed_witness_write_and_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the witness directory should be")
    settings = Settings.model_validate({"audit": {"witness_dir": str(blocked)}})
    unused = cast(Any, None)  # the witness step touches nothing else
    stage = AuditStage(settings, unused, unused, None, unused, unused)
    before = failures()
    checkpoint = checkpoints("fra-1")[0]
    await stage._witness(checkpoint)
    assert failures() == before + 1
    assert "not written to the witness directory" in caplog.text
    ok = Settings.model_validate({"audit": {"witness_dir": str(tmp_path / "w")}})
    await AuditStage(ok, unused, unused, None, unused, unused)._witness(checkpoint)
    assert newest_witnesses(tmp_path / "w")[0].checkpoint == checkpoint
