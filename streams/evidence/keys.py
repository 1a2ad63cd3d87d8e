"""The checkpoint signing key pair on disk: what `audit keygen` and `make dev-env` write."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives import serialization

from agents.audit.checkpoints import generate_keypair, key_id, load_public_key
from schemas.errors import SovwatchError

PRIVATE_PEM: Final = "audit-signing-key.pem"
PRIVATE_B64: Final = "audit-signing-key.b64"
PUBLIC_PEM: Final = "audit-public-key.pem"


def _write_private(path: Path, data: bytes, force: bool) -> None:
    """Created 0600 from the start (never readable by others, not even briefly)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise SovwatchError(f"{path} exists", "pass --force to replace the key pair") from None
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    path.chmod(0o600)


def write_keypair(out: Path, force: bool = False) -> str:
    """A new key pair in `out` (private PEM and one-line base64, both 0600; public PEM); its
    key id. `SovwatchError` if `out` cannot be made or (without `force`) a pair is there."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SovwatchError(
            f"cannot create {out}: {exc.strerror}", "pass a writable --out DIR"
        ) from None
    private_pem, public_pem = generate_keypair()
    key = serialization.load_pem_private_key(private_pem, password=None)
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    _write_private(out / PRIVATE_PEM, private_pem, force)
    _write_private(out / PRIVATE_B64, base64.b64encode(raw) + b"\n", force)
    (out / PUBLIC_PEM).write_bytes(public_pem)
    return key_id(load_public_key(public_pem))
