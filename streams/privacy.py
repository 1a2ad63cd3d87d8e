"""Pseudonymisation of personal identifiers before they are stored or alerted on.

Keyed HMAC-SHA256: the same person always gets the same pseudonym (so rules can count and
correlate), but without the key nobody can reverse it or test a guess against it.
"""

from __future__ import annotations

import hashlib
import hmac

from streams.errors import SovwatchError
from streams.settings import PrivacySettings

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
