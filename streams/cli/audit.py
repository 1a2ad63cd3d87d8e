"""`sovwatch audit ...`: keys, on-demand checkpoints, query, verify and export of the audit trail.

Wired into the main CLI as `app.add_typer(audit_app, name="audit")`. User errors raise
`SovwatchError` (one line, exit code 2); `verify` exits 1 when it finds a problem and 3 when a
site's records have no checkpoint (not yet checkpointed, or no signing key configured).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.console import Console

from agents.audit.checkpoints import key_id, load_public_key
from agents.audit.records import Record, canonical_json
from agents.audit.verify import verify
from agents.privacy import PREFIX, Pseudonymiser
from schemas.errors import SovwatchError
from schemas.settings import Settings
from streams.cli.tables import JsonOpt, Listing, chosen_format, show
from streams.config import get_settings
from streams.evidence.export import csv_columns, csv_row, read_bundle, write_bundle
from streams.evidence.html import record_time
from streams.evidence.keys import PRIVATE_B64, PRIVATE_PEM, PUBLIC_PEM, write_keypair
from streams.evidence.period import AuditSource, reading, source_of, verify_period, verify_stored
from streams.evidence.sign_request import request_checkpoints
from streams.evidence.store import Filters, count_records, read_page
from streams.evidence.unsigned import Explained, explain
from streams.worker import web_auth

audit_app = typer.Typer(
    help="Sovereignty audit trail: keys, checkpoints, query, verify, export.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)
err = Console(stderr=True)

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
    as_json: bool = JsonOpt,
) -> None:
    """Ask the running worker(s) to sign and publish a checkpoint for every site now."""
    settings = get_settings()
    urls = worker or settings.audit.worker_urls
    if not urls:
        urls = [f"http://{settings.worker.web_host}:{settings.worker.web_port}"]
    listing = Listing(("worker", "site", "seq", "merkle root", "key id"))
    headers = web_auth.client_headers(settings.worker)
    for url in urls:
        for cp in request_checkpoints(url.rstrip("/"), headers):
            listing.add(
                url, cp.site, f"{cp.first_seq}..{cp.last_seq}", cp.merkle_root[:16], cp.key_id
            )
    if listing.rows or as_json:
        show(listing, chosen_format(as_json, False), console)
    else:
        console.print("no site had new records: nothing to sign")


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
    with reading(settings) as client:
        source = source_of(client, settings)
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


def _show_page(source: AuditSource, filters: Filters, page: int, page_size: int) -> None:
    total = count_records(source.client, source.org, source.bucket, filters)
    rows = read_page(
        source.client,
        source.org,
        source.bucket,
        filters,
        limit=page_size,
        offset=(page - 1) * page_size,
    )
    listing = Listing((
        "time (UTC)", "site", "seq", "action", "outcome", "actor", "data/model", "class",
        "from→to", "approval",
    ))  # fmt: skip
    for r in rows:
        listing.add(
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
    show(listing, "auto", console)
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
    3 if records are not signed yet (not yet checkpointed, or no signing key configured)."""
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
    explained = explain(report, settings)
    _print_report(explained, as_json)
    raise typer.Exit(explained.exit_code)


def _print_report(report: Explained, as_json: bool) -> None:
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
    verified = verify_period(settings, key, site, start, stop, kafka=not no_kafka)
    records, checkpoints, report = verified.records, verified.checkpoints, verified.report
    period = f"{start.isoformat() if start else 'start'} .. {stop.isoformat() if stop else 'now'}"
    if site:
        period += f", site {site}"
    write_bundle(out, records, checkpoints, report, pem, period=period, key_id=key_id(key))
    console.print(
        f"wrote {out}: {len(records)} records, {len(checkpoints)} checkpoints, "
        f"{report.status}, {len(report.errors())} problems found"
    )
