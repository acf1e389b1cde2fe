"""The native API (``/v1``) and the RelayAPI dialect (``/relay/v1``): the same handlers.

crosspost's Post already has RelayAPI's shape (``targets``, ``media``, ``scheduled_at``,
``target_options``), so both read RelayAPI bodies; they differ in webhooks (native: timestamped
``Crosspost-Signature``; relay: ``X-RelayAPI-Signature: sha256=…``) and in a few native extras
(``/webhooks/deliveries``, the neutral ``/accounts/{id}/info``). Errors are RelayAPI's envelope
``{"error": {"code", "message", "details": {"issues": [{code, message, path}]}}}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from crosspost.core.errors import Problem
from crosspost.core.models import JobStatus
from crosspost.core.serve import media, shared, signing
from crosspost.core.serve.api import Ctx, Dialect, Reply, Route
from crosspost.core.serve.errors import ApiError, conflict, invalid
from crosspost.core.serve.posts import PostView, require_json_object
from crosspost.core.serve.vocab import NATIVE_POST, RELAY_POST, relay_delivery
from crosspost.core.serve.webhooks import NATIVE_EVENTS, WebhookEvent

RELAY_EVENTS = ("post.published", "post.provider_draft", "post.partial", "post.failed", "post.scheduled",
                "account.connected", "account.disconnected")


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def media_out(item: Mapping[str, Any], url_of: Callable[[str], str | None]) -> dict[str, Any]:
    url = item.get("url") or (url_of(item["path"]) if item.get("path") else None)
    return {"url": url, "type": item.get("type"), "alt_text": item.get("alt")}


def render_post(view: PostView, *, vocab: Mapping[str, str], url_of: Callable[[str], str | None]) -> dict[str, Any]:
    req = view.request
    targets: dict[str, Any] = {}
    if view.record is not None:
        for result in view.record.targets:
            key = str(result.target)
            error = None
            if result.error is not None and result.status in (JobStatus.FAILED, JobStatus.UNCERTAIN):
                error = {"code": result.error.code, "message": result.error.message, "detail": result.error.field}
            targets[key] = {
                "platform": result.target.platform,
                "status": vocab[_target_state(result.status)],
                "error": error,
                "warnings": list(result.warnings),
                "accounts": [{"id": key, "username": result.target.account, "url": result.post_url,
                              "platform_post_id": None, "target_id": key,
                              "publish_operation_id": result.publish_id,
                              "delivery_state": relay_delivery(result.status)}],
            }
    else:
        for target in req.get("targets", []):
            targets[str(target)] = {"platform": str(target).split(":")[0], "status": "draft", "error": None,
                                    "warnings": [], "accounts": []}
    scheduled = req.get("scheduled_at") if view.record is not None else None
    return {
        "id": f"post_{view.id}",
        "status": vocab[view.state],
        "content": req.get("content", ""),
        "scheduled_at": "draft" if view.record is None else scheduled,
        "run_at": iso(view.record.run_at) if view.record is not None else None,
        "timezone": req.get("timezone") or "UTC",
        "media": [media_out(m, url_of) for m in req.get("media", [])],
        "target_options": req.get("target_options", {}),
        "targets": targets,
        "created_at": iso(view.created_at),
        "updated_at": iso(view.updated_at),
    }


def _target_state(status: JobStatus) -> str:
    if status is JobStatus.INBOX:
        return "inbox"
    if status is JobStatus.PUBLISHED:
        return "published"
    if status in (JobStatus.FAILED, JobStatus.CANCELLED):
        return "failed" if status is JobStatus.FAILED else "cancelled"
    if status is JobStatus.SCHEDULED:
        return "scheduled"
    if status is JobStatus.UNCERTAIN:
        return "unknown"
    return "publishing"


def url_resolver(ctx: Ctx) -> Callable[[str], str | None]:
    root = ctx.api.media_dir.resolve()

    def url_of(path: str) -> str | None:
        from pathlib import Path

        resolved = Path(path).resolve()
        if root in resolved.parents:
            relative = resolved.relative_to(root).as_posix()
            return media.media_base(ctx) + relative
        return None

    return url_of


def account_out(account: Any, now: datetime) -> dict[str, Any]:
    facts = shared.health(account, now)
    return {"id": account.key, "platform": account.platform,
            "platform_account_id": account.profile.get("open_id") or account.profile.get("id"),
            "username": account.profile.get("username") or account.name,
            "display_name": account.profile.get("nickname") or account.profile.get("display_name"),
            "avatar_url": account.profile.get("avatar_url"),
            "status": "needs_reconnect" if facts["needsReconnect"] else "connected",
            "needs_reconnect": facts["needsReconnect"], "token_expires_at": facts["tokenExpiresAt"],
            "metadata": {}}


class RelayFamily(Dialect):
    """Native (``/v1``) or RelayAPI (``/relay/v1``)."""

    service = "relay"

    def __init__(self, name: str) -> None:
        self.name = name
        self.native = name == "native"
        self.base = "/v1" if self.native else "/relay/v1"
        self.title = "crosspost native API" if self.native else "RelayAPI-compatible API"
        self.webhook_events = NATIVE_EVENTS if self.native else RELAY_EVENTS
        self.vocab = NATIVE_POST if self.native else RELAY_POST

    # -- rendering ---------------------------------------------------------------------------

    def error_body(self, error: ApiError) -> Any:
        body: dict[str, Any] = {"code": error.code, "message": error.message}
        if error.problems:
            body["details"] = {"issues": [{"code": "invalid", "message": p.message, "path": p.field}
                                          for p in error.problems]}
        if error.details:
            body.setdefault("details", {}).update(error.details)
        return {"error": body}

    def post(self, ctx: Ctx, view: PostView) -> dict[str, Any]:
        return render_post(view, vocab=self.vocab, url_of=url_resolver(ctx))

    def render_events(self, event: WebhookEvent, view: PostView | None) -> list[tuple[str, str, Any]]:
        created = iso(event.created_at)
        if self.native:
            data: dict[str, Any] = {**event.data}
            if view is not None:
                data["post"] = render_post(view, vocab=self.vocab, url_of=lambda _: None)
            if event.target:
                data["target"] = event.target
            return [(event.id, event.type, {"id": event.id, "type": event.type, "created_at": created, "data": data})]
        name = event.type
        if name == "post.published" and view is not None and view.state == "inbox":
            name = "post.provider_draft"
        if name not in (*RELAY_EVENTS, "webhook.test"):
            return []
        relay_data: dict[str, Any] = {"post_id": f"post_{event.post_id}" if event.post_id else None}
        if view is not None:
            relay_data["status"] = self.vocab[view.state]
            relay_data["targets"] = render_post(view, vocab=self.vocab, url_of=lambda _: None)["targets"]
        if event.type == "account.disconnected":
            relay_data = {"account_id": event.target, "reason": event.data.get("reason")}
        return [(event.id, name, {"id": event.id, "event": name, "data": relay_data, "timestamp": created})]

    def serialize(self, payload: Any) -> str:
        import json

        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)

    def signature_headers(self, *, secret: str, body: str, event_id: str, event: str, delivery_id: str,
                          attempt: int, now: datetime) -> dict[str, str]:
        if self.native:
            return {"Crosspost-Event": event, "Crosspost-Event-Id": event_id,
                    "Crosspost-Delivery-Attempt": str(attempt),
                    "Crosspost-Signature": signing.timestamped(secret, body, int(now.timestamp()))}
        return {"X-RelayAPI-Event": event, "X-RelayAPI-Delivery-Id": event_id,
                "X-RelayAPI-Signature": "sha256=" + signing.hex_hmac(secret, body)}

    # -- routes ------------------------------------------------------------------------------

    def routes(self) -> Sequence[Route]:
        r = [
            Route(method="POST", path="/posts", handler=self.create, operation_id="createPost",
                  summary="Create, schedule or draft a post (201 at once; the outcome comes by webhook and GET)",
                  mutating=True, creates=True),
            Route(method="GET", path="/posts", handler=self.list_posts, operation_id="listPosts",
                  summary="List posts, newest first (cursor pagination)"),
            Route(method="GET", path="/posts/{post_id}", handler=self.get, operation_id="getPost",
                  summary="Get a post"),
            Route(method="PATCH", path="/posts/{post_id}", handler=self.update, operation_id="updatePost",
                  summary="Change a draft or a post still waiting for its time", mutating=True),
            Route(method="DELETE", path="/posts/{post_id}", handler=self.delete, operation_id="deletePost",
                  summary="Cancel a waiting post or delete a draft (409 while publishing)", mutating=True),
            Route(method="POST", path="/posts/{post_id}/retry", handler=self.retry, operation_id="retryPost",
                  summary="Retry the failed targets", mutating=True),
            Route(method="POST", path="/tools/validate/post", handler=self.validate, operation_id="validatePost",
                  summary="Run every check on a post without storing or sending it"),
            Route(method="POST", path="/tools/validate/media", handler=self.validate_media,
                  operation_id="validateMedia", summary="Fetch and probe one media item"),
            Route(method="POST", path="/media/presign", handler=self.presign, operation_id="presignMedia",
                  summary="A URL to PUT one file to this server", mutating=True),
            Route(method="POST", path="/media/upload", handler=self.upload, operation_id="uploadMedia",
                  summary="Upload one file (multipart, streamed)", mutating=True, raw_body=True),
            Route(method="GET", path="/accounts", handler=self.accounts, operation_id="listAccounts",
                  summary="Connected accounts"),
            Route(method="GET", path="/accounts/health", handler=self.accounts_health, operation_id="accountsHealth",
                  summary="Token health of every account"),
            Route(method="GET", path="/accounts/{account_id}", handler=self.account, operation_id="getAccount",
                  summary="One account"),
            Route(method="DELETE", path="/accounts/{account_id}", handler=self.delete_account,
                  operation_id="deleteAccount", summary="Revoke and forget an account", mutating=True),
            Route(method="GET", path="/accounts/{account_id}/health", handler=self.account_health,
                  operation_id="accountHealth", summary="Token health of one account"),
            Route(method="GET", path="/accounts/{account_id}/{platform}-creator-info", handler=self.account_info,
                  operation_id="accountPlatformInfo", summary="The platform's live facts about the account"),
            Route(method="GET", path="/connect/{platform}", handler=self.connect, operation_id="connectStart",
                  summary="Start a browser login (platforms that declare one)"),
            Route(method="GET", path="/connect/{platform}/callback", handler=self.connect_callback,
                  operation_id="connectCallback", summary="Where the platform sends the browser back", public=True),
            Route(method="GET", path="/webhooks", handler=self.webhooks, operation_id="listWebhooks",
                  summary="Webhook subscriptions"),
            Route(method="POST", path="/webhooks", handler=self.create_webhook, operation_id="createWebhook",
                  summary="Subscribe (the secret is shown once)", mutating=True),
            Route(method="PATCH", path="/webhooks/{webhook_id}", handler=self.update_webhook,
                  operation_id="updateWebhook", summary="Change a subscription", mutating=True),
            Route(method="DELETE", path="/webhooks/{webhook_id}", handler=self.delete_webhook,
                  operation_id="deleteWebhook", summary="Unsubscribe", mutating=True),
            Route(method="POST", path="/webhooks/{webhook_id}/rotate-secret", handler=self.rotate,
                  operation_id="rotateWebhookSecret", summary="A new signing secret (shown once)", mutating=True),
            Route(method="POST", path="/webhooks/{webhook_id}/test", handler=self.test_webhook,
                  operation_id="testWebhook", summary="Send a webhook.test event", mutating=True),
            Route(method="GET", path="/webhooks/logs", handler=self.logs, operation_id="webhookLogs",
                  summary="Delivery attempts, newest first"),
            Route(method="POST", path="/webhooks/deliveries/{delivery_id}/redeliver", handler=self.redeliver,
                  operation_id="redeliverWebhook", summary="Send a delivery again (same event id)", mutating=True),
        ]
        if self.native:
            r.append(Route(method="GET", path="/accounts/{account_id}/info", handler=self.account_info,
                           operation_id="accountInfo", summary="The platform's live facts about the account"))
        else:
            r.append(Route(method="POST", path="/webhooks/test", handler=self.test_webhook_body,
                           operation_id="testWebhookByBody", summary="Send a webhook.test event", mutating=True))
        return r

    # -- posts -------------------------------------------------------------------------------

    async def create(self, ctx: Ctx) -> Reply:
        read = ctx.api.posts.read("relay", require_json_object(ctx.body), await ctx.api.posts.account_keys())
        view = await ctx.api.posts.create(self.name, read, internal=ctx.new_post_id())
        return Reply(status=201, body=self.post(ctx, view))

    async def list_posts(self, ctx: Ctx) -> Reply:
        limit = _int(ctx.query.get("limit"), "limit", 20, 1, 100)
        offset = _int(ctx.query.get("cursor"), "cursor", 0, 0, 10**9)
        views, more = await ctx.api.posts.page(offset=offset, limit=limit, status=_status(ctx, self.vocab))
        return Reply(body={"data": [self.post(ctx, v) for v in views],
                           "next_cursor": str(offset + limit) if more else None, "has_more": more})

    async def get(self, ctx: Ctx) -> Reply:
        return Reply(body=self.post(ctx, await ctx.api.posts.get(ctx.match["post_id"])))

    async def update(self, ctx: Ctx) -> Reply:
        view = await ctx.api.posts.get(ctx.match["post_id"])
        body = require_json_object(ctx.body)
        current = {k: view.request[k] for k in ("content", "targets", "media", "target_options", "timezone")
                   if k in view.request}
        current["scheduled_at"] = "draft" if view.draft else view.request.get("scheduled_at", "now")
        read = ctx.api.posts.read("relay", {**current, **body}, await ctx.api.posts.account_keys())
        return Reply(body=self.post(ctx, await ctx.api.posts.update(view, read)))

    async def delete(self, ctx: Ctx) -> Reply:
        view = await ctx.api.posts.get(ctx.match["post_id"])
        if view.running:
            raise conflict("the post is publishing; it cannot be cancelled now", code="POST_PUBLISHING")
        await ctx.api.posts.cancel(view)
        return Reply(status=204)

    async def retry(self, ctx: Ctx) -> Reply:
        view = await ctx.api.posts.get(ctx.match["post_id"])
        return Reply(body=self.post(ctx, await ctx.api.posts.retry(view)))

    async def validate(self, ctx: Ctx) -> Reply:
        try:
            read = ctx.api.posts.read("relay", require_json_object(ctx.body), await ctx.api.posts.account_keys())
        except ApiError as exc:
            if not exc.problems:
                raise
            problems, warnings = list(exc.problems), list[str]()
        else:
            problems, warnings = await ctx.api.posts.validate(read)
        return Reply(body={"valid": not problems,
                           "errors": [{"target": _target_of(p.field), "code": "invalid", "message": p.message,
                                       "field": p.field} for p in problems],
                           "warnings": [{"message": w} for w in warnings]})

    async def validate_media(self, ctx: Ctx) -> Reply:
        url = ctx.field("url", str)
        return Reply(body={"url": url, **await media.validate_media(ctx, url)})

    async def presign(self, ctx: Ctx) -> Reply:
        content_type = media.check_type(ctx.field("content_type", str), "content_type")
        stored, upload_url, ttl = media.presign(ctx, filename=ctx.field("filename", str), content_type=content_type,
                                                size=ctx.field("size", int, required=False))
        return Reply(body={"id": stored.id, "upload_url": upload_url,
                           "upload_headers": {"Content-Type": content_type}, "url": stored.url, "expires_in": ttl})

    async def upload(self, ctx: Ctx) -> Reply:
        stored = await media.receive_multipart(ctx, limit=ctx.api.config.max_direct_upload * 2)
        return Reply(status=201, body={"id": stored.id, "url": stored.url, "filename": stored.filename,
                                       "mime_type": stored.content_type, "size": stored.size})

    # -- accounts ----------------------------------------------------------------------------

    async def accounts(self, ctx: Ctx) -> Reply:
        found = await shared.accounts(ctx, ctx.query.get("platform"))
        data = [account_out(a, ctx.now) for a in found]
        return Reply(body={"data": data, "next_cursor": None, "has_more": False, "total": len(data)})

    async def account(self, ctx: Ctx) -> Reply:
        return Reply(body=account_out(await ctx.api.account(ctx.match["account_id"]), ctx.now))

    async def delete_account(self, ctx: Ctx) -> Reply:
        await shared.remove_account(ctx, await ctx.api.account(ctx.match["account_id"]))
        return Reply(status=204)

    async def accounts_health(self, ctx: Ctx) -> Reply:
        found = await shared.accounts(ctx)
        return Reply(body={"data": [{"id": a.key, "platform": a.platform, **shared.health(a, ctx.now)}
                                    for a in found]})

    async def account_health(self, ctx: Ctx) -> Reply:
        account = await ctx.api.account(ctx.match["account_id"])
        return Reply(body={"id": account.key, "platform": account.platform, **shared.health(account, ctx.now)})

    async def account_info(self, ctx: Ctx) -> Reply:
        account = await ctx.api.account(ctx.match["account_id"])
        return Reply(body=await shared.account_info(ctx, account, ctx.match.get("platform")))

    async def connect(self, ctx: Ctx) -> Reply:
        platform = ctx.match["platform"]
        url, state = await shared.start_connect(ctx, platform, callback_path=f"{self.base}/connect/{platform}/callback")
        return Reply(body={"auth_url": url, "state": state})

    async def connect_callback(self, ctx: Ctx) -> Reply:
        account = await shared.finish_connect(ctx)
        after = ctx.query.get("redirect_url")
        if after:
            return Reply(status=302, headers={"Location": after})
        return Reply(body=account_out(account, ctx.now))

    # -- webhooks ----------------------------------------------------------------------------

    def hook_out(self, row: Any, secret: str | None = None) -> dict[str, Any]:
        out = {"id": row.id, "url": row.url, "name": row.name, "enabled": row.enabled, "events": list(row.events),
               "failure_count": row.failure_count, "created_at": iso(row.created_at),
               "updated_at": iso(row.updated_at)}
        if secret is not None:
            out["secret"] = secret
        return out

    async def webhooks(self, ctx: Ctx) -> Reply:
        rows = await ctx.api.store.list_webhooks(dialect=self.name)
        return Reply(body={"data": [self.hook_out(r) for r in rows], "has_more": False, "next_cursor": None})

    async def create_webhook(self, ctx: Ctx) -> Reply:
        row, secret = await shared.create_webhook(ctx, require_json_object(ctx.body), headers_key="custom_headers")
        return Reply(status=201, body=self.hook_out(row, secret))

    async def update_webhook(self, ctx: Ctx) -> Reply:
        row = await shared.own_webhook(ctx, ctx.match["webhook_id"])
        updated = await shared.update_webhook(ctx, row, require_json_object(ctx.body), headers_key="custom_headers")
        return Reply(body=self.hook_out(updated))

    async def delete_webhook(self, ctx: Ctx) -> Reply:
        await shared.own_webhook(ctx, ctx.match["webhook_id"])
        await ctx.api.store.delete_webhook(ctx.match["webhook_id"])
        return Reply(status=204)

    async def rotate(self, ctx: Ctx) -> Reply:
        row, secret = await shared.rotate_secret(ctx, await shared.own_webhook(ctx, ctx.match["webhook_id"]))
        return Reply(body=self.hook_out(row, secret))

    async def test_webhook(self, ctx: Ctx) -> Reply:
        row = await shared.own_webhook(ctx, ctx.match["webhook_id"])
        queued = await ctx.api.outbox.test(row)
        return Reply(status=202, body={"queued": queued is not None, "event_id": queued.event_id if queued else None})

    async def test_webhook_body(self, ctx: Ctx) -> Reply:
        row = await shared.own_webhook(ctx, ctx.field("webhook_id", str))
        queued = await ctx.api.outbox.test(row)
        return Reply(status=202, body={"success": queued is not None})

    async def logs(self, ctx: Ctx) -> Reply:
        hook = ctx.query.get("webhook_id")
        if hook:
            await shared.own_webhook(ctx, hook)
        own = {r.id for r in await ctx.api.store.list_webhooks(dialect=self.name)}
        rows = await ctx.api.store.list_attempts(webhook_id=hook, event_id=ctx.query.get("event_id"),
                                                 limit=_int(ctx.query.get("limit"), "limit", 50, 1, 100))
        return Reply(body={"data": [{"delivery_id": a.delivery_id, "webhook_id": a.webhook_id,
                                     "event_id": a.event_id, "event": a.event_type, "attempt": a.attempt,
                                     "status_code": a.status_code, "response_ms": a.response_ms, "error": a.error,
                                     "created_at": iso(a.at), "request_body": a.body}
                                    for a in rows if a.webhook_id in own]})

    async def redeliver(self, ctx: Ctx) -> Reply:
        delivery = await ctx.api.store.get_delivery(ctx.match["delivery_id"])
        if delivery is None:
            from crosspost.core.serve.errors import not_found

            raise not_found("delivery")
        await shared.redeliver(ctx, delivery.webhook_id, delivery.event_id)
        return Reply(status=202, body={"id": delivery.id, "event_id": delivery.event_id, "queued": True})


def _int(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid([Problem(field=name, message=f"expected an integer, got {raw!r}")]) from None
    if not low <= value <= high:
        raise invalid([Problem(field=name, message=f"expected {low} to {high}, got {value}")])
    return value


def _status(ctx: Ctx, vocab: Mapping[str, str]) -> str | None:
    wanted = ctx.query.get("status")
    if wanted is None:
        return None
    states = sorted({k for k, v in vocab.items() if v == wanted})
    if not states:
        raise invalid([Problem(field="status", message=f"unknown status {wanted!r}; known: "
                                                       f"{', '.join(sorted(set(vocab.values())))}")])
    return states[0]


def _target_of(field: str | None) -> str | None:
    if field and field.startswith("targets["):
        return field.split("]", 1)[0] + "]"
    return None
