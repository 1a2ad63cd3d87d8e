"""`sovwatch worker`: run the Faust worker with every agent registered."""

from __future__ import annotations

import importlib

from streams import web_auth
from streams.errors import SovwatchError
from streams.privacy import Pseudonymiser
from streams.settings import get_settings

AGENT_MODULES = ("agents.pipeline", "agents.compliance", "agents.audit")


def run_worker(loglevel: str = "info") -> None:
    """Blocks until the worker is stopped (SIGTERM/SIGINT)."""
    settings = get_settings()
    # Fail before Faust starts, with a clear message, rather than inside an agent.
    Pseudonymiser.from_settings(settings.privacy)
    for module in AGENT_MODULES:
        importlib.import_module(module)
    import faust

    from streams.app import app

    web_auth.protect(app, settings.worker.web_token)
    worker = faust.Worker(app, loglevel=loglevel)
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise SovwatchError(f"the worker stopped with exit code {exc.code}") from exc
