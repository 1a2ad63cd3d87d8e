"""The Markdown the docs tests read: README.md and every page under docs/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from tests.tools.docs_pages import DOCS, ROOT

FENCE: Final = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE: Final = re.compile(r"`([^`\n]+)`")


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def code_of(text: str) -> Iterator[str]:
    """The code in a page: each line of a fenced block, each inline code span."""
    for block in FENCE.findall(text):
        yield from block.splitlines()[1:-1]
    yield from INLINE.findall(FENCE.sub("", text))


def name(page: Path) -> str:
    return str(page.relative_to(ROOT))
