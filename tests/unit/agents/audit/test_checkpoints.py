"""Ed25519 keys from settings, signatures over checkpoints, and the checkpoint point."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from agents.audit.checkpoints import (
    Checkpoint,
    Signer,
    checkpoint_line,
    generate_keypair,
    load_public_key,
    signature_ok,
)
from schemas.errors import SovwatchError

CHECKPOINT = Checkpoint("fra-1", "DE", 1, 9, "a" * 64, "b" * 64, "2025-03-01T09:00:00+00:00", "")


def test_pem_and_raw_base64_keys_sign_the_same_and_verify() -> None:
    private_pem, public_pem = generate_keypair()
    key = serialization.load_pem_private_key(private_pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    by_pem = Signer.from_secret(SecretStr(private_pem.decode()))
    by_raw = Signer.from_secret(SecretStr(base64.b64encode(raw).decode()))
    signed = by_pem.sign(CHECKPOINT)
    assert signed == by_raw.sign(CHECKPOINT)  # deterministic: re-publishing is byte-identical
    public = load_public_key(public_pem)
    assert signature_ok(public, signed)
    assert signed.key_id == by_pem.key_id and signed.key_id.startswith("ed25519:")
    assert not signature_ok(public, replace(signed, last_seq=10))


def test_a_bad_key_is_a_user_error_that_never_shows_the_secret() -> None:
    with pytest.raises(SovwatchError) as caught:
        Signer.from_secret(SecretStr("not-a-key-s3cr3t"))
    assert "s3cr3t" not in str(caught.value)
    assert "SOVWATCH_AUDIT__SIGNING_KEY" in str(caught.value)


def test_the_checkpoint_point_carries_every_signed_field() -> None:
    line = checkpoint_line(CHECKPOINT)
    assert line.startswith("audit_checkpoint,country=DE,site=fra-1 ")
    for field in ("first_seq=1i", "last_seq=9i", "merkle_root=", "signature=", "verified=true"):
        assert field in line
    assert line.endswith(" 1740819600000000000")
