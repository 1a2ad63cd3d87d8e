"""The DCGM collector: one scrape of dcgm-exporter -> GPU samples -> Kafka."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from schemas.dcgm import parse_exposition
from schemas.errors import DecodeError, SovwatchError

Send = Callable[[Iterable[tuple[str, bytes, bytes]]], int]
EXPORTER_HINT = "is dcgm-exporter running there? It serves http://<node>:9400/metrics"


def collect_once(
    url: str,
    *,
    site: str,
    country: str,
    source: str,
    node: str | None,
    timeout: float,
    topic: str,
    send: Send,
) -> str:
    """One scrape -> samples -> `send`; returns a one-line summary."""
    now = datetime.now(UTC)
    ts = now.replace(microsecond=now.microsecond // 1000 * 1000)
    text = fetch(url, timeout)
    try:
        scrape = parse_exposition(
            text, site_id=site, country=country, source=source, ts=ts, node=node
        )
    except DecodeError as exc:
        raise SovwatchError(f"{url}: {exc.reason}", EXPORTER_HINT) from exc
    key = site.encode()
    sent = send((topic, key, s.model_dump_json().encode()) for s in scrape.samples)
    summary = f"{ts.isoformat()} produced {sent} GPU samples to {topic}"
    if scrape.rejected:
        first = scrape.rejected[0]
        summary += f"; rejected {len(scrape.rejected)} ({first.key}: {first.error.reason})"
    if scrape.dropped:
        summary += f"; dropped {len(scrape.dropped)} non-finite values"
    return summary


def fetch(url: str, timeout: float) -> str:
    """The exposition text at `url`, or a `SovwatchError` saying why not."""
    if not url.startswith(("http://", "https://")):
        raise SovwatchError(f"--url must be http(s)://…, got {url!r}", EXPORTER_HINT)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - scheme checked
            body: bytes = response.read()
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise SovwatchError(f"cannot scrape {url}: {exc}", EXPORTER_HINT) from exc
    return body.decode("utf-8", errors="replace")
