"""The site registry on a real worker, Kafka and InfluxDB: rules judge a badge by the site's own
clock, an event whose country disagrees with its site's is dead-lettered and stored nowhere, and
an edit of the registry file takes effect without a restart (a broken edit is refused)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agents.rules.fixtures import build_event
from streams.admin.produce import produce
from tests.integration.agents.audit_harness import servers  # noqa: F401 - fixture
from tests.integration.pipeline import Isolated, log_lines, wait_for

pytestmark = pytest.mark.usefixtures("servers")

ZONES = [
    "Pacific/Honolulu",
    "America/Anchorage",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Sao_Paulo",
    "Atlantic/Azores",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Athens",
    "Asia/Riyadh",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Brisbane",
    "Pacific/Noumea",
    "Pacific/Auckland",
]
AFTER_HOURS = "sec.after_hours_gpu_hall"


def zone_at(instant: datetime, hours: range) -> str:
    """A real time zone whose local hour at `instant` is in `hours`."""
    for name in ZONES:
        if instant.astimezone(ZoneInfo(name)).hour in hours:
            return name
    raise AssertionError(f"no zone of {ZONES} has a local hour in {hours} at {instant}")


def site(site_id: str, country: str, tz: str, hall_kind: str = "gpu_hall") -> dict[str, object]:
    """Working hours 08:00-18:00 every day: the local hour alone decides after hours."""
    return {
        "id": site_id,
        "country": country,
        "tz": tz,
        "weekend": [],
        "holidays": {"public": False},
        "zones": [{"id": "gpu-hall-1", "kind": hall_kind}],
    }


def write_registry(path: Path, *sites: dict[str, object]) -> Path:
    path.write_text(json.dumps({"version": 1, "sites": list(sites)}))  # JSON is YAML
    return path


def event(
    family: str, site_id: str, country: str, name: str, ts: datetime, **fields: object
) -> bytes:
    spec = {"family": family, "site_id": site_id, "country": country, "ts": ts.isoformat()}
    return build_event(spec | fields, name).model_dump_json(exclude_none=True).encode()


def badge(site_id: str, country: str, name: str, ts: datetime) -> bytes:
    hall = {"zone_type": "hall", "zone_id": "gpu-hall-1", "badge_id": "B-1234"}
    return event("physical", site_id, country, name, ts, kind="access_granted", **hall)


def after_hours_alerts(pipeline: Isolated, expected: int) -> list[dict[str, object]]:
    raw = pipeline.records([pipeline.settings.topics.alerts_security], expected, timeout_s=10)
    return [alert for alert in map(json.loads, raw) if alert["rule_id"] == AFTER_HOURS]


def test_a_night_badge_is_judged_by_the_sites_own_clock(unique: str, tmp_path: Path) -> None:
    instant = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    night_tz, day_tz = zone_at(instant, range(0, 5)), zone_at(instant, range(10, 16))
    night, day = f"n{unique}-night", f"n{unique}-day"
    registry = write_registry(
        tmp_path / "sites.yaml", site(night, "JP", night_tz), site(day, "DE", day_tz)
    )
    pipeline = Isolated(unique, tmp_path, SOVWATCH_SITES__REGISTRY=str(registry))
    topic = pipeline.settings.topics.physical
    with pipeline.worker():
        produce(
            pipeline.settings.kafka,
            [
                (topic, night.encode(), badge(night, "JP", "b-night", instant)),
                (topic, day.encode(), badge(day, "DE", "b-day", instant)),
            ],
        )
        assert wait_for(lambda: pipeline.points_by_measurement(f"n{unique}-").total() == 2), (
            "both badge events stored"
        )
        alerts = after_hours_alerts(pipeline, expected=1)
    assert [alert["site_id"] for alert in alerts] == [night], (
        f"{instant} is night in {night_tz} and day in {day_tz}: {alerts}"
    )
    local = instant.astimezone(ZoneInfo(night_tz))
    assert f"{local:%Y-%m-%d %H:%M}" in str(alerts[0]["message"]), alerts[0]["message"]


def test_a_country_other_than_the_registered_one_is_dead_lettered_and_stored_nowhere(
    unique: str, tmp_path: Path
) -> None:
    osa, fra = f"c{unique}-osa", f"c{unique}-fra"
    registry = write_registry(
        tmp_path / "sites.yaml", site(osa, "JP", "Asia/Tokyo"), site(fra, "DE", "Europe/Berlin")
    )
    pipeline = Isolated(unique, tmp_path, SOVWATCH_SITES__REGISTRY=str(registry))
    topics = pipeline.settings.topics
    now = datetime.now(UTC)
    duress = json.loads(badge(osa, "DE", "p-osa", now)) | {"kind": "duress"}
    records = [
        (topics.gpu, osa.encode(), _gpu(osa, "DE", "g-osa", now)),
        (topics.physical, osa.encode(), json.dumps(duress).encode()),
        (topics.audit, osa.encode(), _audit(osa, "DE", "a-osa", now)),
        (topics.gpu, fra.encode(), _gpu(fra, "DE", "g-fra", now)),  # the control: stored
        (topics.audit, fra.encode(), _audit(fra, "DE", "a-fra", now)),
    ]
    with pipeline.worker() as worker:
        produce(pipeline.settings.kafka, records)
        letters = [json.loads(raw) for raw in pipeline.dead_letters(expected=3)]
        assert wait_for(lambda: worker.metric("sovwatch_audit_records_total") >= 1)
        assert wait_for(lambda: pipeline.points_by_measurement(fra).total() >= 2)
        alerts = [json.loads(a) for a in pipeline.records(pipeline.alert_topics(), 1, 5)]
    assert sorted(letter["topic"] for letter in letters) == sorted(
        [topics.gpu, topics.physical, topics.audit]
    )
    for letter in letters:
        assert letter["reason"] == f"site {osa} is registered in JP, the event says DE", letter
    assert pipeline.points_by_measurement(osa) == {}  # telemetry, physical and audit buckets
    assert [a for a in alerts if a["site_id"] == osa] == []  # the duress raised nothing


def test_a_registry_edit_takes_effect_without_a_restart(unique: str, tmp_path: Path) -> None:
    instant = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    night = f"e{unique}-night"
    night_tz = zone_at(instant, range(0, 5))
    registry = write_registry(tmp_path / "sites.yaml", site(night, "JP", night_tz, "office"))
    pipeline = Isolated(
        unique,
        tmp_path,
        SOVWATCH_SITES__REGISTRY=str(registry),
        SOVWATCH_SITES__RELOAD_INTERVAL_S="0.5",
    )
    topic = pipeline.settings.topics.physical
    with pipeline.worker() as worker:
        produce(
            pipeline.settings.kafka, [(topic, night.encode(), badge(night, "JP", "b1", instant))]
        )
        assert wait_for(lambda: pipeline.points_by_measurement(night).total() == 1)
        assert after_hours_alerts(pipeline, expected=1) == [], "an office is no GPU hall"

        registry.write_text("version: 1\nsites: [{id: broken}]\n")
        assert wait_for(lambda: bool(log_lines(worker.log, "refused"))), "broken edit refused"
        write_registry(registry, site(night, "JP", night_tz, "gpu_hall"))
        assert wait_for(lambda: bool(log_lines(worker.log, "zones changed"))), (
            f"reload not logged: {log_lines(worker.log, 'site registry')}"
        )
        later = instant + timedelta(seconds=1)
        produce(pipeline.settings.kafka, [(topic, night.encode(), badge(night, "JP", "b2", later))])
        assert wait_for(lambda: pipeline.points_by_measurement(night).total() == 2)
        alerts = after_hours_alerts(pipeline, expected=1)
    assert [alert["evidence_event_ids"] for alert in alerts] == [["b2"]], alerts


def _gpu(site_id: str, country: str, name: str, ts: datetime) -> bytes:
    return event("gpu", site_id, country, name, ts, gpu_temp_c=40)


def _audit(site_id: str, country: str, name: str, ts: datetime) -> bytes:
    key = {"key_id": "k-1", "key_custodian": "national-kms"}
    return event("audit", site_id, country, name, ts, action="key_use", **key)
