"""The report's incident list: the start in UTC and, with a site registry, by the site's clock
(the same `Registry.local_time` as `alerts tail`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from agents.sites.lint import load_registry
from dashboards.queries.frames import Field, Frame
from streams.report.summary import Incident, _rows, incidents_html
from streams.simulator.fleet import DEFAULT_REGISTRY

STARTED = datetime(2026, 1, 6, 17, 30, tzinfo=UTC)


def incident(site: str) -> Incident:
    return Incident(STARTED, site, "medium", "security", "sec.after_hours_gpu_hall", "firing", "x")


def test_an_incident_shows_its_site_local_time_next_to_utc() -> None:
    local_time = load_registry(Path(DEFAULT_REGISTRY)).local_time
    page = incidents_html([incident("tyo-1"), incident("fra-1")], local_time)
    assert "<td>2026-01-06 17:30:00Z</td><td>2026-01-07 02:30 JST (Wed)</td>" in page
    assert "<td>2026-01-06 18:30 CET (Tue)</td>" in page
    assert "<th>site-local time</th>" in page


def test_without_a_registry_the_list_is_in_utc_and_says_how_to_get_local_times() -> None:
    page = incidents_html([incident("tyo-1")])
    assert "<th>site-local time</th>" not in page and "JST" not in page
    assert "configure a site registry" in page
    assert "No incidents in this period" in incidents_html([])


def test_incident_rows_are_read_from_the_alert_frames() -> None:
    frame = Frame(
        "",
        [Field("started", "time", [STARTED]), Field("site", "string", ["tyo-1"])],
        False,
    )
    assert _rows(frame) == [{"started": STARTED, "site": "tyo-1"}]
