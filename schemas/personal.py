"""Which fields hold personal data, found generically so the pipeline can pseudonymise them.

A model marks a field with `json_schema_extra=PERSONAL`; the mark also shows up in the exported
JSON Schema as `"personal_data": true`.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel

PERSONAL: dict[str, Any] = {"personal_data": True}
"""Pass as `Field(json_schema_extra=PERSONAL)` to mark a field as personal data."""

M = TypeVar("M", bound=BaseModel)


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType):
        for arg in get_args(annotation):
            found = _nested_model(arg)
            if found is not None:
                return found
    return None


@cache
def personal_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """Dotted paths of the personal-data fields of `model`, nested models included."""
    paths: list[str] = []
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and extra.get("personal_data") is True:
            paths.append(name)
        nested = _nested_model(info.annotation)
        if nested is not None:
            paths.extend(f"{name}.{sub}" for sub in personal_fields(nested))
    return tuple(paths)


def pseudonymise(event: M, transform: Callable[[str], str]) -> M:
    """A copy of `event` with every personal string field replaced by `transform(value)`.

    `transform` is typically a keyed hash (HMAC) so the same badge maps to the same pseudonym.
    The copy is not re-validated: `transform` must return a valid value for the field.
    """
    update: dict[str, Any] = {}
    for path in personal_fields(type(event)):
        head, _, rest = path.partition(".")
        if rest:
            continue  # handled with its parent below
        value = getattr(event, head)
        if isinstance(value, str):
            update[head] = transform(value)
    for name in {p.partition(".")[0] for p in personal_fields(type(event)) if "." in p}:
        child = getattr(event, name)
        if isinstance(child, BaseModel):
            update[name] = pseudonymise(child, transform)
    return event.model_copy(update=update)


def pseudonyms_in(
    raw: bytes, paths: tuple[str, ...], transform: Callable[[str], str]
) -> dict[str, str]:
    """Dotted path -> `transform(value)` for each personal field at `paths` that `raw`, read as
    a JSON object, holds as a string or number: what a dead letter may show of a record that
    failed validation. Empty when `raw` is not a JSON object (or nests too deep to read)."""
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        return {}
    found: dict[str, str] = {}
    for path in paths:
        value: Any = doc
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            text = str(value)
            if text.isascii() or _is_utf8(text):  # JSON's "\ud800" is no id to pseudonymise
                found[path] = transform(text)
    return found


def _is_utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
