"""Render the dashboards to the committed JSON under dashboards/json/<folder>/<uid>.json.

`python -m dashboards.build` (or `sovwatch grafana build`) rewrites them; `--check` fails when a
committed file differs from what the code renders, as the unit tests do.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Final

from dashboards.boards import JSON, Board, all_dashboards
from dashboards.folders import folder_titled

JSON_DIR: Final = Path(__file__).resolve().parent / "json"


def text_of(board: Board) -> str:
    """The file content: sorted keys and indentation, so diffs stay readable."""
    return json.dumps(board.json, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def path_of(board: Board, root: Path = JSON_DIR) -> Path:
    return root / folder_titled(board.folder).directory / f"{board.uid}.json"


def rendered(root: Path = JSON_DIR) -> dict[Path, str]:
    """Every dashboard file the code renders, by path."""
    return {path_of(board, root): text_of(board) for board in all_dashboards()}


def stale(root: Path = JSON_DIR) -> list[Path]:
    """Files that are missing, differ from the code, or belong to no dashboard any more."""
    wanted = rendered(root)
    differing = [p for p, text in wanted.items() if not p.is_file() or p.read_text() != text]
    extra = [p for p in root.glob("*/*.json") if p not in wanted] if root.is_dir() else []
    return sorted(differing + extra)


def write(root: Path = JSON_DIR) -> list[Path]:
    """Write what changed and remove files of dashboards that no longer exist."""
    changed = stale(root)
    wanted = rendered(root)
    for path in changed:
        if path in wanted:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(wanted[path])
        else:
            path.unlink()
    return changed


def committed(root: Path = JSON_DIR) -> list[JSON]:
    """The dashboards as committed (what Grafana's file provisioning reads)."""
    return [load(path) for path in sorted(root.glob("*/*.json"))]


def load(path: Path) -> JSON:
    data: JSON = json.loads(path.read_text())
    return data


def main(argv: list[str]) -> int:
    if "--check" in argv:
        outdated = stale()
        for path in outdated:
            print(f"stale: {path}", file=sys.stderr)
        return 1 if outdated else 0
    for path in write():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
