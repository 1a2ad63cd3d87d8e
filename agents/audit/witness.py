"""The witness directory: one signed checkpoint file per site and seq, outside the audited store.

InfluxDB holds both the records and their checkpoints, so whoever can delete the last records
can delete their checkpoint too, and the shortened chain still verifies. A copy of every
checkpoint kept elsewhere (`SOVWATCH_AUDIT__WITNESS_DIR`, ideally append-only storage: a WORM
mount, `chattr +a`, another host's share) lets `audit verify` see that the chain once reached
further. Layout: `<dir>/<site, percent-encoded>/<last_seq, 12 digits>.json`, the checkpoint's
canonical JSON (the bytes published on Kafka). A file is written whole under a temporary name
and linked into place, so a reader never sees a partial file and an existing file is never
replaced.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import quote, unquote

from agents.audit.checkpoints import Checkpoint
from agents.audit.records import canonical_json

SUFFIX: Final = ".json"
SEQ_DIGITS: Final = 12  # names sort in seq order


class WitnessConflictError(OSError):
    """A different checkpoint already holds this site and seq: it is kept, never replaced."""


def witness_path(directory: Path, checkpoint: Checkpoint) -> Path:
    return (
        directory
        / quote(checkpoint.site, safe="")
        / f"{checkpoint.last_seq:0{SEQ_DIGITS}d}{SUFFIX}"
    )


def write_witness(directory: Path, checkpoint: Checkpoint) -> Path:
    """Write the checkpoint's file (durably) unless the very same one is there already; a
    different one under the same name raises `WitnessConflictError`, other failures `OSError`."""
    path = witness_path(directory, checkpoint)
    data = canonical_json(checkpoint.as_dict())
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, path)  # atomic, and fails if the name exists: never overwritten
        except FileExistsError:
            if path.read_bytes() != data:
                raise WitnessConflictError(f"{path} holds another checkpoint") from None
            return path  # a re-publish after a crash: the same bytes
    finally:
        temporary.unlink(missing_ok=True)
    directory_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory_fd)  # the new name survives a power loss too
    finally:
        os.close(directory_fd)
    return path


@dataclass(frozen=True)
class WitnessFile:
    """The newest file of one site: its checkpoint, or why it cannot be read as one."""

    site: str
    path: Path
    checkpoint: Checkpoint | None
    problem: str = ""


def newest_witnesses(directory: Path, site: str | None = None) -> list[WitnessFile]:
    """The newest checkpoint file of every site (or of `site`) in the witness directory."""
    if not directory.is_dir():
        return []
    if site is not None:
        folders = [directory / quote(site, safe="")]
    else:
        folders = sorted(p for p in directory.iterdir() if p.is_dir())
    found = []
    for folder in folders:
        names = sorted(folder.glob(f"[0-9]*{SUFFIX}")) if folder.is_dir() else []
        if names:
            found.append(_read(unquote(folder.name), names[-1]))
    return found


def _read(site: str, path: Path) -> WitnessFile:
    try:
        checkpoint = Checkpoint.from_dict(json.loads(path.read_bytes()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return WitnessFile(site, path, None, f"{path} is not a checkpoint ({exc})")
    if checkpoint.site != site or path.name != witness_path(Path(), checkpoint).name:
        return WitnessFile(
            site, path, None, f"{path} holds checkpoint {checkpoint.last_seq} of {checkpoint.site}"
        )
    return WitnessFile(site, path, checkpoint)
