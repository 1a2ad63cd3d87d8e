"""The ground-truth file: JSON lines, a `run` line (time range, sites, seed) then one line per
injected incident (id, rule expected, site, group, window, when it became detectable)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from streams.simulator.incidents import Incident


@dataclass
class Truth:
    start: datetime
    end: datetime
    sites: tuple[str, ...]
    seed: int
    incidents: list[Incident] = field(default_factory=list)
    due_wall: dict[str, datetime] = field(default_factory=dict)  # incident id -> wall time
    missed: list[str] = field(default_factory=list)  # injectors that did not fit in the run

    def write(self, path: Path) -> None:
        run = {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "sites": list(self.sites),
            "seed": self.seed,
            "not_injected": self.missed,
        }
        lines = [json.dumps({"run": run})]
        for inc in self.incidents:
            record: dict[str, Any] = {
                "incident": inc.id,
                "name": inc.name,
                "rule": inc.rule,
                "site": inc.site,
                "group": inc.group,
                "start": inc.start.isoformat(),
                "end": inc.end.isoformat(),
                "due": inc.due.isoformat(),
            }
            if inc.id in self.due_wall:
                record["due_wall"] = self.due_wall[inc.id].isoformat()
            lines.append(json.dumps(record))
        path.write_text("\n".join(lines) + "\n")

    @classmethod
    def read(cls, path: Path) -> Truth:
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        if not lines or "run" not in lines[0]:
            raise ValueError(f'{path}: the first line must be the run record ({{"run": ...}})')
        run = lines[0]["run"]
        truth = cls(
            datetime.fromisoformat(run["start"]),
            datetime.fromisoformat(run["end"]),
            tuple(run["sites"]),
            int(run["seed"]),
            missed=list(run.get("not_injected", [])),
        )
        for r in lines[1:]:
            truth.incidents.append(
                Incident(
                    r["incident"],
                    r["name"],
                    r["rule"],
                    r["site"],
                    r["group"],
                    datetime.fromisoformat(r["start"]),
                    datetime.fromisoformat(r["end"]),
                    datetime.fromisoformat(r["due"]),
                )
            )
            if "due_wall" in r:
                truth.due_wall[r["incident"]] = datetime.fromisoformat(r["due_wall"])
        return truth
