"""Physical security: events by kind and zone, denied/forced/held-open doors, cameras.

Physical events are discrete points (measurement `physical`): counting `event_id` counts events.
Badge ids and holders are pseudonyms (`p_...`) by the time they are stored.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.models.common import GraphDrawStyle

from dashboards.base import bars_over_time, new_dashboard, table_panel, time_series
from dashboards.flux import TELEMETRY, series, source
from dashboards.panels import organize, props, value_colours
from dashboards.variables import alert_annotation, country, site, zone

FOLDER = "Security"
ZONE_FILTER = {"country": "country", "site": "site", "zone": "zone"}
DOOR_ALARMS = ("access_denied", "door_forced_open", "door_held_open")
CAMERA_KINDS = ("camera_offline", "camera_tamper")


def _kinds(kinds: tuple[str, ...]) -> str:
    return "(" + " or ".join(f'r.kind == "{kind}"' for kind in kinds) + ")"


_EVENTS = source(TELEMETRY, "physical", ["event_id"], ZONE_FILTER)

BY_KIND = f"""{_EVENTS}
{series(["kind"], "count", field="events")}"""

BY_ZONE = f"""{_EVENTS}
  |> group(columns: ["site", "zone", "kind"])
  |> count()
  |> group()
  |> rename(columns: {{_value: "events"}})
  |> keep(columns: ["site", "zone", "kind", "events"])
  |> sort(columns: ["events"], desc: true)
  |> limit(n: 50)"""

DOOR_TIMELINE = f"""{source(TELEMETRY, "physical", ["event_id"], ZONE_FILTER, _kinds(DOOR_ALARMS))}
{series(["kind"], "count", field="events")}"""

_HELD = 'r.kind == "door_held_open"'
HELD_OPEN = f"""{source(TELEMETRY, "physical", ["duration_s"], ZONE_FILTER, _HELD)}
{series(["site", "zone"], "max")}"""

CAMERAS = f"""{source(TELEMETRY, "physical", ["device_id"], ZONE_FILTER, _kinds(CAMERA_KINDS))}
  |> group(columns: ["site", "_value"])
  |> last()
  |> group()
  |> rename(columns: {{_value: "camera", _time: "since"}})
  |> keep(columns: ["since", "site", "zone", "camera", "kind"])
  |> sort(columns: ["since"], desc: true)"""


def dashboard() -> Dashboard:
    return (
        new_dashboard(
            "sovwatch-physical",
            "Physical security",
            FOLDER,
            "Access-control, intrusion and video events by kind and zone.",
        )
        .with_variable(country())
        .with_variable(site())
        .with_variable(zone())
        .annotation(alert_annotation("security"))
        .with_panel(bars_over_time("Events by kind", BY_KIND, width=24).decimals(0))
        .with_panel(bars_over_time("Denied, forced and held-open doors", DOOR_TIMELINE).decimals(0))
        .with_panel(
            time_series("Doors held open", HELD_OPEN)
            .description("How long each held-open door stayed open.")
            .unit("s")
            .draw_style(GraphDrawStyle.POINTS)
            .point_size(8)
        )
        .with_panel(
            table_panel("Events by zone", BY_ZONE)
            .description("Count per zone and kind in the range (the 50 largest).")
            .with_transformation(
                organize({"site": "Site", "zone": "Zone", "kind": "Kind", "events": "Events"})
            )
        )
        .with_panel(
            table_panel("Camera state", CAMERAS)
            .description("Last offline/tamper event per camera in the range.")
            .with_transformation(
                organize(
                    {
                        "since": "Since",
                        "site": "Site",
                        "zone": "Zone",
                        "camera": "Camera",
                        "kind": "State",
                    }
                )
            )
            .override_by_name(
                "kind",
                props(
                    cell="color-background",
                    mappings=[
                        value_colours(
                            {
                                "camera_offline": ("offline", "orange"),
                                "camera_tamper": ("tampered", "red"),
                            }
                        )
                    ],
                ),
            )
        )
    )
