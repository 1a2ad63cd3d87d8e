"""The demo's last audit step: have the worker sign every site's chain now, and say how to
verify it, so `sovwatch audit verify` right after `make demo` has a checkpoint to check."""

from __future__ import annotations

from schemas.errors import SovwatchError
from schemas.settings import Settings
from streams.evidence.sign_request import request_checkpoints
from streams.worker import web_auth

VERIFY: str = ".venv/bin/sovwatch audit verify --since -1d"


def sign_and_explain(settings: Settings, worker_url: str) -> str:
    """Ask the worker at `worker_url` for a checkpoint; what to tell the user (the verify
    command, or why nothing was signed)."""
    if settings.audit.signing_key is None:
        return (
            "audit records are chained but unsigned (no signing key configured): 'make dev-env' "
            f"writes one into .env; restart the worker with it, then run: {VERIFY}"
        )
    try:
        signed = request_checkpoints(worker_url, web_auth.client_headers(settings.worker))
    except SovwatchError as exc:  # e.g. a worker started earlier without the key
        return f"no audit checkpoint: {exc}"
    done = "; ".join(f"{c.site} seq {c.first_seq}..{c.last_seq} key {c.key_id}" for c in signed)
    key_file = settings.audit.public_key_file
    command = VERIFY + (f" --public-key {key_file}" if key_file else " --public-key PUBLIC.pem")
    return (
        f"audit checkpoint signed: {done or 'nothing new to sign'}\n"
        f"Verify the audit trail (exit 0 = intact):\n  {command}"
    )
