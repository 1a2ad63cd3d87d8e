"""File:line:column messages for reviewed YAML files (rule packs, the site registry): a path in
the loaded data is mapped back to where it stands in the file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from agents.rules.language import ExpressionError


def load_located(path: Path, text: str) -> tuple[Any, YamlLocator] | LintIssue:
    """The data of a reviewed YAML file and a locator of its positions; a syntax error is an
    issue at its position."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return LintIssue(path, line, column, f"YAML: {exc.problem}")
    return data, YamlLocator(path, root)


@dataclass(frozen=True)
class LintIssue:
    path: Path
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


class YamlLocator:
    """Maps a path in the data (('rules', 3, 'condition')) to a line and column in the file."""

    def __init__(self, path: Path, root: yaml.Node | None) -> None:
        self.path = path
        self.root = root

    def node(self, loc: tuple[Any, ...]) -> yaml.Node | None:
        node = self.root
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if k.value == part), node)
                if node is None:
                    return None
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if part >= len(node.value):
                    return node
                node = node.value[part]
            else:
                break
        return node

    def issue(self, loc: tuple[Any, ...], message: str) -> LintIssue:
        node = self.node(loc)
        line, column = (node.start_mark.line + 1, node.start_mark.column + 1) if node else (1, 1)
        dotted = ".".join(str(p) for p in loc)
        return LintIssue(self.path, line, column, f"{dotted}: {message}" if dotted else message)

    def validation_issues(self, exc: ValidationError) -> list[LintIssue]:
        """One issue per error of a model validation, at the value it names."""
        return [self.issue(tuple(err["loc"]), err["msg"] + _got(err)) for err in exc.errors()]

    def expression(self, loc: tuple[Any, ...], rule_id: str, exc: ExpressionError) -> LintIssue:
        """Position of an error inside an expression, counted from where its scalar starts."""
        node = self.node(loc)
        if node is None:
            return self.issue(loc, f"rule {rule_id}: {exc.message}")
        start = node.start_mark
        style = getattr(node, "style", None)
        if style in ("|", ">"):  # block scalar: the text starts on the next line
            line, column = start.line + 1 + exc.line, exc.column + start.column
        else:
            quote = 1 if style in ("'", '"') else 0
            line = start.line + exc.line
            column = start.column + quote + exc.column if exc.line == 1 else exc.column
        return LintIssue(self.path, line, column, f"rule {rule_id}: {exc.message}")


def _got(err: Any) -> str:
    value = err.get("input")
    return "" if isinstance(value, dict | list) or value is None else f" (got {value!r})"
