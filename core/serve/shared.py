"""Operations several dialects expose under their own paths and shapes: webhooks, accounts, OAuth.

Each returns neutral values; the dialect module renders them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from crosspost.core.accounts import Account
from crosspost.core.errors import Problem
from crosspost.core.serve.api import Ctx, new_secret
from crosspost.core.serve.errors import ApiError, invalid, not_found
from crosspost.storage.serve_tables import WebhookRow


def webhook_id(dialect: str) -> str:
    """Zernio's family checks a 24-hex ObjectId; others get ``whk_`` + 24 hex."""
    raw = uuid.uuid4().hex[:24]
    return raw if dialect in ("zernio", "late", "socialsyncer", "postpost") else f"whk_{raw}"


def _events(ctx: Ctx, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(e, str) for e in value):
        raise invalid([Problem(field="events", message="expected a list of event names")])
    known = ctx.dialect.webhook_events
    unknown = [e for e in value if e not in known]
    if unknown:
        raise invalid([Problem(field="events", message=f"unknown event {unknown[0]!r}; known: {', '.join(known)}")])
    return tuple(value)


def _url(value: object) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise invalid([Problem(field="url", message="expected an http(s) URL that receives the events")])
    return value


def _headers(value: object) -> Mapping[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise invalid([Problem(field="customHeaders", message="expected an object of header names to strings")])
    return dict(value)


async def create_webhook(ctx: Ctx, body: Mapping[str, Any], *, headers_key: str = "customHeaders"
                         ) -> tuple[WebhookRow, str]:
    """A subscription in this dialect; ``(row, secret)`` (the caller's own secret, or a new one)."""
    url = _url(body.get("url"))
    events = _events(ctx, body.get("events"))
    secret = body.get("secret") or new_secret()
    if not isinstance(secret, str):
        raise invalid([Problem(field="secret", message="expected a string")])
    name = body.get("name") or url
    if not isinstance(name, str):
        raise invalid([Problem(field="name", message="expected a string")])
    hook_id = webhook_id(ctx.dialect.name)
    row = WebhookRow(id=hook_id, dialect=ctx.dialect.name, name=name[:50], url=url,
                     secret=ctx.api.seal(hook_id, secret),
                     events=events, custom_headers=_headers(body.get(headers_key)),
                     enabled=bool(body.get("isActive", body.get("enabled", True))), failure_count=0,
                     created_at=ctx.now, updated_at=ctx.now)
    await ctx.api.store.add_webhook(row)
    return row, secret


async def own_webhook(ctx: Ctx, hook_id: str) -> WebhookRow:
    row = await ctx.api.store.get_webhook(hook_id)
    if row is None or row.dialect != ctx.dialect.name:
        raise not_found(f"webhook {hook_id!r}")
    return row


async def update_webhook(ctx: Ctx, row: WebhookRow, body: Mapping[str, Any], *,
                         headers_key: str = "customHeaders") -> WebhookRow:
    import attrs

    changes: dict[str, Any] = {"updated_at": ctx.now}
    if "url" in body:
        changes["url"] = _url(body["url"])
    if "events" in body:
        changes["events"] = _events(ctx, body["events"])
    if "name" in body and isinstance(body["name"], str):
        changes["name"] = body["name"][:50]
    for key in ("isActive", "enabled"):
        if key in body:
            if not isinstance(body[key], bool):
                raise invalid([Problem(field=key, message="expected true or false")])
            changes["enabled"] = body[key]
            if body[key]:
                changes["failure_count"] = 0
    if headers_key in body:
        changes["custom_headers"] = _headers(body[headers_key])
    if isinstance(body.get("secret"), str):
        changes["secret"] = ctx.api.seal(row.id, body["secret"])
    updated = attrs.evolve(row, **changes)
    await ctx.api.store.update_webhook(updated)
    return updated


async def rotate_secret(ctx: Ctx, row: WebhookRow) -> tuple[WebhookRow, str]:
    import attrs

    secret = new_secret()
    updated = attrs.evolve(row, secret=ctx.api.seal(row.id, secret), updated_at=ctx.now)
    await ctx.api.store.update_webhook(updated)
    return updated, secret


async def redeliver(ctx: Ctx, hook_id: str, event_id: str) -> None:
    await own_webhook(ctx, hook_id)
    if await ctx.api.store.redeliver(hook_id, event_id, now=ctx.now) is None:
        raise not_found(f"event {event_id!r} of webhook {hook_id!r}")
    ctx.api.outbox.wake.set()


# -- accounts ----------------------------------------------------------------------------------


def health(account: Account, now: Any) -> dict[str, Any]:
    """Token health as the services describe it: healthy, warning (expiring within a day) or error."""
    expired = account.access_expires_at is not None and account.access_expires_at <= now
    refreshable = account.refresh_expires_at is None or account.refresh_expires_at > now
    soon = account.access_expires_at is not None and (account.access_expires_at - now).total_seconds() < 86_400
    if account.needs_login or (expired and not refreshable):
        state, advice = "error", ["Reconnect the account (GET …/connect/{platform})"]
    elif soon and not refreshable:
        state, advice = "warning", ["The token expires within a day; reconnect the account soon"]
    else:
        state, advice = "healthy", []
    return {"health": state, "tokenValid": state != "error", "needsReconnect": state == "error",
            "permissions": list(account.scopes), "recommendations": advice,
            "tokenExpiresAt": account.access_expires_at.isoformat() if account.access_expires_at else None}


async def accounts(ctx: Ctx, platform: str | None = None) -> Sequence[Account]:
    return await ctx.api.hub.accounts.list(platform)


async def remove_account(ctx: Ctx, account: Account) -> None:
    try:
        await ctx.api.hub.remove_account(account.platform, account.name)
    except Exception:
        # The platform refused or could not be reached: forget it here all the same, as a user
        # deleting it in the services' dashboards would, and say nothing secret.
        await ctx.api.hub.remove_account(account.platform, account.name, revoke=False)


async def account_info(ctx: Ctx, account: Account, platform: str | None = None) -> Mapping[str, Any]:
    if platform is not None and platform != account.platform:
        raise not_found(f"{platform} facts for a {account.platform} account")
    info = await ctx.api.hub.account_info(account.key)
    return {"target": info.target, "username": info.username, "display_name": info.display_name,
            "facts": dict(info.facts)}


# -- OAuth -------------------------------------------------------------------------------------


async def start_connect(ctx: Ctx, platform: str, *, callback_path: str) -> tuple[str, str]:
    """``(auth_url, state)`` for a browser login to ``platform``; the account is named by ``name``."""
    hooks = ctx.api.hub.hooks
    if platform not in hooks.platforms():
        raise not_found(f"platform {platform!r}")
    if not hooks.platform(platform).supports_login:
        raise ApiError(status=422, code="UNSUPPORTED_FEATURE", message=f"{platform} has no browser login")
    name = ctx.query.get("name") or ctx.query.get("account_name") or "main"
    redirect = f"{ctx.base_url()}{callback_path}"
    after = ctx.query.get("redirect_url")
    if after:
        redirect += "?" + __import__("urllib.parse").parse.urlencode({"redirect_url": after})
    start = await ctx.api.hub.start_login(platform, name, {}, redirect_uri=redirect)
    return start.url, start.state


async def finish_connect(ctx: Ctx) -> Account:
    return await ctx.api.hub.finish_login(dict(ctx.query))
