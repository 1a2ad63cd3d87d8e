"""Evidence bundles: a zip a compliance officer can keep, hand over and re-verify offline.

Contents: `records.jsonl` (records exactly as hashed, one per line, in chain order),
`records.csv` (the same for spreadsheets), `checkpoints.jsonl`, `public_key.pem`,
`verification.json` + `verification.txt` (the report at export time), `summary.html` (charts,
no script), and `manifest.json` with the SHA-256 of every other file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

from agents.audit.checkpoints import Checkpoint
from agents.audit.records import Record, canonical_json
from agents.audit.verify import Report
from schemas.errors import SovwatchError
from streams.evidence import html as audit_html

CSV_FIRST: Final = (
    "time",
    "site",
    "country",
    "seq",
    "action",
    "outcome",
    "actor_id",
    "actor_kind",
    "actor_role",
    "actor_organisation",
    "actor_nationality",
    "actor_clearance",
    "dataset_id",
    "model_id",
    "classification",
    "source_country",
    "source_region",
    "destination_country",
    "destination_region",
    "encrypted",
    "key_custodian",
    "key_id",
    "session_id",
    "command",
    "approval_ref",
    "justification",
    "event_id",
    "source",
)
CSV_LAST: Final = ("prev_hash", "hash", "field_digests", "time_ns")
FILES: Final = (
    "records.jsonl",
    "records.csv",
    "checkpoints.jsonl",
    "public_key.pem",
    "verification.json",
    "verification.txt",
    "summary.html",
)


def csv_columns(records: Iterable[Record]) -> list[str]:
    seen = {key for record in records for key in record}
    extra = sorted(seen - set(CSV_FIRST) - set(CSV_LAST))
    return [*CSV_FIRST, *extra, *CSV_LAST]


def csv_row(record: Record) -> dict[str, object]:
    return {**record, "time": audit_html.record_time(record).isoformat(timespec="microseconds")}


def write_csv(records: Sequence[Record], out: io.TextIOBase | io.StringIO) -> None:
    writer = csv.DictWriter(out, fieldnames=csv_columns(records), extrasaction="ignore")
    writer.writeheader()
    for record in records:
        writer.writerow(csv_row(record))


def jsonl(items: Iterable[object]) -> bytes:
    return b"".join(canonical_json(item) + b"\n" for item in items)


def write_bundle(
    path: Path,
    records: Sequence[Record],
    checkpoints: Sequence[Checkpoint],
    report: Report,
    public_pem: bytes,
    *,
    period: str,
    key_id: str,
) -> dict[str, str]:
    """Write the zip; returns file name -> SHA-256 (the manifest)."""
    text = io.StringIO()
    write_csv(records, text)
    contents: dict[str, bytes] = {
        "records.jsonl": jsonl(records),
        "records.csv": text.getvalue().encode(),
        "checkpoints.jsonl": jsonl(c.as_dict() for c in checkpoints),
        "public_key.pem": public_pem,
        "verification.json": json.dumps(report.as_dict(), indent=2).encode(),
        "verification.txt": (report.text() + "\n").encode(),
    }
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in contents.items()}
    contents["summary.html"] = audit_html.render(
        records, checkpoints, report, period=period, key_id=key_id, files=digests
    ).encode()
    digests["summary.html"] = hashlib.sha256(contents["summary.html"]).hexdigest()
    manifest = {
        "period": period,
        "key_id": key_id,
        "ok": report.ok,
        "status": report.status,
        "sha256": digests,
    }
    contents["manifest.json"] = json.dumps(manifest, indent=2).encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, data in contents.items():
            bundle.writestr(name, data)
    return digests


def read_bundle(path: Path) -> tuple[list[Record], list[Checkpoint], bytes]:
    """(records in file order, checkpoints, the public key shipped in the bundle)."""
    try:
        with zipfile.ZipFile(path) as bundle:
            records = [json.loads(line) for line in bundle.read("records.jsonl").splitlines()]
            checkpoints = [
                Checkpoint.from_dict(json.loads(line))
                for line in bundle.read("checkpoints.jsonl").splitlines()
            ]
            public = bundle.read("public_key.pem")
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise SovwatchError(
            f"{path} is not a readable evidence bundle ({type(exc).__name__}: {exc})",
            "pass a zip written by 'sovwatch audit export'",
        ) from None
    return records, checkpoints, public
