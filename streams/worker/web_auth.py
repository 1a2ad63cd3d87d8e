"""Optional bearer token for every page the worker serves (`SOVWATCH_WORKER__WEB_TOKEN`).

One aiohttp middleware guards the whole web server: sovwatch's pages (/metrics, /health,
/audit/checkpoint) and Faust's own (/router, /table, ...) alike, so a page added later cannot
forget the check. Clients (`sovwatch audit checkpoint`, the demo, tests) send `client_headers`.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

import faust
from aiohttp import web
from faust.web.drivers.aiohttp import Web as AiohttpWeb
from pydantic import SecretStr

from schemas.errors import SovwatchError
from schemas.settings import WorkerSettings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="sovwatch"'}


def authorized(header: str | None, token: SecretStr) -> bool:
    """Whether an Authorization header carries exactly this bearer token (constant time)."""
    expected = f"Bearer {token.get_secret_value()}".encode()
    return hmac.compare_digest((header or "").encode(), expected)


def middleware(token: SecretStr) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """401 for any request without the token; the handler runs only for those with it."""

    @web.middleware
    async def require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not authorized(request.headers.get("Authorization"), token):
            return web.json_response(
                {"error": "unauthorized: send Authorization: Bearer <SOVWATCH_WORKER__WEB_TOKEN>"},
                status=401,
                headers=CHALLENGE,
            )
        return await handler(request)

    return require_token


def protect(app: faust.App, token: SecretStr | None) -> None:
    """Guard every page of `app` with `token` (no-op without one). Call before the worker starts."""
    if token is None:
        return
    if not token.get_secret_value():
        raise SovwatchError(
            "SOVWATCH_WORKER__WEB_TOKEN is set but empty", "set a long random value, or unset it"
        )
    driver = app.web
    if not isinstance(driver, AiohttpWeb):
        raise SovwatchError(f"the worker's web driver {type(driver).__name__} is not aiohttp")
    driver.web_app.middlewares.append(middleware(token))


def client_headers(worker: WorkerSettings) -> dict[str, str]:
    """The header a client of the worker's pages sends (none when no token is configured)."""
    if worker.web_token is None:
        return {}
    return {"Authorization": f"Bearer {worker.web_token.get_secret_value()}"}
