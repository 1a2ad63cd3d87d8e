"""Physical security: events by kind and zone, denied/forced/held-open doors, cameras.

Physical events are discrete points (measurement `physical`): counting `event_id` counts events.
Badge ids and holders are pseudonyms (`p_...`) by the time they are stored.
"""

from __future__ import annotations

from dashboards.flux import TELEMETRY, series, source
from dashboards.model import Dashboard, Panel, Query, Threshold
from dashboards.variables import COUNTRY, SITE, ZONE, alert_annotation

ZONE_FILTER = {"country": "country", "site": "site", "zone": "zone"}
DOOR_ALARMS = ("access_denied", "door_forced_open", "door_held_open")
CAMERA_KINDS = ("camera_offline", "camera_tamper")


def _kinds(kinds: tuple[str, ...]) -> str:
    return "(" + " or ".join(f'r.kind == "{kind}"' for kind in kinds) + ")"


_EVENTS = source(TELEMETRY, "physical", ["event_id"], ZONE_FILTER)

BY_KIND = Query(
    f"""{_EVENTS}
{series(["kind"], "count", field="events")}""",
    expect=("Time", "events", "kind"),
)

BY_ZONE = Query(
    f"""{_EVENTS}
  |> group(columns: ["site", "zone", "kind"])
  |> count()
  |> group()
  |> pivot(rowKey: ["site", "zone"], columnKey: ["kind"], valueColumn: "_value")
  |> sort(columns: ["site", "zone"])""",
    expect=("site", "zone", "access_denied"),
)

DOOR_TIMELINE = Query(
    f"""{source(TELEMETRY, "physical", ["event_id"], ZONE_FILTER, _kinds(DOOR_ALARMS))}
{series(["kind"], "count", field="events")}""",
    expect=("Time", "events", "kind"),
)

HELD_OPEN = Query(
    f"""{source(TELEMETRY, "physical", ["duration_s"], ZONE_FILTER, 'r.kind == "door_held_open"')}
{series(["site", "zone"], "max")}""",
    expect=("Time", "duration_s", "zone"),
)

CAMERAS = Query(
    f"""{source(TELEMETRY, "physical", ["device_id"], ZONE_FILTER, _kinds(CAMERA_KINDS))}
  |> group(columns: ["site", "_value"])
  |> last()
  |> group()
  |> rename(columns: {{_value: "camera", _time: "since"}})
  |> keep(columns: ["since", "site", "zone", "camera", "kind"])
  |> sort(columns: ["since"], desc: true)""",
    expect=("since", "site", "zone", "camera", "kind"),
)

DASHBOARD = Dashboard(
    uid="sovwatch-physical",
    title="Physical security",
    folder="Security",
    description="Access-control, intrusion and video events by kind and zone.",
    variables=(COUNTRY, SITE, ZONE),
    annotations=(alert_annotation("security"),),
    items=(
        Panel(
            "Events by kind",
            "timeseries",
            (BY_KIND,),
            unit="short",
            width=24,
            custom={"drawStyle": "bars", "stacking": {"mode": "normal"}, "fillOpacity": 80},
        ),
        Panel(
            "Denied, forced and held-open doors",
            "timeseries",
            (DOOR_TIMELINE,),
            unit="short",
            custom={"drawStyle": "bars", "stacking": {"mode": "normal"}, "fillOpacity": 80},
            thresholds=(Threshold(None, "orange"),),
        ),
        Panel(
            "Doors held open",
            "timeseries",
            (HELD_OPEN,),
            unit="s",
            description="How long each held-open door stayed open.",
            custom={"drawStyle": "points", "pointSize": 8},
        ),
        Panel("Events by zone", "table", (BY_ZONE,), description="Count per kind in the range."),
        Panel(
            "Camera state",
            "table",
            (CAMERAS,),
            description="Last offline/tamper event per camera in the range.",
            overrides=(
                {
                    "matcher": {"id": "byName", "options": "kind"},
                    "properties": [
                        {
                            "id": "mappings",
                            "value": [
                                {
                                    "type": "value",
                                    "options": {
                                        "camera_offline": {"text": "offline", "color": "orange"},
                                        "camera_tamper": {"text": "tampered", "color": "red"},
                                    },
                                }
                            ],
                        },
                        {"id": "custom.cellOptions", "value": {"type": "color-background"}},
                    ],
                },
            ),
        ),
    ),
)
