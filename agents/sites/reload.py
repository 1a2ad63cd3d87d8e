"""The registry while the worker runs: loaded at start (a registry that does not lint stops the
start, with every issue), then read again when the file changes or on SIGHUP. A new version that
does not lint is refused with an error and the previous one stays in force; one that does is
swapped in whole, and what changed is logged."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import signal
from pathlib import Path
from typing import Any

from agents.sites.lint import RegistryError, load_registry
from agents.sites.registry import Sites
from schemas.errors import SovwatchError
from schemas.settings import SiteSettings
from schemas.sites import Site, SiteRegistry

log = logging.getLogger(__name__)


def open_sites(settings: SiteSettings, sites: Sites | None = None) -> Sites:
    """`sites` (a new holder by default) with the configured registry in force; without one,
    the behaviour of before the registry (`agents.sites.implied`), said once at start."""
    sites = sites if sites is not None else Sites()
    if settings.registry is None:
        log.warning(
            "no site registry (SOVWATCH_SITES__REGISTRY): each event's own country decides its "
            "jurisdiction, and rules judge sites as before the registry: UTC, working hours "
            "06:00-22:00 Monday to Friday, no holidays; GPU halls, cages and the NOC by zone name "
            "and type; rack allocations and site budgets from the readings; PUE target 1.5 "
            "(docs/sites.md)"
        )
        sites.current = None
        return sites
    try:
        sites.current = load_registry(settings.registry)
    except RegistryError as exc:
        raise SovwatchError(
            f"the site registry {settings.registry} does not lint "
            f"(fix it, check with `sovwatch sites lint`):\n{exc}"
        ) from None
    log.info("site registry %s: %d sites", settings.registry, len(sites.current))
    return sites


class Reloader:
    """Reads the registry file again when its content changed (`check`) or when asked to."""

    def __init__(self, path: Path, sites: Sites) -> None:
        self.path = path
        self.sites = sites
        self._digest = _digest(path)

    def check(self, force: bool = False) -> bool:
        """Load the file if it changed (or `force`); True when a new registry is in force."""
        digest = _digest(self.path)
        if digest == self._digest and not force:
            return False
        self._digest = digest
        try:
            new = load_registry(self.path)
        except RegistryError as exc:
            log.error(
                "site registry %s refused, the previous one stays in force:\n%s", self.path, exc
            )
            return False
        old = self.sites.current
        self.sites.current = new
        changes = describe_changes(None if old is None else old.data, new.data)
        log.info(
            "site registry %s reloaded: %s", self.path, "; ".join(changes) or "no site changed"
        )
        return True


def _digest(path: Path) -> bytes | None:
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except OSError:
        return None  # gone or unreadable for now: `load_registry` says why if asked


def describe_changes(old: SiteRegistry | None, new: SiteRegistry) -> list[str]:
    """'added osa-2', 'removed par-1', 'fra-1: tz, zones changed': one item per site."""
    before: dict[str, Site] = {} if old is None else {s.id: s for s in old.sites}
    after = {s.id: s for s in new.sites}
    changes = [f"added {site}" for site in after if site not in before]
    changes += [f"removed {site}" for site in before if site not in after]
    for site_id, site in after.items():
        previous = before.get(site_id)
        if previous is None or previous == site:
            continue
        fields = [
            name for name in Site.model_fields if getattr(previous, name) != getattr(site, name)
        ]
        changes.append(f"{site_id}: {', '.join(fields)} changed")
    return changes


def install_reload(app: Any, sites: Sites, settings: SiteSettings) -> Reloader | None:
    """On a Faust app: look for a changed file every `reload_interval_s`, and reload on SIGHUP.
    Nothing without a configured registry."""
    if settings.registry is None:
        return None
    reloader = Reloader(settings.registry, sites)

    async def look_for_changes() -> None:
        reloader.check()

    async def reload_on_sighup() -> None:
        asyncio.get_running_loop().add_signal_handler(
            signal.SIGHUP, lambda: reloader.check(force=True)
        )

    app.timer(interval=settings.reload_interval_s)(look_for_changes)
    app.task(reload_on_sighup)
    return reloader
