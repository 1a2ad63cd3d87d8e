"""Bytes -> validated event, with one exception type for every bad input.

Validation runs in pydantic-core straight from the bytes (`validate_json`): no Python-level JSON
parsing. Every failure becomes a `DecodeError` whose issues name field, constraint and value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Final, Literal, TypeVar, get_args

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from schemas.audit import AuditEvent
from schemas.errors import VALUE_MAX_CHARS, DecodeError, FieldIssue, UnknownFamilyError
from schemas.gpu import GpuSample
from schemas.personal import personal_fields
from schemas.physical import PhysicalEvent
from schemas.power import PowerReading

Family = Literal["gpu", "power", "physical", "audit"]
FAMILIES: Final[tuple[Family, ...]] = get_args(Family)
Event = GpuSample | PowerReading | PhysicalEvent | AuditEvent

FAMILY_MODELS: Final[Mapping[Family, type[Event]]] = {
    "gpu": GpuSample,
    "power": PowerReading,
    "physical": PhysicalEvent,
    "audit": AuditEvent,
}

DEFAULT_TOPICS: Final[Mapping[str, Family]] = {
    "telemetry.gpu": "gpu",
    "telemetry.power": "power",
    "security.physical": "physical",
    "audit.sovereignty": "audit",
}
"""Topic -> family for the default topic names; pass `topics=` when settings rename them."""

_ANY_EVENT: Final[TypeAdapter[Event]] = TypeAdapter(Annotated[Event, Field(discriminator="family")])

_MODEL_BY_NAME: Final[dict[str | None, type[Event]]] = {
    name: FAMILY_MODELS[family]
    for name, family in [*((f, f) for f in FAMILIES), *DEFAULT_TOPICS.items()]
}

M = TypeVar("M", bound=BaseModel)


def family_of(family_or_topic: str, topics: Mapping[str, Family] = DEFAULT_TOPICS) -> Family:
    """The family named by a family name or a topic; `UnknownFamilyError` otherwise."""
    if family_or_topic in FAMILY_MODELS:
        return family_or_topic  # type: ignore[return-value]
    try:
        return topics[family_or_topic]
    except KeyError:
        raise UnknownFamilyError(
            f"{family_or_topic!r} is neither a family ({', '.join(FAMILIES)}) "
            f"nor a known topic ({', '.join(topics)})"
        ) from None


def decode(
    raw: bytes | bytearray | str,
    family_or_topic: str | None = None,
    *,
    topics: Mapping[str, Family] = DEFAULT_TOPICS,
) -> Event:
    """Decode and validate one event.

    With a family or topic, the event must be of that family (its `family` field may be
    omitted); without, the `family` field picks the model. Raises `DecodeError` for any bad
    input, `UnknownFamilyError` only for an unknown family/topic argument (a wiring bug).
    """
    # Hot path: one dict lookup and the pydantic-core call; no Python-level JSON work.
    model = _MODEL_BY_NAME.get(family_or_topic) if topics is DEFAULT_TOPICS else None
    if model is None and family_or_topic is not None:
        model = FAMILY_MODELS[family_of(family_or_topic, topics)]
    if model is None:
        try:
            return _ANY_EVENT.validate_json(raw)
        except ValidationError as exc:
            raise decode_error_from(exc, None) from None
        except Exception as exc:
            raise _internal_error(exc) from exc
    return decode_as(raw, model)


def decode_as(raw: bytes | bytearray | str, model: type[M]) -> M:
    """Decode and validate a record of one given model (e.g. `Alert`, `DeadLetter`)."""
    try:
        result: M = model.__pydantic_validator__.validate_json(raw)
        return result
    except ValidationError as exc:
        raise decode_error_from(exc, model) from None
    except Exception as exc:
        raise _internal_error(exc) from exc


def _internal_error(exc: Exception) -> DecodeError:
    """A validator bug must not crash ingest: the record goes to the DLQ, saying so."""
    name = type(exc).__name__
    issue = FieldIssue(
        field="", constraint="internal_error", value=None, message=f"{name} in validation"
    )
    return DecodeError(f"internal validation error: {name}", (issue,))


def decode_error_from(exc: ValidationError, model: type[BaseModel] | None) -> DecodeError:
    """The `DecodeError` for a pydantic `ValidationError` of `model` (None: any event)."""
    issues = tuple(_issue(err, model) for err in exc.errors(include_url=False))
    label = _label(model, exc)
    first = issues[0] if issues else None
    if first is None:
        return DecodeError(f"invalid {label}", issues)
    shown = "" if first.value is None else f" (got {first.value})"
    where = f"{first.field}: " if first.field else ""
    more = f"; and {len(issues) - 1} more" if len(issues) > 1 else ""
    reason = f"invalid {label}: {where}{first.message}{shown}{more}"
    return DecodeError(" ".join(reason.split()), issues)


def _label(model: type[BaseModel] | None, exc: ValidationError) -> str:
    if model is not None:
        return model.__name__
    errors = exc.errors(include_url=False)
    loc = errors[0]["loc"] if errors else ()
    if loc and loc[0] in FAMILY_MODELS:
        return FAMILY_MODELS[loc[0]].__name__  # type: ignore[index]
    return "event"


def _issue(err: ErrorDetails, model: type[BaseModel] | None) -> FieldIssue:
    loc = err["loc"]
    if model is None and loc and loc[0] in FAMILY_MODELS:  # discriminated union: tag first
        model = FAMILY_MODELS[loc[0]]  # type: ignore[index]
        loc = loc[1:]
    field = ".".join(str(part) for part in loc)
    ctx = {k: v for k, v in err.get("ctx", {}).items() if k != "error"}
    constraint = " ".join([err["type"], *(f"{k}={v}" for k, v in ctx.items())])[:256]
    # An unknown field may be personal data nothing knows to pseudonymise: its value is withheld.
    withheld = err["type"] in ("missing", "extra_forbidden") or _is_personal(field, model)
    return FieldIssue(
        field=field[:512],
        constraint=constraint,
        value=None if withheld else _show(err["input"]),
        message=err["msg"][:1024],
    )


def _is_personal(field: str, model: type[BaseModel] | None) -> bool:
    """Whether the value at `field` is or contains personal data (any model if unknown)."""
    models = [model] if model is not None else list(FAMILY_MODELS.values())
    for candidate in models:
        for path in personal_fields(candidate):
            # The field itself, something inside it, or a parent that contains it.
            if field in ("", path) or path.startswith(field + ".") or field.startswith(path + "."):
                return True
    return False


def _show(value: object) -> str:
    if isinstance(value, bytes | bytearray):
        text = bytes(value[: VALUE_MAX_CHARS + 1]).decode("utf-8", "backslashreplace")
    elif isinstance(value, str):
        text = value
    else:
        text = repr(value)
    return text if len(text) <= VALUE_MAX_CHARS else text[:VALUE_MAX_CHARS] + "..."
