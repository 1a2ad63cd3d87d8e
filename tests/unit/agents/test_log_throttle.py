"""A log line per key and interval, whatever the input rate; bounded memory."""

from __future__ import annotations

from agents.log_throttle import LogThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_once_per_key_and_interval() -> None:
    clock = Clock()
    throttle = LogThrottle(60.0, clock)
    assert [throttle.due("a"), throttle.due("a"), throttle.due("b")] == [True, False, True]
    clock.now = 59.9
    assert not throttle.due("a")
    clock.now = 60.0
    assert throttle.due("a") and not throttle.due("a")


def test_past_its_key_limit_it_forgets_rather_than_grows() -> None:
    throttle = LogThrottle(60.0, Clock(), max_keys=2)
    assert throttle.due("a") and throttle.due("b")
    assert throttle.due("c")  # memory cleared: "a" may be logged again early
    assert throttle.due("a") and not throttle.due("c")
