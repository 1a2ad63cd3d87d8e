"""Every `SOVWATCH_*` variable the settings models read, with its type, default and description:
what the configuring page of the docs is generated from, what the docs tests check names
against, and how a printed command knows which settings are secrets. Pure introspection of
`schemas.settings`; nothing is read from the environment."""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from schemas.settings import DEFAULT_CACHE, Settings

PREFIX: Final = "SOVWATCH_"
NESTED: Final = "__"


@dataclass(frozen=True)
class Setting:
    """One environment variable."""

    env: str
    """e.g. SOVWATCH_KAFKA__BOOTSTRAP_SERVERS"""
    group: str
    """The top-level field it belongs to (`kafka`), or `general` for top-level values."""
    kind: str
    """The value's type as a reader writes it: text, number, true/false, JSON list, ..."""
    default: str
    description: str
    secret: bool


def _model(annotation: Any) -> type[BaseModel] | None:
    """The settings model a field nests, if it nests one."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _args(annotation: Any) -> tuple[Any, ...]:
    """The members of a union (`X | None`), else the annotation alone."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return tuple(a for a in typing.get_args(annotation) if a is not type(None))
    return (annotation,)


def _kind(annotation: Any) -> str:
    members = _args(annotation)
    if len(members) != 1:
        return " or ".join(_kind(m) for m in members)
    (only,) = members
    origin = typing.get_origin(only)
    if origin is typing.Literal:
        return _one_of([str(value) for value in typing.get_args(only)])
    if origin is typing.Annotated:
        return _kind(typing.get_args(only)[0])
    if origin is list:
        return "JSON list"
    if origin is dict:
        return "JSON object"
    names = {
        str: "text",
        int: "integer",
        float: "number",
        bool: "true/false",
        Path: "path",
        SecretStr: "secret",
    }
    if only in names:
        return names[only]
    return str(only)


def _one_of(values: list[str]) -> str:
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"


def _secret(annotation: Any) -> bool:
    """A secret, or a list or map that holds one (a residency map with tokens)."""
    for member in _args(annotation):
        nested = _model(member)
        if member is SecretStr or (nested is not None and _has_secret(nested)):
            return True
        if typing.get_origin(member) in (list, dict) and any(map(_secret, typing.get_args(member))):
            return True
    return False


def _has_secret(model: type[BaseModel]) -> bool:
    return any(_secret(info.annotation) for info in model.model_fields.values())


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        value: Any = info.default_factory()  # type: ignore[call-arg]
    elif info.default is PydanticUndefined:
        return "required"
    else:
        value = info.default
    if value is None:
        return "not set"
    if isinstance(value, SecretStr):
        return "a development value (set your own)"
    if isinstance(value, Path):
        home = Path.home()
        text = str(value)
        if value == DEFAULT_CACHE or value.is_relative_to(home):
            text = "~/" + str(value.relative_to(home))
        return text
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def _walk(model: type[BaseModel], prefix: str, group: str) -> Iterator[Setting]:
    for name, info in model.model_fields.items():
        annotation = info.annotation
        variable = f"{prefix}{name.upper()}"
        nested = _model(annotation)
        if nested is not None:
            yield from _walk(nested, variable + NESTED, group or name)
            continue
        yield Setting(
            env=variable,
            group=group or "general",
            kind=_kind(annotation),
            default=_default(info),
            description=" ".join((info.description or "").split()),
            secret=_secret(annotation),
        )


def catalog() -> list[Setting]:
    """Every variable, in the order of the models' fields."""
    return list(_walk(Settings, PREFIX, ""))


def groups() -> dict[str, str]:
    """Top-level group -> the first line of its model's docstring."""
    found = {"general": "Settings of the whole process."}
    for name, info in Settings.model_fields.items():
        nested = _model(info.annotation)
        if nested is not None:
            doc = (nested.__doc__ or "").strip().split("\n\n")[0]
            found[name] = " ".join(doc.split())
    return found


def names() -> frozenset[str]:
    """Every variable name."""
    return frozenset(setting.env for setting in catalog())


def secrets() -> frozenset[str]:
    """The variables whose values are secrets (or hold some, like a JSON map with tokens)."""
    return frozenset(setting.env for setting in catalog() if setting.secret)
