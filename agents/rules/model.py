"""The rule file format: what a compliance officer reads, reviews and signs off.

A rule pack is YAML with `lists`, `macros` and `rules`. Rule keys follow Falco's order —
id, title, desc, applies_to, condition, output, severity, team, tags, exceptions — then the
keys of the rule's kind (window, threshold, group_by, ...). Unknown keys are errors, so a typo
never silently disables a check.
"""

from __future__ import annotations

import re
import string
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from schemas.alert import Severity, Team
from schemas.decode import Family

Kind = Literal["stateless", "count", "sustained", "absence", "sequence", "two_person"]
SequenceMode = Literal["preceded_by", "followed_by", "not_followed_by"]

KEY_ORDER = (
    "id",
    "title",
    "desc",
    "kind",
    "applies_to",
    "condition",
    "output",
    "severity",
    "team",
    "tags",
    "exceptions",
)
"""Falco's order for the common keys (plus `kind`); kind-specific keys follow them."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object) -> float:
    """'90s', '5m', '2h', '1d' or a number of seconds -> seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
    else:
        raise ValueError(f"'{value}' is not a duration; write e.g. 30s, 5m, 2h or 1d")
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


Seconds = Annotated[float, BeforeValidator(parse_duration)]
FieldPath = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")]


class RuleException(BaseModel):
    """A reviewed, named exception: events matching its condition never trigger the rule."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    condition: str = Field(min_length=1)
    reason: str = Field(min_length=1, description="Why this is acceptable (for reviewers)")


class Step(BaseModel):
    """One side of a sequence rule."""

    model_config = ConfigDict(extra="forbid")

    applies_to: Family
    condition: str = "true"


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_.-]{2,80}$")
    title: str = Field(min_length=3, max_length=120)
    desc: str = Field(min_length=3)
    kind: Kind = "stateless"
    applies_to: Family | None = Field(None, description="Event family (all kinds but sequence)")
    condition: str = Field("true", min_length=1)
    output: str = Field(
        min_length=3,
        description="Alert message; {field} placeholders, [ optional clause with {field}] left "
        "out when a field it names has no value",
    )
    severity: Severity
    team: Team
    tags: list[str] = Field(default_factory=list, description="Frameworks and controls")
    exceptions: list[RuleException] = Field(default_factory=list)
    group_by: list[FieldPath] = Field(default_factory=lambda: ["site_id"])
    window: Seconds | None = Field(None, description="T of count/sustained/absence/...")
    threshold: int | None = Field(None, ge=2, description="count: at least N events in T")
    suppress: Seconds = Field(900.0, description="One incident = one alert for this long")
    first: Step | None = Field(None, description="sequence: event A")
    then: Step | None = Field(None, description="sequence: event B")
    mode: SequenceMode | None = Field(None, description="sequence: how A and B relate")
    actor: FieldPath | None = Field(None, description="two_person: field naming the person")
    trigger: str | None = Field(
        None, description="two_person: which matching events need a second person (default all)"
    )
    people: int = Field(2, ge=2, description="two_person: distinct people required")

    @model_validator(mode="after")
    def _kind_has_its_keys(self) -> Rule:
        needs: dict[str, tuple[str, ...]] = {
            "stateless": ("applies_to",),
            "count": ("applies_to", "window", "threshold"),
            "sustained": ("applies_to", "window"),
            "absence": ("applies_to", "window"),
            "sequence": ("first", "then", "mode", "window"),
            "two_person": ("applies_to", "window", "actor"),
        }
        missing = [key for key in needs[self.kind] if getattr(self, key) is None]
        if missing:
            raise ValueError(f"a {self.kind} rule needs {', '.join(missing)}")
        if self.kind == "sequence" and self.applies_to is not None:
            raise ValueError("a sequence rule names its families in first/then, not applies_to")
        return self

    @property
    def families(self) -> tuple[Family, ...]:
        """The event families this rule looks at."""
        if self.kind == "sequence":
            assert self.first is not None and self.then is not None
            return tuple(dict.fromkeys((self.first.applies_to, self.then.applies_to)))
        assert self.applies_to is not None
        return (self.applies_to,)

    @property
    def across_streams(self) -> bool:
        """A `preceded_by` sequence whose A and B come from different topics: Kafka orders
        events within a partition only, so B may be processed before an A that happened earlier.
        The engine judges such a B on its timer, once a grace period for late A's has passed."""
        return self.kind == "sequence" and self.mode == "preceded_by" and len(self.families) == 2

    @property
    def judged_on_timer(self) -> bool:
        """True when the rule's alerts come from the engine's tick, not from an event."""
        return (
            self.kind in ("absence", "two_person")
            or self.mode == "not_followed_by"
            or self.across_streams
        )

    @model_validator(mode="after")
    def _output_names_fields_only(self) -> Rule:
        for name in placeholders(self.output):
            if not PLACEHOLDER.match(name):
                raise ValueError(f"output placeholder {{{name}}} must be a field, e.g. {{node}}")
        return self


PLACEHOLDER = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


def placeholders(template: str) -> list[str]:
    """The {names} of an output template (str.format syntax, no format specs)."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


class RulePack(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lists: dict[str, list[str | int | float]] = Field(default_factory=dict)
    macros: dict[str, str] = Field(default_factory=dict)
    rules: list[Rule]
