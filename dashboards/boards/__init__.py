"""One module per dashboard, each exposing `DASHBOARD`. Adding a dashboard = adding a module."""

from __future__ import annotations

import importlib
import pkgutil

from dashboards.model import Dashboard


def all_dashboards() -> list[Dashboard]:
    """Every dashboard of this package, ordered by folder and uid."""
    found = []
    for module in pkgutil.iter_modules(__path__):
        board = importlib.import_module(f"{__name__}.{module.name}").DASHBOARD
        if not isinstance(board, Dashboard):
            raise TypeError(f"{__name__}.{module.name}.DASHBOARD is not a Dashboard")
        found.append(board)
    uids = [board.uid for board in found]
    duplicates = {uid for uid in uids if uids.count(uid) > 1}
    if duplicates:
        raise ValueError(f"dashboard uids used twice: {sorted(duplicates)}")
    return sorted(found, key=lambda board: (board.folder, board.uid))
