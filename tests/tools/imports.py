"""The allowed import directions between the top-level packages: every arrow points down.

    streams/     composition root and operator tools (app, worker, CLI, stack, simulator, report)
    dashboards/  dashboards as code, provisioning, the panel query runner
    agents/      the worker's stages, metrics, privacy, DLQ sealing
    schemas/     pure data: events, settings, errors

A module may import its own package and the packages below it, never one above (a back-arrow),
lazy imports inside functions included. `python -m tests.tools.imports` prints every back-arrow
and exits 1 if there is one.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

LAYERS = ("schemas", "agents", "dashboards", "streams")
"""Bottom first."""

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class BackArrow:
    path: str
    line: int
    imported: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: imports {self.imported} (a layer above)"


def imported_modules(source: str) -> Iterator[tuple[int, str]]:
    """(line, module) of every absolute import in `source`, at any depth."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.lineno, node.module


def back_arrows(root: Path = ROOT) -> list[BackArrow]:
    found = []
    for rank, package in enumerate(LAYERS):
        above = set(LAYERS[rank + 1 :])
        for path in sorted((root / package).rglob("*.py")):
            for line, module in imported_modules(path.read_text()):
                if module.split(".")[0] in above:
                    found.append(BackArrow(str(path.relative_to(root)), line, module))
    return found


def main() -> int:
    arrows = back_arrows()
    for arrow in arrows:
        print(arrow)
    print(f"{len(arrows)} back-arrows between {' < '.join(LAYERS)}")
    return 1 if arrows else 0


if __name__ == "__main__":
    sys.exit(main())
