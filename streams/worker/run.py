"""`sovwatch worker`: build the topology from settings and run it until stopped."""

from __future__ import annotations

from schemas.errors import SovwatchError
from streams.config import get_settings
from streams.worker import web_auth


def run_worker(loglevel: str = "info") -> None:
    """Blocks until the worker is stopped (SIGTERM/SIGINT)."""
    import faust

    from streams.worker.topology import build

    settings = get_settings()
    topology = build(settings)
    web_auth.protect(topology.app, settings.worker.web_token)
    worker = faust.Worker(topology.app, loglevel=loglevel)
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise SovwatchError(f"the worker stopped with exit code {exc.code}") from exc
