"""Type checking of rule expressions against the event schemas.

The expression language reads a missing attribute as null, so a misspelt field (`gpu_temp`
for `gpu_temp_c`) or a comparison that can never hold (`outcome == "sucess"`, a number against
a string) would silently disable a check. `check_expression` names every such mistake with its
position in the expression, for `rules lint` and for loading the packs in the worker.

`site.*`, `zone.*` and `rack.*` are checked against the registry's models (`schemas.sites`), and
only for the families whose events have one: every event has a site; physical, power (hall and
rack scope) and GPU events (through their node's rack) a zone; power and GPU events a rack.

Types are coarse on purpose: number, string, bool, datetime, list, model (a nested object), and
for strings drawn from a closed set (Literal or Enum) the allowed values.
"""

from __future__ import annotations

import ast
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from agents.rules.language import CONSTANTS, FUNCTIONS, SITE_FUNCTIONS, ExpressionError
from schemas.sites import Rack, Site, Zone


@dataclass(frozen=True)
class Type:
    """What a field or sub-expression holds; `values` is the closed set of a Literal or Enum."""

    kind: str  # number | string | bool | datetime | list | model | null | any
    values: frozenset[Any] | None = None
    model: type[BaseModel] | None = None

    def __str__(self) -> str:
        if self.values is not None:
            return "one of " + ", ".join(sorted(repr(v) for v in self.values))
        return self.kind


ANY = Type("any")
NUMBER, STRING, BOOL, DATETIME, NULL = (
    Type(k) for k in ("number", "string", "bool", "datetime", "null")
)


def type_of(annotation: Any) -> Type:
    """The coarse type of a field annotation (Optional, Annotated and unions unwrapped)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return type_of(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        kinds = [type_of(arg) for arg in get_args(annotation) if arg is not type(None)]
        return kinds[0] if len(kinds) == 1 else ANY
    if origin is Literal:
        values = frozenset(get_args(annotation))
        kind = "string" if all(isinstance(v, str) for v in values) else "number"
        return Type(kind, values)
    if origin in (list, tuple, set, frozenset):
        return Type("list")
    if isinstance(annotation, type):
        if issubclass(annotation, Enum):
            return Type("string", frozenset(member.value for member in annotation))
        if issubclass(annotation, BaseModel):
            return Type("model", model=annotation)
        if issubclass(annotation, bool):
            return BOOL
        if issubclass(annotation, int | float):
            return NUMBER
        if issubclass(annotation, str):
            return STRING
        if issubclass(annotation, datetime):
            return DATETIME
    return ANY


def field_type(models: Sequence[type[BaseModel]], path: str) -> Type | None:
    """The type of a dotted field in any of the models; None if none of them has it."""
    found = [t for t in (_resolve(model, path.split(".")) for model in models) if t is not None]
    if not found:
        return None
    return found[0] if all(t == found[0] for t in found) else ANY


def _resolve(model: type[BaseModel], parts: list[str]) -> Type | None:
    info = model.model_fields.get(parts[0])
    if info is None:
        return None
    found = type_of(info.annotation)
    if len(parts) == 1:
        return found
    if found.model is None:
        return None
    return _resolve(found.model, parts[1:])


REGISTRY_MODELS: Mapping[str, type[BaseModel]] = {"site": Site, "zone": Zone, "rack": Rack}
REGISTRY_FAMILIES: Mapping[str, frozenset[str]] = {
    "site": frozenset({"gpu", "power", "physical", "audit"}),
    "zone": frozenset({"gpu", "power", "physical"}),
    "rack": frozenset({"gpu", "power"}),
}


def registry_field(models: Sequence[type[BaseModel]], path: str) -> Type | str | None:
    """The type of a registry name (`zone.kind`) for events of these models, an error message if
    it is wrong, None if `path` names no registry fact (an event field)."""
    head, _, rest = path.partition(".")
    model = REGISTRY_MODELS.get(head)
    if model is None or not rest:
        return None
    families = [m.model_fields["family"].default for m in models if "family" in m.model_fields]
    without = [f for f in families if f not in REGISTRY_FAMILIES[head]]
    if without:
        having = ", ".join(sorted(REGISTRY_FAMILIES[head]))
        return f"'{path}': {'/'.join(without)} events have no {head} (only {having} events do)"
    found = field_type([model], rest)
    if found is None:
        fields = ", ".join(f"{head}.{name}" for name in sorted(model.model_fields))
        return f"unknown registry field '{path}'; {head} fields: {fields}"
    return found


def known_fields(models: Sequence[type[BaseModel]]) -> list[str]:
    return sorted({name for model in models for name in model.model_fields})


# Function name -> (argument kinds, result). "any" accepts every type.
SIGNATURES: Mapping[str, tuple[tuple[str, ...], Type]] = {
    "hour": (("datetime",), NUMBER),
    "weekday": (("datetime",), NUMBER),
    "has_bit": (("number", "number"), BOOL),
    "len": (("any",), NUMBER),
    "startswith": (("string", "string"), BOOL),
    "endswith": (("string", "string"), BOOL),
    "contains": (("string", "string"), BOOL),
    "lower": (("string",), STRING),
    "local_hour": (("datetime",), NUMBER),
    "local_weekday": (("datetime",), NUMBER),
    "after_hours": (("datetime",), BOOL),
    "holiday": (("datetime",), BOOL),
}
assert set(SIGNATURES) == {*FUNCTIONS, *SITE_FUNCTIONS}, "every function has a signature"


@dataclass
class Checker:
    """Checks expressions of one rule against the models of the families it applies to."""

    models: Sequence[type[BaseModel]]
    lists: Mapping[str, Sequence[Any]]
    macros: Mapping[str, str]

    def check(self, source: str) -> list[ExpressionError]:
        """Every type mistake in an expression (which already compiles), in source order."""
        errors: list[ExpressionError] = []
        self._infer(ast.parse(source.strip(), mode="eval").body, errors)
        return errors

    def _infer(self, node: ast.expr, errors: list[ExpressionError]) -> Type:
        match node:
            case ast.Constant(value=value):
                return _literal_type(value)
            case ast.Name(id=name) if name in CONSTANTS:
                return _literal_type(CONSTANTS[name])
            case ast.Name(id=name) if name in self.lists:
                return Type("list", frozenset(self.lists[name]))
            case ast.Name(id=name) if name in self.macros:
                inner: list[ExpressionError] = []
                found = self._infer(ast.parse(self.macros[name].strip(), mode="eval").body, inner)
                errors.extend(_at(node, f"in macro '{name}': {e.message}") for e in inner)
                return found
            case ast.Name() | ast.Attribute():
                return self._field(node, errors)
            case ast.BoolOp(values=operands):
                for operand in operands:
                    self._infer(operand, errors)
                return BOOL
            case ast.UnaryOp(op=ast.Not(), operand=operand):
                self._infer(operand, errors)
                return BOOL
            case ast.UnaryOp(operand=operand):
                self._numeric(operand, self._infer(operand, errors), errors)
                return NUMBER
            case ast.BinOp(left=left, right=right):
                self._numeric(left, self._infer(left, errors), errors)
                self._numeric(right, self._infer(right, errors), errors)
                return NUMBER
            case ast.Compare(left=left, ops=ops, comparators=rights):
                operands = [left, *rights]
                kinds = [self._infer(o, errors) for o in operands]
                for i, op in enumerate(ops):
                    self._compare(op, operands[i], kinds[i], operands[i + 1], kinds[i + 1], errors)
                return BOOL
            case ast.List(elts=elts) | ast.Tuple(elts=elts) | ast.Set(elts=elts):
                for element in elts:
                    self._infer(element, errors)
                literal = all(isinstance(e, ast.Constant) for e in elts)
                return Type("list", frozenset(e.value for e in elts) if literal else None)  # type: ignore[attr-defined]
            case ast.Call(func=ast.Name(id=name), args=args):
                wanted, result = SIGNATURES[name]
                if len(args) != len(wanted):
                    errors.append(
                        _at(node, f"{name}() takes {len(wanted)} argument(s), not {len(args)}")
                    )
                for arg, kind in zip(args, wanted, strict=False):
                    found = self._infer(arg, errors)
                    if kind != "any" and found.kind not in (kind, "any", "null"):
                        errors.append(
                            _at(arg, f"{name}() needs a {kind} here, not {_describe(arg, found)}")
                        )
                return result
        return ANY

    def _field(self, node: ast.expr, errors: list[ExpressionError]) -> Type:
        path = ast.unparse(node)
        registry = registry_field(self.models, path)
        if isinstance(registry, Type):
            return registry
        if isinstance(registry, str):
            errors.append(_at(node, registry))
            return ANY
        found = field_type(self.models, path)
        if found is not None:
            return found
        head = path.split(".")[0]
        if field_type(self.models, head) is None:
            hint = f"; fields: {', '.join(known_fields(self.models))}"
        else:
            hint = f"; '{head}' has no field '{path[len(head) + 1 :]}'"
        families = "/".join(model.__name__ for model in self.models)
        errors.append(_at(node, f"unknown field '{path}' for {families}{hint}"))
        return ANY

    def _numeric(self, node: ast.expr, found: Type, errors: list[ExpressionError]) -> None:
        if found.kind not in ("number", "any", "null"):
            errors.append(_at(node, f"arithmetic needs numbers, not {_describe(node, found)}"))

    def _compare(
        self,
        op: ast.cmpop,
        left: ast.expr,
        a: Type,
        right: ast.expr,
        b: Type,
        errors: list[ExpressionError],
    ) -> None:
        if isinstance(op, ast.In | ast.NotIn):
            if b.kind == "list" and b.values is not None:
                wrong = sorted((v for v in b.values if not _fits(a, v)), key=repr)
                if wrong and a.kind != "any":
                    errors.append(_at(right, f"{_describe(left, a)} is never {_show(wrong[0])}"))
            elif b.kind not in ("list", "string", "any"):
                errors.append(_at(right, f"'in' needs a list or string, not {_describe(right, b)}"))
            return
        if "any" in (a.kind, b.kind) or "null" in (a.kind, b.kind):
            return
        for field, node, other in ((a, right, left), (b, left, right)):
            literal = _constant(node)
            if (
                field.values is not None
                and literal is not _NOT_LITERAL
                and not _fits(field, literal)
            ):
                errors.append(_at(node, f"{_describe(other, field)} is never {_show(literal)}"))
                return
        if a.kind != b.kind:
            errors.append(_at(right, f"compares {_describe(left, a)} with {_describe(right, b)}"))


_NOT_LITERAL = object()


def _constant(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    return _NOT_LITERAL


def _literal_type(value: Any) -> Type:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int | float):
        return NUMBER
    return STRING


def _fits(field: Type, value: Any) -> bool:
    """Whether a literal can ever equal a value of the field's type."""
    if field.values is not None:
        return value in field.values
    literal = _literal_type(value).kind
    return field.kind in (literal, "any") or (field.kind == "bool" and literal == "number")


def _describe(node: ast.expr, found: Type) -> str:
    text = ast.unparse(node)
    if isinstance(node, ast.Constant):
        return f"{found.kind} {text}"
    return f"'{text}' ({found.kind})"


def _show(value: Any) -> str:
    return repr(value)


def _at(node: ast.AST, message: str) -> ExpressionError:
    return ExpressionError(message, getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1)
