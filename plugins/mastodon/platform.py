"""The Mastodon platform: declared capabilities, accounts (token import and OAuth with PKCE),
validation against each instance's live limits, resumable publishing, and its emulator.

Every account lives on its own server; its origin is stored in the account's profile
(``instance``). Instance limits are cached per origin for ``CROSSPOST_MASTODON_LIMITS_TTL``
seconds, so a worker does not ask the server before every post but notices a changed limit.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import attrs

from crosspost.core.account_flows import AccountField, AccountInfo, LoginStart, ServiceContext
from crosspost.core.accounts import Account
from crosspost.core.errors import AuthError, ConfigError, InvalidPost, Problem
from crosspost.core.metrics import AccountMetrics, MetricRef, MetricsContext, MetricSnapshot
from crosspost.core.models import JobStatus, MediaKind, Post, Target
from crosspost.core.options import SettingSpec
from crosspost.core.platform import AccountAccess, JobContext, Outcome, PlannedRequest, Platform, Validation
from crosspost.plugins.mastodon import metrics as status_metrics
from crosspost.plugins.mastodon import metrics_client, sansio
from crosspost.plugins.mastodon.client import MastodonClient, RatePacer
from crosspost.plugins.mastodon.errors import RELOGIN_HINT, unreadable_response
from crosspost.plugins.mastodon.limits import InstanceLimits, parse_instance_v1, parse_instance_v2
from crosspost.plugins.mastodon.options import OPTIONS, PLATFORM
from crosspost.plugins.mastodon.posting import PollPolicy, PreparedStatus, Publisher, prepare

if TYPE_CHECKING:
    from crosspost.core.emulators import Emulator
    from crosspost.core.settings import Settings

DEFAULT_LIMITS_TTL = 3600.0


class MastodonPlatform(Platform):
    """Statuses with up to the instance's media limit of images, or one video, on any instance."""

    name = PLATFORM
    display_name = "Mastodon"
    media_kinds = frozenset({MediaKind.IMAGE, MediaKind.VIDEO})
    options = OPTIONS
    option_names = frozenset(o.name for o in OPTIONS)
    alt_text = True
    supports_login = True
    metrics = status_metrics.METRICS
    """Favourites, reblogs and replies of each status (no views: Mastodon counts none); see
    :mod:`crosspost.plugins.mastodon.metrics`."""
    settings = (
        SettingSpec(name="instance", help="Instance URL for accounts stored without one (each account's own "
                                          "instance wins)."),
        SettingSpec(name="limits_ttl", default=str(int(DEFAULT_LIMITS_TTL)),
                    help="Seconds an instance's limits (GET /api/v2/instance) are reused before asking again."),
        SettingSpec(name="media_poll_interval", default="2", help="Seconds between media processing checks."),
        SettingSpec(name="media_poll_timeout", default="600",
                    help="Seconds one attempt waits for media processing before retrying later."),
    )
    account_fields = (
        AccountField(name="instance", help="Your instance's URL, e.g. https://mastodon.social"),
        AccountField(name="access_token", secret=True,
                     help="An access token with read, write:statuses and write:media (Preferences → Development)."),
    )
    login_fields = (AccountField(name="instance", help="Your instance's URL, e.g. https://mastodon.social"),)

    def __init__(self) -> None:
        # Shared by every job this instance serves: what servers said about their rate windows,
        # each instance's limits (with expiry) and the OAuth apps registered this process.
        self.pacer = RatePacer()
        self._limits: dict[str, tuple[float, InstanceLimits]] = {}
        self._apps: dict[tuple[str, str], sansio.RegisteredApp] = {}
        self.deleted = metrics_client.DeletedStatuses()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    # -- instances ------------------------------------------------------------------------

    async def instance_limits(self, origin: str, ctx: ServiceContext | JobContext) -> InstanceLimits:
        """The instance's limits, cached per origin; ``/api/v1/instance`` for pre-4.0 servers."""
        now = ctx.clock.monotonic()
        cached = self._limits.get(origin)
        if cached is not None and cached[0] > now:
            return cached[1]
        client = self._client(ctx, origin)
        answer = await client.send(sansio.instance_request(2), what="reading the instance's limits", ok=(200, 404))
        if answer.status == 200:
            limits = _parsed(parse_instance_v2, answer.body)
        else:
            old = await client.send(sansio.instance_request(1), what="reading the instance's limits")
            limits = _parsed(parse_instance_v1, old.body)
        ttl = _float(ctx.settings, "limits_ttl", DEFAULT_LIMITS_TTL)
        self._limits[origin] = (now + ttl, limits)
        return limits

    def _client(self, ctx: ServiceContext | JobContext, origin: str, token: str | None = None) -> MastodonClient:
        return MastodonClient(http=ctx.http, origin=origin, rate=ctx.rate, clock=ctx.clock, pacer=self.pacer,
                              token=token)

    async def _account_client(self, ctx: JobContext) -> MastodonClient:
        if ctx.account is None:
            raise AuthError("mastodon needs an account", code="no_account", platform=PLATFORM, hint=RELOGIN_HINT)
        account = await ctx.account.get()
        token = account.secrets.get("access_token")
        if not token:
            raise AuthError(f"account {account.key} has no access token", code="no_token", platform=PLATFORM,
                            needs_login=True, hint=RELOGIN_HINT)
        return self._client(ctx, _origin(account, ctx.settings), token)

    # -- checking and publishing ----------------------------------------------------------

    async def _prepare(self, post: Post, ctx: JobContext) -> tuple[PreparedStatus, list[Problem]]:
        client = await self._account_client(ctx)
        limits = await self.instance_limits(client.origin, ctx)
        return await prepare(post, ctx, origin=client.origin, limits=limits)

    async def validate(self, post: Post, ctx: JobContext) -> Validation:
        """Every problem against the account's instance (live limits), before any upload."""
        prepared, problems = await self._prepare(post, ctx)
        warnings: tuple[str, ...] = ()
        if len(prepared.parts) > 1:
            warnings = (f"too long for one status: it will be posted as a thread of {len(prepared.parts)} statuses "
                        f"({prepared.limits.max_characters} characters each at most)",)
        return Validation(problems=tuple(problems), warnings=warnings, value=prepared)

    async def _prepared(self, post: Post, ctx: JobContext) -> PreparedStatus:
        if ctx.validation is not None and isinstance(ctx.validation.value, PreparedStatus):
            return ctx.validation.value
        prepared, problems = await self._prepare(post, ctx)
        if problems:
            raise InvalidPost(problems)
        return prepared

    async def publish(self, post: Post, ctx: JobContext) -> Outcome:
        client = await self._account_client(ctx)
        prepared = await self._prepared(post, ctx)
        poll = PollPolicy(interval=_float(ctx.settings, "media_poll_interval", 2.0),
                          timeout=_float(ctx.settings, "media_poll_timeout", 600.0))
        done = await Publisher(ctx=ctx, client=client, prepared=prepared, post=post, poll=poll).run()
        warnings: tuple[str, ...] = ()
        if len(done.parts) > 1:
            warnings = (f"posted as a thread of {len(done.parts)} statuses: {', '.join(done.parts)}",)
        return Outcome(status=JobStatus.PUBLISHED, publish_id=done.parts[0], post_url=done.urls[0],
                       warnings=warnings)

    async def plan(self, post: Post, ctx: JobContext) -> Sequence[PlannedRequest]:
        """The calls ``publish`` makes, ids the server has not given yet as placeholders."""
        prepared = await self._prepared(post, ctx)
        origin = prepared.origin
        planned = [PlannedRequest(method="GET", url=f"{origin}/api/v2/instance",
                                  note=f"limits: {prepared.limits.max_characters} characters, "
                                       f"{prepared.limits.max_media_attachments} media (cached)")]
        for fact in prepared.media:
            planned.append(PlannedRequest(method="POST", url=f"{origin}/api/v2/media",
                                          body={"description": fact.alt, "file": f"<media[{fact.index}]>"},
                                          note=f"upload media[{fact.index}]"))
            planned.append(PlannedRequest(method="GET", url=f"{origin}/api/v1/media/<media {fact.index} id>",
                                          note="poll until processed (206 → 200)"))
        for part, text in enumerate(prepared.parts):
            media_ids = [f"<media {f.index} id>" for f in prepared.media] if part == 0 else []
            request = sansio.status_request(
                text, prepared.options, media_ids=media_ids,
                in_reply_to=f"<part {part} id>" if part else None, key=sansio.idempotency_key(ctx.job_id, part))
            planned.append(PlannedRequest(method="POST", url=origin + request.path, body=dict(request.json or {}),
                                          note=f"post part {part + 1}/{len(prepared.parts)} with "
                                               f"Idempotency-Key {request.headers['Idempotency-Key']}"))
        return planned

    # -- accounts -------------------------------------------------------------------------

    async def _verified(self, name: str, origin: str, token: str, ctx: ServiceContext) -> Account:
        client = self._client(ctx, origin, token)
        profile = await client.parsed(sansio.verify_credentials_request(), sansio.parse_profile,
                                      what="checking the access token")
        return Account(platform=PLATFORM, name=name, secrets={"access_token": token},
                       profile=profile.to_json(origin))

    async def connect_account(self, name: str, values: Mapping[str, str], ctx: ServiceContext) -> Account:
        """An imported token, checked with ``verify_credentials`` before anything is stored."""
        origin = sansio.instance_origin(values.get("instance", ""))
        token = values.get("access_token", "").strip()
        if not token:
            raise ConfigError("--access-token is empty")
        return await self._verified(name, origin, token, ctx)

    async def _app(self, origin: str, redirect_uri: str, ctx: ServiceContext) -> sansio.RegisteredApp:
        """The OAuth app registered at ``origin`` for this redirect (registered once per process;
        its id and secret are stored encrypted with each account it logs in, for revoking)."""
        key = (origin, redirect_uri)
        if key not in self._apps:
            client = self._client(ctx, origin)
            self._apps[key] = await client.parsed(sansio.register_app_request(redirect_uri), sansio.parse_app,
                                                  what="registering crosspost at the instance")
        return self._apps[key]

    async def start_login(self, name: str, values: Mapping[str, str], *, redirect_uri: str,
                          ctx: ServiceContext) -> LoginStart:
        origin = sansio.instance_origin(values.get("instance", ""))
        app = await self._app(origin, redirect_uri, ctx)
        pkce = sansio.Pkce.new()
        state = secrets.token_urlsafe(24)
        url = sansio.authorize_url(origin, app, redirect_uri=redirect_uri, state=state, pkce=pkce)
        return LoginStart(url=url, state=state, pending={"instance": origin, "client_id": app.client_id,
                                                         "client_secret": app.client_secret,
                                                         "verifier": pkce.verifier})

    async def finish_login(self, name: str, start: LoginStart, callback: Mapping[str, str], *,
                           redirect_uri: str, ctx: ServiceContext) -> Account:
        code = callback.get("code")
        if not code:
            raise AuthError("the instance sent no authorization code back", code="no_code", platform=PLATFORM)
        pending = start.pending
        origin = str(pending["instance"])
        app = sansio.RegisteredApp(client_id=str(pending["client_id"]), client_secret=str(pending["client_secret"]))
        client = self._client(ctx, origin)
        token = await client.parsed(sansio.token_request(app, code=code, redirect_uri=redirect_uri,
                                                         verifier=str(pending["verifier"])),
                                    sansio.parse_token, what="exchanging the authorization code")
        account = await self._verified(name, origin, token.access_token, ctx)
        return attrs.evolve(account, scopes=token.scopes or tuple(sansio.SCOPES.split()),
                            secrets={**account.secrets, "client_id": app.client_id,
                                     "client_secret": app.client_secret})

    async def account_info(self, account: AccountAccess, ctx: ServiceContext) -> AccountInfo:
        stored = await account.get()
        origin = _origin(stored, ctx.settings)
        token = stored.secrets.get("access_token", "")
        profile = await self._client(ctx, origin, token).parsed(
            sansio.verify_credentials_request(), sansio.parse_profile, what="reading the account")
        limits = await self.instance_limits(origin, ctx)
        facts = {**profile.to_json(origin), "limits": limits.to_json()}
        return AccountInfo(target=stored.key, username=facts["acct"], display_name=profile.display_name, facts=facts)

    async def revoke_account(self, account: AccountAccess, ctx: ServiceContext) -> None:
        """``POST /oauth/revoke`` for tokens crosspost obtained itself; an imported token was made
        by the user, who revokes it where they made it (said in the log)."""
        stored = await account.get()
        origin = _origin(stored, ctx.settings)
        client_id, client_secret = stored.secrets.get("client_id"), stored.secrets.get("client_secret")
        if not client_id or not client_secret:
            ctx.log.warning("%s was added with a token you made; revoke it at %s/settings/applications",
                            stored.key, origin)
            return
        app = sansio.RegisteredApp(client_id=client_id, client_secret=client_secret)
        await self._client(ctx, origin).send(sansio.revoke_request(app, stored.secrets.get("access_token", "")),
                                             what="revoking crosspost's access")

    # -- metrics (crosspost.plugins.mastodon.metrics) ------------------------------------------

    async def _metrics_client(self, account: AccountAccess, ctx: MetricsContext) -> tuple[MastodonClient, Target]:
        stored = await account.get()
        token = stored.secrets.get("access_token")
        if not token:
            raise AuthError(f"account {stored.key} has no access token", code="no_token", platform=PLATFORM,
                            needs_login=True, hint=RELOGIN_HINT)
        client = MastodonClient(http=ctx.http, origin=_origin(stored, ctx.settings), rate=ctx.rate, clock=ctx.clock,
                                pacer=self.pacer, token=token)
        return client, Target(platform=PLATFORM, account=stored.name)

    async def fetch_metrics(self, refs: Sequence[MetricRef], ctx: MetricsContext) -> list[MetricSnapshot]:
        """One ``GET /api/v1/statuses/:id`` per status; a deleted one (404) is left out, asked once."""
        client, target = await self._metrics_client(ctx.account, ctx)
        return await metrics_client.fetch_status_metrics(client, refs, ctx, target=target, deleted=self.deleted)

    async def account_metrics(self, account: AccountAccess, ctx: MetricsContext) -> AccountMetrics:
        client, target = await self._metrics_client(account, ctx)
        return await metrics_client.fetch_account_totals(client, ctx, target=target)

    def platform_post_id(self, publish_id: str | None, post_url: str | None) -> str | None:
        """The first status's id, which ``publish`` stores as ``publish_id`` (its link as ``post_url``):
        known at once, nothing to resolve later."""
        return publish_id or status_metrics.id_from_url(post_url)

    def emulator(self) -> Emulator:
        from crosspost.plugins.mastodon.emulator import MastodonEmulator

        return MastodonEmulator()


def _origin(account: Account, settings: Settings) -> str:
    instance = account.profile.get("instance") or settings.platform(PLATFORM).get("instance")
    if not isinstance(instance, str) or not instance:
        raise ConfigError(f"account {account.key} names no instance; add it again with --instance URL")
    return sansio.instance_origin(instance)


def _float(settings: Settings, name: str, default: float) -> float:
    value = settings.platform(PLATFORM).get(name)
    try:
        return float(value) if value else default
    except ValueError:
        raise ConfigError(f"CROSSPOST_MASTODON_{name.upper()}={value!r} is not a number") from None


def _parsed(parse: Callable[[object], InstanceLimits], body: object) -> InstanceLimits:
    try:
        return parse(body)
    except ValueError as exc:
        raise unreadable_response("reading the instance's limits", str(exc)) from None

