"""Audit events, chains and checkpoints built in memory (no Faust, no servers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agents.audit.chain import AuditChain
from agents.audit.checkpoints import Checkpoint, Signer
from agents.audit.records import Record
from agents.pending_changes import MemoryTable
from schemas.audit import Actor, AuditEvent

# Recent, so the alerts the compliance agent raises on these events fit every bucket's retention.
START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
ACTIONS = ("data_transfer", "model_weights_export", "admin_session_start", "privileged_command")


def audit_event(i: int, site: str = "fra-1", country: str = "DE", **over: Any) -> AuditEvent:
    action = ACTIONS[i % len(ACTIONS)]
    fields: dict[str, Any] = {
        "event_id": f"{site}-audit-{i}",
        "site_id": site,
        "country": country,
        "ts": START + timedelta(seconds=7 * i),
        "source": f"{site}-kms",
        "action": action,
        "actor": Actor(id=f"operator-{i % 5}", role="sre", nationality="DE"),
    }
    if action in ("data_transfer", "model_weights_export"):
        fields |= {
            "dataset_id": f"dataset-{i % 3}",
            "classification": "restricted" if i % 2 else "secret",
            "source_country": country,
            "destination_country": ("FR", "US", "DE")[i % 3],
            "encrypted": i % 4 != 0,
            "approval_ref": f"CHG-{1000 + i}" if i % 5 else None,
        }
    if action == "privileged_command":
        fields |= {"session_id": f"sess-{i // 4}", "command": f'kubectl get "secrets"\n#{i}'}
    return AuditEvent(**(fields | over))


def build_chain(
    events: list[AuditEvent], signer: Signer, every: int = 0, recent_ids: int = 256
) -> tuple[list[Record], list[Checkpoint], AuditChain]:
    """Sequence and 'store' every event; a checkpoint every `every` records (0 = one at the
    end) and always one at the end."""
    chain = AuditChain(MemoryTable(), recent_ids)
    records: list[Record] = []
    checkpoints: list[Checkpoint] = []
    for offset, event in enumerate(events):
        placed = chain.sequence(event, 0, offset)
        assert not isinstance(placed, str)
        records.append(placed.record)
        if every and len(records) % every == 0:
            checkpoints.extend(_checkpoint_all(chain, signer, len(records)))
    checkpoints.extend(_checkpoint_all(chain, signer, len(records) + 1))
    return records, checkpoints, chain


def _checkpoint_all(chain: AuditChain, signer: Signer, n: int) -> list[Checkpoint]:
    done = []
    for site in sorted(chain.sites()):
        ts = (START + timedelta(hours=1, seconds=n)).isoformat()
        checkpoint = chain.begin_checkpoint(site, ts, signer.key_id)
        if checkpoint is not None:
            signed = signer.sign(checkpoint)
            chain.finish_checkpoint(signed)
            done.append(signed)
    return done
