"""The demo's last audit step: have the worker sign every site's chain now, and say whether it
did, so `sovwatch audit verify` right after `make demo` has a checkpoint to check."""

from __future__ import annotations

from schemas.errors import SovwatchError
from schemas.settings import Settings
from streams.evidence.sign_request import request_checkpoints
from streams.worker import web_auth


def sign_and_explain(settings: Settings, worker_url: str) -> tuple[str, bool]:
    """Ask the worker at `worker_url` for a checkpoint: what to tell the user, and whether the
    chain is signed (then `sovwatch audit verify` has a checkpoint to check)."""
    if settings.audit.signing_key is None:
        return (
            "audit records are chained but unsigned (no signing key configured): 'make dev-env' "
            "writes one into .env; restart the worker with it to sign them",
            False,
        )
    try:
        signed = request_checkpoints(worker_url, web_auth.client_headers(settings.worker))
    except SovwatchError as exc:  # e.g. a worker started earlier without the key
        return f"no audit checkpoint: {exc}", False
    done = "; ".join(f"{c.site} seq {c.first_seq}..{c.last_seq} key {c.key_id}" for c in signed)
    return f"audit checkpoint signed: {done or 'nothing new to sign'}", True
