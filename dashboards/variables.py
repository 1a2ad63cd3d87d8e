"""Template variables shared by the dashboards, chained country -> site -> hall/node/gpu/zone,
and the alert annotations.

Query variables (tag values) are multi-value with "All" rendered as the custom all value `.*`,
so queries filter with `r.site =~ /^${site:regex}$/`. The custom variables team and severity
have no custom all value: "All" lists every option, so `${team:json}` is a JSON array and
queries filter with `contains(value: r.team, set: ${team:json})`.
"""

from __future__ import annotations

from typing import Final, get_args

from grafana_foundation_sdk.builders.dashboard import AnnotationQuery, CustomVariable, QueryVariable
from grafana_foundation_sdk.models.dashboard import VariableOption, VariableRefresh, VariableSort

from dashboards.flux import ALERTS, AUDIT, TELEMETRY, matches, tag_values
from dashboards.flux_query import FluxAnnotation, datasource
from schemas.alert import Severity, Team

ALL: Final = VariableOption(selected=True, text=["All"], value=["$__all"])
SITE_FILTER: Final = {"country": "country", "site": "site"}


def tag_variable(name: str, label: str, flux: str) -> QueryVariable:
    return (
        QueryVariable(name)
        .label(label)
        .datasource(datasource())
        .query(flux)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(ALL)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )


def fixed_variable(name: str, label: str, values: tuple[str, ...]) -> CustomVariable:
    return (
        CustomVariable(name)
        .label(label)
        .values(",".join(values))
        .multi(True)
        .include_all(True)
        .current(ALL)
        .options([VariableOption(selected=False, text=v, value=v) for v in values])
    )


def country() -> QueryVariable:
    return tag_variable("country", "Country", tag_values(TELEMETRY, "country"))


def site() -> QueryVariable:
    return tag_variable(
        "site", "Site", tag_values(TELEMETRY, "site", matches({"country": "country"}))
    )


def node() -> QueryVariable:
    predicate = 'r._measurement == "gpu" and ' + matches(SITE_FILTER)
    return tag_variable("node", "Node", tag_values(TELEMETRY, "node", predicate))


def gpu() -> QueryVariable:
    predicate = 'r._measurement == "gpu" and ' + matches({**SITE_FILTER, "node": "node"})
    return tag_variable("gpu", "GPU", tag_values(TELEMETRY, "gpu", predicate))


def hall() -> QueryVariable:
    predicate = 'r._measurement == "power" and r.scope == "hall" and ' + matches(SITE_FILTER)
    return tag_variable("hall", "Hall", tag_values(TELEMETRY, "scope_id", predicate))


def zone() -> QueryVariable:
    predicate = 'r._measurement == "physical" and ' + matches(SITE_FILTER)
    return tag_variable("zone", "Zone", tag_values(TELEMETRY, "zone", predicate))


def audit_country() -> QueryVariable:
    return tag_variable("country", "Country", tag_values(AUDIT, "country"))


def audit_site() -> QueryVariable:
    return tag_variable("site", "Site", tag_values(AUDIT, "site", matches({"country": "country"})))


def team() -> CustomVariable:
    return fixed_variable("team", "Team", get_args(Team))


def severity() -> CustomVariable:
    return fixed_variable("severity", "Severity", get_args(Severity))


TEAM_COLOURS: Final = {"ops": "orange", "security": "red", "compliance": "purple"}


def alert_annotation(team_name: str) -> AnnotationQuery:
    """The team's alerts (bucket alerts, measurement alert) drawn on every time panel."""
    flux = (
        f'from(bucket: "{ALERTS}")\n'
        "  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)\n"
        f'  |> filter(fn: (r) => r._measurement == "alert" and r._field == "message"'
        f' and r.team == "{team_name}")\n'
        f"  |> filter(fn: (r) => {matches(SITE_FILTER)})\n"
        '  |> group(columns: ["rule_id", "severity", "site"])\n'
        '  |> rename(columns: {_value: "text"})\n'
        '  |> keep(columns: ["_time", "text", "rule_id", "severity", "site"])'
    )
    return (
        AnnotationQuery()
        .name(f"{team_name.capitalize()} alerts")
        .datasource(datasource())
        .enable(True)
        .hide(False)
        .icon_color(TEAM_COLOURS.get(team_name, "red"))
        .target(FluxAnnotation(flux))
    )
