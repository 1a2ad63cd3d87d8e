"""People and processes at a site: badge traffic that follows shifts and the sites' access policy,
and sovereignty audit events (key use, transfers, exports, sessions, approvals) at realistic rates.

The baseline is policy-abiding by construction, so every alert on a simulated run comes from an
injected incident: GPU halls are entered only in the site's working hours on its working days,
by its own clock and calendar (`Site.calendar`, as the security pack's `after_hours(ts)` judges
them; night staff use the NOC), cages are opened by two people, transfers abroad carry an
approval and nothing restricted, weights exports follow an approval, admin sessions are opened
in-country by cleared staff shortly after someone badged in, and end.

A `Unit` is a list of drafts that happen together or not at all (a cage visit, a session): an
incident's `Quiet` that drops one of them drops the unit.
"""

from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from streams.simulator.draft import Draft
from streams.simulator.fleet import Site

Unit = list[Draft]
DATASETS = ("clinical-notes-v3", "census-2025", "tax-records", "maps-public", "speech-corpus-fr")
CLASSES = ("public", "internal", "restricted", "secret")
MODELS = ("llm-sovereign-70b", "vision-med-8b", "speech-asr-2b")
PATROL_S = 40 * 60
KEY_USE_S = 120


def policy_hours(site: Site, ts: datetime) -> bool:
    """GPU halls may be entered: the site's working hours on a working day that is no holiday,
    by its calendar (the security pack's `not after_hours(ts)`)."""
    return not site.calendar.after_hours(ts)


def day_shift(site: Site, ts: datetime) -> bool:
    """The busy shift, 07:00-19:00 by the site's clock."""
    return 7 <= site.calendar.local_hour(ts) < 19


def abroad(site: Site, countries: list[str]) -> str:
    """A foreign country to send data to: another fleet country, or US."""
    others = [c for c in countries if c != site.country]
    return others[zlib.crc32(site.id.encode()) % len(others)] if others else "US"


@dataclass
class SiteActivity:
    """Generates the site's physical and audit baseline, step by step."""

    site: Site
    countries: list[str]
    end: datetime
    last_badge_in: datetime | None = None
    _seq: int = 0
    _last_denied: datetime | None = None
    _phase: int = field(init=False)

    def __post_init__(self) -> None:
        self._phase = zlib.crc32(self.site.id.encode()) % PATROL_S

    # -- helpers ---------------------------------------------------------------------------
    def _id(self, kind: str) -> str:
        self._seq += 1
        return f"{self.site.id}.{kind}.{self._seq}"

    def draft(self, ts: datetime, family: str, tag: str, **fields: Any) -> Draft:
        return Draft(ts, family, self.site.id, self.site.country, self._id(tag), fields)

    def staff(self, rng: random.Random) -> tuple[str, str]:
        """(badge id, holder) of a staff member."""
        n = rng.randint(1, 40)
        return f"B{zlib.crc32(self.site.id.encode()) % 9000 + 1000}-{n:03d}", f"staff-{n:03d}"

    def actor(self, rng: random.Random, *, admin: bool = False) -> dict[str, Any]:
        n = rng.randint(1, 12 if admin else 40)
        return {
            "id": f"{self.site.id}-{'admin' if admin else 'user'}-{n:02d}",
            "kind": "human",
            "role": "sre" if admin else "data-engineer",
            "organisation": "operator",
            "clearance": "secret" if admin and n % 3 == 0 else "restricted",
            "nationality": self.site.country,
        }

    def badge(
        self, rng: random.Random, ts: datetime, kind: str, zone_type: str, zone: str, **extra: Any
    ) -> Draft:
        badge_id, holder = self.staff(rng)
        fields = {
            "kind": kind,
            "zone_type": zone_type,
            "zone_id": zone,
            "device_id": f"{zone}-reader",
            "badge_id": badge_id,
            "holder": holder,
            **extra,
        }
        return self.draft(ts, "physical", "badge", **fields)

    # -- one step --------------------------------------------------------------------------
    def step(self, rng: random.Random, t0: datetime, step_s: float) -> list[Unit]:
        units: list[Unit] = []
        site = self.site
        day = day_shift(site, t0)

        def happens(per_hour: float) -> list[datetime]:
            """Poisson arrivals in this step, as timestamps inside it."""
            limit, count, p = math.exp(-per_hour * step_s / 3600), 0, rng.random()
            while p > limit:
                count += 1
                p *= rng.random()
            return sorted(t0 + timedelta(seconds=rng.uniform(0, step_s)) for _ in range(count))

        epoch = int(t0.timestamp())
        # Physical: patrols into the NOC around the clock, lobby traffic by shift.
        if (epoch - self._phase) // PATROL_S != (epoch + int(step_s) - self._phase) // PATROL_S:
            at = t0 + timedelta(seconds=rng.uniform(0, step_s))
            units.append([self.badge(rng, at, "access_granted", "room", f"{site.id}-noc")])
        for at in happens(12 if day else 2):
            direction = rng.choice(("in", "out"))
            units.append(
                [
                    self.badge(
                        rng,
                        at,
                        "access_granted",
                        "building",
                        f"{site.id}-lobby",
                        direction=direction,
                    )
                ]
            )
        for hall in range(1, site.halls + 1):
            for at in happens(3):
                if policy_hours(site, at):
                    zone = f"{site.id}-gpu-hall-{hall}"
                    units.append([self.badge(rng, at, "access_granted", "hall", zone)])
        for at in happens(0.4 if day else 0.1):
            units.append(self._cage_visit(rng, at))
        for at in happens(0.4):
            if self._last_denied is None or at - self._last_denied > timedelta(minutes=10):
                self._last_denied = at
                units.append([self.badge(rng, at, "access_denied", "building", f"{site.id}-lobby")])
        for at in happens(0.5 if day else 0.1):
            fields = {
                "kind": "door_held_open",
                "zone_type": "door",
                "zone_id": f"{site.id}-loading-dock",
                "device_id": f"{site.id}-loading-dock-contact",
                "duration_s": round(rng.uniform(8, 45), 1),
            }
            units.append([self.draft(at, "physical", "door", **fields)])
        for at in happens(0 if day else 0.3):
            fields = {
                "kind": "motion_after_hours",
                "zone_type": "perimeter",
                "zone_id": f"{site.id}-yard",
            }
            units.append([self.draft(at, "physical", "motion", **fields)])
        # Audit: KMS key use every two minutes, data movement, exports, sessions, support.
        if (epoch - self._phase) // KEY_USE_S != (epoch + int(step_s) - self._phase) // KEY_USE_S:
            at = t0 + timedelta(seconds=rng.uniform(0, step_s))
            units.append([self._key_use(at)])
        for at in happens(6 if day else 1):
            units.append([self._transfer(rng, at, site.country, rng.choice(CLASSES))])
        for at in happens(0.3):
            units.append(
                [
                    self._transfer(
                        rng, at, abroad(site, self.countries), rng.choice(CLASSES[:2]), "CHG"
                    )
                ]
            )
        for at in happens(1):
            units.append(
                [
                    self._transfer(
                        rng, at, site.country, rng.choice(CLASSES), action="replica_created"
                    )
                ]
            )
        for at in happens(0.25):
            units.append(self._export(rng, at))
        for at in happens(1.5 if day else 0.3):
            unit = self._session(rng, at)
            if unit:
                units.append(unit)
        for at in happens(0.15):
            units.append([self._support(rng, at)])
        return units

    # -- units -----------------------------------------------------------------------------
    def _cage_visit(self, rng: random.Random, at: datetime) -> Unit:
        zone = f"{self.site.id}-cage-{rng.randint(1, 6):02d}"
        first = self.badge(rng, at, "access_granted", "cage", zone)
        second = self.badge(
            rng, at + timedelta(seconds=rng.uniform(20, 90)), "access_granted", "cage", zone
        )
        while second.fields["badge_id"] == first.fields["badge_id"]:
            second = self.badge(rng, second.ts, "access_granted", "cage", zone)
        opened = self.draft(
            at + timedelta(seconds=120),
            "physical",
            "cage",
            kind="cage_opened",
            zone_type="cage",
            zone_id=zone,
            badge_id=first.fields["badge_id"],
            holder=first.fields["holder"],
        )
        return [first, second, opened]

    def _key_use(self, at: datetime) -> Draft:
        actor = {"id": f"svc-storage-{self.site.id}", "kind": "service", "role": "storage"}
        return self.draft(
            at,
            "audit",
            "kms",
            action="key_use",
            actor=actor,
            key_id=f"kek-{self.site.id}-01",
            key_custodian="site-hsm",
            source_country=self.site.country,
        )

    def _transfer(
        self,
        rng: random.Random,
        at: datetime,
        destination: str,
        classification: str,
        ticket: str | None = None,
        action: str = "data_transfer",
    ) -> Draft:
        fields: dict[str, Any] = {
            "action": action,
            "actor": self.actor(rng),
            "dataset_id": rng.choice(DATASETS),
            "classification": classification,
            "source_country": self.site.country,
            "source_region": f"{self.site.country.lower()}-a",
            "destination_country": destination,
            "destination_region": f"{destination.lower()}-b",
            "encrypted": True,
        }
        if ticket:
            fields["approval_ref"] = f"{ticket}-{rng.randint(1000, 9999)}"
        return self.draft(at, "audit", "xfer", **fields)

    def _export(self, rng: random.Random, at: datetime) -> Unit:
        model = rng.choice(MODELS)
        ref = f"CHG-{rng.randint(1000, 9999)}"
        approver = self.actor(rng, admin=True)
        approval = self.draft(
            at,
            "audit",
            "appr",
            action="approval_granted",
            actor=approver,
            model_id=model,
            approval_ref=ref,
        )
        export = self.draft(
            at + timedelta(minutes=rng.uniform(5, 20)),
            "audit",
            "export",
            action="model_weights_export",
            actor=self.actor(rng),
            model_id=model,
            classification="restricted",
            source_country=self.site.country,
            destination_country=self.site.country,
            encrypted=True,
            key_custodian="site-hsm",
            approval_ref=ref,
        )
        return [approval, export]

    def _session(self, rng: random.Random, at: datetime) -> Unit:
        """An in-country admin session, only if someone badged in within 90 min; it ends."""
        if self.last_badge_in is None or at - self.last_badge_in > timedelta(minutes=90):
            return []
        ends = at + timedelta(minutes=rng.uniform(15, 120))
        if ends >= self.end:
            return []
        actor = self.actor(rng, admin=True)
        session = f"{self.site.id}-s{self._seq + 1}"
        common = {"actor": actor, "session_id": session, "source_country": self.site.country}
        unit = [self.draft(at, "audit", "sess", action="admin_session_start", **common)]
        for _ in range(rng.randint(1, 4)):
            when = at + (ends - at) * rng.uniform(0.1, 0.9)
            command = rng.choice(
                ("systemctl restart dcgm-exporter", "nvidia-smi -r -i 3", "kubectl drain")
            )
            unit.append(
                self.draft(
                    when, "audit", "cmd", action="privileged_command", command=command, **common
                )
            )
        unit.append(self.draft(ends, "audit", "sess", action="admin_session_end", **common))
        return unit

    def _support(self, rng: random.Random, at: datetime) -> Draft:
        actor = {
            "id": f"vendor-{rng.randint(1, 5)}",
            "kind": "human",
            "role": "vendor-support",
            "organisation": "gpu-vendor",
            "clearance": "restricted",
            "nationality": self.site.country,
        }
        return self.draft(
            at,
            "audit",
            "support",
            action="support_session",
            actor=actor,
            session_id=f"{self.site.id}-v{self._seq + 1}",
            source_country=self.site.country,
            approval_ref=f"TCK-{rng.randint(100, 999)}",
        )
