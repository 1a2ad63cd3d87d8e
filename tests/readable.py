"""What someone without any key reads of a record, for tests that personal data is not in it."""

from __future__ import annotations

import base64
import contextlib
import json


def assert_not_readable(serialised: str, *values: str) -> None:
    """None of `values` in the dead letter as anyone without the key reads it: its JSON and
    every string value decoded as base64 (where it is), so an encoding is not taken for
    protection."""
    texts = [serialised]

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            with contextlib.suppress(ValueError):
                texts.append(base64.b64decode(value, validate=True).decode("latin-1"))

    walk(json.loads(serialised))
    for value in values:
        assert not any(value in text for text in texts), f"{value} readable in the dead letter"
