"""Who is calling and whether they may: bearer tokens, rate windows, scopes and JSON bodies.

Every Content Posting handler starts with :func:`authorize`, which applies TikTok's checks in
one fixed order: a missing, unknown, expired or revoked token is 401 ``access_token_invalid``;
then the per-token sliding window (429 ``rate_limit_exceeded``); then the scope (401
``scope_not_authorized``). Request bodies must be JSON objects sent as ``application/json``.
The app keys that carry the state and the outbound HTTP session also live here, since every
handler module needs them.
"""

from __future__ import annotations

import json
import math
from typing import Any

import aiohttp
from aiohttp import web

from .envelope import ApiError
from .identifiers import token_fingerprint
from .records import AccessToken
from .state import EmulatorState

STATE = web.AppKey("crosspost_emulator_state", EmulatorState)
SESSION = web.AppKey("crosspost_emulator_session", aiohttp.ClientSession)


def state_of(request: web.Request) -> EmulatorState:
    return request.app[STATE]


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authorize(request: web.Request, route: str, scopes: tuple[str, ...]) -> AccessToken:
    """The caller's grant, after the token, rate-limit and scope checks (any of ``scopes`` will do).

    Pass ``scopes=()`` when the scope depends on the body (content/init) and call
    :func:`require_scope` later.
    """
    state = state_of(request)
    token = bearer(request)
    grant = state.valid_access_token(token) if token else None
    if token is None or grant is None:
        raise ApiError(401, "access_token_invalid")
    fingerprint = token_fingerprint(token)
    if state.rate_limits:
        wait = state.windows.admit(route, fingerprint, state.now())
        if wait is not None:
            headers = {"Retry-After": str(max(1, math.ceil(wait)))} if state.rate_limit_retry_after else None
            raise ApiError(429, "rate_limit_exceeded", headers=headers)
    require_scope(grant, scopes)
    return grant


def require_scope(grant: AccessToken, scopes: tuple[str, ...]) -> None:
    """401 scope_not_authorized unless the grant holds one of ``scopes`` (empty: no check)."""
    if scopes and not any(scope in grant.scopes for scope in scopes):
        raise ApiError(401, "scope_not_authorized")


def invalid(state: EmulatorState, message: str) -> ApiError:
    """400 with the configured spelling (``invalid_params`` as observed, or ``invalid_param``)."""
    return ApiError(400, state.invalid_param_code, message)


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or 400 invalid_params for anything else."""
    state = state_of(request)
    if request.content_type != "application/json":
        raise invalid(state, "Content-Type must be application/json.")
    try:
        body = json.loads(await request.read() or b"null")
    except (ValueError, UnicodeDecodeError):
        raise invalid(state, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise invalid(state, "The request body must be a JSON object.")
    return body
