"""Every import between the top-level packages points down (tests/tools/imports.py)."""

from __future__ import annotations

from pathlib import Path

from tests.tools.imports import LAYERS, back_arrows


def test_the_tree_has_no_back_arrow() -> None:
    assert [str(arrow) for arrow in back_arrows()] == []


def test_a_back_arrow_is_found_even_inside_a_function(tmp_path: Path) -> None:
    for package in LAYERS:
        (tmp_path / package).mkdir()
    (tmp_path / "schemas" / "ok.py").write_text("import json\nfrom schemas import other\n")
    (tmp_path / "agents" / "stage.py").write_text(
        "from schemas.ok import x\n\ndef late():\n    from streams.config import get_settings\n"
    )
    (tmp_path / "dashboards" / "board.py").write_text("import agents.stage\nimport streams.cli\n")
    found = [(a.path, a.line, a.imported) for a in back_arrows(tmp_path)]
    assert found == [
        ("agents/stage.py", 4, "streams.config"),
        ("dashboards/board.py", 2, "streams.cli"),
    ]
