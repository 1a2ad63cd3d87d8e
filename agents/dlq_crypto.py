"""Sealing dead letters' raw bytes: AES-256-GCM under the DLQ key from settings.

A dead letter's raw value may hold personal data the pipeline never got to pseudonymise, so the
worker seals it with `SOVWATCH_PRIVACY__DLQ_KEY` (a fresh random 96-bit nonce per record; the
source topic/partition/offset as associated data). The key id beside the ciphertext, a hash of
the key, tells `sovwatch dlq` which key (current or previous) opens it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

from schemas.deadletter import NONCE_BYTES, SealedRaw
from schemas.errors import SovwatchError
from schemas.settings import PrivacySettings

KEY_BYTES = 32
GENERATE = "python3 -c 'import secrets; print(secrets.token_hex(32))'"
"""How to make a key (also what `make dev-env` runs)."""


def key_id(key: bytes) -> str:
    """16 hex digits naming a key without revealing it (SHA-256 of a domain tag and the key)."""
    return hashlib.sha256(b"sovwatch-dlq-key-id\x00" + key).hexdigest()[:16]


def parse_key(secret: SecretStr, variable: str) -> bytes:
    """The 32 key bytes of a hex or base64 setting; the error never shows the value."""
    text = secret.get_secret_value().strip()
    try:
        key = (
            bytes.fromhex(text)
            if len(text) == 2 * KEY_BYTES
            else base64.b64decode(text, validate=True)
        )
    except (ValueError, binascii.Error):
        key = b""
    if len(key) != KEY_BYTES:
        raise SovwatchError(
            f"{variable} is not {KEY_BYTES} bytes in hex (64 digits) or base64",
            f"generate one with {GENERATE}",
        )
    return key


class DlqCipher:
    """Seals with the first key; opens with whichever key the sealed value names."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("a DlqCipher needs at least one key")
        self._keys = {key_id(key): AESGCM(key) for key in reversed(keys)}
        self.key_id = key_id(keys[0])

    @classmethod
    def from_settings(cls, privacy: PrivacySettings) -> DlqCipher | None:
        """The cipher of the configured keys; None when no current key is set (or it is empty)."""
        if privacy.dlq_key is None or not privacy.dlq_key.get_secret_value():
            return None
        keys = [parse_key(privacy.dlq_key, "SOVWATCH_PRIVACY__DLQ_KEY")]
        keys += [
            parse_key(old, "an entry of SOVWATCH_PRIVACY__PREVIOUS_DLQ_KEYS")
            for old in privacy.previous_dlq_keys
        ]
        return cls(keys)

    def seal(self, plaintext: bytes, aad: bytes) -> SealedRaw:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self.key_id].encrypt(nonce, plaintext, aad)
        return SealedRaw(
            key_id=self.key_id,
            nonce_b64=base64.b64encode(nonce).decode(),
            ciphertext_b64=base64.b64encode(sealed).decode(),
        )

    def open(self, sealed: SealedRaw, aad: bytes) -> bytes:
        """The plaintext; `SovwatchError` if no configured key has that id or it fails to
        authenticate (tampered, or moved to another dead letter)."""
        aead = self._keys.get(sealed.key_id)
        if aead is None:
            raise SovwatchError(
                f"the raw bytes are sealed under DLQ key {sealed.key_id}, which is not configured",
                "set that key as SOVWATCH_PRIVACY__DLQ_KEY or in "
                "SOVWATCH_PRIVACY__PREVIOUS_DLQ_KEYS",
            )
        try:
            return aead.decrypt(
                base64.b64decode(sealed.nonce_b64), base64.b64decode(sealed.ciphertext_b64), aad
            )
        except InvalidTag:
            raise SovwatchError(
                f"the sealed raw bytes do not authenticate under key {sealed.key_id}: they were "
                "altered or do not belong to this dead letter",
                "do not replay it; compare raw_sha256 with the producer's copy",
            ) from None


def worker_cipher(privacy: PrivacySettings) -> DlqCipher | None:
    """The cipher the worker seals with; it fails closed: no key is an error unless the operator
    chose to keep no raw bytes at all (then None)."""
    if not privacy.dlq_keep_raw:
        return None
    cipher = DlqCipher.from_settings(privacy)
    if cipher is None:
        raise SovwatchError(
            "no DLQ key is set: dead letters' raw bytes (which may hold personal data) cannot "
            "be sealed",
            f"set SOVWATCH_PRIVACY__DLQ_KEY (generate one with {GENERATE}; 'make demo' writes "
            "one into .env), or SOVWATCH_PRIVACY__DLQ_KEEP_RAW=false to keep no raw bytes",
        )
    return cipher
