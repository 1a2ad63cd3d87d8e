"""Realistic points for the dashboards: events built with the schemas models and encoded by the
pipeline's own `agents.points.to_line`; alerts and audit checkpoints as the alert sink and the
audit agent write them (measurements `alert` and `audit_checkpoint`).

Every site id carries a per-run prefix, so a test can select exactly its own series with the
dashboards' site variable while other data lives in the same buckets.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS

from agents.lineprotocol import FieldValue, encode_line
from agents.points import to_line
from schemas.alert import Alert, Severity, Team, alert_id
from schemas.audit import Actor, AuditEvent
from schemas.decode import Event
from schemas.gpu import GpuSample
from schemas.physical import PhysicalEvent, PhysicalKind, ZoneType
from schemas.power import PowerReading
from streams.settings import InfluxSettings

STEPS = 30  # one sample every 30 s over the last 15 minutes
STEP = timedelta(seconds=30)


@dataclass(frozen=True)
class Fleet:
    prefix: str
    start: datetime

    @property
    def sites(self) -> tuple[tuple[str, str], ...]:
        return ((f"{self.prefix}-fra", "DE"), (f"{self.prefix}-par", "FR"))

    @property
    def site_regex(self) -> str:
        """What the dashboards' site variable renders to when both sites are selected."""
        return "(" + "|".join(site for site, _ in self.sites) + ")"


def _gpu(fleet: Fleet, rng: random.Random, site: str, country: str, step: int) -> Iterator[Event]:
    ts = fleet.start + step * STEP
    for node in range(2):
        for index in range(4):
            util = max(0.0, min(100.0, rng.gauss(70, 20)))
            hot = node == 1 and index == 3
            yield GpuSample(
                event_id=f"{site}-n{node}g{index}-{step}",
                site_id=site,
                country=country,
                ts=ts,
                source=f"{site}-dcgm",
                node=f"{site}-node-{node:02d}",
                gpu_index=index,
                gpu_uuid=f"GPU-{site}-{node}{index}",
                model_name="NVIDIA H100 80GB HBM3",
                gpu_util_pct=round(util, 1),
                gpu_temp_c=round(40 + util * 0.4 + (12 if hot else 0), 1),
                power_usage_w=round(90 + 6 * util, 1),
                xid_errors=79 if hot and step > STEPS // 2 else 0,
                ecc_sbe_volatile_total=step // 5 if hot else 0,
                ecc_dbe_volatile_total=1 if hot and step > STEPS // 2 else 0,
                clock_throttle_reasons=0x20 if hot and step % 4 == 0 else 0,
            )


def _power(fleet: Fleet, site: str, country: str, step: int) -> Iterator[Event]:
    ts = fleet.start + step * STEP
    envelope = {"site_id": site, "country": country, "ts": ts, "source": f"{site}-redfish"}
    it_kw = 400.0 + 10 * (step % 3)
    hours = step * STEP.total_seconds() / 3600
    yield PowerReading(
        **envelope,
        event_id=f"{site}-site-{step}",
        scope="site",
        scope_id=site,
        power_w=it_kw * 1.3 * 1000,
        capacity_w=1_000_000.0,
        facility_energy_kwh=round(10_000 + it_kw * 1.3 * hours, 3),
        it_energy_kwh=round(7_700 + it_kw * hours, 3),
    )
    for hall in (1, 2):
        yield PowerReading(
            **envelope,
            event_id=f"{site}-hall{hall}-{step}",
            scope="hall",
            scope_id=f"hall-{hall}",
            power_w=it_kw * 500.0,
            capacity_w=300_000.0,
            inlet_temp_c=24.5,
        )
        for rack in range(3):
            yield PowerReading(
                **envelope,
                event_id=f"{site}-hall{hall}-rack{rack}-{step}",
                scope="rack",
                scope_id=f"hall-{hall}-rack-{rack:02d}",
                power_w=12_000.0 + 3_500.0 * rack,
                capacity_w=20_000.0,
            )


PHYSICAL: tuple[tuple[PhysicalKind, ZoneType, str, dict[str, Any]], ...] = (
    ("access_granted", "door", "hall-1-door-a", {"badge_id": "badge-1001", "holder": "staff-1"}),
    ("access_denied", "door", "hall-1-door-a", {"badge_id": "badge-1009", "holder": "staff-9"}),
    ("door_forced_open", "door", "hall-2-door-b", {}),
    ("door_held_open", "door", "hall-2-door-b", {"duration_s": 95.0}),
    ("camera_offline", "hall", "hall-2", {"device_id": "cam-07"}),
    ("camera_tamper", "cage", "hall-1-cage-3", {"device_id": "cam-12"}),
)


def _physical(fleet: Fleet, site: str, country: str, step: int) -> Iterator[Event]:
    kind, zone_type, zone, extra = PHYSICAL[step % len(PHYSICAL)]
    yield PhysicalEvent(
        event_id=f"{site}-phys-{step}",
        site_id=site,
        country=country,
        ts=fleet.start + step * STEP,
        source=f"{site}-pacs",
        kind=kind,
        zone_type=zone_type,
        zone_id=zone,
        **extra,
    )


def _audit(fleet: Fleet, site: str, country: str, step: int) -> Iterator[Event]:
    envelope = {
        "event_id": f"{site}-audit-{step}",
        "site_id": site,
        "country": country,
        "ts": fleet.start + step * STEP,
        "source": f"{site}-audit",
    }
    match step % 5:
        case 0:
            yield AuditEvent(
                **envelope,
                action="data_transfer",
                actor=Actor(id="operator-1", role="data-engineer"),
                dataset_id="clinical-notes-v3",
                classification="restricted",
                source_country=country,
                destination_country="US" if step % 10 == 0 else country,
                encrypted=True,
            )
        case 1:
            yield AuditEvent(
                **envelope,
                action="model_weights_export",
                outcome="denied" if step % 2 else "success",
                actor=Actor(id="researcher-4", organisation="partner-lab"),
                model_id="llm-7b-sovereign",
                classification="secret",
                source_country=country,
                destination_country="CH",
            )
        case 2:
            yield AuditEvent(
                **envelope,
                action="admin_session_start",
                actor=Actor(id="sre-2", role="sre", organisation="operator"),
                session_id=f"sess-{step}",
            )
        case 3:
            yield AuditEvent(
                **envelope,
                action="support_session",
                actor=Actor(id="vendor-9", role="vendor-support", organisation="gpu-vendor"),
                session_id=f"sup-{step}",
                approval_ref="CHG-1042",
            )
        case _:
            yield AuditEvent(
                **envelope,
                action="privileged_command",
                actor=Actor(id="sre-2", role="sre"),
                session_id=f"sess-{step - 2}",
                command="systemctl restart dcgm-exporter",
            )


def _alerts(fleet: Fleet, site: str, country: str) -> Iterator[str]:
    rules: tuple[tuple[str, Severity, Team, str], ...] = (
        ("gpu-overheat", "high", "ops", "GPU temperature above 85 °C"),
        ("door-forced-open", "critical", "security", "Door forced open in hall-2"),
        ("cross-border-transfer", "medium", "compliance", "Restricted data sent to US"),
    )
    for n, (rule, severity, team, message) in enumerate(rules):
        window_start = fleet.start + (5 + n) * STEP
        alert = Alert(
            id=alert_id(rule, site, window_start),
            rule_id=rule,
            severity=severity,
            team=team,
            site_id=site,
            country=country,
            window_start=window_start,
            window_end=window_start + STEP,
            evidence_event_ids=[f"{site}-evidence-{n}"],
            message=f"{message} at {site}",
            created_ts=window_start + STEP,
        )
        tags = {
            "rule_id": alert.rule_id,
            "severity": alert.severity,
            "team": alert.team,
            "site": alert.site_id,
            "country": alert.country,
        }
        fields: dict[str, FieldValue] = {
            "alert_id": alert.id,
            "count": len(alert.evidence_event_ids),
            "message": alert.message,
        }
        yield encode_line("alert", tags, fields, int(window_start.timestamp() * 1e9))


def _checkpoints(fleet: Fleet, site: str, country: str) -> Iterator[str]:
    for n in range(3):
        ts = fleet.start + (10 * n + 5) * STEP
        fields: dict[str, FieldValue] = {
            "first_seq": 100 * n + 1,
            "last_seq": 100 * (n + 1),
            "verified": True,
        }
        yield encode_line(
            "audit_checkpoint",
            {"site": site, "country": country},
            fields,
            int(ts.timestamp() * 1e9),
        )


def lines(fleet: Fleet, seed: int = 11) -> dict[str, list[str]]:
    """Line protocol by bucket kind (telemetry, audit, alerts)."""
    rng = random.Random(seed)
    out: dict[str, list[str]] = {"telemetry": [], "audit": [], "alerts": []}
    for site, country in fleet.sites:
        for step in range(STEPS):
            events = [
                *_gpu(fleet, rng, site, country, step),
                *_power(fleet, site, country, step),
                *_physical(fleet, site, country, step),
                *_audit(fleet, site, country, step),
            ]
            for event in events:
                bucket, line = to_line(event)
                out[bucket].append(line)
        out["alerts"].extend(_alerts(fleet, site, country))
        out["audit"].extend(_checkpoints(fleet, site, country))
    return out


def write(influx: InfluxSettings, fleet: Fleet) -> int:
    """Write the fleet's points into the configured buckets; returns the number of lines."""
    buckets = {
        "telemetry": influx.buckets.telemetry,
        "audit": influx.buckets.audit,
        "alerts": influx.buckets.alerts,
    }
    written = 0
    with InfluxDBClient(
        url=influx.url, token=influx.token.get_secret_value(), org=influx.org
    ) as client:
        api = client.write_api(write_options=SYNCHRONOUS)
        for kind, batch in lines(fleet).items():
            api.write(bucket=buckets[kind], record=batch)
            written += len(batch)
    return written


def remove(influx: InfluxSettings, fleet: Fleet) -> None:
    """Delete the fleet's points from every bucket (delete predicates cannot OR: one per site)."""
    start = fleet.start - timedelta(hours=1)
    stop = datetime.now(UTC) + timedelta(hours=1)
    buckets = (influx.buckets.telemetry, influx.buckets.audit, influx.buckets.alerts)
    with InfluxDBClient(
        url=influx.url, token=influx.token.get_secret_value(), org=influx.org
    ) as client:
        deleter = client.delete_api()
        for site, _ in fleet.sites:
            for bucket in buckets:
                deleter.delete(start, stop, f'site="{site}"', bucket=bucket, org=influx.org)


def new_fleet(prefix: str) -> Fleet:
    """A fleet whose last sample is a minute ago."""
    start = datetime.now(UTC).replace(microsecond=0) - STEPS * STEP - timedelta(minutes=1)
    return Fleet(prefix, start)
