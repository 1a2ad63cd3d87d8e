"""Runs a fault schedule against the workers and the stack, writing the timeline as it goes.

Pauses between steps and the outage's length are the schedule's (what is injected, not a wait
for a result); after each step the run waits for a state, with a bound, and notes the outcome:
a worker Ready, a stopped or frozen worker dropped from the group, the group settled.
"""

from __future__ import annotations

import signal
import threading
import time

from streams.stack import Stack
from tests.chaos.group import Group
from tests.chaos.schedule import BROKER_RESTART, FREEZE, JOIN, KILL_9, STOP, Schedule, Step
from tests.chaos.timeline import Timeline

SETTLE_S = 45.0  # a group settles within this after a step (else noted, and the run goes on)
SERVER_READY_S = 120.0


def run(schedule: Schedule, group: Group, stack: Stack, session_timeout_s: float) -> None:
    timeline = group.timeline
    outage = threading.Thread(
        target=_influx_outage, args=(schedule, stack, timeline), name="influx-outage", daemon=True
    )
    timeline.note("fault phase begins")
    outage.start()
    try:
        for step in schedule.steps:
            time.sleep(step.pause_before_s)
            _step(step, group, stack, session_timeout_s)
            group.wait_settled(SETTLE_S)
    finally:
        outage.join(schedule.influx_down_at_s + schedule.influx_down_s + SERVER_READY_S)
    assert not outage.is_alive(), "the InfluxDB outage did not end"
    timeline.note("fault phase ends")


def _step(step: Step, group: Group, stack: Stack, session_timeout_s: float) -> None:
    timeline = group.timeline
    name = step.worker
    # A worker gone (killed, stopped, frozen) is waited out of the group before it comes back:
    # then "settled" (Stable, one member per running worker) cannot be the group as it was.
    drop_s = 2 * session_timeout_s + 15
    if step.kind == KILL_9:
        timeline.note(f"kill -9 {name}")
        group.kill(name)
        group.wait_dropped(name, drop_s)
        group.start(name)
    elif step.kind == FREEZE:
        timeline.note(f"SIGSTOP {name}")
        group.signal(name, signal.SIGSTOP)
        group.wait_dropped(name, drop_s)
        group.signal(name, signal.SIGCONT)
        timeline.note(f"SIGCONT {name}")
    elif step.kind == STOP:
        timeline.note(f"SIGTERM {name}")
        exited = group.stop(name)
        timeline.note(f"{name} {'exited' if exited else 'did NOT exit in 60 s: SIGKILLed'}")
        group.wait_dropped(name, drop_s)
        group.start(name)
    elif step.kind == JOIN:
        timeline.note(f"{name} joins")
        group.start(name)
    elif step.kind == BROKER_RESTART:
        timeline.note("Kafka broker stops")
        stack.kafka.stop()
        stack.kafka.start()
        stack.kafka.wait_ready(SERVER_READY_S)
        timeline.note("Kafka broker ready again")
    else:
        raise AssertionError(f"unknown step {step.kind}")


def _influx_outage(schedule: Schedule, stack: Stack, timeline: Timeline) -> None:
    time.sleep(schedule.influx_down_at_s)
    timeline.note("InfluxDB stops")
    stack.influx.stop()
    time.sleep(schedule.influx_down_s)
    stack.influx.start()
    stack.influx.wait_ready(SERVER_READY_S)
    timeline.note("InfluxDB ready again")
