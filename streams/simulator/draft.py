"""Events before validation (`Draft`), and the two ways an incident changes the baseline: `Quiet`
(baseline events that do not happen) and `Patch` (baseline events whose values change)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.decode import FAMILY_MODELS, Event


@dataclass(slots=True)
class Draft:
    """An event's fields, without the envelope defaults; `event()` validates it."""

    ts: datetime
    family: str
    site_id: str
    country: str
    event_id: str
    fields: dict[str, Any]

    def event(self, source: str) -> Event:
        data = {
            "event_id": self.event_id,
            "site_id": self.site_id,
            "country": self.country,
            "ts": self.ts,
            "source": source,
            **self.fields,
        }
        model: Any = FAMILY_MODELS[self.family]  # type: ignore[index]
        event: Event = model.model_validate(data)
        return event


@dataclass(frozen=True)
class Window:
    """Baseline events of one site and family in [start, end) whose fields equal `match`."""

    site_id: str
    family: str
    start: datetime
    end: datetime
    match: Mapping[str, Any] = field(default_factory=dict)

    def covers(self, draft: Draft) -> bool:
        return (
            draft.site_id == self.site_id
            and draft.family == self.family
            and self.start <= draft.ts < self.end
            and all(draft.fields.get(k) == v for k, v in self.match.items())
        )


@dataclass(frozen=True)
class Quiet(Window):
    """These baseline events do not happen (a node down, a silent collector...)."""


@dataclass(frozen=True)
class Patch(Window):
    """These baseline events get other values (`apply` returns the fields to change)."""

    apply: Callable[[Draft], dict[str, Any]] = field(default=lambda d: {})
