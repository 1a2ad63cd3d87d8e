"""The fault schedule of one chaos run, drawn from its seed alone (`random.Random(seed)`), so a
failing run is replayed with the same faults in the same order (`make test-chaos CHAOS_SEED=N`).

Worker and broker faults run one after another, each after a seeded pause; the InfluxDB outage
runs beside them (it starts a seeded number of seconds into the fault phase and lasts
`INFLUX_DOWN_S`), so other faults may hit the workers while their writes fail.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

KILL_9 = "kill-9"  # SIGKILL a worker; once the group dropped it, start it again
FREEZE = "sigstop"  # SIGSTOP a worker until the group has dropped it (its session timed out)
STOP = "graceful-stop"  # SIGTERM a worker; once it exited and left, start it again
JOIN = "join"  # a new worker joins the group (and stays)
BROKER_RESTART = "broker-restart"  # stop the Kafka broker, start it again
STEP_KINDS = (KILL_9, FREEZE, STOP, JOIN, BROKER_RESTART)
ON_A_WORKER = frozenset({KILL_9, FREEZE, STOP})

INFLUX_DOWN_S = 60.0
INFLUX_DOWN_WITHIN_S = 60.0  # the outage starts this many seconds into the fault phase at most
PAUSE_S = (3.0, 10.0)  # before each step


@dataclass(frozen=True)
class Step:
    kind: str
    worker: str  # the worker it hits (the one that joins, for JOIN); "" for the broker
    pause_before_s: float

    def text(self) -> str:
        return f"{self.kind} {self.worker}".strip()


@dataclass(frozen=True)
class Schedule:
    seed: int
    steps: tuple[Step, ...]
    influx_down_at_s: float  # after the fault phase began
    influx_down_s: float = INFLUX_DOWN_S

    def lines(self) -> list[str]:
        lines = [f"pause {s.pause_before_s:4.1f} s, then {s.text()}" for s in self.steps]
        lines.append(
            f"beside them: InfluxDB down at +{self.influx_down_at_s:.1f} s "
            f"for {self.influx_down_s:g} s"
        )
        return lines


def draw(seed: int, workers: tuple[str, ...], joiner: str) -> Schedule:
    """Every step kind once, in a seeded order; a worker fault hits a seeded member of the
    group as it is at that point (the joiner counts once it joined)."""
    rng = random.Random(seed)
    members = list(workers)
    steps = []
    for kind in rng.sample(STEP_KINDS, len(STEP_KINDS)):
        pause = round(rng.uniform(*PAUSE_S), 1)
        if kind == JOIN:
            steps.append(Step(kind, joiner, pause))
            members.append(joiner)
        elif kind in ON_A_WORKER:
            steps.append(Step(kind, rng.choice(members), pause))
        else:
            steps.append(Step(kind, "", pause))
    influx_at = round(rng.uniform(0.0, INFLUX_DOWN_WITHIN_S), 1)
    return Schedule(seed, tuple(steps), influx_at)
