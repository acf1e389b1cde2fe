"""The emulator's HTTP app: a PDS and a video service on one port, plus an admin API.

XRPC routes answer like the reference PDS (``{"error", "message"}`` bodies, 400 for named
errors, 401 for bad tokens, 429 with ``ratelimit-*`` headers, a 500 for a record key that is
taken). The admin API (``/admin/...``, documented in docs/bluesky.md) creates accounts and
scripts faults for tests and demos.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp import web

from crosspost.plugins.bluesky.emulator import lexicon
from crosspost.plugins.bluesky.emulator.state import (
    JOB_STEPS,
    LOGIN_LIMIT,
    LOGIN_WINDOW,
    REFRESH_GRACE,
    UPLOAD_LIMIT,
    EmuAccount,
    EmulatorState,
    VideoJob,
    cid,
)
from crosspost.plugins.bluesky.records import POST, is_tid

Route = Callable[[web.Request, EmulatorState], Awaitable[web.StreamResponse]]
STATE: web.AppKey[EmulatorState] = web.AppKey("bluesky_state", EmulatorState)


class XrpcError(Exception):
    def __init__(self, status: int, name: str, message: str, headers: dict[str, str] | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.name, self.message = status, name, message
        self.headers, self.extra = headers or {}, extra or {}

    def response(self) -> web.Response:
        body = {"error": self.name, "message": self.message, **self.extra}
        return web.json_response(body, status=self.status, headers=self.headers)


def _invalid(message: str) -> XrpcError:
    return XrpcError(400, "InvalidRequest", message)


# -- auth ---------------------------------------------------------------------------------------


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise XrpcError(401, "AuthMissing", "Authentication Required")
    return header.removeprefix("Bearer ")


def _token(request: web.Request, state: EmulatorState, kind: str, *, lxm: str | None = None) -> EmuAccount:
    """The account a valid ``kind`` token belongs to (expired: 400 ExpiredToken, as the PDS says)."""
    token = state.tokens.get(_bearer(request))
    if token is None or token.kind != kind:
        raise XrpcError(401, "InvalidToken", "Token could not be verified")
    rotated = token.rotated_at
    if kind == "refresh" and rotated is not None and state.now() - rotated > REFRESH_GRACE.total_seconds():
        raise XrpcError(400, "ExpiredToken", "Token has been revoked")
    if token.expires <= state.now():
        raise XrpcError(400, "ExpiredToken", "Token has expired")
    if lxm is not None and token.lxm != lxm:
        raise XrpcError(401, "BadJwtLexiconMethod", f"the token is not for {lxm}")
    return state.accounts[token.did]


def _session(state: EmulatorState, account: EmuAccount, pair: tuple[str, str]) -> dict[str, Any]:
    return {"did": account.did, "handle": account.handle, "accessJwt": pair[0], "refreshJwt": pair[1],
            "email": f"{account.handle}@example.invalid", "emailConfirmed": account.email_confirmed, "active": True}


async def create_session(request: web.Request, state: EmulatorState) -> web.Response:
    body = await _json(request)
    identifier, password = str(body.get("identifier", "")), str(body.get("password", ""))
    wait = state.login_allowed(identifier)
    if wait:
        reset = int(state.now() + wait)
        raise XrpcError(429, "RateLimitExceeded", "Rate Limit Exceeded", headers={
            "ratelimit-limit": str(LOGIN_LIMIT), "ratelimit-remaining": "0", "ratelimit-reset": str(reset),
            "ratelimit-policy": f"{LOGIN_LIMIT};w={int(LOGIN_WINDOW)}"})
    state.login_calls += 1
    account = state.find(identifier)
    if account is None or password not in account.app_passwords:
        raise XrpcError(401, "AuthenticationRequired", "Invalid identifier or password")
    return web.json_response(_session(state, account, state.session_pair(account.did)))


async def refresh_session(request: web.Request, state: EmulatorState) -> web.Response:
    account = _token(request, state, "refresh")
    state.refresh_calls += 1
    token = state.tokens[_bearer(request)]
    if token.successor is None:
        token.successor = state.session_pair(account.did)
        token.rotated_at = state.now()
    return web.json_response(_session(state, account, token.successor))


async def get_session(request: web.Request, state: EmulatorState) -> web.Response:
    account = _token(request, state, "access")
    return web.json_response({"did": account.did, "handle": account.handle, "emailConfirmed": account.email_confirmed,
                              "active": True})


async def resolve_handle(request: web.Request, state: EmulatorState) -> web.Response:
    account = state.find(request.query.get("handle", ""))
    if account is None:
        raise XrpcError(400, "HandleNotFound", "Unable to resolve handle")
    return web.json_response({"did": account.did})


async def get_service_auth(request: web.Request, state: EmulatorState) -> web.Response:
    account = _token(request, state, "access")
    aud, lxm = request.query.get("aud"), request.query.get("lxm")
    if not aud:
        raise _invalid("Params must have the property \"aud\"")
    exp = int(request.query.get("exp") or state.now() + 60)
    if exp - state.now() > 3600:
        raise XrpcError(400, "BadExpiration", "expiration is too far in the future")
    token = state.issue(account.did, "service", _seconds(exp - state.now()), aud=aud, lxm=lxm)
    return web.json_response({"token": token})


# -- repository ---------------------------------------------------------------------------------


async def upload_blob(request: web.Request, state: EmulatorState) -> web.Response:
    account = _token(request, state, "access")
    data = await _body(request, UPLOAD_LIMIT)
    mime = request.headers.get("Content-Type", "application/octet-stream")
    return web.json_response({"blob": state.store_blob(account.did, data, mime)})


async def create_record(request: web.Request, state: EmulatorState) -> web.StreamResponse:
    account = _token(request, state, "access")
    body = await _json(request)
    repo = state.find(str(body.get("repo", "")))
    if repo is None or repo.did != account.did:
        raise _invalid("Invalid repo: you may only write to your own repository")
    collection = body.get("collection")
    if collection != POST:
        raise _invalid(f"this emulator stores {POST} records only, not {collection!r}")
    rkey = body.get("rkey") or state.next_rkey(account.did)
    if not isinstance(rkey, str) or not is_tid(rkey):
        raise _invalid(f"Invalid record key for {POST}: Invalid TID string (got {rkey!r}) at $")
    record = body.get("record")
    found = lexicon.problems(record, blob=lambda ref: state.blobs[account.did].get(ref),
                             exists=lambda uri: state.record_at(uri) is not None)
    if found:
        raise _invalid(found)
    state.create_calls += 1
    if f"{POST}/{rkey}" in state.records[account.did]:
        # The reference PDS fails deep in its repository layer ("There is already a value at key").
        raise XrpcError(500, "InternalServerError", "Internal Server Error")
    entry = state.put_record(account.did, POST, rkey, dict(record))  # type: ignore[arg-type]
    if state.faults.lose_creates > 0:
        state.faults.lose_creates -= 1
        if request.transport is not None:
            request.transport.close()  # committed, and the answer never arrives
        raise web.HTTPServiceUnavailable()
    rev = cid(entry["cid"].encode())[:13]
    return web.json_response({"uri": entry["uri"], "cid": entry["cid"], "commit": {"cid": entry["cid"], "rev": rev},
                              "validationStatus": "valid"})


async def get_record(request: web.Request, state: EmulatorState) -> web.Response:
    q = request.query
    repo = state.find(q.get("repo", ""))
    entry = state.records[repo.did].get(f"{q.get('collection')}/{q.get('rkey')}") if repo else None
    if entry is None:
        raise XrpcError(400, "RecordNotFound",
                        f"Could not locate record: at://{q.get('repo')}/{q.get('collection')}/{q.get('rkey')}")
    return web.json_response(entry)


async def list_records(request: web.Request, state: EmulatorState) -> web.Response:
    repo = state.find(request.query.get("repo", ""))
    if repo is None:
        raise _invalid("Could not find repo")
    return web.json_response({"records": state.posts(repo.did)})


# -- video service ------------------------------------------------------------------------------


async def video_limits(request: web.Request, state: EmulatorState) -> web.Response:
    account = _token(request, state, "service", lxm="app.bsky.video.getUploadLimits")
    if not account.email_confirmed:
        return web.json_response({"canUpload": False, "message": "confirm your email address to upload videos"})
    return web.json_response({"canUpload": state.daily_videos > 0, "remainingDailyVideos": state.daily_videos,
                              "remainingDailyBytes": state.daily_video_bytes})


async def upload_video(request: web.Request, state: EmulatorState) -> web.Response:
    account = _token(request, state, "service", lxm="com.atproto.repo.uploadBlob")
    data = await _body(request, 100_000_000)
    digest = cid(data)
    done = next((j for j in state.video_jobs.values() if j.digest == digest and j.blob is not None), None)
    if done is not None:
        raise XrpcError(409, "already_exists", "Video already processed", extra={"jobStatus": _job(done)})
    job = VideoJob(job_id=secrets.token_hex(8), did=account.did, digest=digest, size=len(data))
    state.video_jobs[job.job_id] = job
    state.daily_videos -= 1
    state.daily_video_bytes -= len(data)
    state.blobs[account.did]["pending:" + job.job_id] = {"mimeType": "video/mp4", "size": len(data), "data": data}
    return web.json_response({"jobStatus": _job(job)})


async def job_status(request: web.Request, state: EmulatorState) -> web.Response:
    job = state.video_jobs.get(request.query.get("jobId", ""))
    if job is None:
        raise XrpcError(400, "NotFound", "no such job")
    if job.step < len(JOB_STEPS) - 1 and job.blob is None:
        job.step += 1
        if JOB_STEPS[job.step] == "JOB_STATE_COMPLETED":
            if state.faults.video_fail_code:
                return web.json_response({"jobStatus": {**_job(job), "state": "JOB_STATE_FAILED",
                                                        "error": state.faults.video_fail_code,
                                                        "message": "the emulator was told to fail this job"}})
            pending = state.blobs[job.did].pop("pending:" + job.job_id)
            job.blob = state.store_blob(job.did, pending["data"], "video/mp4")
    return web.json_response({"jobStatus": _job(job)})


def _job(job: VideoJob) -> dict[str, Any]:
    status: dict[str, Any] = {"jobId": job.job_id, "did": job.did, "state": JOB_STEPS[job.step],
                              "progress": int(100 * job.step / (len(JOB_STEPS) - 1))}
    if job.blob is not None:
        status["blob"] = job.blob
    return status


ROUTES: dict[tuple[str, str], Route] = {
    ("POST", "com.atproto.server.createSession"): create_session,
    ("POST", "com.atproto.server.refreshSession"): refresh_session,
    ("GET", "com.atproto.server.getSession"): get_session,
    ("GET", "com.atproto.server.getServiceAuth"): get_service_auth,
    ("GET", "com.atproto.identity.resolveHandle"): resolve_handle,
    ("POST", "com.atproto.repo.uploadBlob"): upload_blob,
    ("POST", "com.atproto.repo.createRecord"): create_record,
    ("GET", "com.atproto.repo.getRecord"): get_record,
    ("GET", "com.atproto.repo.listRecords"): list_records,
    ("GET", "app.bsky.video.getUploadLimits"): video_limits,
    ("POST", "app.bsky.video.uploadVideo"): upload_video,
    ("GET", "app.bsky.video.getJobStatus"): job_status,
}


async def dispatch(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    nsid = request.match_info["nsid"]
    route = ROUTES.get((request.method, nsid))
    try:
        if route is None:
            raise XrpcError(501, "MethodNotImplemented", f"Method Not Implemented: {nsid}")
        scripted = state.faults.fail.get(nsid)
        if scripted:
            status = scripted.popleft()
            await _drain(request)
            raise XrpcError(status, "InternalServerError" if status >= 500 else "InvalidRequest",
                            f"scripted HTTP {status}")
        return await route(request, state)
    except XrpcError as exc:
        await _drain(request)
        return exc.response()


# -- admin API ----------------------------------------------------------------------------------


async def admin_accounts(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = await _json(request)
    account = state.add_account(str(body["handle"]), str(body["app_password"]),
                                email_confirmed=bool(body.get("email_confirmed", True)))
    return web.json_response({"did": account.did, "handle": account.handle})


async def admin_state(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.json_response({
        "accounts": [{"did": a.did, "handle": a.handle} for a in state.accounts.values()],
        "posts": [{"uri": p["uri"], "value": p["value"]} for p in state.posts()],
        "login_calls": state.login_calls, "refresh_calls": state.refresh_calls, "create_calls": state.create_calls,
    })


async def admin_faults(request: web.Request) -> web.Response:
    """``{"lose_creates": N}``, ``{"fail": {"<nsid>": [status, ...]}}``, ``{"expire_access": true}``,
    ``{"video_fail_code": "encoding_failure"}``."""
    state = request.app[STATE]
    body = await _json(request)
    state.faults.lose_creates += int(body.get("lose_creates", 0))
    for nsid, statuses in dict(body.get("fail", {})).items():
        state.faults.fail[nsid].extend(int(s) for s in statuses)
    if body.get("expire_access"):
        state.expire_access_tokens()
    if "video_fail_code" in body:
        state.faults.video_fail_code = body["video_fail_code"]
    return web.json_response({"ok": True})


# -- plumbing -----------------------------------------------------------------------------------


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise _invalid("Request body must be JSON") from None
    if not isinstance(body, dict):
        raise _invalid("Request body must be a JSON object")
    return body


async def _body(request: web.Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise XrpcError(413, "PayloadTooLarge", f"request entity too large (limit {limit} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


async def _drain(request: web.Request) -> None:
    if request.can_read_body and not request.content.at_eof():
        while await request.content.readany():
            pass


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=max(1.0, value))


def make_app(state: EmulatorState) -> web.Application:
    """The app, with the fault plan's middleware outermost (the contract suite drives it)."""
    app = web.Application(middlewares=[state.plan.middleware()], client_max_size=200 * 1024 * 1024)
    app[STATE] = state
    app.router.add_route("*", "/xrpc/{nsid}", dispatch)
    app.router.add_post("/admin/accounts", admin_accounts)
    app.router.add_get("/admin/state", admin_state)
    app.router.add_post("/admin/faults", admin_faults)
    return app
