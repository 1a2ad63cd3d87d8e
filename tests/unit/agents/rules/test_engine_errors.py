"""A rule that raises at run time is isolated: the other rules and the event go on, the error is
counted per rule and logged at most once per rule and minute."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from agents.metrics import REGISTRY
from agents.rules.compiled import CompiledRule
from agents.rules.engine import RuleEngine
from agents.rules.kinds import KINDS, Absence
from schemas.decode import Event
from tests.unit.agents.rules.helpers import at, event, pack

RULES = """
- id: t.hot
  title: hot gpu
  desc: test
  applies_to: gpu
  condition: gpu_temp_c > 85
  output: "hot {node} ({model_name})"
  severity: high
  team: ops
  group_by: [site_id, node]
- id: t.xid
  title: xid
  desc: test
  applies_to: gpu
  condition: xid_errors == 79
  output: "xid on {gpu_uuid}"
  severity: high
  team: ops
  group_by: [site_id, gpu_uuid]
"""

SILENCES = """
- id: t.silent_a
  title: silent node
  desc: test
  kind: absence
  applies_to: gpu
  output: "silent {node}"
  severity: high
  team: ops
  group_by: [site_id, node]
  window: 5m
- id: t.silent_b
  title: silent gpu
  desc: test
  kind: absence
  applies_to: gpu
  output: "silent {gpu_uuid}"
  severity: high
  team: ops
  group_by: [site_id, gpu_uuid]
  window: 5m
"""


class Exploding:
    """An event one of whose fields raises when read: a bug deep inside evaluation."""

    def __init__(self, inner: Event, field: str) -> None:
        self._inner = inner
        self._field = field

    def __getattr__(self, name: str) -> Any:
        if name == self._field:
            raise RuntimeError(f"cannot read {name}")
        return getattr(self._inner, name)


def errors(rule_id: str) -> float:
    return REGISTRY.get_sample_value("sovwatch_rule_errors_total", {"rule": rule_id}) or 0.0


def gpu(**fields: Any) -> Event:
    return event("gpu", 0, gpu_temp_c=90.0, xid_errors=79, model_name="H100", **fields)


@pytest.mark.parametrize("field", ["gpu_temp_c", "node", "model_name"])
def test_a_rule_failing_in_condition_group_or_output_spares_the_others(field: str) -> None:
    # gpu_temp_c: condition; node: group; model_name: only the output template reads it.
    rules = RuleEngine([pack(RULES)])
    before = errors("t.hot")
    alerts = rules.process(Exploding(gpu(), field), now=at(0))
    assert [a.rule_id for a in alerts] == ["t.xid"]
    assert errors("t.hot") == before + 1


def test_a_kind_raising_on_an_event_is_isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def on_event(self, *args: Any) -> Any:
            raise KeyError("since")  # e.g. state restored from an older format

    counting = "  kind: count\n  applies_to: gpu\n  window: 1m\n  threshold: 2\n"
    rules = RuleEngine([pack(RULES.replace("  applies_to: gpu\n", counting, 1))])
    monkeypatch.setitem(KINDS, "count", Broken())
    before = errors("t.hot")
    assert [a.rule_id for a in rules.process(gpu(), now=at(0))] == ["t.xid"]
    assert errors("t.hot") == before + 1


def test_a_failing_message_spares_the_other_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    render = CompiledRule.message

    def message(self: CompiledRule, context: Any) -> str:
        if self.id == "t.hot":
            raise ValueError("bad template")
        return render(self, context)

    monkeypatch.setattr(CompiledRule, "message", message)
    rules = RuleEngine([pack(RULES)])
    assert [a.rule_id for a in rules.process(gpu(), now=at(0))] == ["t.xid"]


def test_a_rule_failing_on_the_timer_spares_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    judge = Absence.on_tick

    def on_tick(self: Absence, rule: CompiledRule, now: float, state: Any) -> Any:
        if rule.id == "t.silent_a":
            raise ZeroDivisionError("window")
        return judge(self, rule, now, state)

    monkeypatch.setattr(Absence, "on_tick", on_tick)
    rules = RuleEngine([pack(SILENCES)])
    rules.process(event("gpu", 0), now=at(0))
    before = errors("t.silent_a")
    assert [a.rule_id for a in rules.tick(at(600)).alerts] == ["t.silent_b"]
    assert errors("t.silent_a") == before + 1


def test_errors_are_logged_once_per_rule_and_minute(caplog: pytest.LogCaptureFixture) -> None:
    clock = [1000.0]
    rules = RuleEngine([pack(RULES)], clock=lambda: clock[0])
    with caplog.at_level(logging.WARNING, logger="agents.rules"):
        for step in range(5):  # 0, 20, 40, 60, 80 s
            clock[0] = 1000.0 + 20 * step
            rules.process(Exploding(gpu(), "gpu_temp_c"), now=at(0))
    logged = [r for r in caplog.records if "t.hot" in r.getMessage()]
    assert len(logged) == 2  # at 0 s and at 60 s
    assert "2 more" in logged[1].getMessage()  # the ones at 20 and 40 s were only counted
