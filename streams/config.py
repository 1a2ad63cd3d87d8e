"""The process's settings: read from the environment once, narrowed to one jurisdiction."""

from __future__ import annotations

from functools import lru_cache

from schemas.settings import Settings
from streams.jurisdiction import jurisdiction_settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once; narrowed to one country's cluster and store when
    a jurisdiction is chosen (`SOVWATCH_JURISDICTION`, `sovwatch --jurisdiction XX`)."""
    settings = Settings()
    if settings.jurisdiction is None:
        return settings
    return jurisdiction_settings(settings, settings.jurisdiction)
