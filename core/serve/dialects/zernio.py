"""Zernio (``/zernio/api/v1``), Late (``/late/api/v1``) and SocialSyncerAPI (``/socialsyncer/v1``).

One family of request bodies (``mediaItems``, ``platforms[]``, root ``<platform>Settings``,
``publishNow``/``scheduledFor``), three response envelopes:

* Zernio: ``{message, post: {_id, ...}}``, errors ``{error, code?, param?, details?}``, webhooks
  signed ``X-Zernio-Signature`` (hex HMAC of the body) with ``X-Zernio-Event-Id``;
* Late: the same posts, errors ``{error, details?}``, ``X-Late-Signature``, no event id in bodies;
* SocialSyncerAPI: the post flat at the top level (``{id, status, platforms}``), errors
  ``{error, code}``, one webhook per target signed ``X-SocialSyncerAPI-Signature``.

Post ids are 24-hex ObjectIds (:mod:`crosspost.core.serve.ids`); account ids are crosspost's
account keys (``tiktok:main``), as ``GET …/accounts`` lists them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from crosspost.core.errors import InvalidPost, Problem
from crosspost.core.models import JobStatus
from crosspost.core.serve import ids, media, shared, signing
from crosspost.core.serve.api import Ctx, Dialect, Reply, Route
from crosspost.core.serve.dialects.native import iso, url_resolver
from crosspost.core.serve.errors import ApiError, conflict, invalid, not_found
from crosspost.core.serve.posts import PostView, page_args, require_json_object
from crosspost.core.serve.vocab import ZERNIO_POST, zernio_target
from crosspost.core.serve.webhooks import WebhookEvent

ZERNIO_EVENTS = ("post.scheduled", "post.published", "post.failed", "post.partial", "post.cancelled",
                 "post.platform.published", "post.platform.failed", "account.connected", "account.disconnected",
                 "webhook.test")
LATE_EVENTS = ("post.scheduled", "post.published", "post.failed", "post.partial", "account.connected",
               "account.disconnected", "webhook.test")
SYNCER_EVENTS = ("post.published", "post.failed", "post.scheduled", "account.disconnected", "account.connected",
                 "webhook.test")
_ZERNIO_NAMES = {"post.scheduled": "post.scheduled", "post.published": "post.published",
                 "post.failed": "post.failed", "post.partial": "post.partial", "post.cancelled": "post.cancelled",
                 "target.published": "post.platform.published", "target.inbox_delivered": "post.platform.published",
                 "target.failed": "post.platform.failed", "account.disconnected": "account.disconnected",
                 "webhook.test": "webhook.test"}
_SYNCER_NAMES = {"target.published": "post.published", "target.inbox_delivered": "post.published",
                 "target.failed": "post.failed", "post.scheduled": "post.scheduled",
                 "account.disconnected": "account.disconnected", "webhook.test": "webhook.test"}
_SYNCER_CODES = {401: "AUTH_INVALID_KEY", 404: "NOT_FOUND", 429: "RATE_LIMIT_EXCEEDED", 500: "INTERNAL_ERROR"}
DEFAULT_PROFILE = "000000000000000000000001"


def error_category(code: str | None) -> str | None:
    """Zernio's ``errorCategory`` for a crosspost error code."""
    if code is None:
        return None
    text = code.lower()
    for needle, category in (("auth", "auth_expired"), ("token", "auth_expired"), ("rate", "platform_rate_limit"),
                             ("cap", "quota_exhausted"), ("spam", "user_abuse"), ("invalid", "user_content"),
                             ("privacy", "user_content"), ("uncertain", "unknown"), ("unknown", "unknown")):
        if needle in text:
            return category
    return "platform_error"


class ZernioFamily(Dialect):
    service = "zernio"

    def __init__(self, name: str) -> None:
        self.name = name
        self.service = name
        self.base = {"zernio": "/zernio/api/v1", "late": "/late/api/v1", "socialsyncer": "/socialsyncer/v1"}[name]
        self.title = {"zernio": "Zernio-compatible API", "late": "Late-compatible API",
                      "socialsyncer": "SocialSyncerAPI-compatible API"}[name]
        self.webhook_events = {"zernio": ZERNIO_EVENTS, "late": LATE_EVENTS, "socialsyncer": SYNCER_EVENTS}[name]
        self.max_limit = 500 if name == "zernio" else 100

    # -- rendering ---------------------------------------------------------------------------

    def error_body(self, error: ApiError) -> Any:
        if self.name == "socialsyncer":
            code = error.code
            if error.status in _SYNCER_CODES and code not in ("AUTH_MISSING_KEY",):
                code = _SYNCER_CODES[error.status] if error.status != 400 else code
            return {"error": error.message, "code": code,
                    **({"param": error.field} if error.field is not None else {})}
        body: dict[str, Any] = {"error": error.message}
        details = dict(error.details)
        if error.problems:
            details["fields"] = [{"field": p.field, "message": p.message} for p in error.problems]
        if self.name == "zernio":
            body["code"] = error.code
            if error.field is not None:
                body["param"] = error.field
        if details:
            body["details"] = details
        return body

    def post(self, ctx: Ctx | None, view: PostView) -> dict[str, Any]:
        req = view.request
        url_of = url_resolver(ctx) if ctx is not None else (lambda _: None)
        platforms = []
        if view.record is not None:
            for result in view.record.targets:
                failed = result.status in (JobStatus.FAILED, JobStatus.UNCERTAIN)
                platforms.append({
                    "platform": result.target.platform, "accountId": str(result.target),
                    "status": zernio_target(result.status), "platformPostId": None,
                    "platformPostUrl": result.post_url, "publishedAt": None,
                    "errorMessage": result.error.message if result.error and failed else None,
                    "errorCategory": error_category(result.error.code) if result.error and failed else None,
                    "errorSource": ("platform" if result.error.retryable else "user") if result.error and failed
                    else None,
                })
        else:
            for target in req.get("targets", []):
                platform = str(target).split(":")[0]
                platforms.append({"platform": platform, "accountId": str(target), "status": "pending"})
        media_items = []
        for item in req.get("media", []):
            url = item.get("url") or (url_of(item["path"]) if item.get("path") else None)
            media_items.append({"type": item.get("type"), "url": url, **({"altText": item["alt"]}
                                                                          if item.get("alt") else {})})
        out = {
            "_id": ids.object_id(view.id, view.created_at), "content": req.get("content", ""),
            "mediaItems": media_items, "platforms": platforms,
            "scheduledFor": None if view.draft or req.get("scheduled_at") == "now" else req.get("scheduled_at"),
            "timezone": req.get("timezone") or "UTC", "status": ZERNIO_POST[view.state],
            "isDraft": view.draft, "createdAt": iso(view.created_at), "updatedAt": iso(view.updated_at),
        }
        for key in ("title", "tags", "hashtags", "mentions", "metadata", "visibility"):
            if key in view.metadata:
                out[key] = view.metadata[key]
        if self.name == "socialsyncer":
            out["id"] = out["_id"]
        return out

    def created(self, ctx: Ctx, view: PostView, *, status: int = 201, message: str | None = None) -> Reply:
        post = self.post(ctx, view)
        if self.name == "socialsyncer":
            return Reply(status=status, body=post)
        word = "scheduled" if view.state == "scheduled" else "saved as a draft" if view.draft else "accepted"
        return Reply(status=status, body={"message": message or f"Post {word}", "post": post})

    def one(self, ctx: Ctx, view: PostView, message: str | None = None) -> Reply:
        post = self.post(ctx, view)
        if self.name == "socialsyncer":
            return Reply(body=post)
        return Reply(body={**({"message": message} if message else {}), "post": post})

    def render_events(self, event: WebhookEvent, view: PostView | None) -> list[tuple[str, str, Any]]:
        stamp = iso(event.created_at)
        if self.name == "socialsyncer":
            return self._syncer_events(event, view, stamp)
        name = _ZERNIO_NAMES.get(event.type)
        if name is None or name not in self.webhook_events:
            return []
        post = self._hook_post(view) if view is not None else None
        if event.type == "account.disconnected":
            body: dict[str, Any] = {"event": name, "account": {"accountId": event.target,
                                                               "platform": (event.target or "").split(":")[0]},
                                    "disconnectionType": "unintentional", "timestamp": stamp}
        else:
            body = {"event": name, "post": post, "timestamp": stamp}
            if name.startswith("post.platform.") and view is not None and view.record is not None:
                result = next((t for t in view.record.targets if str(t.target) == event.target), None)
                if result is not None:
                    body["platform"] = {"name": result.target.platform, "status": zernio_target(result.status),
                                        "platformPostId": None, "publishedUrl": result.post_url,
                                        "error": result.error.message if result.error else None}
                    body["account"] = {"accountId": str(result.target), "platform": result.target.platform,
                                       "username": result.target.account}
        if self.name == "zernio":
            body = {"id": event.id, **body}
        return [(event.id, name, body)]

    def _hook_post(self, view: PostView) -> dict[str, Any]:
        full = self.post(None, view)
        platforms = [{"platform": p["platform"], "status": p["status"], "accountId": p["accountId"],
                      "platformPostId": p.get("platformPostId"), "publishedUrl": p.get("platformPostUrl"),
                      "error": p.get("errorMessage")} for p in full["platforms"]]
        out = {"id": full["_id"], "content": full["content"], "status": full["status"],
               "scheduledFor": full["scheduledFor"], "publishedAt": None, "platforms": platforms}
        if self.name == "zernio":
            out["metadata"] = view.metadata.get("metadata")
        return out

    def _syncer_events(self, event: WebhookEvent, view: PostView | None, stamp: str | None
                       ) -> list[tuple[str, str, Any]]:
        name = _SYNCER_NAMES.get(event.type)
        if name is None:
            return []
        post_id = ids.object_id(view.id, view.created_at) if view is not None else None
        results = [] if view is None or view.record is None else [
            t for t in view.record.targets if event.target is None or str(t.target) == event.target]
        if not results:
            return [(event.id, name, {"event": name, "timestamp": stamp,
                                      "data": {"postId": post_id, **({"accountId": event.target}
                                                                     if event.target else {})}})]
        out = []
        for result in results:
            data = {"postId": post_id, "platform": result.target.platform, "platformPostId": None,
                    "platformPostUrl": result.post_url, "status": zernio_target(result.status)}
            out.append((f"{event.id}:{result.target}", name, {"event": name, "timestamp": stamp, "data": data}))
        return out

    def signature_headers(self, *, secret: str, body: str, event_id: str, event: str, delivery_id: str,
                          attempt: int, now: datetime) -> dict[str, str]:
        signature = signing.hex_hmac(secret, body)
        if self.name == "zernio":
            return {"X-Zernio-Signature": signature, "X-Zernio-Event-Id": event_id, "X-Zernio-Event": event}
        if self.name == "late":
            return {"X-Late-Signature": signature}
        return {"X-SocialSyncerAPI-Signature": signature, "X-SocialAPI-Signature": signature}

    # -- routes ------------------------------------------------------------------------------

    def routes(self) -> Sequence[Route]:
        syncer = self.name == "socialsyncer"
        r = [
            Route(method="POST", path="/posts", handler=self.create, operation_id="createPost",
                  summary="Create, schedule or draft a post (201 at once; never waits for the publish)",
                  mutating=True, creates=True),
            Route(method="GET", path="/posts", handler=self.list_posts, operation_id="listPosts",
                  summary="List posts (page + limit)"),
            Route(method="GET", path="/posts/{postId}", handler=self.get, operation_id="getPost",
                  summary="Get a post"),
            Route(method="PUT", path="/posts/{postId}", handler=self.update, operation_id="updatePost",
                  summary="Edit a draft or a scheduled post", mutating=True),
            Route(method="DELETE", path="/posts/{postId}", handler=self.delete, operation_id="deletePost",
                  summary="Delete a draft or cancel a scheduled post", mutating=True),
            Route(method="POST", path="/posts/{postId}/retry", handler=self.retry, operation_id="retryPost",
                  summary="Retry the failed platforms now", mutating=True),
            Route(method="POST", path="/media/presign", handler=self.presign, operation_id="getMediaPresignedUrl",
                  summary="A URL to PUT one file to this server", mutating=True),
            Route(method="GET", path="/accounts", handler=self.accounts, operation_id="listAccounts",
                  summary="Connected accounts"),
            Route(method="GET", path="/accounts/health", handler=self.accounts_health,
                  operation_id="getAllAccountsHealth", summary="Token health of every account"),
            Route(method="GET", path="/connect/{platform}", handler=self.connect, operation_id="getConnectUrl",
                  summary="Start a browser login"),
            Route(method="GET", path="/connect/{platform}/callback", handler=self.connect_callback,
                  operation_id="connectCallback", summary="Where the platform sends the browser back", public=True),
            Route(method="GET", path="/webhooks/settings", handler=self.webhooks, operation_id="getWebhookSettings",
                  summary="Webhook subscriptions"),
            Route(method="POST", path="/webhooks/settings", handler=self.create_webhook,
                  operation_id="createWebhookSettings", summary="Subscribe", mutating=True),
            Route(method="DELETE", path="/webhooks/settings", handler=self.delete_webhook,
                  operation_id="deleteWebhookSettings", summary="Unsubscribe (?id=)", mutating=True),
        ]
        if syncer:
            r += [
                Route(method="DELETE", path="/accounts/{platform}/{accountId}", handler=self.delete_account,
                      operation_id="disconnectAccount", summary="Disconnect an account", mutating=True),
                Route(method="POST", path="/connect/{platform}", handler=self.connect_finish,
                      operation_id="completeConnect", summary="Finish a login with the code and state", mutating=True),
            ]
            return r
        r += [
            Route(method="POST", path="/tools/validate/post", handler=self.validate, operation_id="validatePost",
                  summary="Every check on a post, nothing stored or sent"),
            Route(method="POST", path="/tools/validate/media", handler=self.validate_media,
                  operation_id="validateMedia", summary="Fetch and probe one media URL"),
            Route(method="POST", path="/media/upload-direct", handler=self.upload_direct,
                  operation_id="uploadMediaDirect", summary="Upload one file (multipart, streamed)", mutating=True,
                  raw_body=True),
            Route(method="GET", path="/profiles", handler=self.profiles, operation_id="listProfiles",
                  summary="The single default profile"),
            Route(method="GET", path="/accounts/{accountId}/health", handler=self.account_health,
                  operation_id="getAccountHealth", summary="Token health of one account"),
            Route(method="DELETE", path="/accounts/{accountId}", handler=self.delete_account,
                  operation_id="deleteAccount", summary="Disconnect an account", mutating=True),
            Route(method="GET", path="/accounts/{accountId}/{platform}/creator-info", handler=self.account_info,
                  operation_id="getCreatorInfo", summary="The platform's live facts about the account"),
            Route(method="GET", path="/analytics", handler=self.analytics, operation_id="getAnalytics",
                  summary="Posts in a period (metrics only where the server has them)"),
            Route(method="PUT", path="/webhooks/settings", handler=self.update_webhook,
                  operation_id="updateWebhookSettings", summary="Change a subscription (body carries _id)",
                  mutating=True),
            Route(method="GET", path="/webhooks/logs", handler=self.logs, operation_id="getWebhookLogs",
                  summary="Delivery attempts, newest first"),
            Route(method="POST", path="/webhooks/test", handler=self.test_webhook, operation_id="testWebhook",
                  summary="Send a webhook.test event", mutating=True),
            Route(method="POST", path="/webhooks/logs/redeliver", handler=self.redeliver,
                  operation_id="redeliverWebhook", summary="Send one event again (same event id)", mutating=True),
        ]
        if self.name == "late":
            r.append(Route(method="GET", path="/analytics/{postId}", handler=self.post_analytics,
                           operation_id="getPostAnalytics", summary="One post's analytics (Late's seed path)"))
        return r

    # -- posts -------------------------------------------------------------------------------

    async def create(self, ctx: Ctx) -> Reply:
        read = ctx.api.posts.read(self.service, require_json_object(ctx.body), await ctx.api.posts.account_keys())
        view = await ctx.api.posts.create(self.name, read, internal=ctx.new_post_id())
        return self.created(ctx, view)

    async def replayed(self, ctx: Ctx, internal: str) -> Reply:
        """Zernio's answer to a create repeated under the same ``x-request-id``: 200, the post as it is now."""
        view = await ctx.api.posts.get(internal)
        reply = self.created(ctx, view, status=200, message="Post already exists for this x-request-id")
        body = dict(reply.body)
        body["existingPost"] = True
        return Reply(status=200, body=body, headers={"Idempotent-Replayed": "true"})

    async def list_posts(self, ctx: Ctx) -> Reply:
        page, limit = page_args(ctx.query, default=10, maximum=self.max_limit)
        status = ctx.query.get("status")
        words = {v: k for k, v in ZERNIO_POST.items() if k not in ("inbox", "unknown")}
        neutral = words.get(status) if status else None
        if status and neutral is None:
            raise invalid([Problem(field="status", message=f"unknown status {status!r}")])
        views, more = await ctx.api.posts.page(offset=(page - 1) * limit, limit=limit, status=neutral)
        total = await ctx.api.posts.count() if neutral is None else (page - 1) * limit + len(views) + int(more)
        return Reply(body={"posts": [self.post(ctx, v) for v in views],
                           "pagination": {"page": page, "limit": limit, "total": total,
                                          "pages": max(1, -(-total // limit))}})

    async def get(self, ctx: Ctx) -> Reply:
        return self.one(ctx, await ctx.api.posts.get(ctx.match["postId"]))

    def current_body(self, ctx: Ctx, view: PostView) -> dict[str, Any]:
        """The stored post in this family's request shape, for PUT to overlay."""
        req = view.request
        url_of = url_resolver(ctx)
        body: dict[str, Any] = {
            "content": req.get("content", ""),
            "mediaItems": [{"type": m.get("type"), "url": m.get("url") or url_of(m.get("path", ""))}
                           for m in req.get("media", [])],
            "platforms": [{"platform": str(t).split(":")[0], "accountId": str(t)} for t in req.get("targets", [])],
        }
        for platform, options in req.get("target_options", {}).items():
            body[f"{platform}Settings"] = dict(options)
        if req.get("timezone"):
            body["timezone"] = req["timezone"]
        if view.draft:
            body["isDraft"] = True
        elif req.get("scheduled_at") == "now":
            body["publishNow"] = True
        else:
            body["scheduledFor"] = req.get("scheduled_at")
        return body

    async def update(self, ctx: Ctx) -> Reply:
        view = await ctx.api.posts.get(ctx.match["postId"])
        changes = require_json_object(ctx.body)
        body = self.current_body(ctx, view)
        if {"publishNow", "scheduledFor", "isDraft"} & set(changes):
            for key in ("publishNow", "scheduledFor", "isDraft"):
                body.pop(key, None)
        body.update(changes)
        if body.get("isDraft") is False:
            body.pop("isDraft")
        read = ctx.api.posts.read(self.service, body, await ctx.api.posts.account_keys())
        return self.one(ctx, await ctx.api.posts.update(view, read), message="Post updated")

    async def delete(self, ctx: Ctx) -> Reply:
        view = await ctx.api.posts.get(ctx.match["postId"])
        if view.state in ("published", "inbox", "partial"):
            raise ApiError(status=400, code="POST_PUBLISHED",
                           message="a published post cannot be deleted here (crosspost cannot unpublish)")
        if view.running:
            raise conflict("the post is publishing; wait for it to finish", code="POST_PUBLISHING")
        await ctx.api.posts.cancel(view, forget=True)
        return Reply(body={"message": "Post deleted"})

    async def retry(self, ctx: Ctx) -> Reply:
        view = await ctx.api.posts.retry(await ctx.api.posts.get(ctx.match["postId"]))
        return self.one(ctx, view, message="Retry queued")

    async def validate(self, ctx: Ctx) -> Reply:
        try:
            read = ctx.api.posts.read(self.service, require_json_object(ctx.body), await ctx.api.posts.account_keys())
            problems, warnings = await ctx.api.posts.validate(read)
        except (InvalidPost, ApiError) as exc:
            if isinstance(exc, ApiError) and not exc.problems:
                raise
            problems, warnings = list(exc.problems), []
        platform = "tiktok"
        out_warnings = [{"platform": _platform_of(w) or platform, "warning": w} for w in warnings]
        if problems:
            return Reply(body={"valid": False, "errors": [{"platform": _platform_of(p.field) or None,
                                                           "field": p.field, "error": p.message} for p in problems],
                               "warnings": out_warnings})
        return Reply(body={"valid": True, "message": "The post passed every check", "warnings": out_warnings})

    async def validate_media(self, ctx: Ctx) -> Reply:
        url = ctx.field("url", str)
        facts = await media.validate_media(ctx, url)
        size = facts.get("size") or 0
        return Reply(body={"url": url, "sizeFormatted": f"{size / 1024 / 1024:.1f} MB", **facts})

    async def presign(self, ctx: Ctx) -> Reply:
        content_type = media.check_type(ctx.field("contentType", str))
        stored, upload_url, ttl = media.presign(ctx, filename=ctx.field("filename", str), content_type=content_type,
                                                size=ctx.field("size", int, required=False))
        return Reply(body={"uploadUrl": upload_url, "publicUrl": stored.url, "key": stored.id, "expiresIn": ttl})

    async def upload_direct(self, ctx: Ctx) -> Reply:
        stored = await media.receive_multipart(ctx, limit=ctx.api.config.max_direct_upload)
        return Reply(body={"url": stored.url, "filename": stored.filename, "contentType": stored.content_type,
                           "size": stored.size})

    # -- accounts and profiles ---------------------------------------------------------------

    def account_out(self, account: Any, now: datetime) -> dict[str, Any]:
        facts = shared.health(account, now)
        if self.name == "socialsyncer":
            return {"platform": account.platform, "accountId": account.key,
                    "username": account.profile.get("username") or account.name, "connectedAt": None}
        return {"_id": account.key, "platform": account.platform, "profileId": DEFAULT_PROFILE,
                "username": account.profile.get("username") or account.name,
                "displayName": account.profile.get("nickname") or account.profile.get("display_name"),
                "profilePicture": account.profile.get("avatar_url"), "isActive": not facts["needsReconnect"],
                "needsReconnection": facts["needsReconnect"], "enabled": True, "metadata": {}}

    async def accounts(self, ctx: Ctx) -> Reply:
        found = await shared.accounts(ctx, ctx.query.get("platform"))
        body: dict[str, Any] = {"accounts": [self.account_out(a, ctx.now) for a in found]}
        if self.name != "socialsyncer":
            body["hasAnalyticsAccess"] = False
        return Reply(body=body)

    def health_out(self, account: Any, now: datetime) -> dict[str, Any]:
        facts = shared.health(account, now)
        return {"platform": account.platform, "accountId": account.key,
                "username": account.profile.get("username") or account.name, "health": facts["health"],
                "tokenValid": facts["tokenValid"], "permissions": facts["permissions"],
                "recommendations": facts["recommendations"]}

    async def accounts_health(self, ctx: Ctx) -> Reply:
        return Reply(body={"accounts": [self.health_out(a, ctx.now) for a in await shared.accounts(ctx)]})

    async def account_health(self, ctx: Ctx) -> Reply:
        return Reply(body=self.health_out(await ctx.api.account(ctx.match["accountId"]), ctx.now))

    async def delete_account(self, ctx: Ctx) -> Reply:
        account_id = ctx.match["accountId"]
        if "platform" in ctx.match and ":" not in account_id:
            account_id = f"{ctx.match['platform']}:{account_id}"
        await shared.remove_account(ctx, await ctx.api.account(account_id))
        return Reply(body={"message": "Account disconnected"})

    async def account_info(self, ctx: Ctx) -> Reply:
        account = await ctx.api.account(ctx.match["accountId"])
        info = await shared.account_info(ctx, account, ctx.match["platform"])
        facts = dict(info["facts"])
        return Reply(body={"creator": {"nickname": info["display_name"], "username": info["username"], **facts},
                           **facts})

    async def profiles(self, ctx: Ctx) -> Reply:
        count = len(await shared.accounts(ctx))
        return Reply(body={"profiles": [{"_id": DEFAULT_PROFILE, "name": "Default", "isDefault": True,
                                         "accountsCount": count}]})

    async def connect(self, ctx: Ctx) -> Reply:
        platform = ctx.match["platform"]
        url, state = await shared.start_connect(ctx, platform, callback_path=f"{self.base}/connect/{platform}/callback")
        return Reply(body={"authUrl": url, "state": state})

    async def connect_callback(self, ctx: Ctx) -> Reply:
        account = await shared.finish_connect(ctx)
        after = ctx.query.get("redirect_url")
        if after:
            return Reply(status=302, headers={"Location": after})
        return Reply(body={"platform": account.platform, "username": account.profile.get("username") or account.name,
                           "accountId": account.key})

    async def connect_finish(self, ctx: Ctx) -> Reply:
        body = require_json_object(ctx.body)
        query = {k: str(v) for k, v in body.items() if isinstance(v, str)}
        account = await ctx.api.hub.finish_login(query)
        return Reply(body={"platform": account.platform, "username": account.profile.get("username") or account.name,
                           "accountId": account.key})

    # -- analytics ---------------------------------------------------------------------------

    async def analytics(self, ctx: Ctx) -> Reply:
        start = _date(ctx.query.get("fromDate"), "fromDate")
        end = _date(ctx.query.get("toDate"), "toDate")
        platform = ctx.query.get("platform")
        if platform is not None and platform not in ctx.api.hub.hooks.platforms():
            raise invalid([Problem(field="platform", message=f"unknown platform {platform!r}")])
        page, limit = page_args(ctx.query, default=50, maximum=100)
        views, _ = await ctx.api.posts.page(offset=0, limit=1000)
        rows = []
        for view in views:
            if view.record is None or view.state not in ("published", "inbox", "partial"):
                continue
            day = view.created_at.date().isoformat()
            if (start and day < start) or (end and day > end):
                continue
            for target in view.record.targets:
                if platform and target.target.platform != platform:
                    continue
                rows.append({"postId": ids.object_id(view.id, view.created_at), "platform": target.target.platform,
                             "content": view.request.get("content", ""), "platformPostUrl": target.post_url,
                             "analytics": None, "syncStatus": "unavailable"})
        chunk = rows[(page - 1) * limit: page * limit]
        return Reply(body={"posts": chunk, "overview": {"totalPosts": len(rows)},
                           "pagination": {"page": page, "limit": limit, "total": len(rows),
                                          "pages": max(1, -(-len(rows) // limit))},
                           "note": "crosspost serve stores no engagement metrics yet: analytics is null"})

    async def post_analytics(self, ctx: Ctx) -> Reply:
        view = await ctx.api.posts.get(ctx.match["postId"])
        return Reply(body={"postId": ids.object_id(view.id, view.created_at), "status": ZERNIO_POST[view.state],
                           "analytics": None, "syncStatus": "unavailable"})

    # -- webhooks ----------------------------------------------------------------------------

    def hook_out(self, row: Any, secret: str | None = None) -> dict[str, Any]:
        out = {"_id": row.id, "name": row.name, "url": row.url, "events": list(row.events), "isActive": row.enabled,
               "failureCount": row.failure_count, "customHeaders": dict(row.custom_headers),
               "createdAt": iso(row.created_at)}
        if secret is not None:
            out["secret"] = secret
        return out

    async def webhooks(self, ctx: Ctx) -> Reply:
        rows = await ctx.api.store.list_webhooks(dialect=self.name)
        return Reply(body={"webhooks": [self.hook_out(r) for r in rows]})

    async def create_webhook(self, ctx: Ctx) -> Reply:
        row, secret = await shared.create_webhook(ctx, require_json_object(ctx.body))
        return Reply(body={"success": True, "webhook": self.hook_out(row, secret)})

    async def update_webhook(self, ctx: Ctx) -> Reply:
        body = require_json_object(ctx.body)
        hook_id = body.get("_id")
        if not isinstance(hook_id, str):
            raise invalid([Problem(field="_id", message="required: the webhook's _id")])
        row = await shared.update_webhook(ctx, await shared.own_webhook(ctx, hook_id), body)
        return Reply(body={"success": True, "webhook": self.hook_out(row)})

    async def delete_webhook(self, ctx: Ctx) -> Reply:
        hook_id = ctx.query.get("id") or ""
        if not hook_id:
            raise invalid([Problem(field="id", message="required: ?id=<webhook _id>")])
        await shared.own_webhook(ctx, hook_id)
        await ctx.api.store.delete_webhook(hook_id)
        return Reply(body={"success": True})

    async def test_webhook(self, ctx: Ctx) -> Reply:
        body = require_json_object(ctx.body)
        hook_id = body.get("webhookId") or body.get("_id")
        if not isinstance(hook_id, str):
            raise invalid([Problem(field="webhookId", message="required")])
        queued = await ctx.api.outbox.test(await shared.own_webhook(ctx, hook_id))
        return Reply(body={"success": queued is not None, "message": "Test webhook queued"})

    async def logs(self, ctx: Ctx) -> Reply:
        own = {r.id: r for r in await ctx.api.store.list_webhooks(dialect=self.name)}
        limit = int(ctx.query.get("limit") or 50)
        rows = await ctx.api.store.list_attempts(webhook_id=ctx.query.get("webhookId"),
                                                 event_id=ctx.query.get("eventId"), limit=min(max(limit, 1), 100))
        return Reply(body={"logs": [
            {"webhookId": a.webhook_id, "webhookName": own[a.webhook_id].name, "eventId": a.event_id,
             "event": a.event_type, "url": own[a.webhook_id].url,
             "status": "success" if a.status_code and 200 <= a.status_code < 300 else "failed",
             "statusCode": a.status_code, "requestPayload": a.body, "errorMessage": a.error,
             "attemptNumber": a.attempt, "responseTime": a.response_ms, "createdAt": iso(a.at)}
            for a in rows if a.webhook_id in own]})

    async def redeliver(self, ctx: Ctx) -> Reply:
        hook_id = ctx.field("webhook_id", str)
        event_id = ctx.field("event_id", str)
        await shared.redeliver(ctx, hook_id, event_id)
        return Reply(body={"success": True, "message": "Redelivery queued"})


def _platform_of(text: str | None) -> str | None:
    if not text:
        return None
    head = text.split(".", 2)
    if len(head) >= 2 and head[0] == "target_options":
        return head[1]
    return None


def _date(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).date().isoformat()
    except ValueError:
        raise invalid([Problem(field=field, message=f"expected a date such as 2024-01-31, got {value!r}")]) from None


__all__ = ["ZernioFamily", "error_category", "not_found"]
_ = Mapping
