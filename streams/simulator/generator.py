"""The simulated clock: step by step, the fleet's GPU samples, power readings, badge and audit
events, with the incidents' quiet windows, patches and extra events merged in, validated by the
real schema models and yielded in time order."""

from __future__ import annotations

import heapq
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from schemas.decode import Event
from streams.simulator.activity import SiteActivity
from streams.simulator.draft import Draft, Patch, Quiet
from streams.simulator.fleet import Fleet
from streams.simulator.incidents import Placed
from streams.simulator.signals import SiteSignals

IDENTITY = ("node", "gpu_index", "gpu_uuid", "device", "model_name")


@dataclass(frozen=True)
class Clock:
    start: datetime
    duration: timedelta
    step: timedelta = timedelta(seconds=15)  # GPU sample interval (DCGM scrape)
    power_step: timedelta = timedelta(seconds=60)  # PDU / BMS reading interval

    @property
    def end(self) -> datetime:
        return self.start + self.duration

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("the start time needs a timezone")
        if self.step.total_seconds() <= 0 or 300 % self.step.total_seconds():
            raise ValueError("the sample interval must divide 5 minutes (e.g. 10s, 15s, 30s, 60s)")
        if self.power_step.total_seconds() % self.step.total_seconds():
            raise ValueError("the power interval must be a multiple of the sample interval")


class Overlay:
    """Quiet windows and patches, looked up by (site, family)."""

    def __init__(self, placed: list[Placed]) -> None:
        self.quiet: dict[tuple[str, str], list[Quiet]] = defaultdict(list)
        self.patches: dict[tuple[str, str], list[Patch]] = defaultdict(list)
        for p in placed:
            for q in p.plan.quiet:
                self.quiet[(q.site_id, q.family)].append(q)
            for patch in p.plan.patches:
                self.patches[(patch.site_id, patch.family)].append(patch)

    def silenced(self, draft: Draft) -> bool:
        windows = self.quiet.get((draft.site_id, draft.family))
        return bool(windows) and any(q.covers(draft) for q in windows or ())

    def patch(self, draft: Draft) -> None:
        for patch in self.patches.get((draft.site_id, draft.family), ()):
            if patch.covers(draft):
                draft.fields.update(patch.apply(draft))


def simulate(
    fleet: Fleet, clock: Clock, placed: list[Placed], *, seed: int, source: str = "sovwatch-sim"
) -> Iterator[Event]:
    """Every event of the run, validated, in time order."""
    rng = random.Random(seed)  # noqa: S311 - simulated data, not security
    overlay = Overlay(placed)
    pue = {p.incident.site: p.plan.pue for p in placed if p.plan.pue is not None}
    signals = {s.id: SiteSignals.start(s, pue.get(s.id)) for s in fleet.sites}
    countries = sorted({s.country for s in fleet.sites})
    activity = {s.id: SiteActivity(s, countries, clock.end) for s in fleet.sites}
    later: list[tuple[datetime, int, Draft]] = []
    seq = 0
    for p in placed:
        for draft in p.plan.drafts:
            seq += 1
            heapq.heappush(later, (draft.ts, seq, draft))
    step_s = clock.step.total_seconds()
    power_every = round(clock.power_step.total_seconds() / step_s)
    k = 0
    t = clock.start
    while t < clock.end:
        batch: list[Draft] = []
        for site in fleet.sites:
            sig = signals[site.id]
            node_w: dict[str, float] = {}
            for node in site.nodes:
                total = 0.0
                for g in range(site.gpus_per_node):
                    fields = sig.gpu(rng, seed, node, g, t, step_s)
                    total += float(fields["power_usage_w"])  # type: ignore[arg-type]
                    fields.update(
                        node=node.name,
                        gpu_index=g,
                        gpu_uuid=f"GPU-{node.name}-{g}",
                        device=f"nvidia{g}",
                        model_name=site.gpu_model,
                    )
                    batch.append(
                        Draft(t, "gpu", site.id, site.country, f"{node.name}.{g}.{k}", fields)
                    )
                    util = float(fields["gpu_util_pct"])  # type: ignore[arg-type]
                    for mig in sig.mig_instances(seed, node, g, t, util):
                        ident = f"{node.name}.{g}.mig{mig['mig_instance_id']}.{k}"
                        mig.update({key: fields[key] for key in IDENTITY})
                        batch.append(Draft(t, "gpu", site.id, site.country, ident, mig))
                node_w[node.name] = total + site.node_overhead_w * (
                    0.6 + 0.4 * total / (site.gpus_per_node * site.gpu_tdp_w)
                )
            if k % power_every == 0:
                batch.extend(_power(sig, rng, site.id, site.country, node_w, t, k, clock))
            for unit in activity[site.id].step(rng, t, step_s):
                if not any(overlay.silenced(d) for d in unit):
                    for draft in unit:
                        seq += 1
                        heapq.heappush(later, (draft.ts, seq, draft))
        batch = [d for d in batch if not overlay.silenced(d)]
        for draft in batch:
            overlay.patch(draft)
        horizon = t + clock.step
        while later and later[0][0] < horizon:
            batch.append(heapq.heappop(later)[2])
        batch.sort(key=lambda d: d.ts)
        for draft in batch:
            if draft.family == "physical" and draft.fields.get("kind") == "access_granted":
                activity[draft.site_id].last_badge_in = draft.ts
            yield draft.event(source)
        k += 1
        t = clock.start + k * clock.step


def _power(
    sig: SiteSignals,
    rng: random.Random,
    site_id: str,
    country: str,
    node_w: dict[str, float],
    t: datetime,
    k: int,
    clock: Clock,
) -> list[Draft]:
    site = sig.site
    drafts = []
    hall_w: dict[int, float] = defaultdict(float)
    for rack in site.racks:
        nodes = [n for n in site.nodes if n.rack == rack]
        fields = sig.rack(rng, rack, sum(node_w[n.name] for n in nodes), len(nodes), t)
        hall_w[nodes[0].hall] += float(fields["power_w"])  # type: ignore[arg-type]
        drafts.append(Draft(t, "power", site_id, country, f"{rack}.p.{k}", fields))
    for hall, watts in hall_w.items():
        fields = sig.hall(rng, f"{site_id}-h{hall}", watts, t)
        drafts.append(Draft(t, "power", site_id, country, f"{site_id}-h{hall}.p.{k}", fields))
    fields = sig.facility(sum(hall_w.values()), t, clock.power_step.total_seconds())
    drafts.append(Draft(t, "power", site_id, country, f"{site_id}.p.{k}", fields))
    return drafts
