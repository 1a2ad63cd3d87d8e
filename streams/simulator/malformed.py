"""Records the pipeline must dead-letter, one per way to be wrong at the door (not JSON, missing
fields, an unknown schema version, not UTF-8): the demo sends them so the dead-letter path shows,
and tests tell them from valid records."""

from __future__ import annotations

from schemas.settings import TopicSettings

MALFORMED: tuple[bytes, ...] = (
    b"{not json",
    b'{"family": "gpu", "site_id": "fra-1"}',
    b'{"schema_version": "9", "event_id": "x", "site_id": "fra-1", "country": "DE"}',
    "\u00ff\u00fe binary".encode("latin-1"),
)


def malformed_records(topics: TopicSettings, site: str) -> list[tuple[str, bytes, bytes]]:
    """The malformed records, on the GPU topic under `site`'s key."""
    return [(topics.gpu, site.encode(), raw) for raw in MALFORMED]
