"""Compose the report: every panel of the chosen dashboards run over the period (the same
runner as the integration test), then the alert summary and the audit verification."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from agents.audit.checkpoints import load_public_key
from dashboards.boards import Board, all_dashboards
from dashboards.queries.runner import TimeRange
from dashboards.queries.templating import Variable
from schemas.errors import SovwatchError
from schemas.settings import Settings
from streams.admin.alerts_tail import LocalTime
from streams.evidence.period import verify_stored
from streams.evidence.unsigned import explain
from streams.report import page, summary
from streams.report.datasource import grafana_runner
from streams.report.panels import render_panel


def choose(names: Sequence[str]) -> list[Board]:
    """Dashboards by short name (`gpu`), uid or title; all when none is named."""
    boards = all_dashboards()
    if not names:
        return boards
    chosen = []
    for name in names:
        found = [b for b in boards if name in (b.name, b.uid, b.title)]
        if not found:
            known = ", ".join(b.name for b in boards)
            raise SovwatchError(f"no dashboard {name!r}", f"choose from: {known}")
        chosen.extend(found)
    return chosen


def make_report(
    settings: Settings,
    names: Sequence[str],
    time_range: TimeRange,
    sites: Sequence[str],
    out: Path,
    local_time: LocalTime | None = None,
) -> Path:
    """The report page at `out`; with `local_time` (a site registry's clocks), incidents show
    their site's local time next to UTC."""
    boards = choose(names)
    selections = {"site": list(sites)} if sites else {}
    sections: list[tuple[str, list[str]]] = []
    number = 0
    with grafana_runner(settings) as runner:
        site = Variable("site", tuple(sites), tuple(sites) if sites else None, all_value=".*")
        counts = summary.alert_counts(runner, time_range, site)
        incidents = summary.incidents(runner, time_range, site)
        for board in boards:
            run = runner.run(board.json, time_range, selections)
            parts = []
            for result in run.panels:
                number += 1
                parts.append(render_panel(result.panel, result.frames, result.errors, f"p{number}"))
            sections.append((f"{board.title} ({board.folder})", parts))
    key_file = settings.audit.public_key_file
    key = load_public_key(key_file.read_bytes()) if key_file else None
    audit = verify_stored(settings, key, None, time_range.start, time_range.stop)
    label = explain(audit, settings).label
    evidence = [
        summary.alerts_html(counts),
        summary.incidents_html(incidents, local_time),
        summary.audit_html(audit, sites, key is not None, label),
    ]
    sections.insert(0, ("Alerts and audit evidence", evidence))
    scope = f"sites {', '.join(sites)}" if sites else "all sites"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        page.document(
            "sovwatch report",
            time_range.start,
            time_range.stop,
            scope,
            sections,
            datetime.now(UTC),
        )
    )
    return out
