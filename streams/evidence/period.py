"""Reading and verifying the stored audit chain of a period (`audit query/verify/export`,
`sovwatch report`): records widened to whole checkpoints, checked against the witnesses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from influxdb_client import InfluxDBClient
from influxdb_client.rest import ApiException
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agents.audit.checkpoints import Checkpoint
from agents.audit.records import Record
from agents.audit.verify import Report, verify
from schemas.errors import SovwatchError
from schemas.settings import Settings
from streams.admin.connect import influx_client
from streams.admin.influx_tokens import audit_reader
from streams.evidence.store import Filters, count_records, read_checkpoints, read_page
from streams.evidence.witnesses import Witnesses, read_witnesses

err = Console(stderr=True)


@dataclass
class AuditSource:
    client: InfluxDBClient
    org: str
    bucket: str

    def pages(self, filters: Filters, page_size: int, label: str) -> Iterator[Record]:
        """Every matching record, page by page, with a progress bar on stderr."""
        total = count_records(self.client, self.org, self.bucket, filters)
        columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err, transient=True) as progress:
            task = progress.add_task(label, total=total)
            offset = 0
            while True:
                page = read_page(
                    self.client, self.org, self.bucket, filters, limit=page_size, offset=offset
                )
                yield from page
                progress.advance(task, len(page))
                if len(page) < page_size:
                    return
                offset += page_size


@contextmanager
def reading(settings: Settings) -> Iterator[InfluxDBClient]:
    """A client with the audit reader's token; InfluxDB's refusals become one-line errors."""
    influx = audit_reader(settings)
    with influx_client(influx) as client:
        try:
            yield client
        except ApiException as exc:
            raise SovwatchError(
                f"InfluxDB at {influx.url} refused to read bucket '{influx.buckets.audit}' "
                f"(HTTP {exc.status}): {_influx_message(exc)}",
                "the token needs read access to it: set SOVWATCH_INFLUXDB__AUDIT_READ_TOKEN "
                "('sovwatch stack up' creates one for the native InfluxDB)",
            ) from None


def _influx_message(exc: ApiException) -> str:
    try:
        return str(json.loads(exc.body or "{}").get("message", exc.reason))
    except (ValueError, AttributeError):
        return str(exc.reason)


def source_of(client: InfluxDBClient, settings: Settings) -> AuditSource:
    return AuditSource(client, settings.influxdb.org, settings.influxdb.buckets.audit)


def collect(
    source: AuditSource,
    site: str | None,
    since: datetime | None,
    until: datetime | None,
    witnessed: list[Checkpoint] | None = None,
) -> tuple[list[Record], list[Checkpoint], bool]:
    """Records and checkpoints to verify a period: the records of the period, widened to the
    whole sequence range of every checkpoint that touches it (else its root cannot be checked)
    and of the `witnessed` ones (the newest: the store must still hold what they cover).
    The bool: whether this is the full history (the chain must start at seq 1)."""
    witnessed = witnessed or []
    checkpoints = read_checkpoints(source.client, source.org, source.bucket, site)
    in_period = list(source.pages(Filters(site=site, since=since, until=until), 5000, "reading"))
    if since is None and until is None:
        return in_period, checkpoints, True
    records: list[Record] = []
    kept: list[Checkpoint] = []
    for name in sorted({str(r.get("site")) for r in in_period} | {c.site for c in witnessed}):
        seqs = [int(r["seq"]) for r in in_period if r.get("site") == name and "seq" in r]
        seqs += [s for c in witnessed if c.site == name for s in (c.first_seq, c.last_seq)]
        if not seqs:
            continue
        lo, hi = min(seqs), max(seqs)
        touching = [
            c for c in checkpoints if c.site == name and c.last_seq >= lo and c.first_seq <= hi
        ]
        lo = min([lo, *(c.first_seq for c in touching)])
        hi = max([hi, *(c.last_seq for c in touching)])
        kept.extend(touching)
        records.extend(
            source.pages(Filters(site=name, seq_from=lo, seq_to=hi), 5000, f"reading {name}")
        )
    records.extend(r for r in in_period if "seq" not in r)  # unchained: reported as such
    return records, kept, False


def _unsigned_before(settings: Settings) -> int:
    grace = 2 * settings.audit.checkpoint_interval_s + 60
    return int((datetime.now(UTC).timestamp() - grace) * 1e9)


@dataclass
class Verified:
    records: list[Record]
    checkpoints: list[Checkpoint]
    report: Report


def verify_period(
    settings: Settings,
    key: Ed25519PublicKey | None,
    site: str | None,
    since: datetime | None,
    until: datetime | None,
    kafka: bool,
) -> Verified:
    """Read and verify a period. One open to now (no `until`) is also checked against the
    witnessed checkpoints (Kafka unless `kafka` is False, the witness directory if set): a
    period that ends earlier says nothing about the records after it."""
    with reading(settings) as client:
        witnesses = read_witnesses(settings, site, kafka=kafka) if until is None else Witnesses()
        records, checkpoints, full = collect(
            source_of(client, settings), site, since, until, witnesses.checkpoints()
        )
    report = verify(
        records,
        checkpoints,
        key,
        from_genesis=full,
        unsigned_before_ns=_unsigned_before(settings),
        witnesses=witnesses.items,
        witnessed_by=witnesses.sources,
    )
    return Verified(records, checkpoints, report)


def verify_stored(
    settings: Settings,
    key: Ed25519PublicKey | None,
    site: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    kafka: bool = True,
) -> Report:
    """Verify the stored chain of a period (what `audit verify` prints, `sovwatch report` too);
    `key` None: signatures cannot be checked and every checkpoint is reported as such."""
    return verify_period(settings, key, site, since, until, kafka).report
