"""Login Kit: the authorize page, token exchange and refresh, revoke, and /v2/user/info/.

``GET /v2/auth/authorize/`` stands in for www.tiktok.com's consent page: the "logged-in" creator
(``state.login_open_id``, else the ``emulator_open_id`` query parameter, else the first creator,
created on the spot if there is none) approves at once and is redirected to ``redirect_uri``
with ``code``, ``scopes`` (requested ∩ the creator's scopes) and ``state``, or with
``error=access_denied`` when the creator is set to deny.

The token endpoint takes form bodies only (a JSON body is refused, as TikTok refuses it) and
answers flat JSON. PKCE is TikTok's variant: ``code_challenge`` must be the *hex* SHA-256 of the
verifier, so an RFC 7636 base64url challenge fails with ``invalid_request`` "Code verifier or
code challenge is invalid." Errors are OAuth-shaped; HTTP statuses are undocumented, so 400
is used, and 401 for a wrong client key or secret. With ``rotate_refresh_tokens`` a refresh
kills the refresh token it consumed (the November 2026 docs); otherwise the same refresh token
comes back with its remaining lifetime (every observed response). Revoke answers 200 with an
empty body and disconnects the app from the user (every token of that user dies).
"""

from __future__ import annotations

import hashlib
import hmac

import yarl
from aiohttp import web

from .access import authorize, invalid, state_of
from .analytics import user_stats
from .envelope import ApiError, OAuthError, api_response
from .records import AuthCode, Creator
from .state import EmulatorState

_USER_FIELDS: dict[str, str] = {
    "open_id": "user.info.basic", "union_id": "user.info.basic", "avatar_url": "user.info.basic",
    "avatar_url_100": "user.info.basic", "avatar_large_url": "user.info.basic", "display_name": "user.info.basic",
    "bio_description": "user.info.profile", "profile_deep_link": "user.info.profile",
    "is_verified": "user.info.profile", "username": "user.info.profile",
    "follower_count": "user.info.stats", "following_count": "user.info.stats",
    "likes_count": "user.info.stats", "video_count": "user.info.stats",
}


def _redirect(redirect_uri: str, **params: str) -> web.Response:
    location = yarl.URL(redirect_uri).extend_query({k: v for k, v in params.items() if v})
    return web.Response(status=302, headers={"Location": str(location)})


def _logged_in(state: EmulatorState, request: web.Request) -> Creator:
    open_id = state.login_open_id or request.query.get("emulator_open_id")
    if open_id is not None and open_id in state.creators:
        return state.creators[open_id]
    if state.creators:
        return next(iter(state.creators.values()))
    return state.add_creator()


async def authorize_page(request: web.Request) -> web.Response:
    state = state_of(request)
    query = request.query
    redirect_uri = query.get("redirect_uri", "")
    if not redirect_uri or (state.redirect_uris and redirect_uri not in state.redirect_uris):
        return web.Response(status=400, text="redirect_uri is missing or not registered for this client_key.")
    csrf = query.get("state", "")
    if query.get("client_key") != state.client_key:
        return _redirect(redirect_uri, error="unauthorized_client", error_type="client_key", state=csrf)
    if query.get("response_type") != "code":
        return _redirect(redirect_uri, error="unsupported_response_type", state=csrf)
    requested = tuple(s for s in query.get("scope", "").split(",") if s)
    if not requested:
        return _redirect(redirect_uri, error="invalid_scope", error_description="scope is required", state=csrf)
    challenge = query.get("code_challenge")
    if challenge is not None and query.get("code_challenge_method") != "S256":
        return _redirect(redirect_uri, error="invalid_request",
                         error_description="code_challenge_method must be S256", state=csrf)
    creator = _logged_in(state, request)
    if creator.deny_authorization:
        return _redirect(redirect_uri, error="access_denied",
                         error_description="The user denied the authorization request.", state=csrf)
    granted = tuple(scope for scope in requested if scope in creator.scopes)
    code = state.ids.auth_code()
    state.auth_codes[code] = AuthCode(open_id=creator.open_id, scopes=granted, redirect_uri=redirect_uri,
                                      code_challenge=challenge, expires_at=state.now() + state.auth_code_ttl)
    return _redirect(redirect_uri, code=code, scopes=",".join(granted), state=csrf)


async def token(request: web.Request) -> web.Response:
    state = state_of(request)
    if request.content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "The request parameters are malformed.")
    form = {key: str(value) for key, value in (await request.post()).items()}
    _check_client(state, form, secret_required=True)
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        return _exchange_code(state, form)
    if grant_type == "refresh_token":
        return _refresh(state, form)
    raise OAuthError("unsupported_grant_type", "Grant type is not supported.")


def _check_client(state: EmulatorState, form: dict[str, str], *, secret_required: bool) -> None:
    if "client_key" not in form:
        raise OAuthError("invalid_request", "Client key is missed in request.")
    secret = form.get("client_secret")
    if secret is None and secret_required:
        raise OAuthError("invalid_request", "Client secret is missed in request.")
    key_ok = hmac.compare_digest(form["client_key"].encode(), state.client_key.encode())
    secret_ok = secret is None or hmac.compare_digest(secret.encode(), state.client_secret.encode())
    if not (key_ok and secret_ok):
        raise OAuthError("invalid_client", "Client key or secret is incorrect.", status=401)


def _exchange_code(state: EmulatorState, form: dict[str, str]) -> web.Response:
    code = state.auth_codes.pop(form.get("code", ""), None)
    if code is None or code.expires_at <= state.now():
        raise OAuthError("invalid_grant", "Authorization code is expired.")
    if form.get("redirect_uri") != code.redirect_uri:
        raise OAuthError("invalid_request", "Redirect_uri is not matched with the uri when requesting code.")
    if code.code_challenge is not None:
        verifier = form.get("code_verifier", "")
        expected = hashlib.sha256(verifier.encode()).hexdigest()
        if not verifier or not hmac.compare_digest(expected, code.code_challenge):
            raise OAuthError("invalid_request", "Code verifier or code challenge is invalid.")
    access = state.issue_access_token(code.open_id, code.scopes)
    refresh = state.issue_refresh_token(code.open_id, code.scopes)
    return _token_response(state, access, refresh)


def _refresh(state: EmulatorState, form: dict[str, str]) -> web.Response:
    old = form.get("refresh_token", "")
    grant = state.valid_refresh_token(old)
    if grant is None:
        raise OAuthError("invalid_grant", "Refresh token is invalid or expired.")
    access = state.issue_access_token(grant.open_id, grant.scopes)
    refresh = old
    if state.rotate_refresh_tokens:
        del state.refresh_tokens[old]
        refresh = state.issue_refresh_token(grant.open_id, grant.scopes)
    return _token_response(state, access, refresh)


def _token_response(state: EmulatorState, access: str, refresh: str) -> web.Response:
    access_grant = state.access_tokens[access]
    refresh_grant = state.refresh_tokens[refresh]
    now = state.now()
    return web.json_response({
        "access_token": access,
        "expires_in": int(access_grant.expires_at - now),
        "open_id": access_grant.open_id,
        "refresh_expires_in": int(refresh_grant.expires_at - now),
        "refresh_token": refresh,
        "scope": ",".join(access_grant.scopes),
        "token_type": "Bearer",
    }, headers={"Cache-Control": "no-store"})


async def revoke(request: web.Request) -> web.Response:
    """Disconnect the app; a missing client_secret is tolerated (unconfirmed either way)."""
    state = state_of(request)
    if request.content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "The request parameters are malformed.")
    form = {key: str(value) for key, value in (await request.post()).items()}
    _check_client(state, form, secret_required=False)
    access = form.get("token")
    if not access:
        raise OAuthError("invalid_request", "Token is missed in request.")
    grant = state.access_tokens.get(access)
    if grant is not None:
        state.revoke_tokens(grant.open_id)
        state.lifecycle.emit("authorization.removed", grant.open_id, {"reason": 5})
    return web.Response(status=200)


async def user_info(request: web.Request) -> web.Response:
    state = state_of(request)
    grant = authorize(request, "user_info", ("user.info.basic",))
    fields = [f for f in request.query.get("fields", "").split(",") if f]
    if not fields:
        raise invalid(state, "Fields is required, please provide fields in the request")
    unknown = [f for f in fields if f not in _USER_FIELDS]
    if unknown:
        raise invalid(state, f"Invalid fields: {','.join(unknown)}")
    if any(_USER_FIELDS[f] not in grant.scopes for f in fields):
        raise ApiError(401, "scope_not_authorized")
    creator = state.creators[grant.open_id]
    values: dict[str, object] = {
        "open_id": creator.open_id, "union_id": "u" + creator.open_id, "avatar_url": creator.avatar_url,
        "avatar_url_100": creator.avatar_url, "avatar_large_url": creator.avatar_url,
        "display_name": creator.nickname, "bio_description": "", "is_verified": False,
        "profile_deep_link": f"https://vm.tiktok.com/@{creator.username}", "username": creator.username,
        **user_stats(state, creator.open_id),
    }
    return api_response(state.log_id(), {"user": {f: values[f] for f in fields}})
