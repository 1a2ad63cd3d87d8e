"""No dead link in README.md or docs/: every relative link names a file of the repository, and
every #anchor a heading of its page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.tools.docs_pages import anchor
from tests.unit.docs.pages import FENCE, name, pages

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    return {anchor(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def dead_links(page: Path) -> list[str]:
    dead = []
    for target in LINK.findall(FENCE.sub("", page.read_text())):
        if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, fragment = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            dead.append(f"{target}: no such file")
        elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
            dead.append(f"{target}: no heading #{fragment} in {linked.name}")
    return dead


@pytest.mark.parametrize("page", pages(), ids=name)
def test_every_link_resolves(page: Path) -> None:
    assert dead_links(page) == []


def test_a_dead_link_is_found(tmp_path: Path) -> None:
    (tmp_path / "b.md").write_text("# B\n\n## Section two\n")
    page = tmp_path / "a.md"
    page.write_text("[ok](b.md#section-two) [x](missing.md) [y](b.md#nope) [w](https://e.org)\n")
    assert dead_links(page) == ["missing.md: no such file", "b.md#nope: no heading #nope in b.md"]


def test_the_readme_links_the_docs_map() -> None:
    readme = pages()[0].read_text()
    for page in ("docs/concepts/checkpoints.md", "docs/configuring.md", "docs/benchmarks.md"):
        assert f"]({page})" in readme, page
