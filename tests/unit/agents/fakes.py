"""In-process stand-ins for what the agents' stages use of Faust, Kafka and InfluxDB."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field

from agents.checkpoint import State
from agents.influx.writer import WriteRejectedError
from schemas.settings import InfluxTarget


@dataclass
class Message:
    topic: str
    partition: int
    offset: int
    value: bytes | None
    key: bytes | None = b"site-1"


@dataclass
class FaustEvent:
    """What the stages read of a Faust event: its message."""

    message: Message


def events(
    topic: str, values: Sequence[bytes | None], partition: int = 0, start: int = 0
) -> list[FaustEvent]:
    return [
        FaustEvent(Message(topic, partition, offset, value))
        for offset, value in enumerate(values, start)
    ]


class RecordingWriter:
    """Stands in for InfluxDB: records acknowledged writes; while `gate` is clear, writes do
    not return; lines in `rejected_lines` make InfluxDB refuse the batch."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, str, list[str]]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.rejected_lines: set[str] = set()

    async def write(self, target: InfluxTarget, bucket: str, lines: Sequence[str]) -> None:
        await self.gate.wait()
        bad = self.rejected_lines.intersection(lines)
        if bad:
            raise WriteRejectedError(400, f"field type conflict in {sorted(bad)}")
        self.writes.append((target.url, bucket, list(lines)))

    def lines(self) -> list[str]:
        return [line for *_, lines in self.writes for line in lines]


@dataclass
class RecordingTopic:
    """A Kafka topic: `send` hands over at once and returns the broker's acknowledgement."""

    sent: list[tuple[bytes | None, bytes]] = field(default_factory=list)
    delivered: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.delivered.set()

    async def send(self, key: bytes | None, value: bytes) -> Awaitable[bool]:
        self.sent.append((key, value))
        return asyncio.ensure_future(self.delivered.wait())


def checkpoint_write(state: State) -> list[Awaitable[object]]:
    """What a checkpoint does to a state: seal the changes so far, then write them."""
    state.seal()
    return state.write()
