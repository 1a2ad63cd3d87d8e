"""Sovereignty compliance: where data went, model exports, privileged sessions, outcomes and
the state of each site's audit hash chain (measurement `audit_checkpoint`, bucket audit)."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, Row

from dashboards.base import bar_gauge, bars_over_time, new_dashboard, table_panel
from dashboards.flux import ALERTS, AUDIT, matches, series, source
from dashboards.panels import organize, props, value_colours
from dashboards.variables import SITE_FILTER, alert_annotation, audit_country, audit_site

FOLDER = "Compliance"


def _actions(*actions: str) -> str:
    return "(" + " or ".join(f'r.action == "{action}"' for action in actions) + ")"


MOVEMENT = _actions("data_transfer", "replica_created", "model_weights_export")
PRIVILEGED = _actions("admin_session_start", "support_session", "privileged_command")
CROSS_BORDER_TEST = MOVEMENT + " and r.destination_country != r.country"
PRIVILEGED_FIELDS = ["actor_id", "session_id", "actor_role", "actor_organisation"]

BY_DESTINATION = f"""{source(AUDIT, "audit", ["event_id"], SITE_FILTER, MOVEMENT)}
  |> group(columns: ["destination_country"])
  |> count()
  |> rename(columns: {{_value: "transfers"}})"""

CROSS_BORDER = f"""{source(AUDIT, "audit", ["event_id"], SITE_FILTER, CROSS_BORDER_TEST)}
  |> group(columns: ["site", "country", "destination_country", "classification", "action",
                     "outcome"])
  |> count()
  |> group()
  |> rename(columns: {{_value: "events"}})
  |> sort(columns: ["events"], desc: true)"""

_EXPORT = 'r.action == "model_weights_export"'
EXPORTS = f"""{source(AUDIT, "audit", ["event_id"], SITE_FILTER, _EXPORT)}
{series(["outcome"], "count", field="exports")}"""

PRIVILEGED_SESSIONS = f"""{source(AUDIT, "audit", PRIVILEGED_FIELDS, SITE_FILTER, PRIVILEGED)}
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group()
  |> keep(columns: ["_time", "site", "action", "outcome", "actor_id", "actor_role",
                    "actor_organisation", "session_id"])
  |> rename(columns: {{_time: "time"}})
  |> sort(columns: ["time"], desc: true)
  |> limit(n: 200)"""

PRIVILEGED_RATE = f"""{source(AUDIT, "audit", ["event_id"], SITE_FILTER, PRIVILEGED)}
{series(["action"], "count", field="sessions")}"""

OUTCOMES = f"""{source(AUDIT, "audit", ["event_id"], SITE_FILTER)}
  |> group(columns: ["action", "outcome"])
  |> count()
  |> group()
  |> rename(columns: {{_value: "events"}})
  |> sort(columns: ["events"], desc: true)"""

COMPLIANCE_ALERTS = f"""from(bucket: "{ALERTS}")
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "alert" and r._field == "alert_id"
                       and r.team == "compliance")
  |> filter(fn: (r) => {matches(SITE_FILTER)})
  |> group(columns: ["rule_id", "severity"])
  |> distinct()
  |> count()
  |> group()
  |> rename(columns: {{_value: "alerts"}})
  |> sort(columns: ["alerts"], desc: true)"""

_CHECKPOINT = source(AUDIT, "audit_checkpoint", ["last_seq", "verified"], SITE_FILTER)
CHECKPOINTS = f"""seq = {_CHECKPOINT}
  |> filter(fn: (r) => r._field == "last_seq")
  |> group(columns: ["site"])
  |> last()
  |> keep(columns: ["_time", "site", "_value"])
  |> rename(columns: {{_time: "checkpoint_time", _value: "last_seq"}})
ok = {_CHECKPOINT}
  |> filter(fn: (r) => r._field == "verified")
  |> group(columns: ["site"])
  |> last()
  |> keep(columns: ["site", "_value"])
  |> rename(columns: {{_value: "verified"}})
join(tables: {{seq: seq, ok: ok}}, on: ["site"])
  |> group()
  |> sort(columns: ["site"])"""

VERIFIED = value_colours(
    {
        "true": ("verified", "green"),
        "1": ("verified", "green"),
        "false": ("CHAIN BROKEN", "red"),
        "0": ("CHAIN BROKEN", "red"),
    }
)


def dashboard() -> Dashboard:
    return (
        new_dashboard(
            "sovwatch-compliance",
            "Sovereignty compliance",
            FOLDER,
            "Data movements by destination, exports, privileged sessions, outcomes, "
            "audit-chain checkpoints (bucket audit).",
        )
        .time("now-24h", "now")
        .with_variable(audit_country())
        .with_variable(audit_site())
        .annotation(alert_annotation("compliance"))
        .with_panel(
            bar_gauge("Transfers by destination country", BY_DESTINATION, "transfers").decimals(0)
        )
        .with_panel(
            table_panel("Cross-border data movements", CROSS_BORDER, width=16)
            .description("Transfers, replicas and exports whose destination is another country.")
            .with_transformation(
                organize(
                    {
                        "site": "Site",
                        "country": "From",
                        "destination_country": "To",
                        "classification": "Classification",
                        "action": "Action",
                        "outcome": "Outcome",
                        "events": "Events",
                    }
                )
            )
        )
        .with_panel(bars_over_time("Model weight exports", EXPORTS).decimals(0))
        .with_panel(bars_over_time("Privileged sessions and commands", PRIVILEGED_RATE).decimals(0))
        .with_panel(
            table_panel("Privileged access log", PRIVILEGED_SESSIONS, width=24).with_transformation(
                organize(
                    {
                        "time": "Time",
                        "site": "Site",
                        "action": "Action",
                        "outcome": "Outcome",
                        "actor_id": "Actor (pseudonym)",
                        "session_id": "Session",
                    }
                )
            )
        )
        .with_row(Row("Outcomes and evidence"))
        .with_panel(
            table_panel("Audited actions by outcome", OUTCOMES, width=8)
            .with_transformation(
                organize({"action": "Action", "outcome": "Outcome", "events": "Events"})
            )
            .override_by_name(
                "outcome",
                props(
                    cell="color-background",
                    mappings=[value_colours({"success": (None, "green"), "denied": (None, "red")})],
                ),
            )
        )
        .with_panel(
            table_panel(
                "Compliance alerts by rule", COMPLIANCE_ALERTS, width=8
            ).with_transformation(
                organize({"rule_id": "Rule", "severity": "Severity", "alerts": "Alerts"})
            )
        )
        .with_panel(
            table_panel("Audit-chain checkpoints", CHECKPOINTS, width=8)
            .description("Last signed checkpoint per site: sequence number and verification.")
            .with_transformation(
                organize(
                    {
                        "site": "Site",
                        "checkpoint_time": "Checkpoint",
                        "last_seq": "Last seq",
                        "verified": "Verified",
                    }
                )
            )
            .override_by_name("verified", props(cell="color-background", mappings=[VERIFIED]))
        )
    )
