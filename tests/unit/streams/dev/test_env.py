"""`make dev-env`: the demo's keys are made once, private files 0600, and `.env` names them."""

from __future__ import annotations

import stat
from pathlib import Path

from agents.audit.checkpoints import Signer, load_public_key
from agents.dlq_crypto import DlqCipher
from schemas.settings import Settings
from streams.dev.env import KEY_DIR, ensure_dev_env
from streams.evidence.keys import PRIVATE_B64, PRIVATE_PEM


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_are_made_once_and_the_worker_and_verifier_settings_name_them(
    tmp_path: Path,
) -> None:
    (tmp_path / ".env").write_text("SOVWATCH_PRIVACY__PSEUDONYM_KEY=kept-as-it-is")
    added = ensure_dev_env(tmp_path)
    assert added == [
        "SOVWATCH_PRIVACY__DLQ_KEY",
        "SOVWATCH_AUDIT__SIGNING_KEY",
        "SOVWATCH_AUDIT__PUBLIC_KEY_FILE",
    ]
    keys = tmp_path / KEY_DIR
    assert mode(tmp_path / ".env") == mode(keys / PRIVATE_PEM) == mode(keys / PRIVATE_B64) == 0o600
    first = (tmp_path / ".env").read_text()
    assert ensure_dev_env(tmp_path) == [] and (tmp_path / ".env").read_text() == first

    settings = Settings(_env_file=tmp_path / ".env")
    assert settings.privacy.pseudonym_key is not None
    assert settings.privacy.pseudonym_key.get_secret_value() == "kept-as-it-is"
    assert DlqCipher.from_settings(settings.privacy) is not None  # a valid 32-byte key
    assert settings.audit.signing_key is not None and settings.audit.public_key_file is not None
    signer = Signer.from_secret(settings.audit.signing_key)
    public = load_public_key(settings.audit.public_key_file.read_bytes())
    assert public.public_bytes_raw() == signer.public_key.public_bytes_raw()


def test_a_fresh_checkout_gets_every_key(tmp_path: Path) -> None:
    assert ensure_dev_env(tmp_path) == [
        "SOVWATCH_PRIVACY__PSEUDONYM_KEY",
        "SOVWATCH_PRIVACY__DLQ_KEY",
        "SOVWATCH_AUDIT__SIGNING_KEY",
        "SOVWATCH_AUDIT__PUBLIC_KEY_FILE",
    ]
    assert mode(tmp_path / ".env") == 0o600
