"""Loading rule packs from YAML, and linting them with file:line:column messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agents.rules.compiled import LOCAL_TIME
from agents.rules.language import Compiler, ExpressionError
from agents.rules.model import KEY_ORDER, Rule, RulePack, placeholders
from agents.rules.typecheck import Checker, Type, field_type, registry_field
from agents.yaml_lint import LintIssue, YamlLocator, load_located
from schemas.decode import FAMILY_MODELS, Family

PACKS_DIR = Path(__file__).with_name("packs")


class RuleLoadError(Exception):
    def __init__(self, issues: list[LintIssue]) -> None:
        super().__init__("\n".join(map(str, issues)))
        self.issues = issues


def pack_files(directory: Path = PACKS_DIR) -> list[Path]:
    return sorted(directory.glob("*.yaml"))


def load_packs(paths: list[Path] | None = None) -> list[RulePack]:
    """Validated packs; `RuleLoadError` listing every issue if any file has one."""
    packs, issues = [], []
    for path in paths if paths is not None else pack_files():
        pack, found = lint_file(path)
        issues.extend(found)
        if pack is not None:
            packs.append(pack)
    seen: dict[str, Path] = {}
    for pack, path in zip(packs, paths or pack_files(), strict=False):
        for rule in pack.rules:
            if rule.id in seen:
                issues.append(LintIssue(path, 1, 1, f"rule id {rule.id} also in {seen[rule.id]}"))
            seen[rule.id] = path
    if issues:
        raise RuleLoadError(issues)
    return packs


def lint_file(path: Path) -> tuple[RulePack | None, list[LintIssue]]:
    """The pack and its issues: YAML syntax, schema, key order, expressions that don't compile,
    and fields a rule names that its families don't have or compares with the wrong type."""
    text = path.read_text()
    located = load_located(path, text)
    if isinstance(located, LintIssue):
        return None, [located]
    data, where = located
    if not isinstance(data, dict):
        return None, [LintIssue(path, 1, 1, "a rule pack is a mapping with lists, macros, rules")]
    try:
        pack = RulePack.model_validate(data)
    except ValidationError as exc:
        return None, where.validation_issues(exc)
    issues = []
    for index, raw in enumerate(data.get("rules", [])):
        order = [key for key in raw if key in KEY_ORDER]
        if order != sorted(order, key=KEY_ORDER.index):
            issues.append(
                where.issue(
                    ("rules", index),
                    f"keys out of order: {', '.join(order)}; expected {', '.join(KEY_ORDER)}",
                )
            )
    compiler = Compiler(
        lists={name: frozenset(values) for name, values in pack.lists.items()},
        macros=pack.macros,
    )
    for index, rule in enumerate(pack.rules):
        for loc, source in _expressions(rule):
            try:
                compiler.compile(source)
            except ExpressionError as exc:
                issues.append(where.expression(("rules", index, *loc), rule.id, exc))
                continue
            checker = Checker(_models(_families_of(rule, loc)), pack.lists, pack.macros)
            issues += [
                where.expression(("rules", index, *loc), rule.id, e) for e in checker.check(source)
            ]
        issues += _named_fields(rule, index, where)
    return (pack if not issues else None), issues


# Values the engine adds to an alert's context besides the event's fields (agents/rules/kinds.py).
CONTEXT_EXTRAS: dict[str, set[str]] = {
    "sustained": {"duration_s"},
    "count": {"count"},
    "absence": {"silent_s"},
}


def _families_of(rule: Rule, loc: tuple[Any, ...]) -> tuple[Family, ...]:
    """The families an expression is evaluated on: a sequence step's own, else the rule's."""
    if loc[0] in ("first", "then"):
        step = getattr(rule, loc[0])
        return (step.applies_to,)
    return rule.families


def _models(families: tuple[Family, ...]) -> list[Any]:
    return [FAMILY_MODELS[family] for family in families]


def _named_fields(rule: Rule, index: int, where: YamlLocator) -> list[LintIssue]:
    """group_by and actor must exist in every family of the rule (a missing one groups every
    event under 'None'); output placeholders in one of them, or be a value the engine adds."""
    issues = []
    named: list[tuple[tuple[Any, ...], str]] = [
        (("group_by", i), path) for i, path in enumerate(rule.group_by)
    ]
    if rule.actor is not None:
        named.append((("actor",), rule.actor))
    for loc, path in named:
        for family in rule.families:
            if field_type(_models((family,)), path) is None:
                message = f"rule {rule.id}: unknown field '{path}' for {family} events"
                issues.append(where.issue(("rules", index, *loc), message))
    for name in placeholders(rule.output):
        registry = registry_field(_models(rule.families), name)
        if isinstance(registry, str):
            issues.append(where.issue(("rules", index, "output"), f"rule {rule.id}: {registry}"))
            continue
        if (
            not isinstance(registry, Type)
            and name not in CONTEXT_EXTRAS.get(rule.kind, set()) | {LOCAL_TIME}
            and field_type(_models(rule.families), name) is None
        ):
            families = "/".join(rule.families)
            message = f"rule {rule.id}: output names '{{{name}}}', which no {families} event has"
            issues.append(where.issue(("rules", index, "output"), message))
    return issues


def _expressions(rule: Rule) -> list[tuple[tuple[Any, ...], str]]:
    """Every expression of a rule with its path in the rule's mapping."""
    found: list[tuple[tuple[Any, ...], str]] = [(("condition",), rule.condition)]
    found += [(("exceptions", i, "condition"), e.condition) for i, e in enumerate(rule.exceptions)]
    if rule.trigger is not None:
        found.append((("trigger",), rule.trigger))
    for side in ("first", "then"):
        step = getattr(rule, side)
        if step is not None:
            found.append(((side, "condition"), step.condition))
    return found
