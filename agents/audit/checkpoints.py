"""Ed25519 keys and signed checkpoints of the audit chain. Pure logic, no I/O but key files.

A checkpoint states: for `site`, records `first_seq`..`last_seq` exist, the last one hashes to
`last_hash`, and their Merkle root is `merkle_root`. The signature covers the canonical JSON of
every other checkpoint field, so the public key alone proves a checkpoint was not altered.
Ed25519 signatures are deterministic: re-publishing a checkpoint gives the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import SecretStr

from agents.audit.records import canonical_json
from agents.influx.lineprotocol import encode_line
from schemas.errors import SovwatchError

CHECKPOINT_MEASUREMENT: Final = "audit_checkpoint"
_KEY_HINT: Final = (
    "set SOVWATCH_AUDIT__SIGNING_KEY to the PEM text (or base64 of the 32 raw bytes) of an "
    "Ed25519 private key; 'sovwatch audit keygen --out DIR' makes one"
)


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement about one site's chain up to `last_seq`."""

    site: str
    country: str
    first_seq: int
    last_seq: int
    last_hash: str
    merkle_root: str
    ts: str
    key_id: str
    signature: str = ""

    def body(self) -> bytes:
        """What is signed: every field but the signature."""
        fields = asdict(self)
        del fields["signature"]
        return canonical_json(fields)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        return cls(
            site=str(data["site"]),
            country=str(data.get("country", "")),
            first_seq=int(data["first_seq"]),
            last_seq=int(data["last_seq"]),
            last_hash=str(data["last_hash"]),
            merkle_root=str(data["merkle_root"]),
            ts=str(data["ts"]),
            key_id=str(data["key_id"]),
            signature=str(data.get("signature", "")),
        )


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: `ed25519:` + 16 hex chars of its SHA-256."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


class Signer:
    """Signs checkpoints with the private key from settings (a `SecretStr`, never logged)."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)

    @classmethod
    def from_secret(cls, secret: SecretStr) -> Signer:
        text = secret.get_secret_value().strip()
        try:
            if text.startswith("-----BEGIN"):
                key = serialization.load_pem_private_key(text.encode(), password=None)
            else:
                key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))
        except (ValueError, TypeError, binascii.Error):
            # Never echo the value: it is the secret.
            raise SovwatchError("the audit signing key cannot be read", _KEY_HINT) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SovwatchError("the audit signing key is not an Ed25519 key", _KEY_HINT)
        return cls(key)

    def sign(self, checkpoint: Checkpoint) -> Checkpoint:
        unsigned = Checkpoint(**{**checkpoint.as_dict(), "key_id": self.key_id, "signature": ""})
        signature = base64.b64encode(self._key.sign(unsigned.body())).decode()
        return Checkpoint(**{**unsigned.as_dict(), "signature": signature})


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """A public key from PEM (SubjectPublicKeyInfo), or `SovwatchError`."""
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        raise SovwatchError(
            "the public key file is not a PEM public key",
            "pass the public.pem written by 'sovwatch audit keygen'",
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise SovwatchError("the public key is not an Ed25519 key", "pass the audit public key")
    return key


def signature_ok(public_key: Ed25519PublicKey, checkpoint: Checkpoint) -> bool:
    try:
        public_key.verify(base64.b64decode(checkpoint.signature, validate=True), checkpoint.body())
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def generate_keypair() -> tuple[bytes, bytes]:
    """(private PEM, public PEM) of a fresh Ed25519 key."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return private, public_pem(key.public_key())


def checkpoint_line(checkpoint: Checkpoint, verified: bool = True) -> str:
    """The InfluxDB point of a checkpoint (measurement `audit_checkpoint`), at its own time:
    re-publishing the same checkpoint rewrites the same point."""
    ts = datetime.fromisoformat(checkpoint.ts)
    ns = (int(ts.timestamp()) * 1_000_000 + ts.microsecond) * 1000
    fields = checkpoint.as_dict()
    tags = {"site": fields.pop("site"), "country": fields.pop("country")}
    return encode_line(CHECKPOINT_MEASUREMENT, tags, {**fields, "verified": verified}, ns)
