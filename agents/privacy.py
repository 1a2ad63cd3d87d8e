"""Pseudonymisation of personal identifiers before they are stored or alerted on.

Keyed HMAC-SHA256: the same person always gets the same pseudonym (so rules can count and
correlate), but without the key nobody can reverse it or test a guess against it. With the key
(current or previous, after a rotation) a pseudonym can be tied back to a real id by testing the
candidates, e.g. the badge system's holder list: `sovwatch privacy reveal`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from schemas.errors import SovwatchError
from schemas.settings import PrivacySettings

PREFIX = "p_"
DIGEST_CHARS = 24  # 96 bits: collisions negligible for any realistic population


class Pseudonymiser:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise SovwatchError(
                "the pseudonymisation key is shorter than 16 bytes",
                "set SOVWATCH_PRIVACY__PSEUDONYM_KEY to a random value, e.g. "
                "'openssl rand -hex 32'",
            )
        self._key = key

    @classmethod
    def from_settings(cls, privacy: PrivacySettings) -> Pseudonymiser:
        if privacy.pseudonym_key is None:
            raise SovwatchError(
                "no pseudonymisation key is set: personal identifiers cannot be stored",
                "set SOVWATCH_PRIVACY__PSEUDONYM_KEY (e.g. 'openssl rand -hex 32'); "
                "'make demo' writes one into .env",
            )
        return cls(privacy.pseudonym_key.get_secret_value().encode())

    def __call__(self, identifier: str) -> str:
        digest = hmac.new(self._key, identifier.encode(), hashlib.sha256).hexdigest()
        return PREFIX + digest[:DIGEST_CHARS]

    @classmethod
    def every_key(cls, privacy: PrivacySettings) -> list[Pseudonymiser]:
        """The current key's pseudonymiser first, then those of the previous keys."""
        current = cls.from_settings(privacy)
        return [
            current,
            *(cls(key.get_secret_value().encode()) for key in privacy.previous_pseudonym_keys),
        ]


def reveal(pseudonym: str, candidates: Iterable[str], keys: list[Pseudonymiser]) -> str | None:
    """The candidate whose pseudonym under one of the keys is `pseudonym` (None if none is)."""
    for candidate in candidates:
        if any(key(candidate) == pseudonym for key in keys):
            return candidate
    return None
