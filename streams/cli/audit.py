"""`sovwatch audit ...`: keys, on-demand checkpoints, query, verify and export of the audit trail.

Wired into the main CLI as `app.add_typer(audit_app, name="audit")`. User errors raise
`SovwatchError` (one line, exit code 2); `verify` exits 1 when it finds a problem and 3 when the
chain is unsigned (no checkpoint was ever signed: no signing key configured).
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import typer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from influxdb_client import InfluxDBClient
from influxdb_client.rest import ApiException
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agents.audit.checkpoints import Checkpoint, generate_keypair, key_id, load_public_key
from agents.audit.records import Record, canonical_json
from agents.audit.verify import Report, verify
from agents.privacy import PREFIX, Pseudonymiser
from schemas.errors import SovwatchError
from schemas.settings import Settings
from streams import web_auth
from streams.config import get_settings
from streams.connect import influx_client
from streams.evidence.export import csv_columns, csv_row, read_bundle, write_bundle
from streams.evidence.html import record_time
from streams.evidence.store import Filters, count_records, read_checkpoints, read_page
from streams.evidence.witnesses import Witnesses, read_witnesses
from streams.influx_tokens import audit_reader

audit_app = typer.Typer(
    help="Sovereignty audit trail: keys, checkpoints, query, verify, export.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)
err = Console(stderr=True)

PRIVATE_PEM: Final = "audit-signing-key.pem"
PRIVATE_B64: Final = "audit-signing-key.b64"
PUBLIC_PEM: Final = "audit-public-key.pem"
_RELATIVE = re.compile(r"^-(\d+)([smhd])$")
_UNITS: Final = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}

SiteOpt = typer.Option(None, "--site", help="Only this site")
SinceOpt = typer.Option(None, "--since", help="From (ISO 8601 date/time, UTC if no offset, or -7d)")
UntilOpt = typer.Option(None, "--until", help="Until, exclusive (same forms as --since)")
KeyOpt = typer.Option(
    None, "--public-key", help="PEM public key (default: SOVWATCH_AUDIT__PUBLIC_KEY_FILE)"
)
NoKafkaOpt = typer.Option(
    False,
    "--no-kafka",
    help="Do not read the checkpoints witnessed on Kafka (the witness directory still counts)",
)


def parse_when(text: str | None) -> datetime | None:
    """ISO 8601 (naive = UTC) or a relative `-<n><s|m|h|d>`; `SovwatchError` otherwise."""
    if text is None:
        return None
    match = _RELATIVE.match(text.strip())
    if match:
        return datetime.now(UTC) - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise SovwatchError(
            f"{text!r} is not a time", "use ISO 8601 (2025-03-01, 2025-03-01T08:00:00Z) or -7d"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


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


@audit_app.command("keygen")
def keygen(
    out: Path = typer.Option(..., "--out", help="Directory for the key pair"),
    force: bool = typer.Option(False, help="Replace an existing key pair"),
) -> None:
    """Generate an Ed25519 key pair for signing checkpoints (private key files mode 0600)."""
    console.print(f"key id     {write_keypair(out, force)}")
    console.print(f"private    {out / PRIVATE_PEM} (and one-line form {out / PRIVATE_B64}), 0600")
    console.print(f"public     {out / PUBLIC_PEM}  <- give this to compliance officers")
    console.print(
        f'worker:    export SOVWATCH_AUDIT__SIGNING_KEY="$(cat {out / PRIVATE_B64})"\n'
        f"verifiers: export SOVWATCH_AUDIT__PUBLIC_KEY_FILE={out / PUBLIC_PEM}"
    )


@audit_app.command("checkpoint")
def checkpoint(
    worker: list[str] = typer.Option(
        None, "--worker", help="Worker base URL (repeatable; default: SOVWATCH_AUDIT__WORKER_URLS)"
    ),
) -> None:
    """Ask the running worker(s) to sign and publish a checkpoint for every site now."""
    settings = get_settings()
    urls = worker or settings.audit.worker_urls
    if not urls:
        urls = [f"http://{settings.worker.web_host}:{settings.worker.web_port}"]
    table = Table("worker", "site", "seq", "merkle root", "key id")
    headers = web_auth.client_headers(settings.worker)
    for url in urls:
        for cp in request_checkpoints(url.rstrip("/"), headers):
            table.add_row(
                url, cp.site, f"{cp.first_seq}..{cp.last_seq}", cp.merkle_root[:16], cp.key_id
            )
    console.print(table if table.rows else "no site had new records: nothing to sign")


def request_checkpoints(url: str, headers: dict[str, str]) -> list[Checkpoint]:
    """Ask one worker (POST /audit/checkpoint) to sign now: the checkpoints it published."""
    if not url.startswith(("http://", "https://")):
        raise SovwatchError(f"--worker {url!r} is not an http(s) URL", "e.g. http://127.0.0.1:6066")
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
        f"{url}/audit/checkpoint", method="POST", data=b"", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            raise SovwatchError(
                f"the worker at {url} refused the request (HTTP 401)",
                "set SOVWATCH_WORKER__WEB_TOKEN to the worker's web token",
            ) from None
        if exc.code == 409:
            raise SovwatchError(
                f"the worker at {url} has no signing key",
                "start it with SOVWATCH_AUDIT__SIGNING_KEY set ('sovwatch audit keygen')",
            ) from None
        raise SovwatchError(f"the worker at {url} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise SovwatchError(
            f"no sovwatch worker answered at {url} ({exc})",
            "start one with 'sovwatch worker', or pass --worker http://HOST:PORT",
        ) from None
    return [Checkpoint.from_dict(item) for item in body.get("checkpoints", [])]


def _actor(value: str | None, settings: Settings) -> str | tuple[str, ...] | None:
    """A pseudonym as is; a real id pseudonymised with the current and every previous key (only
    their holders can), so records from before a key rotation are found too."""
    if value is None or value.startswith(PREFIX):
        return value
    if settings.privacy.pseudonym_key is None:
        raise SovwatchError(
            f"--actor {value!r} is not a pseudonym and no pseudonymisation key is set",
            f"pass the pseudonym ({PREFIX}...) shown in query results, or set "
            "SOVWATCH_PRIVACY__PSEUDONYM_KEY to search by the real id",
        )
    return tuple(dict.fromkeys(key(value) for key in Pseudonymiser.every_key(settings.privacy)))


@dataclass
class _Source:
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
def _reading(settings: Settings) -> Iterator[InfluxDBClient]:
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


def _source(client: InfluxDBClient, settings: Settings) -> _Source:
    return _Source(client, settings.influxdb.org, settings.influxdb.buckets.audit)


@audit_app.command("query")
def query(
    site: str | None = SiteOpt,
    country: str | None = typer.Option(None, help="Site country (ISO 3166-1 alpha-2)"),
    since: str | None = SinceOpt,
    until: str | None = UntilOpt,
    actor: str | None = typer.Option(
        None, help="Actor pseudonym (p_...), or the real id if you hold the pseudonymisation key"
    ),
    action: str | None = typer.Option(None, help="e.g. data_transfer, model_weights_export"),
    dataset: str | None = typer.Option(None, help="Dataset id"),
    model: str | None = typer.Option(None, help="Model id"),
    classification: str | None = typer.Option(None, help="public, internal, restricted, secret"),
    destination: str | None = typer.Option(None, help="Destination country"),
    approval: str | None = typer.Option(None, help="Approval or change ticket reference"),
    fmt: str = typer.Option("table", "--format", help="table, csv or jsonl"),
    output: Path | None = typer.Option(None, help="Write csv/jsonl here instead of stdout"),
    page: int = typer.Option(1, min=1, help="Page to show (table format)"),
    page_size: int = typer.Option(50, min=1, max=100_000, help="Records per page"),
) -> None:
    """Who moved what data where, when, under which approval: filter the audit trail."""
    if fmt not in ("table", "csv", "jsonl"):
        raise SovwatchError(f"--format {fmt!r} is not known", "use table, csv or jsonl")
    settings = get_settings()
    filters = Filters(
        site=site,
        country=country.upper() if country else None,
        since=parse_when(since),
        until=parse_when(until),
        actor=_actor(actor, settings),
        action=action,
        dataset=dataset,
        model=model,
        classification=classification,
        destination=destination.upper() if destination else None,
        approval=approval,
    )
    with _reading(settings) as client:
        source = _source(client, settings)
        if fmt == "table":
            _show_page(source, filters, page, page_size)
            return
        records = source.pages(filters, max(page_size, 5000), "querying")
        stream = output.open("w", newline="") if output else sys.stdout
        try:
            if fmt == "jsonl":
                for record in records:
                    stream.write(canonical_json(record).decode() + "\n")
            else:
                _write_csv_stream(records, stream)
        finally:
            if output:
                stream.close()


def _write_csv_stream(records: Iterator[Record], stream: object) -> None:
    import csv

    first = list(_take(records, 5000))  # column set from the first page; later extras kept
    writer = csv.DictWriter(stream, fieldnames=csv_columns(first), extrasaction="ignore")  # type: ignore[arg-type]
    writer.writeheader()
    for record in (*first, *records):
        writer.writerow(csv_row(record))


def _take(records: Iterator[Record], n: int) -> Iterator[Record]:
    for _, record in zip(range(n), records, strict=False):
        yield record


def _show_page(source: _Source, filters: Filters, page: int, page_size: int) -> None:
    total = count_records(source.client, source.org, source.bucket, filters)
    rows = read_page(
        source.client,
        source.org,
        source.bucket,
        filters,
        limit=page_size,
        offset=(page - 1) * page_size,
    )
    table = Table(
        "time (UTC)", "site", "seq", "action", "outcome", "actor", "data/model", "class",
        "from→to", "approval",
    )  # fmt: skip
    for r in rows:
        table.add_row(
            record_time(r).strftime("%Y-%m-%d %H:%M:%S"),
            str(r.get("site", "")),
            str(r.get("seq", "-")),
            str(r.get("action", "")),
            str(r.get("outcome", "")),
            str(r.get("actor_id", "")),
            str(r.get("dataset_id") or r.get("model_id") or ""),
            str(r.get("classification", "")),
            f"{r.get('source_country', '')}→{r.get('destination_country', '')}"
            if r.get("destination_country")
            else "",
            str(r.get("approval_ref", "")),
        )
    pages = max(1, -(-total // page_size))
    console.print(table)
    more = f"; --page {page + 1} for more" if page < pages else ""
    console.print(f"page {page} of {pages} ({total} records){more}")


_NO_KEY: Final = (
    "no public key to check checkpoint signatures with",
    "pass --public-key FILE or set SOVWATCH_AUDIT__PUBLIC_KEY_FILE",
)


def _public_key(path: Path | None, settings: Settings) -> tuple[Ed25519PublicKey, bytes]:
    path = path or settings.audit.public_key_file
    if path is None:
        raise SovwatchError(*_NO_KEY)
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise SovwatchError(f"cannot read the public key {path}: {exc.strerror}") from None
    return load_public_key(pem), pem


def collect(
    source: _Source,
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
class _Verified:
    records: list[Record]
    checkpoints: list[Checkpoint]
    report: Report


def _verify_period(
    settings: Settings,
    key: Ed25519PublicKey | None,
    site: str | None,
    since: datetime | None,
    until: datetime | None,
    kafka: bool,
) -> _Verified:
    """Read and verify a period. One open to now (no `until`) is also checked against the
    witnessed checkpoints (Kafka unless `kafka` is False, the witness directory if set): a
    period that ends earlier says nothing about the records after it."""
    with _reading(settings) as client:
        witnesses = read_witnesses(settings, site, kafka=kafka) if until is None else Witnesses()
        records, checkpoints, full = collect(
            _source(client, settings), site, since, until, witnesses.checkpoints()
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
    return _Verified(records, checkpoints, report)


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
    return _verify_period(settings, key, site, since, until, kafka).report


@audit_app.command("verify")
def verify_cmd(
    site: str | None = SiteOpt,
    since: str | None = SinceOpt,
    until: str | None = UntilOpt,
    public_key: Path | None = KeyOpt,
    bundle: Path | None = typer.Option(None, help="Verify an exported bundle instead"),
    no_kafka: bool = NoKafkaOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
) -> None:
    """Recompute hashes, links and Merkle roots, check every signature and that InfluxDB still
    holds what the witnessed checkpoints cover. Exit 0 only if intact, 1 on tampering or loss,
    3 if unsigned (no signing key configured)."""
    settings = get_settings()
    if bundle is not None:
        records, checkpoints, shipped = read_bundle(bundle)
        if public_key is None and settings.audit.public_key_file is None:
            key = load_public_key(shipped)
            err.print(
                f"checking with the key shipped in the bundle ({key_id(key)}): compare it with "
                "the key id you hold, or pass --public-key"
            )
        else:
            key, _ = _public_key(public_key, settings)
        report = verify(records, checkpoints, key, from_genesis=False)
    else:
        # No key at all is fine for an unsigned setup (nothing to check): it says so.
        unkeyed = public_key is None and settings.audit.public_key_file is None
        checked_with = None if unkeyed else _public_key(public_key, settings)[0]
        report = verify_stored(
            settings, checked_with, site, parse_when(since), parse_when(until), kafka=not no_kafka
        )
        if checked_with is None and any(f.kind == "bad_checkpoint" for f in report.findings):
            raise SovwatchError(*_NO_KEY)  # there are signatures to check
    _print_report(report, as_json)
    raise typer.Exit(report.exit_code)


def _print_report(report: Report, as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(report.as_dict()))
    else:
        console.print(report.text(), markup=False, highlight=False)


@audit_app.command("export")
def export(
    out: Path = typer.Option(..., "--out", help="Evidence bundle to write (.zip)"),
    site: str | None = SiteOpt,
    since: str | None = SinceOpt,
    until: str | None = UntilOpt,
    public_key: Path | None = KeyOpt,
    no_kafka: bool = NoKafkaOpt,
) -> None:
    """Write an evidence bundle: records (JSONL, CSV), checkpoints, public key, verification
    report and an HTML summary with charts that opens in a browser without a server."""
    settings = get_settings()
    key, pem = _public_key(public_key, settings)
    start, stop = parse_when(since), parse_when(until)
    verified = _verify_period(settings, key, site, start, stop, kafka=not no_kafka)
    records, checkpoints, report = verified.records, verified.checkpoints, verified.report
    period = f"{start.isoformat() if start else 'start'} .. {stop.isoformat() if stop else 'now'}"
    if site:
        period += f", site {site}"
    write_bundle(out, records, checkpoints, report, pem, period=period, key_id=key_id(key))
    console.print(
        f"wrote {out}: {len(records)} records, {len(checkpoints)} checkpoints, "
        f"{report.status}, {len(report.errors())} problems found"
    )
