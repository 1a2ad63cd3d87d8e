"""Sealed dead-letter bytes: they open with the right key for the right record only."""

from __future__ import annotations

import base64

import pytest
from pydantic import SecretStr

from agents.dlq_crypto import DlqCipher, key_id, parse_key, worker_cipher
from schemas.deadletter import SealedRaw, raw_aad
from schemas.errors import SovwatchError
from schemas.settings import PrivacySettings

KEY, OLD = bytes(range(32)), bytes(range(100, 132))
AAD = raw_aad("security.physical", 2, 41)
RAW = b'{"family": "physical", "badge_id": "B-777", "holder": "Ada Lovelace"}'


def _flip(text: str, at: int = 0) -> str:
    data = bytearray(base64.b64decode(text))
    data[at] ^= 1
    return base64.b64encode(bytes(data)).decode()


def test_a_sealed_value_opens_with_its_key_and_aad_and_shows_nothing_in_clear() -> None:
    cipher = DlqCipher([KEY])
    sealed = cipher.seal(RAW, AAD)
    assert cipher.open(sealed, AAD) == RAW
    assert sealed.key_id == key_id(KEY) and len(base64.b64decode(sealed.nonce_b64)) == 12
    assert b"B-777" not in sealed.model_dump_json().encode()
    assert cipher.seal(RAW, AAD).nonce_b64 != sealed.nonce_b64  # a fresh nonce each time


def test_another_key_cannot_open_it_and_says_which_key_is_needed() -> None:
    sealed = DlqCipher([KEY]).seal(RAW, AAD)
    with pytest.raises(SovwatchError, match=f"sealed under DLQ key {key_id(KEY)}"):
        DlqCipher([OLD]).open(sealed, AAD)


def test_a_previous_key_still_opens_what_it_sealed() -> None:
    sealed = DlqCipher([OLD]).seal(RAW, AAD)
    rotated = DlqCipher([KEY, OLD])
    assert rotated.open(sealed, AAD) == RAW
    assert rotated.seal(RAW, AAD).key_id == key_id(KEY)


@pytest.mark.parametrize("part", ["ciphertext", "nonce", "aad", "key_id"])
def test_tampering_fails_authentication(part: str) -> None:
    cipher = DlqCipher([KEY])
    sealed = cipher.seal(RAW, AAD)
    aad = AAD
    if part == "ciphertext":
        sealed = sealed.model_copy(update={"ciphertext_b64": _flip(sealed.ciphertext_b64, 5)})
    elif part == "nonce":
        sealed = sealed.model_copy(update={"nonce_b64": _flip(sealed.nonce_b64)})
    elif part == "aad":  # the ciphertext moved to the dead letter of another record
        aad = raw_aad("security.physical", 2, 42)
    else:  # claims to be sealed under another configured key
        sealed = SealedRaw(**(sealed.model_dump() | {"key_id": key_id(OLD)}))
        cipher = DlqCipher([KEY, OLD])
    with pytest.raises(SovwatchError, match="do not authenticate"):
        cipher.open(sealed, aad)


@pytest.mark.parametrize("text", [KEY.hex(), base64.b64encode(KEY).decode(), f" {KEY.hex()}\n"])
def test_keys_are_read_from_hex_or_base64(text: str) -> None:
    assert parse_key(SecretStr(text), "X") == KEY


@pytest.mark.parametrize("text", ["", "short", "zz" * 32, base64.b64encode(bytes(16)).decode()])
def test_a_bad_key_is_refused_without_showing_it(text: str) -> None:
    with pytest.raises(SovwatchError) as caught:
        parse_key(SecretStr(text), "SOVWATCH_PRIVACY__DLQ_KEY")
    assert "SOVWATCH_PRIVACY__DLQ_KEY is not 32 bytes" in str(caught.value)
    assert not text or text not in str(caught.value)


def test_the_worker_fails_closed_without_a_key_unless_raw_bytes_are_not_kept() -> None:
    with pytest.raises(SovwatchError, match="no DLQ key is set"):
        worker_cipher(PrivacySettings())
    assert worker_cipher(PrivacySettings(dlq_keep_raw=False)) is None
    cipher = worker_cipher(PrivacySettings(dlq_key=SecretStr(KEY.hex())))
    assert cipher is not None and cipher.key_id == key_id(KEY)
