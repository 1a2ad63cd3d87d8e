"""One chaos run's report: a line for the soak summary, the full text a failure prints (seed,
schedule, timeline, every check), and the JSON written beside the workers' logs."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.chaos.checks import CheckResult

REPLAY = "make test-chaos CHAOS_SEED={seed}"


@dataclass
class SeedReport:
    seed: int
    run_dir: str
    duration_s: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    checks: list[CheckResult] = field(default_factory=list)
    schedule: list[str] = field(default_factory=list)
    timeline: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def line(self) -> str:
        counts = "  ".join(f"{k} {v}" for k, v in self.counts.items())
        failed = [c.name for c in self.checks if not c.ok]
        verdict = "PASS" if self.passed else "FAIL"
        tail = f"  failed: {'; '.join(failed)}" if failed else ""
        return f"seed {self.seed:>7}  {verdict}  {self.duration_s:5.0f} s  {counts}{tail}"

    def text(self) -> str:
        verdict = "passed" if self.passed else f"FAILED - replay: {REPLAY.format(seed=self.seed)}"
        return "\n".join(
            [
                f"chaos seed {self.seed}: {verdict} ({self.duration_s:.0f} s, logs in "
                f"{self.run_dir})",
                "schedule:",
                *(f"  {line}" for line in self.schedule),
                "timeline:",
                *(f"  {line}" for line in self.timeline),
                "checks:",
                *(f"  {c.text()}" for c in self.checks),
            ]
        )

    def write(self, path: Path) -> None:
        data = {**asdict(self), "passed": self.passed}
        path.write_text(json.dumps(data, indent=2, default=str) + "\n")
