"""PostPost (``/postpost/api/v1``): RPC-style paths, ``x-api-key``, ``{success: ...}`` envelopes.

PostPost's flow is kept: ``create-post`` without ``scheduledTime`` makes a draft, ``get-upload-url``
attaches a file to it, ``update-post`` with ``status: scheduled`` hands it to the engine. A
``scheduledTime`` in the past means now (as PostPost does). Unlike PostPost, create runs the
shape checks (unknown ``platformSettings`` keys are errors, not silently dropped), and the
scheduling step runs every platform check before anything is stored. Post group ids are 24-hex
ObjectIds; a platform id is ``<platform>-<account name>`` (``tiktok-main``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from crosspost.core.errors import Problem
from crosspost.core.models import JobStatus
from crosspost.core.serve import ids, media, shared, signing
from crosspost.core.serve.api import Ctx, Dialect, Reply, Route
from crosspost.core.serve.dialects.native import iso, url_resolver
from crosspost.core.serve.errors import ApiError, conflict, invalid, not_found
from crosspost.core.serve.posts import PostView, page_args, require_json_object
from crosspost.core.serve.vocab import POSTPOST_GROUP, postpost_platform
from crosspost.core.serve.webhooks import WebhookEvent
from crosspost.core.services import ServiceRequest

EVENTS = ("post.scheduled", "post.published", "post.failed", "token.expiring", "webhook.test")
_NAMES = {"post.scheduled": "post.scheduled", "target.published": "post.published",
          "target.inbox_delivered": "post.published", "target.failed": "post.failed", "webhook.test": "webhook.test"}


def platform_id(target: str) -> str:
    platform, _, name = target.partition(":")
    return f"{platform}-{name}" if name else platform


class PostPostDialect(Dialect):
    name = "postpost"
    base = "/postpost/api/v1"
    service = "postpost"
    title = "PostPost-compatible API"
    key_headers = ("x-api-key", "authorization")
    webhook_events = EVENTS

    def error_body(self, error: ApiError) -> Any:
        body: dict[str, Any] = {"success": False, "error": error.message, "code": error.code}
        if error.field is not None:
            body["field"] = error.field
        return body

    # -- rendering ---------------------------------------------------------------------------

    def group_id(self, view: PostView) -> str:
        return ids.object_id(view.id, view.created_at)

    def platform_posts(self, view: PostView) -> list[dict[str, Any]]:
        out = []
        if view.record is None:
            for target in view.request.get("targets", []):
                out.append({"_id": f"{self.group_id(view)}-{platform_id(str(target))}",
                            "platform": str(target).split(":")[0], "platformId": platform_id(str(target)),
                            "content": view.request.get("content", ""), "status": "draft"})
            return out
        for result in view.record.targets:
            entry: dict[str, Any] = {"_id": f"{self.group_id(view)}-{platform_id(str(result.target))}",
                                     "platform": result.target.platform,
                                     "platformId": platform_id(str(result.target)),
                                     "content": view.request.get("content", ""),
                                     "status": postpost_platform(result.status)}
            if result.post_url:
                entry["postedId"] = result.post_url
            if result.error is not None and result.status in (JobStatus.FAILED, JobStatus.UNCERTAIN):
                entry["error"] = {"code": result.error.code, "message": result.error.message,
                                  "retryable": result.error.retryable}
            out.append(entry)
        return out

    def group(self, ctx: Ctx, view: PostView) -> dict[str, Any]:
        url_of = url_resolver(ctx)
        return {"postGroupId": self.group_id(view), "content": view.request.get("content", ""),
                "status": POSTPOST_GROUP[view.state],
                "scheduledTime": None if view.draft else iso(view.record.run_at if view.record else None),
                "createdAt": iso(view.created_at), "updatedAt": iso(view.updated_at),
                "platforms": [{"platformId": p["platformId"], "platform": p["platform"], "status": p["status"]}
                              for p in self.platform_posts(view)],
                "mediaUrls": [m.get("url") or url_of(m.get("path", "")) for m in view.request.get("media", [])]}

    def render_events(self, event: WebhookEvent, view: PostView | None) -> list[tuple[str, str, Any]]:
        name = _NAMES.get(event.type)
        if name is None:
            return []
        stamp = iso(event.created_at)
        if view is None:
            return [(event.id, name, {"event": name, "timestamp": stamp, "data": {}})]
        results = [] if view.record is None else [t for t in view.record.targets
                                                   if event.target is None or str(t.target) == event.target]
        out = []
        for result in results:
            data: dict[str, Any] = {"postId": f"{self.group_id(view)}-{platform_id(str(result.target))}",
                                    "postGroupId": self.group_id(view), "platform": result.target.platform}
            if name == "post.failed":
                data["error"] = {"code": result.error.code if result.error else "UNKNOWN_ERROR",
                                 "message": result.error.message if result.error else "failed"}
                data["failedAt"] = stamp
            elif name == "post.published":
                data["publishedAt"] = stamp
            else:
                data["scheduledTime"] = iso(view.record.run_at) if view.record else None
            out.append((f"{event.id}:{result.target}", name, {"event": name, "timestamp": stamp, "data": data}))
        return out

    def serialize(self, payload: Any) -> str:
        """Compact and ASCII, exactly what ``json.dumps(payload, separators=(',', ':'))`` (PostPost's
        documented Python check) re-serialises, so that check passes byte for byte."""
        import json

        return json.dumps(payload, separators=(",", ":"))

    def signature_headers(self, *, secret: str, body: str, event_id: str, event: str, delivery_id: str,
                          attempt: int, now: datetime) -> dict[str, str]:
        return {"X-PostPost-Signature": signing.hex_hmac(secret, body), "X-PostPost-Event": event}

    # -- routes ------------------------------------------------------------------------------

    def routes(self) -> Sequence[Route]:
        return [
            Route(method="POST", path="/create-post", handler=self.create, operation_id="createPost",
                  summary="Create a post group (a draft without scheduledTime)", mutating=True, creates=True),
            Route(method="GET", path="/get-post/{postGroupId}", handler=self.get, operation_id="getPost",
                  summary="A post group and its platform posts"),
            Route(method="GET", path="/list-posts", handler=self.list_posts, operation_id="listPosts",
                  summary="Post groups, newest first (page + limit)"),
            Route(method="PUT", path="/update-post/{postGroupId}", handler=self.update, operation_id="updatePost",
                  summary="Schedule a draft, or move it back to draft", mutating=True),
            Route(method="DELETE", path="/delete-post/{postGroupId}", handler=self.delete, operation_id="deletePost",
                  summary="Delete a post group", mutating=True),
            Route(method="POST", path="/get-upload-url", handler=self.upload_url, operation_id="getUploadUrl",
                  summary="A URL to PUT a file that is attached to a draft post group", mutating=True),
            Route(method="GET", path="/post-logs/{postGroupId}", handler=self.logs, operation_id="getPostLogs",
                  summary="The post group's publishing log"),
            Route(method="GET", path="/platform-connections", handler=self.connections,
                  operation_id="getPlatformConnections", summary="Connected accounts and their tokens"),
            Route(method="POST", path="/test-connection/{platformId}", handler=self.test_connection,
                  operation_id="testConnection", summary="Token health of one account", mutating=True),
            Route(method="GET", path="/webhooks", handler=self.webhooks, operation_id="listWebhooks",
                  summary="Webhook subscriptions"),
            Route(method="POST", path="/webhooks", handler=self.create_webhook, operation_id="createWebhook",
                  summary="Subscribe (the secret is shown once)", mutating=True),
            Route(method="PATCH", path="/webhooks/{webhookId}", handler=self.update_webhook,
                  operation_id="updateWebhook", summary="Change a subscription", mutating=True),
            Route(method="DELETE", path="/webhooks/{webhookId}", handler=self.delete_webhook,
                  operation_id="deleteWebhook", summary="Unsubscribe", mutating=True),
            Route(method="POST", path="/webhooks/{webhookId}/regenerate-secret", handler=self.rotate,
                  operation_id="regenerateWebhookSecret", summary="A new signing secret", mutating=True),
        ]

    async def create(self, ctx: Ctx) -> Reply:
        read = ctx.api.posts.read("postpost", require_json_object(ctx.body), await ctx.api.posts.account_keys())
        view = await ctx.api.posts.create(self.name, read, internal=ctx.new_post_id())
        return Reply(body={"success": True, "postGroupId": self.group_id(view)})

    async def get(self, ctx: Ctx) -> Reply:
        view = await ctx.api.posts.get(ctx.match["postGroupId"])
        return Reply(body={"success": True, "postGroupId": self.group_id(view), "status": POSTPOST_GROUP[view.state],
                           "posts": self.platform_posts(view)})

    async def list_posts(self, ctx: Ctx) -> Reply:
        page, limit = page_args(ctx.query, default=20, maximum=100)
        wanted = ctx.query.get("status")
        neutral = None
        if wanted is not None:
            neutral = {"draft": "draft", "scheduled": "scheduled", "published": "published", "failed": "failed",
                       "partially_published": "partial"}.get(wanted)
            if neutral is None:
                raise invalid([Problem(field="status", message=f"unknown status {wanted!r}")])
        views, more = await ctx.api.posts.page(offset=(page - 1) * limit, limit=limit, status=neutral)
        total = await ctx.api.posts.count() if neutral is None else (page - 1) * limit + len(views) + int(more)
        pages = max(1, -(-total // limit))
        return Reply(body={"success": True, "posts": [self.group(ctx, v) for v in views],
                           "pagination": {"page": page, "limit": limit, "totalItems": total, "totalPages": pages,
                                          "hasNextPage": more, "hasPrevPage": page > 1}})

    async def update(self, ctx: Ctx) -> Reply:
        view = await ctx.api.posts.get(ctx.match["postGroupId"])
        body = require_json_object(ctx.body)
        unknown = sorted(set(body) - {"status", "scheduledTime"})
        if unknown:
            raise invalid([Problem(field=unknown[0], message="only status and scheduledTime can change "
                                                             "(PostPost's rule: content is fixed once created)")])
        status = body.get("status", "scheduled")
        if status not in ("draft", "scheduled"):
            raise invalid([Problem(field="status", message=f"expected 'draft' or 'scheduled', got {status!r}")])
        if view.state not in ("draft", "scheduled"):
            raise ApiError(status=400, code="BAD_REQUEST",
                           message=f"Cannot update post: post is currently in {POSTPOST_GROUP[view.state]} status")
        when = body.get("scheduledTime")
        if when is not None and not isinstance(when, str):
            raise invalid([Problem(field="scheduledTime", message="expected an ISO-8601 UTC time")])
        request = {**view.request}
        if status == "draft":
            read = ServiceRequest(service="postpost", request=request, draft=True)
        else:
            request["scheduled_at"] = _not_in_past(when, ctx.now)
            read = ServiceRequest(service="postpost", request=request)
        updated = await ctx.api.posts.update(view, read)
        return Reply(body={"success": True, "message": "Post updated",
                           "postGroup": {"_id": self.group_id(updated), "status": POSTPOST_GROUP[updated.state],
                                         "scheduledTime": iso(updated.record.run_at) if updated.record else None}})

    async def delete(self, ctx: Ctx) -> Reply:
        view = await ctx.api.posts.get(ctx.match["postGroupId"])
        if view.running:
            raise conflict("the post is publishing; it can be deleted once it has finished", code="POST_PUBLISHING")
        await ctx.api.posts.cancel(view, forget=True)
        return Reply(body={"success": True})

    async def upload_url(self, ctx: Ctx) -> Reply:
        group = ctx.field("postGroupId", str)
        kind = ctx.field("type", str)
        if kind not in ("image", "video"):
            raise invalid([Problem(field="type", message=f"expected 'image' or 'video', got {kind!r}")])
        content_type = media.check_type(ctx.field("contentType", str))
        view = await ctx.api.posts.get(group)
        stored, upload_url, _ = media.presign(ctx, filename=ctx.field("fileName", str), content_type=content_type,
                                              size=None)
        await ctx.api.posts.attach_media(view, {"type": kind, "url": stored.url})
        return Reply(body={"success": True, "uploadUrl": upload_url, "fileUrl": stored.url, "mediaId": stored.id})

    async def logs(self, ctx: Ctx) -> Reply:
        view = await ctx.api.posts.get(ctx.match["postGroupId"])
        events = [] if view.record is None else await ctx.api.hub.events(view.record.id)
        return Reply(body={"success": True, "logs": [{"event": e.kind, "at": iso(e.at), "data": dict(e.data)}
                                                     for e in events]})

    def connection(self, account: Any, now: datetime) -> dict[str, Any]:
        facts = shared.health(account, now)
        status = {"healthy": "valid", "warning": "expiring_soon", "error": "expired"}[facts["health"]]
        return {"platformId": platform_id(account.key), "platform": account.platform,
                "username": account.profile.get("username") or account.name,
                "displayName": account.profile.get("nickname"), "profileImageUrl": account.profile.get("avatar_url"),
                "accessTokenExpiresAt": facts["tokenExpiresAt"], "tokenStatus": status}

    async def connections(self, ctx: Ctx) -> Reply:
        return Reply(body={"success": True, "connections": [self.connection(a, ctx.now)
                                                            for a in await shared.accounts(ctx)]})

    async def test_connection(self, ctx: Ctx) -> Reply:
        account = await ctx.api.account(ctx.match["platformId"])
        facts = shared.health(account, ctx.now)
        return Reply(body={"success": facts["tokenValid"], **self.connection(account, ctx.now),
                           "recommendations": facts["recommendations"]})

    def hook_out(self, row: Any, secret: str | None = None) -> dict[str, Any]:
        out = {"_id": row.id, "url": row.url, "events": list(row.events), "isActive": row.enabled,
               "failureCount": row.failure_count, "createdAt": iso(row.created_at)}
        if secret is not None:
            out["secret"] = secret
        return out

    async def webhooks(self, ctx: Ctx) -> Reply:
        rows = await ctx.api.store.list_webhooks(dialect=self.name)
        return Reply(body={"success": True, "webhooks": [self.hook_out(r) for r in rows]})

    async def create_webhook(self, ctx: Ctx) -> Reply:
        if len(await ctx.api.store.list_webhooks(dialect=self.name)) >= 10:
            raise ApiError(status=400, code="LIMIT_REACHED", message="at most 10 webhooks (PostPost's limit)")
        row, secret = await shared.create_webhook(ctx, require_json_object(ctx.body))
        return Reply(status=201, body={"success": True, "webhook": self.hook_out(row, secret)})

    async def update_webhook(self, ctx: Ctx) -> Reply:
        row = await shared.own_webhook(ctx, ctx.match["webhookId"])
        updated = await shared.update_webhook(ctx, row, require_json_object(ctx.body))
        return Reply(body={"success": True, "webhook": self.hook_out(updated)})

    async def delete_webhook(self, ctx: Ctx) -> Reply:
        await shared.own_webhook(ctx, ctx.match["webhookId"])
        await ctx.api.store.delete_webhook(ctx.match["webhookId"])
        return Reply(body={"success": True})

    async def rotate(self, ctx: Ctx) -> Reply:
        row, secret = await shared.rotate_secret(ctx, await shared.own_webhook(ctx, ctx.match["webhookId"]))
        return Reply(body={"success": True, "webhook": self.hook_out(row, secret)})


def _not_in_past(when: str | None, now: datetime) -> str:
    if when is None:
        return "now"
    try:
        at = datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        raise invalid([Problem(field="scheduledTime", message=f"expected an ISO-8601 UTC time, got {when!r}")]) \
            from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return "now" if at <= now else at.isoformat()


__all__ = ["PostPostDialect", "not_found"]
