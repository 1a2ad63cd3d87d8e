"""Template variables shared by the dashboards, chained country -> site -> hall/node/zone."""

from __future__ import annotations

from typing import Final, get_args

from dashboards.flux import ALERTS, AUDIT, TELEMETRY, matches, tag_values
from dashboards.model import Annotation, Variable
from schemas.alert import Severity, Team

COUNTRY: Final = Variable("country", "Country", tag_values(TELEMETRY, "country"))
SITE: Final = Variable(
    "site", "Site", tag_values(TELEMETRY, "site", matches({"country": "country"}))
)
NODE: Final = Variable(
    "node",
    "Node",
    tag_values(TELEMETRY, "node", 'r._measurement == "gpu" and ' + matches({"site": "site"})),
)
GPU: Final = Variable(
    "gpu",
    "GPU",
    tag_values(
        TELEMETRY, "gpu", 'r._measurement == "gpu" and ' + matches({"site": "site", "node": "node"})
    ),
)
HALL: Final = Variable(
    "hall",
    "Hall",
    tag_values(
        TELEMETRY,
        "scope_id",
        'r._measurement == "power" and r.scope == "hall" and ' + matches({"site": "site"}),
    ),
)
ZONE: Final = Variable(
    "zone",
    "Zone",
    tag_values(TELEMETRY, "zone", 'r._measurement == "physical" and ' + matches({"site": "site"})),
)
AUDIT_COUNTRY: Final = Variable("country", "Country", tag_values(AUDIT, "country"))
AUDIT_SITE: Final = Variable(
    "site", "Site", tag_values(AUDIT, "site", matches({"country": "country"}))
)
TEAM: Final = Variable("team", "Team", values=get_args(Team))
SEVERITY: Final = Variable("severity", "Severity", values=get_args(Severity))

SITE_FILTER: Final = {"country": "country", "site": "site"}


def alert_annotation(team: str) -> Annotation:
    """The team's alerts (bucket alerts, measurement alert) as annotations, one per alert id."""
    return Annotation(
        f"{team.capitalize()} alerts",
        f'from(bucket: "{ALERTS}")\n'
        "  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)\n"
        f'  |> filter(fn: (r) => r._measurement == "alert" and r._field == "message"'
        f' and r.team == "{team}")\n'
        f"  |> filter(fn: (r) => {matches(SITE_FILTER)})\n"
        '  |> group(columns: ["rule_id", "severity", "site"])\n'
        '  |> rename(columns: {_value: "text"})\n'
        '  |> keep(columns: ["_time", "text", "rule_id", "severity", "site"])',
        color={"ops": "orange", "security": "red", "compliance": "purple"}.get(team, "red"),
    )
