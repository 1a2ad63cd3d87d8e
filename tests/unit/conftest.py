"""The unit suite's settings come from each test alone: a `.env` that `make demo` left in the
checkout (its DLQ and pseudonym keys) must not change what a test sees."""

from __future__ import annotations

import pytest

from schemas.settings import Settings


@pytest.fixture(autouse=True)
def no_checkout_dotenv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(Settings.model_config, "env_file", None)
