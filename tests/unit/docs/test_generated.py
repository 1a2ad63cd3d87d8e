"""The generated pages are up to date, and every alert rule has a written runbook."""

from __future__ import annotations

import pytest

from tests.tools.docs_pages import (
    CONFIGURING,
    PARTS,
    PLACEHOLDER,
    RUNBOOK_INDEX,
    RUNBOOKS,
    RuleDoc,
    configuring_page,
    rules,
    runbook_index_page,
    sections,
)

STALE = "is stale: run `make docs` (python -m tests.tools.docs_pages) and commit it"


def test_the_configuring_page_is_generated_from_the_settings_models() -> None:
    assert CONFIGURING.read_text() == configuring_page(), f"{CONFIGURING} {STALE}"


def test_the_runbook_index_lists_every_rule() -> None:
    assert RUNBOOK_INDEX.read_text() == runbook_index_page(), f"{RUNBOOK_INDEX} {STALE}"


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r.id)
def test_every_rule_has_a_written_runbook(rule: RuleDoc) -> None:
    page = RUNBOOKS / f"{rule.pack}.md"
    found = sections(page.read_text() if page.exists() else "")
    rule_id = rule.id
    assert rule_id in found, f"{page} has no '## {rule_id}': run `make docs` for a skeleton"
    text = found[rule_id]
    assert PLACEHOLDER not in text, f"{page}: the runbook of {rule_id} is not written yet"
    for part in PARTS:
        paragraph = text.partition(f"**{part}.**")[2].split("\n\n")[0].strip()
        assert paragraph, f"{page}: {rule_id} says nothing under '{part}'"


def test_no_runbook_is_left_for_a_rule_that_is_gone() -> None:
    ids = {rule.id for rule in rules()}
    extra = {
        heading
        for page in RUNBOOKS.glob("*.md")
        for heading in sections(page.read_text())
        if heading not in ids
    }
    assert extra == set()
