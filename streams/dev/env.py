"""The dev stack's local secrets, generated once (`make dev-env`, which `make demo` runs).

The git-ignored `.env` gets a pseudonymisation key, a DLQ key (it seals dead letters' raw bytes)
and the audit signing key, so the demo worker signs its checkpoints and `sovwatch audit verify`
right after `make demo` checks them: the key pair lives beside it in `.audit-keys/` (git-ignored,
private files 0600, from `audit keygen`'s code) and `.env` names the public key file. `.env`
holds secrets, so it is made 0600 too. Lines already there are kept: running it again changes
nothing.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Final

from streams.evidence.keys import PRIVATE_B64, PUBLIC_PEM, write_keypair

ENV_FILE: Final = ".env"
KEY_DIR: Final = ".audit-keys"


def ensure_dev_env(root: Path) -> list[str]:
    """Add what `root/.env` lacks; the names of the settings added."""
    env_file = root / ENV_FILE
    keys = root / KEY_DIR
    present = _names(env_file)
    wanted: dict[str, str] = {}
    for name in ("SOVWATCH_PRIVACY__PSEUDONYM_KEY", "SOVWATCH_PRIVACY__DLQ_KEY"):
        if name not in present:
            wanted[name] = secrets.token_hex(32)
    if "SOVWATCH_AUDIT__SIGNING_KEY" not in present:
        if not (keys / PRIVATE_B64).exists():
            write_keypair(keys)
        wanted["SOVWATCH_AUDIT__SIGNING_KEY"] = (keys / PRIVATE_B64).read_text().strip()
        if "SOVWATCH_AUDIT__PUBLIC_KEY_FILE" not in present:  # the pair's, not another key's
            wanted["SOVWATCH_AUDIT__PUBLIC_KEY_FILE"] = str((keys / PUBLIC_PEM).resolve())
    env_file.touch(mode=0o600, exist_ok=True)
    env_file.chmod(0o600)
    if wanted:
        text = env_file.read_text()
        lead = "\n" if text and not text.endswith("\n") else ""
        env_file.write_text(text + lead + "".join(f"{k}={v}\n" for k, v in wanted.items()))
    return list(wanted)


def _names(env_file: Path) -> set[str]:
    if not env_file.exists():
        return set()
    lines = (line.strip() for line in env_file.read_text().splitlines())
    return {line.split("=", 1)[0].strip() for line in lines if "=" in line and line[0] != "#"}


def main() -> None:
    added = ensure_dev_env(Path.cwd())
    print(f"{ENV_FILE}: added {', '.join(added)}" if added else f"{ENV_FILE}: complete")


if __name__ == "__main__":
    main()
