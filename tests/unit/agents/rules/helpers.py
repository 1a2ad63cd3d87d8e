"""Building engines from inline YAML and events from shorthand, for the rule tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import yaml

from agents.rules.engine import RuleEngine
from agents.rules.fixtures import T0, build_event
from agents.rules.model import RulePack
from schemas.alert import Alert
from schemas.decode import Event

SILENT = """
- id: t.silent
  title: silent node
  desc: test
  kind: absence
  applies_to: gpu
  output: "silent {node} at {site_id}"
  severity: high
  team: ops
  group_by: [site_id, node]
  window: 5m
"""
"""An absence rule (a node silent for 5 minutes), for the timer tests."""


def pack(rules_yaml: str, **fields: Any) -> RulePack:
    return RulePack.model_validate({"rules": yaml.safe_load(rules_yaml), **fields})


def engine(rules_yaml: str, **fields: Any) -> RuleEngine:
    return RuleEngine([pack(rules_yaml, **fields)])


_counter = [0]


def event(family: str, seconds: float = 0, **fields: Any) -> Event:
    _counter[0] += 1
    name = str(fields.pop("event_id", None) or f"e{_counter[0]}")
    return build_event({"family": family, "ts": at(seconds).isoformat(), **fields}, name)


def feed(rule_engine: RuleEngine, *events: Event) -> list[Alert]:
    alerts: list[Alert] = []
    for item in events:
        alerts.extend(rule_engine.process(item, now=item.ts))
    return alerts


def tick(rule_engine: RuleEngine, now: datetime) -> list[Alert]:
    """A tick whose alerts were delivered: its state is committed."""
    result = rule_engine.tick(now)
    result.commit()
    return result.alerts


def at(seconds: float) -> Any:
    return T0 + timedelta(seconds=seconds)
