"""Delivery queues: bounded, oldest updates dropped first and counted, a later record of an
incident replaces its queued update, retries with backoff, `offer` never waits."""

from __future__ import annotations

import asyncio

from agents.channels.delivery import Backoff, Delivery, DeliveryError, DeliveryQueue
from agents.metrics import REGISTRY
from schemas.alert import Alert
from tests.unit.agents.alerts import record


def dropped(channel: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "sovwatch_alert_deliveries_dropped_total", {"channel": channel, "status": status}
    )
    return value or 0.0


def sample(name: str, channel: str) -> float:
    return REGISTRY.get_sample_value(name, {"channel": channel}) or 0.0


def test_a_full_queue_drops_the_oldest_update_before_any_firing_or_resolved_record() -> None:
    queue = DeliveryQueue("t-drop", 3)
    firing, update, resolved = record("firing", 1), record("updated", 2), record("resolved", 3)
    for item in (firing, update, resolved):
        queue.put(item)
    before = dropped("t-drop", "updated")
    queue.put(record("firing", 4))
    assert [r.id for r in drain(queue)] == [firing.id, resolved.id, record("firing", 4).id]
    assert dropped("t-drop", "updated") == before + 1


def test_without_updates_the_oldest_record_goes_and_is_counted() -> None:
    queue = DeliveryQueue("t-oldest", 2)
    queue.put(record("firing", 1))
    queue.put(record("resolved", 2))
    queue.put(record("firing", 3))
    assert [r.n for r in map(_n, drain(queue))] == [2, 3]
    assert dropped("t-oldest", "firing") == 1
    assert sample("sovwatch_alert_deliveries_queued", "t-oldest") == 0


def test_a_later_record_of_an_incident_replaces_its_queued_update() -> None:
    queue = DeliveryQueue("t-coalesce", 10)
    queue.put(record("firing", 1))
    queue.put(record("updated", 1))
    queue.put(record("updated", 1, message="more"))
    queue.put(record("resolved", 1))
    assert [r.status for r in drain(queue)] == ["firing", "resolved"]
    assert dropped("t-coalesce", "updated") == 0


def test_a_dropped_or_superseded_record_is_settled() -> None:
    queue = DeliveryQueue("t-settle", 2)
    settled: list[str] = []
    queue.put(record("firing", 1), lambda: settled.append("firing"))
    queue.put(record("updated", 1), lambda: settled.append("updated"))
    queue.put(record("resolved", 1), lambda: settled.append("resolved"))  # supersedes the update
    queue.put(record("firing", 2), lambda: settled.append("second"))  # full: the oldest goes
    assert settled == ["updated", "firing"]


def test_backoff_grows_is_capped_and_jittered() -> None:
    backoff = Backoff(initial_s=1, max_s=8, attempts=6)
    assert [backoff.delay(a, rand=lambda: 1.0) for a in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 8]
    assert backoff.delay(3, rand=lambda: 0.0) == 2.0  # jitter takes up to half off


class Flaky:
    """A channel that refuses the first `failures` sends."""

    def __init__(self, name: str, failures: int = 0) -> None:
        self.name = name
        self.failures = failures
        self.received: list[Alert] = []
        self.block = asyncio.Event()
        self.block.set()

    async def send(self, alert: Alert) -> None:
        await self.block.wait()
        if self.failures:
            self.failures -= 1
            raise DeliveryError("refused")
        self.received.append(alert)

    def due(self, now: float) -> list[Alert]:
        return []

    async def close(self) -> None:
        return None


async def no_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


async def settle(delivery: Delivery, expected: int, channel: Flaky) -> None:
    for _ in range(200):
        if len(channel.received) >= expected and not len(delivery.queue):
            return
        await asyncio.sleep(0.005)


def test_a_refused_record_is_retried_then_sent() -> None:
    async def run() -> Flaky:
        channel = Flaky("t-retry", failures=2)
        delivery = Delivery(channel, 10, Backoff(attempts=3), sleep=no_sleep)
        delivery.offer(record("firing", 1))
        await settle(delivery, 1, channel)
        await delivery.drain(0.1)
        return channel

    sent_before = sample("sovwatch_alert_deliveries_sent_total", "t-retry")
    channel = asyncio.run(run())
    assert [a.status for a in channel.received] == ["firing"]
    assert sample("sovwatch_alert_deliveries_sent_total", "t-retry") == sent_before + 1


def test_a_record_refused_every_time_is_counted_failed_and_the_next_one_goes() -> None:
    async def run() -> Flaky:
        channel = Flaky("t-fail", failures=3)
        delivery = Delivery(channel, 10, Backoff(attempts=3), sleep=no_sleep)
        delivery.offer(record("firing", 1))
        delivery.offer(record("firing", 2))
        await settle(delivery, 1, channel)
        await delivery.drain(0.1)
        return channel

    channel = asyncio.run(run())
    assert [_n(a).n for a in channel.received] == [2]
    assert sample("sovwatch_alert_deliveries_failed_total", "t-fail") == 1


def test_offer_never_waits_for_a_stuck_receiver() -> None:
    async def run() -> int:
        channel = Flaky("t-stuck")
        channel.block.clear()  # the receiver hangs
        delivery = Delivery(channel, 5, Backoff(), sleep=no_sleep)
        for n in range(50):
            delivery.offer(record("updated" if n % 2 else "firing", n))
        queued = len(delivery.queue)
        await delivery.drain(0.0)
        return queued

    assert asyncio.run(run()) == 5  # bounded; the rest dropped, counted, nothing waited
    assert dropped("t-stuck", "updated") + dropped("t-stuck", "firing") == 50 - 5


def drain(queue: DeliveryQueue) -> list[Alert]:
    out = []
    while (item := queue.pop()) is not None:
        out.append(item[0])
    return out


class _N:
    def __init__(self, n: int) -> None:
        self.n = n


def _n(alert: Alert) -> _N:
    """Which record() this is (its door number)."""
    return next(_N(n) for n in range(100) if record("firing", n).id == alert.id)
