"""`rules lint` checks every field a rule names against its family's schema, with positions."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.rules.loader import RuleLoadError, lint_file, load_packs
from agents.rules.typecheck import Checker, field_type
from schemas.audit import AuditEvent
from schemas.gpu import GpuSample
from tests.unit.agents.rules.test_loader import GOOD, write


def issues_of(tmp_path: Path, old: str, new: str) -> list[str]:
    text = GOOD.replace(old, new)
    assert text != GOOD, f"{old!r} is not in the pack"
    return [str(issue) for issue in lint_file(write(tmp_path, text))[1]]


def test_a_misspelt_field_is_an_error_at_its_line_and_column(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, "gpu_temp_c > 85", "gpu_temp > 85")
    assert ":6:16: rule t.ok: unknown field 'gpu_temp' for GpuSample" in issue
    assert "gpu_temp_c" in issue  # the known fields are listed


def test_a_misspelt_field_does_not_load_in_the_worker_either(tmp_path: Path) -> None:
    with pytest.raises(RuleLoadError, match="unknown field 'gpu_temp'"):
        load_packs([write(tmp_path, GOOD.replace("gpu_temp_c", "gpu_temp"))])


@pytest.mark.parametrize(
    ("condition", "needle"),
    [
        ('gpu_temp_c > "hot"', "compares 'gpu_temp_c' (number) with string 'hot'"),
        ("node > 3", "compares 'node' (string) with number 3"),
        ("hour(node) > 3", "hour() needs a datetime here, not 'node' (string)"),
        ("gpu_temp_c + node > 3", "arithmetic needs numbers, not 'node' (string)"),
        ("startswith(gpu_temp_c, 'x')", "startswith() needs a string here"),
        ("gpu_temp_c in ['a', 'b']", "'gpu_temp_c' (number) is never 'a'"),
        ("has_bit(clock_throttle_reasons)", "has_bit() takes 2 argument(s), not 1"),
    ],
)
def test_wrong_types_are_errors(tmp_path: Path, condition: str, needle: str) -> None:
    issues = issues_of(tmp_path, "gpu_temp_c > 85", condition)
    assert any(needle in issue for issue in issues), issues


def test_a_value_outside_a_closed_set_is_an_error(tmp_path: Path) -> None:
    audit = GOOD.replace("applies_to: gpu", "applies_to: audit").replace("{node}", "{site_id}")
    pack = write(tmp_path, audit.replace("gpu_temp_c > 85", 'outcome == "sucess"'))
    [issue] = [str(i) for i in lint_file(pack)[1]]
    assert "'outcome' (string) is never 'sucess'" in issue
    enum = write(tmp_path, audit.replace("gpu_temp_c > 85", 'classification >= "secrett"'))
    assert "is never 'secrett'" in str(lint_file(enum)[1][0])


def test_nested_fields_resolve_through_the_model() -> None:
    assert field_type([AuditEvent], "actor.nationality") is not None
    assert field_type([AuditEvent], "actor.nationalty") is None
    errors = Checker([AuditEvent], {}, {}).check("actor.nationalty != country")
    assert [e.message.split(";")[1].strip() for e in errors] == [
        "'actor' has no field 'nationalty'"
    ]


def test_macros_and_lists_are_checked_where_they_are_used() -> None:
    checker = Checker([GpuSample], {"halls": ["a", "b"]}, {"hot": "gpu_tmp_c > 85"})
    [error] = checker.check("hot or node in halls")
    assert error.message.startswith("in macro 'hot': unknown field 'gpu_tmp_c'")
    assert (error.line, error.column) == (1, 1)
    assert Checker([GpuSample], {"xids": [48, 79]}, {}).check("gpu_index in xids") == []


def test_group_by_actor_and_output_fields_must_exist(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, "team: ops\n", "team: ops\n    group_by: [site_id, nod]\n")
    assert ":10:" in issue and "unknown field 'nod' for gpu events" in issue
    [issue] = issues_of(tmp_path, '"hot {node}"', '"hot {nodes}"')
    assert ":7:13:" in issue and "output names '{nodes}'" in issue


def test_the_values_the_engine_adds_are_allowed_per_kind(tmp_path: Path) -> None:
    sustained = GOOD.replace("applies_to: gpu", "kind: sustained\n    applies_to: gpu")
    sustained = sustained.replace('"hot {node}"', '"hot {node} for {duration_s} s"')
    assert lint_file(write(tmp_path, sustained + "    window: 5m\n"))[1] == []
    assert issues_of(tmp_path, '"hot {node}"', '"hot {node} for {duration_s} s"') != []
