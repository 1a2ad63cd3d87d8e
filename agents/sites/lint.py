"""Loading the registry file, with every problem reported as file:line:column.

Unknown keys, unknown zone kinds, a time zone that does not exist, a country or subdivision the
holiday calendars do not know, a rack in no zone: each is an issue; a file with any is refused.
"""

from __future__ import annotations

from pathlib import Path

import holidays
from pydantic import ValidationError

from agents.sites.registry import Registry
from agents.yaml_lint import LintIssue, load_located
from schemas.sites import SiteRegistry, registry_problems


class RegistryError(Exception):
    """A registry file that does not lint; `issues` name file:line:column each."""

    def __init__(self, issues: list[LintIssue]) -> None:
        super().__init__("\n".join(map(str, issues)))
        self.issues = issues


def lint_registry(path: Path) -> tuple[SiteRegistry | None, list[LintIssue]]:
    """The registry and its issues (the registry only when there are none)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return None, [LintIssue(path, 1, 1, f"cannot read the site registry: {exc.strerror}")]
    located = load_located(path, text)
    if isinstance(located, LintIssue):
        return None, [located]
    data, where = located
    if not isinstance(data, dict):
        return None, [where.issue((), "a site registry is a mapping with version and sites")]
    try:
        registry = SiteRegistry.model_validate(data)
    except ValidationError as exc:
        return None, where.validation_issues(exc)
    issues = [where.issue(loc, message) for loc, message in registry_problems(registry)]
    for index, site in enumerate(registry.sites):
        calendar = site.holidays
        if not calendar.public:
            continue
        try:
            holidays.country_holidays(site.holiday_country, subdiv=calendar.subdivision)
        except NotImplementedError as exc:
            issues.append(where.issue(("sites", index, "holidays"), f"site {site.id}: {exc}"))
    return (registry if not issues else None), issues


def load_registry(path: Path) -> Registry:
    """The indexed registry of a file; `RegistryError` listing every issue if it has any."""
    registry, issues = lint_registry(path)
    if registry is None:
        raise RegistryError(issues)
    return Registry(registry, path)
