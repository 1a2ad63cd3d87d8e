"""Seeded generator of bad (and some good) Kafka record values, built from valid events.

`BadRecords(seeds, rng).case()` returns one `Case`: which kind of damage, the bytes, and what the
ingest path must make of them: `invalid` (a `DecodeError`), `valid` (the seed event, unchanged)
or `either` (random byte damage: anything but a crash). The same generator feeds the unit fuzz
tests, the Kafka fuzz test and the mixed-input benchmark, so the categories are named once.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from schemas.decode import FAMILY_MODELS, Family

Expect = Literal["invalid", "valid", "either"]

BAD_TIMESTAMPS = (
    "0001-01-01T00:00:00Z",
    "1677-09-21T00:12:43Z",
    "1000-01-01T00:00:00+01:00",
    "2262-04-12T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2025-03-01T12:00:00",  # naive
    "2025-13-01T00:00:00Z",
    "2025-02-30T00:00:00Z",
    "+275760-09-13T00:00:00Z",
    "yesterday",
    "",
)
BAD_VERSIONS = ("2", "2.0", "0", "0.9", "10", "1.0.0", "v1", "", "1.", ".1", "99999", "\uff11")
NON_FINITE = (b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e999", b"nan", b"inf")
INVALID_UTF8 = (b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xe2\x82", b"\xf8\x88\x80")
JSON_NOT_OBJECTS = (b"[]", b"[{}]", b"42", b"-0.5", b"null", b"true", b'"gpu"', b"", b" ")


@dataclass(frozen=True)
class Seed:
    """One valid event as produced: its family and wire bytes."""

    family: Family
    raw: bytes


@dataclass(frozen=True)
class Case:
    """One generated record value and what decoding it must give."""

    kind: str
    family: Family
    raw: bytes
    expect: Expect
    seed: Seed


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def _other_kind(value: Any, rng: random.Random) -> Any:
    """A JSON value of a different kind (str, number, bool, list, object) than `value`."""
    kinds: list[Any] = ["text", 42, 3.5, True, [1], {"a": 1}]
    if isinstance(value, bool):
        kinds = [k for k in kinds if not isinstance(k, bool)]
    elif isinstance(value, int | float):
        kinds = [k for k in kinds if isinstance(k, bool) or not isinstance(k, int | float)]
    else:
        kinds = [k for k in kinds if not isinstance(k, type(value))]
    return rng.choice(kinds)


class BadRecords:
    """Cases built from `seeds` with `rng`; `kinds` restricts the kinds drawn."""

    def __init__(
        self,
        seeds: Sequence[Seed],
        rng: random.Random,
        *,
        max_record_bytes: int,
        kinds: Sequence[str] | None = None,
        deep: int = 100_000,
    ) -> None:
        self.seeds = seeds
        self.rng = rng
        self.max_record_bytes = max_record_bytes
        self.deep = deep
        builders: dict[str, Callable[[Seed, dict[str, Any]], tuple[bytes, Expect]]] = {
            "truncated": self._truncated,
            "wrong_type": self._wrong_type,
            "dropped_required": self._dropped_required,
            "dropped_any": self._dropped_any,
            "huge_string": self._huge_string,
            "deep_nesting": self._deep_nesting,
            "non_finite": self._non_finite,
            "bad_timestamp": self._bad_timestamp,
            "bad_version": self._bad_version,
            "oversize": self._oversize,
            "invalid_utf8": self._invalid_utf8,
            "random_bytes": self._random_bytes,
            "not_an_object": self._not_an_object,
            "wrong_topic": self._wrong_topic,
            "unknown_field": self._unknown_field,
            "duplicate_key": self._duplicate_key,
            "duplicate_event": self._duplicate_event,
            "byte_mutation": self._byte_mutation,
        }
        chosen = kinds if kinds is not None else list(builders)
        self.builders = {kind: builders[kind] for kind in chosen}
        self.kinds = list(self.builders)

    def case(self, kind: str | None = None) -> Case:
        kind = kind or self.rng.choice(self.kinds)
        seed = self.rng.choice(self.seeds)
        raw, expect = self.builders[kind](seed, json.loads(seed.raw))
        family = seed.family
        if kind == "wrong_topic":
            family = self.rng.choice([f for f in FAMILY_MODELS if f != seed.family])
        return Case(kind, family, raw, expect, seed)

    def _field(self, doc: dict[str, Any], want: Callable[[str, Any], bool]) -> str | None:
        names = [name for name, value in doc.items() if want(name, value)]
        return self.rng.choice(names) if names else None

    def _truncated(self, seed: Seed, doc: dict[str, Any]) -> tuple[bytes, Expect]:
        return seed.raw[: self.rng.randrange(len(seed.raw))], "invalid"

    def _wrong_type(self, seed: Seed, doc: dict[str, Any]) -> tuple[bytes, Expect]:
        name = self._field(doc, lambda _, value: value is not None)
        assert name is not None
        doc[name] = _other_kind(doc[name], self.rng)
        return _dumps(doc), "invalid"

    def _dropped_required(self, seed: Seed, doc: dict[str, Any]) -> tuple[bytes, Expect]:
        fields = FAMILY_MODELS[seed.family].model_fields
        name = self._field(doc, lambda n, _: n in fields and fields[n].is_required())
        assert name is not None
        del doc[name]
        return _dumps(doc), "invalid"

    def _dropped_any(self, seed: Seed, doc: dict[str, Any]) -> tuple[bytes, Expect]:
        del doc[self.rng.choice(sorted(doc))]
        return _dumps(doc), "either"  # an optional field, unless another field requires it

    def _huge_string(self, seed: Seed, doc: dict[str, Any]) -> tuple[bytes, Expect]:
        name = self._field(doc, lambda _, value: isinstance(value, str))
        assert name is not None
        size = self.rng.choice((4097, 5000, 65_536, self.rng.randrange(4097, 60_000)))
        doc[name] = self.rng.choice('xé😀\u0000\\"') * size
        return _dumps(doc), "invalid"  # every string field allows at most 4096 characters

    def _deep_nesting(self, seed: Seed, doc: dict[str, Any]) -> tuple[bytes, Expect]:
        depth = self.rng.choice((300, 5000, self.deep))
        nested = b"[" * depth + b"]" * depth
        if self.rng.random() < 0.5:
            return nested, "invalid"
        name = self.rng.choice(sorted(doc))
        body = _dumps({k: v for k, v in doc.items() if k != name})
        return body[:-1] + b',"' + name.encode() + b'":' + nested + b"}", "invalid"

    def _non_finite(self, seed: Seed, doc: dict[str, Any]) -> tuple[bytes, Expect]:
        name = self._field(doc, lambda _, v: isinstance(v, float) and not isinstance(v, bool))
        name = name or self.rng.choice(sorted(doc))
        body = _dumps({k: v for k, v in doc.items() if k != name})
        token = self.rng.choice(NON_FINITE)
        return body[:-1] + b',"' + name.encode() + b'":' + token + b"}", "invalid"

    def _bad_timestamp(self, seed: Seed, doc: dict[str, Any]) -> tuple[bytes, Expect]:
        doc["ts"] = self.rng.choice([*BAD_TIMESTAMPS, 1_740_830_400, 1.7e9])
        return _dumps(doc), "invalid"

    def _bad_version(self, seed: Seed, doc: dict[str, Any]) -> tuple[bytes, Expect]:
        doc["schema_version"] = self.rng.choice(BAD_VERSIONS)
        return _dumps(doc), "invalid"

    def _oversize(self, seed: Seed, doc: dict[str, Any]) -> tuple[bytes, Expect]:
        """A valid event padded with whitespace past the limit: only its size is wrong."""
        over = self.rng.choice((1, 2, 1000, self.rng.randrange(1, self.max_record_bytes)))
        padding = self.max_record_bytes + over - len(seed.raw)
        return seed.raw[:-1] + b" " * max(1, padding) + b"}", "invalid"

    def _invalid_utf8(self, seed: Seed, doc: dict[str, Any]) -> tuple[bytes, Expect]:
        at = self.rng.randrange(len(seed.raw) + 1)
        return seed.raw[:at] + self.rng.choice(INVALID_UTF8) + seed.raw[at:], "invalid"

    def _random_bytes(self, seed: Seed, doc: dict[str, Any]) -> tuple[bytes, Expect]:
        raw = self.rng.randbytes(self.rng.randrange(0, 2048))
        return raw, "invalid"  # random bytes are not a valid event (and never were, so far)

    def _not_an_object(self, seed: Seed, doc: dict[str, Any]) -> tuple[bytes, Expect]:
        return self.rng.choice((*JSON_NOT_OBJECTS, _dumps(list(doc.values())))), "invalid"

    def _wrong_topic(self, seed: Seed, doc: dict[str, Any]) -> tuple[bytes, Expect]:
        return seed.raw, "invalid"  # `case` sends it to another family's topic

    def _unknown_field(self, seed: Seed, doc: dict[str, Any]) -> tuple[bytes, Expect]:
        doc[f"added_{self.rng.randrange(1000)}"] = self.rng.choice((1, "x", None, [], {}))
        # Telemetry ignores unknown fields; security and audit events reject them.
        return _dumps(doc), "valid" if seed.family in ("gpu", "power") else "invalid"

    def _duplicate_key(self, seed: Seed, doc: dict[str, Any]) -> tuple[bytes, Expect]:
        """The same field twice, a bad value first: the last one wins (as in json.loads)."""
        name = self.rng.choice(sorted(doc))
        first = _dumps({name: _other_kind(doc[name], self.rng)})
        return first[:-1] + b"," + seed.raw[1:], "valid"

    def _duplicate_event(self, seed: Seed, doc: dict[str, Any]) -> tuple[bytes, Expect]:
        return seed.raw, "valid"  # the same event id again: idempotent downstream

    def _byte_mutation(self, seed: Seed, doc: dict[str, Any]) -> tuple[bytes, Expect]:
        raw = bytearray(seed.raw)
        for _ in range(self.rng.randint(1, 4)):
            at = self.rng.randrange(len(raw))
            match self.rng.randrange(3):
                case 0:
                    raw[at] = self.rng.randrange(256)
                case 1:
                    del raw[at]
                case _:
                    raw.insert(at, self.rng.randrange(256))
        return bytes(raw), "either"
