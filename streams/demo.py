"""A small built-in producer for `make demo`: a few minutes of a two-site fleet, plus some
malformed records so the dead-letter path shows too. (The fleet simulator supersedes it.)"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from schemas.audit import Actor, AuditEvent
from schemas.gpu import GpuSample
from schemas.physical import PhysicalEvent
from schemas.power import PowerReading
from schemas.settings import TopicSettings

SITES = (("fra-1", "DE"), ("par-1", "FR"))
Record = tuple[str, bytes, bytes]

MALFORMED: tuple[bytes, ...] = (
    b"{not json",
    b'{"family": "gpu", "site_id": "fra-1"}',
    b'{"schema_version": "9", "event_id": "x", "site_id": "fra-1", "country": "DE"}',
    "\u00ff\u00fe binary".encode("latin-1"),
)


def _record(topic: str, event: BaseModel, site: str) -> Record:
    return topic, site.encode(), event.model_dump_json(exclude_none=True).encode()


def demo_records(
    topics: TopicSettings,
    *,
    minutes: int = 5,
    gpus: int = 8,
    seed: int = 7,
    sites: tuple[tuple[str, str], ...] = SITES,
) -> Iterator[Record]:
    """Deterministic records: one GPU sample per GPU and power reading per site every 10 s,
    a few badge swipes and audit events, then the malformed ones."""
    rng = random.Random(seed)  # noqa: S311 - simulated data, not security
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes)
    for step in range(minutes * 6):
        ts = start + timedelta(seconds=10 * step)
        for site, country in sites:
            envelope = {
                "site_id": site,
                "country": country,
                "ts": ts,
                "source": f"{site}-collector",
            }
            site_power = 0.0
            for gpu in range(gpus):
                util = max(0.0, min(100.0, rng.gauss(70, 15)))
                power = 80 + 6 * util + rng.uniform(-10, 10)
                site_power += power
                yield _record(
                    topics.gpu,
                    GpuSample(
                        **envelope,
                        event_id=f"{site}-gpu{gpu}-{step}",
                        node=f"{site}-node-{gpu // 4:02d}",
                        gpu_index=gpu % 4,
                        gpu_uuid=f"GPU-{site}-{gpu:04d}",
                        model_name="NVIDIA H100 80GB HBM3",
                        gpu_util_pct=round(util, 1),
                        gpu_temp_c=round(35 + util * 0.4, 1),
                        power_usage_w=round(power, 1),
                        fb_used_mib=int(util * 800),
                    ),
                    site,
                )
            yield _record(
                topics.power,
                PowerReading(
                    **envelope,
                    event_id=f"{site}-power-{step}",
                    scope="site",
                    scope_id=site,
                    power_w=round(site_power * 1.35, 1),
                    capacity_w=20_000.0,
                ),
                site,
            )
            if step % 3 == 0:
                yield _record(
                    topics.physical,
                    PhysicalEvent(
                        **envelope,
                        event_id=f"{site}-badge-{step}",
                        kind=rng.choice(["access_granted", "access_granted", "access_denied"]),
                        zone_type="door",
                        zone_id=f"{site}-hall-1-door-a",
                        device_id=f"{site}-reader-1",
                        badge_id=f"badge-{rng.randint(1000, 1010)}",
                        holder=f"staff-{rng.randint(1, 10)}",
                    ),
                    site,
                )
            if step % 10 == 0:
                yield _record(
                    topics.audit,
                    AuditEvent(
                        **envelope,
                        event_id=f"{site}-audit-{step}",
                        action="data_transfer",
                        actor=Actor(id=f"operator-{rng.randint(1, 3)}"),
                        dataset_id="clinical-notes-v3",
                        classification="restricted",
                        source_country=country,
                        destination_country=country,
                        encrypted=True,
                    ),
                    site,
                )
    for raw in MALFORMED:
        yield topics.gpu, sites[0][0].encode(), raw
