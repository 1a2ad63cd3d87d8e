"""One module per dashboard, each with `FOLDER` and `dashboard()` (an SDK `Dashboard` builder).
Adding a dashboard = adding a module. Nothing is built at import: `all_dashboards()` builds."""

from __future__ import annotations

import importlib
import json
import pkgutil
from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.builders.dashboard import Dashboard as DashboardBuilder
from grafana_foundation_sdk.cog.encoder import JSONEncoder

JSON = dict[str, Any]


@dataclass(frozen=True)
class Board:
    """A dashboard's folder and its Grafana JSON, exactly as committed under dashboards/json."""

    folder: str
    json: JSON

    @property
    def uid(self) -> str:
        return str(self.json["uid"])

    @property
    def title(self) -> str:
        return str(self.json["title"])

    @property
    def name(self) -> str:
        """The short name (`sovwatch-gpu` -> `gpu`) that `sovwatch report --dashboard` takes."""
        return self.uid.removeprefix("sovwatch-")


def render(builder: DashboardBuilder) -> JSON:
    """The SDK's JSON of a dashboard, with stable panel ids in layout order."""
    encoded: JSON = json.loads(JSONEncoder().encode(builder.build()))
    for number, panel in enumerate(encoded.get("panels", []), start=1):
        panel["id"] = number
    return encoded


def all_dashboards() -> list[Board]:
    """Every dashboard of this package, ordered by folder and uid."""
    found = []
    for module in pkgutil.iter_modules(__path__):
        board = importlib.import_module(f"{__name__}.{module.name}")
        found.append(Board(board.FOLDER, render(board.dashboard())))
    uids = [board.uid for board in found]
    duplicates = {uid for uid in uids if uids.count(uid) > 1}
    if duplicates:
        raise ValueError(f"dashboard uids used twice: {sorted(duplicates)}")
    return sorted(found, key=lambda board: (board.folder, board.uid))
