"""What a site without a checkpoint means, said truthfully.

The verifier reports a site whose records no checkpoint covers as `unsigned`. That has two
causes a reader must not confuse: the workers sign, and this site's records simply came after
the last checkpoint ("not yet checkpointed (next in <= N s)"); or no worker has a signing key
("unsigned (no signing key configured)"). The workers sign when this process has a signing key
(one `.env` for the worker and the CLI, as the dev stack has it) or when any site read here has
a checkpoint, in InfluxDB or witnessed. Only the wording and the JSON status differ: the exit
code stays 3 (nothing proves these records yet).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

from agents.audit.verify import HEADLINES, UNSIGNED, Finding, Report
from schemas.settings import Settings

NOT_CHECKPOINTED: Final = "not_checkpointed"
"""The JSON status (and finding kind) of a chain that waits for its first checkpoint."""


@dataclass(frozen=True)
class Explained:
    """A verification report with its unsigned sites named for what they are."""

    report: Report
    pending: bool
    """Unsigned only because no checkpoint was due yet: the workers sign."""
    interval_s: int

    @property
    def label(self) -> str:
        """How an unsigned site is described."""
        return f"not yet checkpointed (next in ≤ {self.interval_s} s)" if self.pending else UNSIGNED

    @property
    def exit_code(self) -> int:
        return self.report.exit_code

    def _detail(self, site: str) -> str:
        stats = self.report.sites.get(site, {})
        span = f"seq {stats.get('first_seq', '?')}..{stats.get('last_seq', '?')}"
        return (
            f"{self.label}: {stats.get('records', '?')} records ({span}) are chained; the "
            f"workers sign every {self.interval_s} s (SOVWATCH_AUDIT__CHECKPOINT_INTERVAL_S), "
            "'sovwatch audit checkpoint' signs now"
        )

    def _line(self, finding: Finding) -> str:
        where = f"site={finding.site} seq {finding.seq}"
        return f"{NOT_CHECKPOINTED:<18} {where}: {self._detail(finding.site)}"

    def text(self) -> str:
        text = self.report.text()
        if not self.pending:
            return text
        lines = text.splitlines()
        lines[0] = lines[0].replace(HEADLINES["unsigned"], self.label.upper(), 1)
        rewritten = {f"  {f.line()}": f"  {self._line(f)}" for f in self._unsigned()}
        return "\n".join(rewritten.get(line, line) for line in lines)

    def as_dict(self) -> dict[str, Any]:
        data = self.report.as_dict()
        if self.pending:
            data["status"] = NOT_CHECKPOINTED
            data["next_checkpoint_within_s"] = self.interval_s
            for finding in data["findings"]:
                if finding["kind"] == "unsigned":
                    finding["kind"] = NOT_CHECKPOINTED
                    finding["detail"] = self._detail(finding["site"])
        return data

    def _unsigned(self) -> list[Finding]:
        return [f for f in self.report.findings if f.kind == "unsigned"]


def workers_sign(report: Report, settings: Settings) -> bool:
    """Whether checkpoints are being signed: a signing key here, or a checkpoint of any site."""
    if settings.audit.signing_key is not None:
        return True
    return any(s["checkpoints"] or s["witnessed_to"] for s in report.sites.values())


def explain(report: Report, settings: Settings) -> Explained:
    pending = report.status == "unsigned" and workers_sign(report, settings)
    return Explained(report, pending, math.ceil(settings.audit.checkpoint_interval_s))
