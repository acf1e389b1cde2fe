"""The emulator's aiohttp application: Mastodon's routes, as strict as the real server where
crosspost depends on it, plus an admin API under ``/_emulator``.

Routes: ``GET /api/v1|v2/instance``, ``POST /api/v1/apps``, ``GET /oauth/authorize`` (approves
at once and redirects with a code), ``POST /oauth/token`` (PKCE S256 checked), ``POST
/oauth/revoke``, ``GET /api/v1/accounts/verify_credentials``, ``POST /api/v2/media`` (200 for a
processed image, 202 otherwise), ``GET /api/v1/media/{id}`` (206 while processing, 200 done, 422
failed), ``POST /api/v1/statuses`` (Idempotency-Key per account for an hour; the 422 texts), ``GET`` and
``DELETE /api/v1/statuses/{id}`` (counters that grow over the emulator's clock; 404 once deleted).
Every authenticated answer carries ``X-RateLimit-*``; over the limit is 429.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
from aiohttp import BodyPartReader, web
from aiohttp.typedefs import Handler

from crosspost.plugins.mastodon.emulator.state import EmuAccount, EmulatorState, RouteFault
from crosspost.testing.faults import FaultPlan

STATE: web.AppKey[EmulatorState] = web.AppKey("state", EmulatorState)
FAULTS: web.AppKey[FaultPlan] = web.AppKey("faults", FaultPlan)


def error(status: int, text: str, **headers: str) -> web.Response:
    return web.json_response({"error": text}, status=status, headers=headers)


def make_app(state: EmulatorState, faults: FaultPlan | None = None) -> web.Application:
    plan = faults or FaultPlan()
    app = web.Application(middlewares=[plan.middleware(), _record, _route_faults], client_max_size=200 * 1024**2)
    app[STATE] = state
    app[FAULTS] = plan
    app.router.add_get("/api/v2/instance", instance_v2)
    app.router.add_get("/api/v1/instance", instance_v1)
    app.router.add_post("/api/v1/apps", register_app)
    app.router.add_get("/oauth/authorize", authorize)
    app.router.add_post("/oauth/token", token)
    app.router.add_post("/oauth/revoke", revoke)
    app.router.add_get("/api/v1/accounts/verify_credentials", authed(verify_credentials))
    app.router.add_post("/api/v2/media", authed(upload_media))
    app.router.add_get("/api/v1/media/{id}", authed(get_media))
    app.router.add_post("/api/v1/statuses", authed(create_status))
    app.router.add_get("/api/v1/statuses/{id}", authed(get_status))
    app.router.add_delete("/api/v1/statuses/{id}", authed(delete_status))
    from crosspost.plugins.mastodon.emulator.admin import add_admin_routes

    add_admin_routes(app)
    return app


def _origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


@web.middleware
async def _record(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/_emulator"):
        request.app[STATE].requests.append((request.method, request.path))
    return await handler(request)


def _route_name(request: web.Request) -> str:
    resource = request.match_info.route.resource
    canonical = resource.canonical if resource is not None else request.path
    return f"{request.method} {canonical}"


@web.middleware
async def _route_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Scripted faults by route (``POST /api/v1/statuses``): before or after the handler ran."""
    fault = request.app[STATE].take_fault(_route_name(request))
    if fault is None:
        return await handler(request)
    if fault.when == "after":
        await handler(request)
    else:
        await request.read()
    if fault.drop:
        if request.transport is not None:
            request.transport.close()
        raise ConnectionResetError("scripted dropped connection")
    return error(fault.status, f"scripted HTTP {fault.status}")


def authed(handler: Any) -> Handler:
    """Bearer token required; rate-limit headers on every answer; 429 over the window."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        header = request.headers.get("Authorization", "")
        account = state.account_for(header[7:]) if header.startswith("Bearer ") else None
        if account is None:
            return error(401, "The access token is invalid")
        allowed, remaining, reset = state.count_request(account.token)
        headers = {"X-RateLimit-Limit": str(state.rate.limit), "X-RateLimit-Remaining": str(remaining),
                   "X-RateLimit-Reset": reset.isoformat(timespec="microseconds")}
        if not allowed:
            return error(429, "Too many requests", **headers)
        response: web.StreamResponse = await handler(request, account)
        response.headers.update(headers)
        return response

    return wrapped


async def _body(request: web.Request) -> dict[str, Any]:
    """JSON or form parameters, as the real server takes either."""
    if request.content_type == "application/json":
        data = await request.json()
        return data if isinstance(data, dict) else {}
    form = await request.post()
    result: dict[str, Any] = {}
    for key in form:
        values = form.getall(key)
        name = key[:-2] if key.endswith("[]") else key
        result[name] = list(values) if key.endswith("[]") else values[0]
    return result


async def instance_v2(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if not state.config.v2:
        return error(404, "Record not found")
    return web.json_response(state.config.v2_document(_origin(request)))


async def instance_v1(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].config.v1_document(_origin(request)))


async def register_app(request: web.Request) -> web.Response:
    body = await _body(request)
    uris = body.get("redirect_uris")
    redirect = tuple(uris) if isinstance(uris, list) else tuple(str(uris or "").split())
    if not body.get("client_name") or not redirect:
        return error(422, "Validation failed: Application name can't be blank, Redirect URI can't be blank")
    app = request.app[STATE].register_app(redirect, str(body.get("scopes") or "read"))
    return web.json_response({"id": app.client_id[:8], "name": body["client_name"], "website": body.get("website"),
                              "scopes": app.scopes.split(), "redirect_uris": list(app.redirect_uris),
                              "redirect_uri": "\n".join(app.redirect_uris), "client_id": app.client_id,
                              "client_secret": app.client_secret, "client_secret_expires_at": 0})


async def authorize(request: web.Request) -> web.StreamResponse:
    """Approves at once (the emulator's one user clicks *Authorize*) and redirects with a code."""
    state = request.app[STATE]
    q = request.query
    app = state.apps.get(q.get("client_id", ""))
    redirect = q.get("redirect_uri", "")
    if app is None or redirect not in app.redirect_uris or q.get("response_type") != "code":
        return error(400, "invalid_request")
    challenge = q.get("code_challenge")
    if challenge is not None and q.get("code_challenge_method") != "S256":
        return error(400, "invalid_request: code_challenge_method must be S256")
    code = state.issue_code(app, redirect_uri=redirect, challenge=challenge, scopes=q.get("scope", "read"))
    separator = "&" if "?" in redirect else "?"
    raise web.HTTPFound(f"{redirect}{separator}code={code}&state={q.get('state', '')}")


async def token(request: web.Request) -> web.Response:
    body = await _body(request)
    if body.get("grant_type") != "authorization_code":
        return web.json_response({"error": "unsupported_grant_type"}, status=400)
    result = request.app[STATE].redeem_code(str(body.get("code", "")), client_id=str(body.get("client_id", "")),
                                            client_secret=str(body.get("client_secret", "")),
                                            redirect_uri=str(body.get("redirect_uri", "")),
                                            verifier=body.get("code_verifier"))
    if isinstance(result, str):
        return web.json_response({"error": result, "error_description": "The provided authorization grant is "
                                  "invalid, expired, revoked, does not match the redirection URI used in the "
                                  "authorization request, or was issued to another client."}, status=400)
    account, scopes = result
    return web.json_response({"access_token": account.token, "token_type": "Bearer", "scope": scopes,
                              "created_at": int(request.app[STATE].clock.now().timestamp())})


async def revoke(request: web.Request) -> web.Response:
    body = await _body(request)
    state = request.app[STATE]
    app = state.apps.get(str(body.get("client_id", "")))
    if app is None or app.client_secret != body.get("client_secret"):
        return web.json_response({"error": "unauthorized_client"}, status=403)
    state.revoked.add(str(body.get("token", "")))
    return web.json_response({})


async def verify_credentials(request: web.Request, account: EmuAccount) -> web.Response:
    origin = _origin(request)
    return web.json_response({"id": account.id, "username": account.username, "acct": account.username,
                              "display_name": account.display_name, "url": f"{origin}/@{account.username}",
                              **request.app[STATE].account_counts(account)})


def _media_json(request: web.Request, media_id: str) -> dict[str, Any]:
    state = request.app[STATE]
    media = state.media[media_id]
    ready = state.media_ready(media)
    origin = _origin(request)
    return {"id": media.id, "type": media.kind, "url": f"{origin}/files/{media.id}" if ready else None,
            "preview_url": f"{origin}/files/{media.id}/small", "description": media.description,
            "meta": {"original": {"size": media.size}}}


async def upload_media(request: web.Request, account: EmuAccount) -> web.Response:
    state = request.app[STATE]
    cfg = state.config
    mime, size, description = "", 0, None
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "file":
            mime = part.headers.get("Content-Type", "application/octet-stream")
            while chunk := await part.read_chunk():
                size += len(chunk)
        elif part.name == "description":
            description = await part.text()
    if not mime:
        return error(422, "Validation failed: File can't be blank")
    if mime not in cfg.supported_mime_types:
        return error(422, "Validation failed: File content type is invalid, File is invalid")
    limit = cfg.image_size_limit if mime.startswith("image/") else cfg.video_size_limit
    if size > limit:
        return error(422, f"Validation failed: File file size must be less than {limit // (1024 * 1024)} MB")
    if description is not None and len(description) > cfg.description_limit:
        return error(422, f"Validation failed: Description is too long (maximum is {cfg.description_limit} "
                          "characters)")
    media = state.add_media(account, mime=mime, size=size, description=description)
    return web.json_response(_media_json(request, media.id), status=200 if state.synchronous(media) else 202)


async def get_media(request: web.Request, account: EmuAccount) -> web.Response:
    state = request.app[STATE]
    media = state.media.get(request.match_info["id"])
    if media is None or media.account_id != account.id:
        return error(404, "Record not found")
    if media.fail and state.clock.now() >= media.ready_at:
        return error(422, "Error processing thumbnail for uploaded media")
    status = 200 if state.media_ready(media) else 206
    return web.json_response(_media_json(request, media.id), status=status)


async def create_status(request: web.Request, account: EmuAccount) -> web.Response:
    state = request.app[STATE]
    key = request.headers.get("Idempotency-Key")
    body = await _body(request)
    existing = state.remembered(account, key)
    if existing is not None:
        return web.json_response(status_json(request, existing.id))
    text = str(body.get("status") or "")
    spoiler = str(body.get("spoiler_text") or "")
    media_ids = [str(m) for m in body.get("media_ids") or []]
    visibility = str(body.get("visibility") or "public")
    if visibility not in ("public", "unlisted", "private", "direct"):
        return error(422, "Validation failed: Visibility is not included in the list")
    problem = state.status_problem(account, text, spoiler, media_ids)
    if problem is not None:
        return error(422, problem)
    reply_to = body.get("in_reply_to_id")
    if reply_to is not None and str(reply_to) not in state.statuses:
        return error(404, "Record not found")
    sensitive = body.get("sensitive") in (True, "true", "1")
    status = state.create_status(account, text=text, spoiler_text=spoiler, visibility=visibility,
                                 sensitive=sensitive, language=body.get("language"), media_ids=media_ids,
                                 in_reply_to_id=str(reply_to) if reply_to is not None else None, key=key)
    return web.json_response(status_json(request, status.id))


async def get_status(request: web.Request, account: EmuAccount) -> web.Response:
    """A status with its counters now; 404 when deleted or not visible to the caller."""
    state = request.app[STATE]
    status = state.statuses.get(request.match_info["id"])
    if status is None or (status.visibility in ("private", "direct") and status.account_id != account.id):
        return error(404, "Record not found")
    return web.json_response(status_json(request, status.id))


async def delete_status(request: web.Request, account: EmuAccount) -> web.Response:
    state = request.app[STATE]
    status = state.statuses.get(request.match_info["id"])
    if status is None or status.account_id != account.id:
        return error(404, "Record not found")
    body = status_json(request, status.id)
    state.delete_status(status.id)
    return web.json_response(body)


def status_json(request: web.Request, status_id: str) -> dict[str, Any]:
    state = request.app[STATE]
    status = state.statuses[status_id]
    account = next(a for a in state.accounts.values() if a.id == status.account_id)
    origin = _origin(request)
    return {"id": status.id, "uri": f"{origin}/users/{account.username}/statuses/{status.id}",
            "url": f"{origin}/@{account.username}/{status.id}", "created_at": status.created_at.isoformat(),
            "content": f"<p>{status.text}</p>", "spoiler_text": status.spoiler_text,
            "visibility": status.visibility, "sensitive": status.sensitive, "language": status.language,
            "in_reply_to_id": status.in_reply_to_id,
            "media_attachments": [_media_json(request, m) for m in status.media_ids],
            **state.counters(status),
            "account": {"id": account.id, "username": account.username, "acct": account.username}}


def fault_from_json(data: Any) -> RouteFault:
    fields = {f.name for f in attrs.fields(RouteFault)}
    if not isinstance(data, dict) or "route" not in data or not set(data) <= fields:
        raise web.HTTPBadRequest(text=json.dumps({"error": f"a fault takes {sorted(fields)} (route required)"}),
                                 content_type="application/json")
    return RouteFault(**data)
