"""One chaos run: three workers of one group, the seeded traffic produced while the seeded
faults run, a drain, then every check from the servers alone."""

from __future__ import annotations

import json
import time
import traceback
from collections import Counter
from pathlib import Path

from agents.audit.checkpoints import generate_keypair
from tests.chaos import checks, faults, readback, schedule, traffic
from tests.chaos.group import Group
from tests.chaos.report import SeedReport
from tests.chaos.timeline import Timeline
from tests.faults.harness import FaultStack, LagProbe, Producer, stored_alerts
from tests.integration.agents.audit_harness import checkpoint_now
from tests.integration.agents.test_compliance import event_driven_rule_ids
from tests.integration.pipeline import Isolated, wait_for

WORKERS = ("w1", "w2", "w3")
JOINER = "w4"
SESSION_TIMEOUT_S = 10.0  # SIGSTOP lasts until the group dropped the worker: just past this
PRODUCE_S = 150.0  # the traffic is paced over this, while the faults run
DRAIN_S = 180.0  # after the faults: every input offset committed within this
ALERTS_S = 45.0  # then every time-driven state change on the alert topics within this


def worker_env(private_key_pem: str) -> dict[str, str]:
    return {
        "SOVWATCH_WORKER__SESSION_TIMEOUT_S": f"{SESSION_TIMEOUT_S:g}",
        "SOVWATCH_WORKER__RETRY_MAX_S": "5",
        "SOVWATCH_ALERTS__TICK_INTERVAL_S": "1",
        "SOVWATCH_AUDIT__SIGNING_KEY": private_key_pem,
        "SOVWATCH_AUDIT__CHECKPOINT_INTERVAL_S": "15",
    }


def run_seed(stack: FaultStack, seed: int, unique: str, run_dir: Path) -> SeedReport:
    began = time.monotonic()
    report = SeedReport(seed, str(run_dir))
    private, public = generate_keypair()
    pipeline = stack.pipeline(unique, run_dir, **worker_env(private.decode()))
    plan = schedule.draw(seed, WORKERS, JOINER)
    report.schedule = plan.lines()
    timeline = Timeline(run_dir / "timeline.log")
    made = traffic.build(pipeline, seed)
    timeline.note(
        f"traffic built: {len(made.records)} records, {len(made.incidents)} incidents "
        f"({len(made.timed)} time-driven)"
    )
    group = Group(pipeline, timeline)
    try:
        group.start(*WORKERS)
        group.wait_settled(faults.SETTLE_S)
        producer = Producer(pipeline, made.records, rate=len(made.records) / PRODUCE_S)
        timeline.note("producing")
        producer.start()
        faults.run(plan, group, stack.stack, SESSION_TIMEOUT_S)
        producer.join(timeout_s=600)
        timeline.note(f"produced {producer.sent} records")
        drain(pipeline, made, timeline)
        for name in group.running():
            try:
                checkpoint_now(group.workers[name].port)
            except OSError as exc:
                timeline.note(f"checkpoint request to {name} failed: {exc}")
        timeline.note("checkpoints requested; reading back")
        report.checks = final_checks(pipeline, made, producer, public)
    except Exception as exc:  # reported with the seed and timeline, not lost
        timeline.note(f"run aborted: {type(exc).__name__}")
        aborted = "".join(traceback.format_exception_only(exc)).strip()
        report.checks.append(checks.CheckResult("run completed", (aborted[-3000:],)))
    finally:
        group.close()
        report.timeline = timeline.lines()
        report.duration_s = time.monotonic() - began
    report.counts = {
        "produced": len(made.records),
        "malformed": made.truth.malformed,
        "audit events": sum(made.truth.audit.values()),
        "incidents": len(made.incidents),
    }
    return report


def drain(pipeline: Isolated, made: traffic.ChaosTraffic, timeline: Timeline) -> None:
    """Until every input offset is committed, then until every time-driven state change is on
    the alert topics; each bounded, the outcome noted."""
    probe = LagProbe(pipeline)
    try:
        lag: dict[str, int] = {}

        def committed() -> bool:
            nonlocal lag
            try:
                lag = probe.by_partition()
            except Exception:
                return False
            return not lag

        began = time.monotonic()
        if wait_for(committed, DRAIN_S, every_s=2):
            timeline.note(f"drained: every offset committed ({time.monotonic() - began:.0f} s)")
        else:
            timeline.note(f"NOT drained in {DRAIN_S:g} s: uncommitted by partition {lag}")
    finally:
        probe.close()

    def all_timed() -> bool:
        emitted = readback.emitted_alerts(pipeline)
        return checks.check_timed_incidents(made.timed, emitted).ok

    began = time.monotonic()
    if wait_for(all_timed, ALERTS_S, every_s=3):
        timeline.note(f"time-driven state changes all emitted ({time.monotonic() - began:.0f} s)")
    else:
        timeline.note(f"time-driven state changes not all emitted in {ALERTS_S:g} s")


def final_checks(
    pipeline: Isolated, made: traffic.ChaosTraffic, producer: Producer, public_key: bytes
) -> list[checks.CheckResult]:
    truth = made.truth
    landed = producer.landed
    produced_at = {landed[i]: i for i in landed}
    malformed = {landed[i] for i in made.malformed_at if i in landed}
    letters, reasons = readback.dead_letters(pipeline)
    valid_dead = {
        _event_id(made.records[produced_at[s]][2]): reasons[s]
        for s in letters
        if s in produced_at and s not in malformed
    }
    emitted = readback.emitted_alerts(pipeline)
    rules = event_driven_rule_ids()
    stored = Counter({k: n for k, n in stored_alerts(pipeline).items() if k[1] in rules})
    sites = sorted(truth.audit_ids)
    pem = public_key
    clock = made.hours[0].clock
    return [
        checks.check_events(truth.event_ids, readback.stored_event_ids(pipeline), valid_dead),
        checks.check_dead_letters(malformed, set(produced_at), letters),
        checks.check_audit(
            truth.audit_ids,
            {site: readback.chain(pipeline, site) for site in sites},
            {site: readback.verified(pipeline, site, pem) for site in sites},
        ),
        checks.check_event_driven_alerts(truth.alerts, stored),
        checks.check_incidents_alerted(made.incidents, clock.start, clock.end, emitted),
        checks.check_timed_incidents(made.timed, emitted),
    ]


def _event_id(value: bytes) -> str:
    try:
        return str(json.loads(value)["event_id"])
    except (ValueError, KeyError, TypeError):
        return f"<undecodable {value[:40]!r}>"
