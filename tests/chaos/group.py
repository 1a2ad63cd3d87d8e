"""The workers of one chaos run's consumer group, as the fault suite starts them (`sovwatch
worker` processes), and what the broker says about the group (its state and member count)."""

from __future__ import annotations

import contextlib
import signal
import time

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from tests.chaos.timeline import Timeline
from tests.integration.pipeline import Isolated, Worker, wait_for


class Group:
    def __init__(self, pipeline: Isolated, timeline: Timeline) -> None:
        self.pipeline = pipeline
        self.timeline = timeline
        self.workers: dict[str, Worker] = {}
        self.frozen: set[str] = set()
        self._admin: KafkaAdminClient | None = None

    # ---- processes ----

    def start(self, *names: str) -> None:
        """Start workers together (new ones, or again), each until it says Ready."""
        for name in names:
            worker = self.workers.setdefault(name, self.pipeline.worker(name))
            worker.launch()
        for name in names:
            began = time.monotonic()
            self.workers[name].wait_ready()
            self.timeline.note(f"{name} ready ({time.monotonic() - began:.1f} s)")

    def running(self) -> list[str]:
        """Workers whose process lives and is not frozen."""
        return [
            name
            for name, w in self.workers.items()
            if w.process is not None and w.process.poll() is None and name not in self.frozen
        ]

    def signal(self, name: str, sig: signal.Signals) -> None:
        process = self.workers[name].process
        assert process is not None, f"{name} is not running"
        process.send_signal(sig)
        if sig == signal.SIGSTOP:
            self.frozen.add(name)
        elif sig == signal.SIGCONT:
            self.frozen.discard(name)

    def kill(self, name: str) -> None:
        self.workers[name].stop(signal.SIGKILL)

    def stop(self, name: str) -> bool:
        """SIGTERM; True if it exited by itself (else it was killed after 60 s)."""
        return self.workers[name].stop(signal.SIGTERM)

    def close(self) -> None:
        for name in list(self.frozen):
            self.signal(name, signal.SIGCONT)
        for worker in self.workers.values():
            worker.stop()
        if self._admin is not None:
            with contextlib.suppress(Exception):
                self._admin.close()

    # ---- the group as the broker sees it ----

    def describe(self) -> tuple[str, int] | None:
        """(state, members) of the consumer group; None while the broker does not answer."""
        group_id = self.pipeline.settings.worker.app_id
        try:
            if self._admin is None:
                self._admin = KafkaAdminClient(**self.pipeline.settings.kafka.client_config())
            found = self._admin.describe_groups([group_id])[group_id]
            return str(found["group_state"]), len(found["members"])
        except (KafkaError, OSError):  # the broker restarting: no answer this time
            if self._admin is not None:
                with contextlib.suppress(Exception):
                    self._admin.close()
            self._admin = None
            return None

    def wait_settled(self, timeout_s: float) -> bool:
        """Until the group is Stable with exactly the running workers as members; the outcome
        (or what the group looked like when the bound passed) goes on the timeline."""
        began = time.monotonic()
        seen: list[tuple[str, int] | None] = [None]

        def settled() -> bool:
            seen[0] = self.describe()
            return seen[0] == ("Stable", len(self.running()))

        if wait_for(settled, timeout_s, every_s=0.5):
            self.timeline.note(
                f"group settled: {len(self.running())} members ({time.monotonic() - began:.1f} s)"
            )
            return True
        self.timeline.note(
            f"group NOT settled in {timeout_s:g} s: broker says {seen[0]}, "
            f"expected ('Stable', {len(self.running())})"
        )
        return False

    def wait_dropped(self, name: str, timeout_s: float) -> bool:
        """Until the group has no more members than the running workers (`name`, frozen, was
        dropped once its session timed out)."""
        began = time.monotonic()

        def dropped() -> bool:
            described = self.describe()
            return described is not None and described[1] <= len(self.running())

        if wait_for(dropped, timeout_s, every_s=0.2):
            self.timeline.note(f"{name} dropped from the group ({time.monotonic() - began:.1f} s)")
            return True
        self.timeline.note(f"{name} NOT dropped from the group in {timeout_s:g} s")
        return False
