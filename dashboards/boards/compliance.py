"""Sovereignty compliance: where data went, model exports, privileged sessions, violations and
the state of each site's audit hash chain (measurement `audit_checkpoint`, bucket audit)."""

from __future__ import annotations

from dashboards.flux import ALERTS, AUDIT, matches, series, source
from dashboards.model import Dashboard, Panel, Query, Row, Threshold
from dashboards.variables import AUDIT_COUNTRY, AUDIT_SITE, SITE_FILTER, alert_annotation


def _actions(*actions: str) -> str:
    return "(" + " or ".join(f'r.action == "{action}"' for action in actions) + ")"


MOVEMENT = _actions("data_transfer", "replica_created", "model_weights_export")
PRIVILEGED = _actions("admin_session_start", "support_session", "privileged_command")
CROSS_BORDER_TEST = MOVEMENT + " and r.destination_country != r.country"
PRIVILEGED_FIELDS = ["actor_id", "session_id", "actor_role", "actor_organisation"]
_AUDIT_EVENTS = source(AUDIT, "audit", ["event_id"], SITE_FILTER)

BY_DESTINATION = Query(
    f"""{source(AUDIT, "audit", ["event_id"], SITE_FILTER, MOVEMENT)}
  |> group(columns: ["destination_country"])
  |> count()
  |> rename(columns: {{_value: "transfers"}})""",
    expect=("destination_country", "transfers"),
)

CROSS_BORDER = Query(
    f"""{source(AUDIT, "audit", ["event_id"], SITE_FILTER, CROSS_BORDER_TEST)}
  |> group(columns: ["site", "country", "destination_country", "classification", "action",
                     "outcome"])
  |> count()
  |> group()
  |> rename(columns: {{_value: "events"}})
  |> sort(columns: ["events"], desc: true)""",
    expect=("site", "country", "destination_country", "classification", "action", "events"),
)

EXPORTS = Query(
    f"""{source(AUDIT, "audit", ["event_id"], SITE_FILTER, 'r.action == "model_weights_export"')}
{series(["outcome"], "count", field="exports")}""",
    expect=("Time", "exports", "outcome"),
)

PRIVILEGED_SESSIONS = Query(
    f"""{source(AUDIT, "audit", PRIVILEGED_FIELDS, SITE_FILTER, PRIVILEGED)}
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group()
  |> keep(columns: ["_time", "site", "action", "outcome", "actor_id", "actor_role",
                    "actor_organisation", "session_id"])
  |> rename(columns: {{_time: "time"}})
  |> sort(columns: ["time"], desc: true)
  |> limit(n: 200)""",
    expect=("time", "site", "action", "actor_id"),
)

PRIVILEGED_RATE = Query(
    f"""{source(AUDIT, "audit", ["event_id"], SITE_FILTER, PRIVILEGED)}
{series(["action"], "count", field="sessions")}""",
    expect=("Time", "sessions", "action"),
)

DENIED = Query(
    f"""{source(AUDIT, "audit", ["event_id"], SITE_FILTER, 'r.outcome == "denied"')}
  |> group(columns: ["action"])
  |> count()
  |> rename(columns: {{_value: "denied"}})""",
    expect=("action", "denied"),
)

COMPLIANCE_ALERTS = Query(
    f"""from(bucket: "{ALERTS}")
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "alert" and r._field == "alert_id"
                       and r.team == "compliance")
  |> filter(fn: (r) => {matches(SITE_FILTER)})
  |> group(columns: ["rule_id", "severity"])
  |> distinct()
  |> count()
  |> group()
  |> rename(columns: {{_value: "alerts"}})
  |> sort(columns: ["alerts"], desc: true)""",
    expect=("rule_id", "severity", "alerts"),
)

_CHECKPOINT = source(AUDIT, "audit_checkpoint", ["last_seq", "verified"], SITE_FILTER)
CHECKPOINTS = Query(
    f"""seq = {_CHECKPOINT}
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
  |> sort(columns: ["site"])""",
    expect=("checkpoint_time", "site", "last_seq", "verified"),
)

VERIFIED_MAPPING = {
    "type": "value",
    "options": {
        "true": {"text": "verified", "color": "green", "index": 0},
        "1": {"text": "verified", "color": "green", "index": 1},
        "false": {"text": "CHAIN BROKEN", "color": "red", "index": 2},
        "0": {"text": "CHAIN BROKEN", "color": "red", "index": 3},
    },
}

DASHBOARD = Dashboard(
    uid="sovwatch-compliance",
    title="Sovereignty compliance",
    folder="Compliance",
    description="Data movements by destination, exports, privileged sessions, violations, "
    "audit-chain checkpoints (bucket audit).",
    variables=(AUDIT_COUNTRY, AUDIT_SITE),
    annotations=(alert_annotation("compliance"),),
    time_from="now-24h",
    items=(
        Panel(
            "Transfers by destination country",
            "bargauge",
            (BY_DESTINATION,),
            width=8,
            options={
                "displayMode": "gradient",
                "orientation": "horizontal",
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": True},
            },
        ),
        Panel(
            "Cross-border data movements",
            "table",
            (CROSS_BORDER,),
            width=16,
            description="Transfers, replicas and exports whose destination is another country.",
        ),
        Panel(
            "Model weight exports",
            "timeseries",
            (EXPORTS,),
            custom={"drawStyle": "bars", "stacking": {"mode": "normal"}, "fillOpacity": 80},
        ),
        Panel(
            "Privileged sessions and commands",
            "timeseries",
            (PRIVILEGED_RATE,),
            custom={"drawStyle": "bars", "stacking": {"mode": "normal"}, "fillOpacity": 80},
        ),
        Panel("Privileged access log", "table", (PRIVILEGED_SESSIONS,), width=24),
        Row("Violations and evidence"),
        Panel(
            "Denied actions",
            "bargauge",
            (DENIED,),
            width=8,
            thresholds=(Threshold(None, "orange"),),
            options={
                "displayMode": "basic",
                "orientation": "horizontal",
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": True},
            },
        ),
        Panel("Compliance alerts by rule", "table", (COMPLIANCE_ALERTS,), width=8),
        Panel(
            "Audit-chain checkpoints",
            "table",
            (CHECKPOINTS,),
            width=8,
            description="Last signed checkpoint per site: sequence number and verification.",
            overrides=(
                {
                    "matcher": {"id": "byName", "options": "verified"},
                    "properties": [
                        {"id": "mappings", "value": [VERIFIED_MAPPING]},
                        {"id": "custom.cellOptions", "value": {"type": "color-background"}},
                    ],
                },
            ),
        ),
    ),
)
