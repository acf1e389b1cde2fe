"""The I/O side of TikTok metrics: video/query, user/info and late public ids, over the one client.

Calls go through :class:`~crosspost.plugins.tiktok.client.TikTokClient` (rate gate, bounded
retries, one token refresh), under their own per-token windows: 600 a minute for video/query and
for user/info (``shared/tiktok-analytics.md`` §6), 30 for status/fetch. TikTok's 401
``scope_not_authorized`` becomes :class:`~crosspost.core.metrics.MissingScope` (a missing metrics
scope must never flag the account as needing a login: its posts keep publishing).
"""

from __future__ import annotations

from collections.abc import Sequence

from crosspost.core.errors import AuthError, ConfigError
from crosspost.core.metrics import AccountMetrics, MetricRef, MetricsContext, MetricSnapshot, ResolvedPost
from crosspost.core.models import Target
from crosspost.plugins.tiktok import analytics
from crosspost.plugins.tiktok.auth import OAuthClient, TokenKeeper
from crosspost.plugins.tiktok.client import EndpointLimit, TikTokClient
from crosspost.plugins.tiktok.config import TikTokConfig
from crosspost.plugins.tiktok.requests import ApiRequest
from crosspost.plugins.tiktok.status import post_url

VIDEO_QUERY_LIMIT = EndpointLimit(name="video_query", limit=600)
USER_INFO_LIMIT = EndpointLimit(name="user_info", limit=600)
_SCOPE_CODES = frozenset({"scope_not_authorized", "scope_permission_missed"})


def client_for(ctx: MetricsContext) -> TikTokClient:
    """A client on the context's account (tokens refreshed through ``ctx.account``)."""
    config = TikTokConfig.from_settings(ctx.settings)
    app = OAuthClient(api_base=config.api_base, client_key=config.client_key, client_secret=config.client_secret)
    tokens = TokenKeeper(ctx.account, http=ctx.http, app=app, clock=ctx.clock)
    return TikTokClient(ctx.http, api_base=config.api_base, tokens=tokens, rate=ctx.rate, clock=ctx.clock,
                        paced=config.client_limits)


async def _call(client: TikTokClient, request: ApiRequest, limit: EndpointLimit, *, scope: str,
                account: str) -> dict[str, object]:
    try:
        return dict(await client.call(request, endpoint=limit))
    except AuthError as err:
        if err.code in _SCOPE_CODES:
            raise analytics.missing_scope(scope, account=account) from None
        raise


async def fetch_video_metrics(refs: Sequence[MetricRef], ctx: MetricsContext) -> list[MetricSnapshot]:
    """Counters of ``refs`` (one account's), :data:`~analytics.QUERY_BATCH` ids a request."""
    account = await ctx.account.get()
    analytics.require_scope(account.scopes, analytics.VIDEO_SCOPE, account=account.key)
    ids = [r.platform_post_id for r in refs if r.platform_post_id]
    if not ids:
        return []
    client = client_for(ctx)
    target = Target(platform="tiktok", account=account.name)
    snapshots: list[MetricSnapshot] = []
    for request in analytics.video_query_requests(ids):
        data = await _call(client, request, VIDEO_QUERY_LIMIT, scope=analytics.VIDEO_SCOPE, account=account.key)
        snapshots += analytics.parse_video_query(data, target=target, taken_at=ctx.clock.now())
    return snapshots


async def fetch_account_metrics(ctx: MetricsContext) -> AccountMetrics:
    account = await ctx.account.get()
    analytics.require_scope(account.scopes, analytics.STATS_SCOPE, account=account.key)
    data = await _call(client_for(ctx), analytics.user_info_request(), USER_INFO_LIMIT,
                       scope=analytics.STATS_SCOPE, account=account.key)
    return analytics.parse_user_info(data, target=Target(platform="tiktok", account=account.name),
                                     taken_at=ctx.clock.now())


async def resolve_public_id(ref: MetricRef, ctx: MetricsContext) -> ResolvedPost | None:
    """The public id from status/fetch (or the one a webhook named), with its link when the
    account's username is known. None while TikTok has not made the post public."""
    account = await ctx.account.get()
    post_id, how = ref.platform_post_id, "webhook"
    if post_id is None:
        if not ref.publish_id:
            raise ConfigError(f"job {ref.job_id} has no publish_id to ask TikTok about")
        status = await client_for(ctx).fetch_status(ref.publish_id)
        if not status.post_ids:
            return None
        post_id, how = status.post_ids[0], "status"
    username = account.profile.get("username")
    photo = "/photo/" in (ref.post_url or "") or (ref.publish_id or "").startswith("p_pub")
    link = post_url(str(username), post_id, photo=photo) if isinstance(username, str) and username else None
    return ResolvedPost(platform_post_id=post_id, post_url=link, resolved_by=how)
