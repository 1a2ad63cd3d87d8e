"""Linting rule packs: every issue with file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.rules.loader import RuleLoadError, lint_file, load_packs, pack_files

GOOD = """\
rules:
  - id: t.ok
    title: fine rule
    desc: a rule
    applies_to: gpu
    condition: gpu_temp_c > 85
    output: "hot {node}"
    severity: high
    team: ops
"""


def write(tmp_path: Path, text: str, name: str = "pack.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_shipped_packs_lint_clean_and_hold_at_least_25_rules() -> None:
    packs = load_packs()
    rules = [rule for pack in packs for rule in pack.rules]
    assert len(rules) >= 25
    assert {rule.team for rule in rules} == {"ops", "security", "compliance"}
    assert {rule.kind for rule in rules} == {
        "stateless",
        "count",
        "sustained",
        "absence",
        "sequence",
        "two_person",
    }
    assert all(lint_file(path)[1] == [] for path in pack_files())


def test_a_clean_pack_has_no_issues(tmp_path: Path) -> None:
    pack, issues = lint_file(write(tmp_path, GOOD))
    assert issues == [] and pack is not None


def test_expression_errors_point_at_the_line_and_column_in_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("gpu_temp_c > 85", "gpu_temp_c > 85 and frob(x)"))
    _, issues = lint_file(path)
    assert len(issues) == 1
    assert (issues[0].line, issues[0].column) == (6, 36)
    assert "unknown function 'frob'" in str(issues[0])
    assert str(issues[0]).startswith(f"{path}:6:36:")


def test_unknown_keys_are_errors_not_silently_ignored(tmp_path: Path) -> None:
    _, issues = lint_file(
        write(tmp_path, GOOD.replace("    team: ops\n", "    team: ops\n    sevrity: low\n"))
    )
    assert len(issues) == 1 and issues[0].line == 10 and "sevrity" in issues[0].message


def test_keys_out_of_falco_order_are_reported(tmp_path: Path) -> None:
    swapped = GOOD.replace(
        "    title: fine rule\n    desc: a rule\n", "    desc: a rule\n    title: fine rule\n"
    )
    _, issues = lint_file(write(tmp_path, swapped))
    assert len(issues) == 1 and "out of order" in issues[0].message


def test_a_kind_without_its_keys_is_reported(tmp_path: Path) -> None:
    text = GOOD.replace("    applies_to: gpu\n", "    kind: count\n    applies_to: gpu\n")
    _, issues = lint_file(write(tmp_path, text))
    assert len(issues) == 1 and "needs window, threshold" in issues[0].message


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("rules: [\n", "YAML"),
        ("- just a list\n", "mapping"),
        (GOOD.replace("severity: high", "severity: urgent"), "severity"),
        (GOOD.replace("window", "x") + "    window: soon\n", "not a duration"),
        (GOOD.replace('"hot {node}"', '"hot {node.__class__}"'), "placeholder"),
    ],
)
def test_malformed_packs_give_a_clear_issue(tmp_path: Path, text: str, needle: str) -> None:
    _, issues = lint_file(write(tmp_path, text))
    assert issues and needle in str(issues[0])


def test_load_packs_refuses_duplicate_rule_ids(tmp_path: Path) -> None:
    paths = [write(tmp_path, GOOD, "a.yaml"), write(tmp_path, GOOD, "b.yaml")]
    with pytest.raises(RuleLoadError, match=r"rule id t\.ok also in"):
        load_packs(paths)
