"""Fixtures for integration tests: the real native stack, started once per session.

A stack that is already running (e.g. after `make demo`) is reused and left running; one the
fixture started itself is stopped at the end, so CI leaves no server behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from schemas.settings import Settings
from streams.stack import Stack


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Iterator[Stack]:
    stack = Stack(settings)
    already_up = all(service.state == "up" for service in stack.status())
    stack.up()
    yield stack
    if not already_up:
        stack.down()


@pytest.fixture
def unique() -> str:
    """A name suffix no other test (or earlier run) uses: tests never share topics or series."""
    return uuid.uuid4().hex[:12]
