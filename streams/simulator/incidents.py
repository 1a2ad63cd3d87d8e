"""Injected incidents, one injector per compliance rule, and the ground truth they leave.

An injector builds a `Plan` for one site at one time: events it adds, baseline events it silences
(`Quiet`) or changes (`Patch`), and the truth: the rule expected to fire, the group, and the time
window the alert's window must overlap. `plan_incidents` places injectors on sites and times so
that no two incidents touch the same part of a site (its "lanes") at once.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from streams.simulator.activity import abroad, policy_hours
from streams.simulator.draft import Draft, Patch, Quiet
from streams.simulator.fleet import Fleet, Site

M = timedelta(minutes=1)
SLOT = timedelta(minutes=5)


@dataclass(frozen=True)
class Incident:
    """Ground truth: `rule` must raise an alert at `site` whose window overlaps [start, end]."""

    id: str
    name: str
    rule: str
    site: str
    group: str
    start: datetime
    end: datetime
    due: datetime  # the earliest event time at which the rule can tell


@dataclass
class Plan:
    start: datetime
    end: datetime
    due: datetime
    group: str = ""
    drafts: list[Draft] = field(default_factory=list)
    quiet: list[Quiet] = field(default_factory=list)
    patches: list[Patch] = field(default_factory=list)
    pue: float | None = None


@dataclass
class Ctx:
    """What an injector knows: where, when, the fleet, the clock's cadence."""

    incident: str
    site: Site
    at: datetime
    rng: random.Random
    countries: list[str]
    step: timedelta
    power_step: timedelta
    sim_start: datetime
    _n: int = 0

    def draft(self, ts: datetime, family: str, **fields: Any) -> Draft:
        self._n += 1
        site = self.site
        return Draft(ts, family, site.id, site.country, f"{self.incident}.{self._n}", fields)

    def node(self) -> tuple[str, int]:
        node = self.site.nodes[self.rng.randrange(len(self.site.nodes))]
        return node.name, self.rng.randrange(self.site.gpus_per_node)

    def physical(
        self, ts: datetime, kind: str, zone: str, zone_type: str = "door", **f: Any
    ) -> Draft:
        return self.draft(ts, "physical", kind=kind, zone_type=zone_type, zone_id=zone, **f)

    def audit(
        self, ts: datetime, action: str, actor: dict[str, Any] | None = None, **f: Any
    ) -> Draft:
        actor = actor or {"id": f"{self.site.id}-admin-07", "clearance": "secret"}
        return self.draft(ts, "audit", action=action, actor=actor, **f)


Build = Callable[[Ctx], Plan]


@dataclass(frozen=True)
class Injector:
    name: str
    rule: str
    build: Build
    lanes: Mapping[str, tuple[timedelta, timedelta]]  # lane -> (before, after) the time `at`
    when: Callable[[Site, datetime], bool] = lambda site, at: True
    at_start: bool = False  # the incident spans the run from its start (a site's lifetime PUE)


# -- ops ---------------------------------------------------------------------------------------
def _gpu_patch(ctx: Ctx, minutes: float, apply: Callable[[Draft], dict[str, Any]]) -> Plan:
    node, gpu = ctx.node()
    end = ctx.at + timedelta(minutes=minutes)
    patch = Patch(ctx.site.id, "gpu", ctx.at, end, {"node": node, "gpu_index": gpu}, apply)
    return Plan(ctx.at, end, ctx.at, f"{ctx.site.id}/{node}/{gpu}", patches=[patch])


def thermal_runaway(ctx: Ctx) -> Plan:
    def hot(d: Draft) -> dict[str, Any]:
        minutes = (d.ts - ctx.at).total_seconds() / 60
        temp = min(96.0, 87.0 + 1.1 * minutes)
        return {"gpu_temp_c": round(temp, 1), "memory_temp_c": round(temp + 6, 1)}

    plan = _gpu_patch(ctx, 8, hot)
    plan.due = ctx.at + 5 * M
    return plan


def xid_79(ctx: Ctx) -> Plan:
    return _gpu_patch(ctx, ctx.step / M, lambda d: {"xid_errors": 79})


def ecc_double_bit(ctx: Ctx) -> Plan:
    return _gpu_patch(
        ctx,
        5,
        lambda d: {
            "ecc_dbe_volatile_total": 2,
            "retired_pages_pending": 1,
            "uncorrectable_remapped_rows": 1,  # a DBE on A100/H100 remaps the row
        },
    )


def power_brake(ctx: Ctx) -> Plan:
    plan = _gpu_patch(ctx, 4, lambda d: {"clock_throttle_reasons": 0x80, "sm_clock_mhz": 1200})
    plan.due = ctx.at + 2 * M
    return plan


def rack_over_allocation(ctx: Ctx) -> Plan:
    rack = ctx.site.racks[ctx.rng.randrange(len(ctx.site.racks))]
    end = ctx.at + 6 * M

    def over(d: Draft) -> dict[str, Any]:
        return {"power_w": round(float(d.fields["allocated_w"]) * 1.07, 1)}

    patch = Patch(ctx.site.id, "power", ctx.at, end, {"scope": "rack", "scope_id": rack}, over)
    return Plan(ctx.at, end, ctx.at, f"{ctx.site.id}/{rack}", patches=[patch])


def site_over_budget(ctx: Ctx) -> Plan:
    end = ctx.at + 8 * M
    surge = Patch(
        ctx.site.id,
        "power",
        ctx.at,
        end,
        {"scope": "site"},
        lambda d: {"power_w": round(ctx.site.capacity_w * 0.97, 1)},
    )
    return Plan(ctx.at, end, ctx.at + 5 * M, ctx.site.id, patches=[surge])


def poor_pue(ctx: Ctx) -> Plan:
    """An hour above the site's PUE target: its registry's, and the 1.5 of old without one."""
    start = ctx.sim_start
    pue = round(max(1.62, ctx.site.pue_target + 0.12), 2)
    return Plan(start, start + 60 * M, start + 60 * M, ctx.site.id, pue=pue)


def node_down(ctx: Ctx) -> Plan:
    node, _ = ctx.node()
    quiet = Quiet(ctx.site.id, "gpu", ctx.at, ctx.at + 12 * M, {"node": node})
    last = ctx.at - ctx.step
    return Plan(last, ctx.at + 12 * M, last + 5 * M, f"{ctx.site.id}/{node}", quiet=[quiet])


def power_collector_down(ctx: Ctx) -> Plan:
    quiet = Quiet(ctx.site.id, "power", ctx.at, ctx.at + 20 * M)
    last = ctx.at - ctx.power_step
    return Plan(last, ctx.at + 20 * M, last + 10 * M, ctx.site.id, quiet=[quiet])


# -- security ----------------------------------------------------------------------------------
def _one(ctx: Ctx, draft: Draft, group: str) -> Plan:
    return Plan(ctx.at, ctx.at, ctx.at, group, drafts=[draft])


def _badge(ctx: Ctx, n: int = 7) -> dict[str, str]:
    return {"badge_id": f"B-{ctx.site.id}-{n:03d}", "holder": f"staff-{n:03d}"}


def forced_door(ctx: Ctx) -> Plan:
    zone = f"{ctx.site.id}-loading-dock"
    return _one(
        ctx,
        ctx.physical(ctx.at, "door_forced_open", zone, device_id=f"{zone}-contact"),
        f"{ctx.site.id}/{zone}",
    )


def propped_door(ctx: Ctx) -> Plan:
    zone = f"{ctx.site.id}-fire-exit-2"
    draft = ctx.physical(
        ctx.at, "door_held_open", zone, device_id=f"{zone}-contact", duration_s=240.0
    )
    return _one(ctx, draft, f"{ctx.site.id}/{zone}")


def tailgating(ctx: Ctx) -> Plan:
    zone = f"{ctx.site.id}-lobby-turnstile"
    return _one(
        ctx,
        ctx.physical(ctx.at, "tailgating", zone, device_id=f"{zone}-sensor"),
        f"{ctx.site.id}/{zone}",
    )


def denied_burst(ctx: Ctx) -> Plan:
    zone = f"{ctx.site.id}-cage-room-door"
    drafts = [
        ctx.physical(
            ctx.at + timedelta(seconds=20 * i), "access_denied", zone, badge_id=f"CLONE-{i}"
        )
        for i in range(6)
    ]
    end = drafts[-1].ts
    return Plan(
        ctx.at, end, ctx.at + 80 * timedelta(seconds=1), f"{ctx.site.id}/{zone}", drafts=drafts
    )


def night_hall_entry(ctx: Ctx) -> Plan:
    zone = f"{ctx.site.id}-gpu-hall-1"
    draft = ctx.physical(ctx.at, "access_granted", zone, "hall", direction="in", **_badge(ctx, 31))
    return _one(ctx, draft, f"{ctx.site.id}/{zone}")


def camera_offline(ctx: Ctx) -> Plan:
    device = f"{ctx.site.id}-cam-h1-03"
    draft = ctx.physical(
        ctx.at, "camera_offline", f"{ctx.site.id}-gpu-hall-1", "hall", device_id=device
    )
    return _one(ctx, draft, f"{ctx.site.id}/{device}")


def lone_cage_opening(ctx: Ctx) -> Plan:
    zone = f"{ctx.site.id}-cage-07"
    badge = _badge(ctx, 12)
    drafts = [
        ctx.physical(ctx.at, "access_granted", zone, "cage", **badge),
        ctx.physical(ctx.at + M, "cage_opened", zone, "cage", **badge),
    ]
    quiet = Quiet(ctx.site.id, "physical", ctx.at - 10 * M, ctx.at + 10 * M, {"zone_id": zone})
    return Plan(ctx.at, ctx.at + 6 * M, ctx.at + 6 * M, f"{ctx.site.id}/{zone}", drafts, [quiet])


def duress(ctx: Ctx) -> Plan:
    zone = f"{ctx.site.id}-lobby"
    return _one(
        ctx,
        ctx.physical(ctx.at, "duress", zone, "building", **_badge(ctx, 3)),
        f"{ctx.site.id}/{zone}",
    )


def passback(ctx: Ctx) -> Plan:
    draft = ctx.physical(
        ctx.at, "antipassback", f"{ctx.site.id}-lobby", "building", **_badge(ctx, 21)
    )
    return _one(ctx, draft, ctx.site.id)


def reader_tamper(ctx: Ctx) -> Plan:
    zone = f"{ctx.site.id}-roof-door"
    device = f"{zone}-reader"
    return _one(
        ctx,
        ctx.physical(ctx.at, "reader_tamper", zone, device_id=device),
        f"{ctx.site.id}/{device}",
    )


# -- sovereignty -------------------------------------------------------------------------------
def _movement(ctx: Ctx, action: str, destination: str, classification: str, **f: Any) -> Draft:
    return ctx.audit(
        ctx.at,
        action,
        source_country=ctx.site.country,
        destination_country=destination,
        classification=classification,
        encrypted=True,
        **f,
    )


def secret_abroad(ctx: Ctx) -> Plan:
    dest = abroad(ctx.site, ctx.countries)
    draft = _movement(
        ctx, "data_transfer", dest, "secret", dataset_id="tax-records", approval_ref="CHG-4242"
    )
    return _one(ctx, draft, f"{ctx.site.id}/{dest}")


def unapproved_replica(ctx: Ctx) -> Plan:
    dest = abroad(ctx.site, ctx.countries)
    draft = _movement(ctx, "replica_created", dest, "public", dataset_id="maps-public")
    return _one(ctx, draft, f"{ctx.site.id}/{dest}")


def weights_abroad(ctx: Ctx) -> Plan:
    dest, model = abroad(ctx.site, ctx.countries), "vision-med-8b"
    approval = ctx.audit(
        ctx.at - 10 * M, "approval_granted", model_id=model, approval_ref="CHG-777"
    )
    export = _movement(
        ctx, "model_weights_export", dest, "internal", model_id=model, approval_ref="CHG-777"
    )
    return Plan(ctx.at, ctx.at, ctx.at, f"{ctx.site.id}/{model}", drafts=[approval, export])


def weights_unapproved(ctx: Ctx) -> Plan:
    model = "llm-sovereign-70b"
    export = _movement(
        ctx,
        "model_weights_export",
        ctx.site.country,
        "restricted",
        model_id=model,
        approval_ref="CHG-1",
    )
    quiet = Quiet(ctx.site.id, "audit", ctx.at - 40 * M, ctx.at + M, {"model_id": model})
    return Plan(ctx.at, ctx.at, ctx.at, f"{ctx.site.id}/{model}", [export], [quiet])


def _session(
    ctx: Ctx, source: str, actor: dict[str, Any], minutes: float | None = 30
) -> list[Draft]:
    common = {"session_id": f"{ctx.incident}-s", "source_country": source}
    drafts = [ctx.audit(ctx.at, "admin_session_start", actor, **common)]
    if minutes is not None:
        drafts.append(ctx.audit(ctx.at + minutes * M, "admin_session_end", actor, **common))
    return drafts


def session_from_abroad(ctx: Ctx) -> Plan:
    actor = {"id": f"{ctx.site.id}-admin-09", "clearance": "secret"}
    drafts = _session(ctx, abroad(ctx.site, ctx.countries), actor)
    return Plan(ctx.at, ctx.at, ctx.at, f"{ctx.site.id}/{actor['id']}", drafts)


def uncleared_command(ctx: Ctx) -> Plan:
    actor = {
        "id": f"{ctx.site.id}-contractor-2",
        "clearance": "internal",
        "organisation": "contractor",
    }
    draft = ctx.audit(
        ctx.at,
        "privileged_command",
        actor,
        command="systemctl stop kms-proxy",
        source_country=ctx.site.country,
    )
    return _one(ctx, draft, f"{ctx.site.id}/{actor['id']}")


def support_without_ticket(ctx: Ctx) -> Plan:
    actor = {"id": "vendor-9", "clearance": "restricted", "organisation": "gpu-vendor"}
    draft = ctx.audit(
        ctx.at,
        "support_session",
        actor,
        session_id=f"{ctx.incident}-v",
        source_country=ctx.site.country,
    )
    return _one(ctx, draft, f"{ctx.site.id}/{actor['id']}")


def foreign_key_custody(ctx: Ctx) -> Plan:
    actor = {"id": f"svc-backup-{ctx.site.id}", "kind": "service"}
    key = f"kek-{ctx.site.id}-backup"
    draft = ctx.audit(
        ctx.at,
        "key_use",
        actor,
        key_id=key,
        key_custodian="cloud-provider",
        source_country=ctx.site.country,
    )
    return _one(ctx, draft, f"{ctx.site.id}/{key}")


def audit_logging_changed(ctx: Ctx) -> Plan:
    draft = ctx.audit(ctx.at, "audit_logging_changed", justification="retention lowered to 1 day")
    return _one(ctx, draft, ctx.site.id)


def audit_silence(ctx: Ctx) -> Plan:
    quiet = Quiet(ctx.site.id, "audit", ctx.at, ctx.at + 45 * M)
    last = ctx.at - 2 * M  # key use every two minutes: the last audit event is at most that old
    return Plan(last, ctx.at + 45 * M, ctx.at + 30 * M, ctx.site.id, quiet=[quiet])


def session_without_badge_in(ctx: Ctx) -> Plan:
    quiet = Quiet(ctx.site.id, "physical", ctx.at - 130 * M, ctx.at + 5 * M)
    drafts = _session(
        ctx, ctx.site.country, {"id": f"{ctx.site.id}-admin-05", "clearance": "secret"}
    )
    return Plan(ctx.at, ctx.at, ctx.at, ctx.site.id, drafts, [quiet])


def session_left_open(ctx: Ctx) -> Plan:
    actor = {"id": f"{ctx.site.id}-admin-04", "clearance": "secret"}
    badge_in = ctx.physical(
        ctx.at - 5 * M, "access_granted", f"{ctx.site.id}-noc", "room", **_badge(ctx, 4)
    )
    drafts = [badge_in, *_session(ctx, ctx.site.country, actor, minutes=None)]
    return Plan(
        ctx.at, ctx.at + 8 * 60 * M, ctx.at + 8 * 60 * M, f"{ctx.site.id}/{ctx.incident}-s", drafts
    )


def _lane(
    name: str, before: float = 0, after: float = 10
) -> dict[str, tuple[timedelta, timedelta]]:
    return {name: (before * M, after * M)}


INJECTORS: tuple[Injector, ...] = (
    Injector("thermal_runaway", "ops.gpu_overtemp_sustained", thermal_runaway, _lane("gpu", 0, 15)),
    Injector("xid_79", "ops.gpu_xid_critical", xid_79, _lane("gpu")),
    Injector("ecc_double_bit", "ops.gpu_ecc_double_bit", ecc_double_bit, _lane("gpu")),
    Injector("power_brake", "ops.gpu_hw_throttling", power_brake, _lane("gpu")),
    Injector(
        "rack_over_allocation",
        "ops.rack_over_allocated_power",
        rack_over_allocation,
        _lane("power"),
    ),
    Injector(
        "site_over_budget", "ops.site_power_over_budget", site_over_budget, _lane("power", 0, 15)
    ),
    Injector("poor_pue", "ops.pue_above_target", poor_pue, _lane("pue", 0, 70), at_start=True),
    Injector("node_down", "ops.node_heartbeat_lost", node_down, _lane("gpu", 0, 20)),
    Injector(
        "power_collector_down",
        "ops.site_power_telemetry_silent",
        power_collector_down,
        _lane("power", 0, 25),
    ),
    Injector("forced_door", "sec.door_forced_open", forced_door, _lane("physical")),
    Injector("propped_door", "sec.door_held_open", propped_door, _lane("physical")),
    Injector("tailgating", "sec.tailgating", tailgating, _lane("physical")),
    Injector("denied_burst", "sec.denied_badge_burst", denied_burst, _lane("physical")),
    Injector(
        "night_hall_entry",
        "sec.after_hours_gpu_hall",
        night_hall_entry,
        _lane("physical"),
        when=lambda site, at: not policy_hours(site, at),
    ),
    Injector("camera_offline", "sec.camera_fault_gpu_hall", camera_offline, _lane("physical")),
    Injector(
        "lone_cage_opening",
        "sec.cage_without_second_person",
        lone_cage_opening,
        _lane("physical", 10, 15),
    ),
    Injector("duress", "sec.duress", duress, _lane("physical")),
    Injector("passback", "sec.antipassback", passback, _lane("physical")),
    Injector("reader_tamper", "sec.reader_tamper", reader_tamper, _lane("physical")),
    Injector(
        "secret_abroad", "sov.restricted_data_leaves_jurisdiction", secret_abroad, _lane("audit")
    ),
    Injector(
        "unapproved_replica",
        "sov.cross_border_without_approval",
        unapproved_replica,
        _lane("audit"),
    ),
    Injector(
        "weights_abroad", "sov.weights_export_outside_enclave", weights_abroad, _lane("audit", 15)
    ),
    Injector(
        "weights_unapproved",
        "sov.weights_export_without_prior_approval",
        weights_unapproved,
        _lane("audit", 45),
    ),
    Injector(
        "session_from_abroad",
        "sov.privileged_session_from_abroad",
        session_from_abroad,
        _lane("audit", 0, 35),
    ),
    Injector(
        "uncleared_command", "sov.privileged_without_clearance", uncleared_command, _lane("audit")
    ),
    Injector(
        "support_without_ticket",
        "sov.support_session_without_ticket",
        support_without_ticket,
        _lane("audit"),
    ),
    Injector(
        "foreign_key_custody",
        "sov.key_use_outside_sovereign_control",
        foreign_key_custody,
        _lane("audit"),
    ),
    Injector(
        "audit_logging_changed", "sov.audit_logging_changed", audit_logging_changed, _lane("audit")
    ),
    Injector("audit_silence", "sov.audit_stream_silent", audit_silence, _lane("audit", 0, 50)),
    Injector(
        "session_without_badge_in",
        "sov.admin_session_without_badge_in",
        session_without_badge_in,
        {**_lane("physical", 135, 10), **_lane("audit", 0, 35)},
    ),
    Injector(
        "session_left_open",
        "sov.admin_session_not_ended",
        session_left_open,
        {**_lane("physical", 10, 0), **_lane("session", 0, 8 * 60 + 10)},
    ),
)
BY_NAME: dict[str, Injector] = {i.name: i for i in INJECTORS}


def select(kinds: Iterable[str]) -> list[Injector]:
    """Injectors by name or rule id; 'all' for every one."""
    chosen: list[Injector] = []
    for kind in kinds:
        if kind == "all":
            chosen.extend(INJECTORS)
            continue
        found = [i for i in INJECTORS if kind in (i.name, i.rule)]
        if not found:
            names = ", ".join(i.name for i in INJECTORS)
            raise ValueError(f"unknown incident {kind!r}: expected a rule id or one of {names}")
        chosen.extend(found)
    return list({i.name: i for i in chosen}.values())


@dataclass
class Placed:
    incident: Incident
    plan: Plan
    at: datetime


def plan_incidents(
    injectors: list[Injector],
    fleet: Fleet,
    start: datetime,
    end: datetime,
    *,
    seed: int,
    step: timedelta,
    power_step: timedelta,
    pinned: Mapping[int, tuple[str | None, timedelta | None]] | None = None,
) -> tuple[list[Placed], list[str]]:
    """Place each injector on a site and time; returns the placed incidents and the names of
    those that do not fit in the run (too short, or no after-hours time in it)."""
    busy: dict[tuple[str, str], list[tuple[datetime, datetime]]] = {}
    placed: list[Placed] = []
    missed: list[str] = []
    countries = sorted({s.country for s in fleet.sites})
    sites = list(fleet.sites)
    for index, injector in enumerate(injectors):
        want_site, want_at = (pinned or {}).get(index, (None, None))
        order = [s for s in sites if want_site in (None, s.id)]
        order = order[index % len(order) :] + order[: index % len(order)] if order else []
        times = [start + want_at] if want_at is not None else _slots(start, end, injector)
        spot = _find(injector, order, times, busy, start, end)
        if spot is None:
            missed.append(injector.name)
            continue
        site, at = spot
        for lane, (before, after) in injector.lanes.items():
            busy.setdefault((site.id, lane), []).append((at - before, at + after))
        ident = f"inc-{index:03d}-{injector.name.replace('_', '-')}"
        ctx = Ctx(
            ident,
            site,
            at,
            random.Random(f"{seed}/{ident}"),  # noqa: S311
            countries,
            step,
            power_step,
            start,
        )
        plan = injector.build(ctx)
        incident = Incident(
            ident, injector.name, injector.rule, site.id, plan.group, plan.start, plan.end, plan.due
        )
        placed.append(Placed(incident, plan, at))
    return placed, missed


def _slots(start: datetime, end: datetime, injector: Injector) -> list[datetime]:
    if injector.at_start:
        return [start]
    first = start + 2 * SLOT
    return [first + i * SLOT for i in range(int((end - first) / SLOT) + 1)]


def _find(
    injector: Injector,
    sites: list[Site],
    times: list[datetime],
    busy: dict[tuple[str, str], list[tuple[datetime, datetime]]],
    start: datetime,
    end: datetime,
) -> tuple[Site, datetime] | None:
    for at in times:
        for site in sites:
            if not injector.when(site, at):
                continue
            ok = True
            for lane, (before, after) in injector.lanes.items():
                lo, hi = at - before, at + after
                if (lo < start and not injector.at_start) or hi > end:
                    ok = False
                    break
                if any(lo < b_hi and b_lo < hi for b_lo, b_hi in busy.get((site.id, lane), ())):
                    ok = False
                    break
            if ok:
                return site, at
    return None
