"""The period's alerts by team and severity (distinct alert ids, bucket alerts), its incidents
(UTC and, with a site registry, the site's own clock, as `alerts tail` shows them), and the
audit chain's verification per site (`streams.evidence.period.verify_stored`, as `audit verify`)."""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Final, get_args

from agents.audit.verify import UNSIGNED, Report
from dashboards.flux import ALERTS, matches
from dashboards.queries.dashboard_json import Target
from dashboards.queries.frames import Frame
from dashboards.queries.runner import Runner, TimeRange
from dashboards.queries.templating import Variable
from schemas.alert import Severity, Team
from streams.admin.alerts_tail import LocalTime

SEVERITIES: Final = tuple(reversed(get_args(Severity)))
TEAMS: Final = get_args(Team)
ALERT_COUNTS: Final = Target(
    "alerts",
    f"""from(bucket: "{ALERTS}")
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "alert" and r._field == "alert_id")
  |> filter(fn: (r) => {matches({"site": "site"})})
  |> group(columns: ["team", "severity"])
  |> distinct()
  |> count()
  |> rename(columns: {{_value: "alerts"}})""",
)


INCIDENTS_SHOWN: Final = 200
"""At most this many incidents listed (the first of the period); the counts above are complete."""
INCIDENTS: Final = Target(
    "incidents",
    f"""from(bucket: "{ALERTS}")
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "alert")
  |> filter(fn: (r) => r._field == "alert_id" or r._field == "message" or r._field == "status")
  |> filter(fn: (r) => {matches({"site": "site"})})
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group()
  |> sort(columns: ["_time"])
  |> limit(n: {INCIDENTS_SHOWN + 1})
  |> rename(columns: {{_time: "started"}})""",
)


@dataclass(frozen=True)
class Incident:
    """One incident of the period as the alerts bucket holds its latest state."""

    started: datetime
    site: str
    severity: str
    team: str
    rule_id: str
    status: str
    message: str

    TEXT: ClassVar[tuple[str, ...]] = ("site", "severity", "team", "rule_id", "status", "message")


def _rows(frame: Frame) -> list[dict[str, Any]]:
    fields = frame.fields
    return [{f.name: f.values[i] for f in fields if i < len(f.values)} for i in range(frame.rows)]


@dataclass(frozen=True)
class AlertCounts:
    by_team: dict[str, dict[str, int]]

    @property
    def total(self) -> int:
        return sum(sum(row.values()) for row in self.by_team.values())


def alert_counts(runner: Runner, time_range: TimeRange, site: Variable) -> AlertCounts:
    result = runner.query(ALERT_COUNTS, time_range, 60_000, [site])
    if result.error:
        raise RuntimeError(f"alert summary: {result.error}")
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for frame in result.frames:
        team, severity, value = frame.field("team"), frame.field("severity"), frame.field("alerts")
        if team is None or severity is None or value is None:
            continue
        for t, s, v in zip(team.values, severity.values, value.values, strict=True):
            counts[str(t)][str(s)] = counts[str(t)].get(str(s), 0) + int(v)
    return AlertCounts(dict(counts))


def incidents(runner: Runner, time_range: TimeRange, site: Variable) -> list[Incident]:
    """The period's incidents in the order they started (one point per incident)."""
    result = runner.query(INCIDENTS, time_range, 60_000, [site])
    if result.error:
        raise RuntimeError(f"incident list: {result.error}")
    found = []
    for frame in result.frames:
        for row in _rows(frame):
            started = row.get("started")
            if isinstance(started, str):
                started = datetime.fromisoformat(started.replace("Z", "+00:00"))
            if not isinstance(started, datetime):
                continue
            text = {name: str(row.get(name) or "") for name in Incident.TEXT}
            found.append(Incident(started.astimezone(UTC), **text))
    return sorted(found, key=lambda i: i.started)


def incidents_html(found: Sequence[Incident], local_time: LocalTime | None = None) -> str:
    """A table of the incidents; with `local_time`, each start also by its site's clock."""
    shown = found[:INCIDENTS_SHOWN]
    rows = []
    for incident in shown:
        local = local_time(incident.site, incident.started) if local_time else None
        rows.append(
            f"<tr><td>{incident.started:%Y-%m-%d %H:%M:%S}Z</td>"
            + (f"<td>{html.escape(local or '')}</td>" if local_time else "")
            + "".join(
                f"<td>{html.escape(value)}</td>"
                for value in (
                    incident.site,
                    incident.severity,
                    incident.team,
                    incident.rule_id,
                    incident.status,
                    incident.message,
                )
            )
            + "</tr>"
        )
    local_head = "<th>site-local time</th>" if local_time else ""
    more = (
        f"<p class='about'>The first {INCIDENTS_SHOWN} are listed.</p>"
        if len(found) > INCIDENTS_SHOWN
        else ""
    )
    about = (
        "Each incident's start in UTC and by its site's clock (the site registry)."
        if local_time
        else "Each incident's start in UTC (configure a site registry to see site-local times)."
    )
    body = (
        f"<table><thead><tr><th>started (UTC)</th>{local_head}<th>site</th><th>severity</th>"
        f"<th>team</th><th>rule</th><th>status</th><th>message</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>{more}"
        if rows
        else "<p class='empty'>No incidents in this period.</p>"
    )
    return (
        f"<section class='panel wide' data-panel='Incidents' data-points='{len(rows)}'>"
        f"<h3>Incidents of the period</h3><p class='about'>{about}</p>{body}</section>"
    )


def alerts_html(counts: AlertCounts) -> str:
    head = "".join(f"<th class='sev-{s}'>{s}</th>" for s in SEVERITIES)
    rows = "".join(
        f"<tr><th>{html.escape(team)}</th>"
        + "".join(f"<td>{counts.by_team.get(team, {}).get(s, 0)}</td>" for s in SEVERITIES)
        + f"<td><b>{sum(counts.by_team.get(team, {}).values())}</b></td></tr>"
        for team in TEAMS
    )
    return (
        f"<section class='panel wide' data-panel='Alerts by team and severity' "
        f"data-points='{len(TEAMS)}'><h3>Alerts raised in the period, by team and severity</h3>"
        f"<p class='about'>Distinct alert ids (bucket alerts); {counts.total} in all.</p>"
        f"<table class='matrix'><thead><tr><th>team</th>{head}<th>total</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


def audit_html(
    report: Report,
    sites: Sequence[str] | None,
    key_checked: bool,
    unsigned_label: str = UNSIGNED,
) -> str:
    """Each site's verification; `unsigned_label` names a site no checkpoint covers yet."""
    chosen = [s for s in sorted(report.sites) if not sites or s in sites]
    rows = []
    for site in chosen:
        stats = report.sites[site]
        problems = [f for f in report.findings if f.site == site and f.is_error]
        if not key_checked:
            state = "<span class='warn'>signatures not checked: no public key</span>"
        elif problems:
            state = f"<span class='bad'>TAMPERING OR LOSS: {len(problems)} problems</span>"
        elif any(f.site == site and f.kind == "unsigned" for f in report.findings):
            state = f"<span class='warn'>{html.escape(unsigned_label.upper())}</span>"
        else:
            state = "<span class='good'>INTACT</span>"
        details = "".join(f"<li>{html.escape(f.line())}</li>" for f in problems[:10])
        rows.append(
            f"<tr><th>{html.escape(site)}</th><td>{stats['records']}</td>"
            f"<td>{stats['first_seq']}..{stats['last_seq']}</td><td>{stats['checkpoints']}</td>"
            f"<td>{stats['signed_to']}</td><td>{state}"
            f"{f'<ul>{details}</ul>' if details else ''}</td></tr>"
        )
    body = (
        "<table><thead><tr><th>site</th><th>records</th><th>sequence</th><th>checkpoints</th>"
        f"<th>signed up to</th><th>verification</th></tr></thead><tbody>{''.join(rows)}"
        "</tbody></table>"
        if rows
        else "<p class='empty'>No audit records in this period.</p>"
    )
    return (
        f"<section class='panel wide' data-panel='Audit chain verification' "
        f"data-points='{len(rows)}'><h3>Audit chain verification per site</h3>"
        "<p class='about'>Hashes, links, Merkle roots and Ed25519 checkpoint signatures "
        "recomputed from the stored records (as <code>sovwatch audit verify</code>).</p>"
        f"{body}</section>"
    )
