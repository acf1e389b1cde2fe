"""The Bluesky platform: what it accepts, how accounts connect, how a post is checked and sent.

Accounts connect with an app password (``crosspost accounts add bluesky NAME --handle H
--app-password P [--service URL]``); atproto OAuth (PAR, PKCE, DPoP) is not implemented yet.
Publishing is resumable and exactly once (see :mod:`crosspost.plugins.bluesky.publish`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from crosspost.core.account_flows import AccountField, AccountInfo, ServiceContext
from crosspost.core.accounts import Account
from crosspost.core.errors import AuthError, ConfigError, InvalidPost
from crosspost.core.models import JobStatus, MediaKind, Post
from crosspost.core.platform import AccountAccess, JobContext, Outcome, PlannedRequest, Platform, Validation
from crosspost.plugins.bluesky import records, xrpc
from crosspost.plugins.bluesky import text as rich
from crosspost.plugins.bluesky.auth import SessionKeeper, count_login
from crosspost.plugins.bluesky.checkpoint import Checkpoint
from crosspost.plugins.bluesky.client import XrpcClient, parsed
from crosspost.plugins.bluesky.config import DEFAULT_SERVICE, SETTINGS, BlueskyConfig
from crosspost.plugins.bluesky.errors import PLATFORM, RELOGIN_HINT
from crosspost.plugins.bluesky.limits import MAX_IMAGES, OPTIONS
from crosspost.plugins.bluesky.prepare import Prepared, check
from crosspost.plugins.bluesky.publish import Publisher
from crosspost.plugins.bluesky.session import APP_PASSWORD, parse_session, service_url, with_session

if TYPE_CHECKING:
    import logging

    import aiohttp

    from crosspost.core.clock import Clock
    from crosspost.core.emulators import Emulator
    from crosspost.core.platform import RateGate


class BlueskyPlatform(Platform):
    """Posts text with facets, up to four images or one video, or a thread, to a Bluesky PDS."""

    name = PLATFORM
    display_name = "Bluesky"
    media_kinds = frozenset({MediaKind.IMAGE, MediaKind.VIDEO})
    max_media = MAX_IMAGES
    options = OPTIONS
    settings = SETTINGS
    alt_text = True
    account_fields = (
        AccountField(name="service", required=False, default=DEFAULT_SERVICE,
                     help="The account's PDS (https://; plain http:// only for a server on this machine)."),
        AccountField(name="handle", help="The account's handle, e.g. alice.bsky.social (or its email)."),
        AccountField(name="app_password", secret=True,
                     help="An app password (Settings > Privacy and security > App passwords), not the main one."),
    )

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def caption_length(self, text: str) -> int:
        return rich.graphemes(text)

    async def validate(self, post: Post, ctx: JobContext) -> Validation:
        """Text, options and media checked against Bluesky's limits; uploads nothing."""
        BlueskyConfig.from_settings(ctx.settings.platform(self.name))
        checked = await check(post)
        return Validation(problems=checked.problems, warnings=checked.warnings, value=checked.prepared)

    async def _prepared(self, post: Post, ctx: JobContext) -> Prepared:
        if ctx.validation is not None and isinstance(ctx.validation.value, Prepared):
            return ctx.validation.value
        checked = await check(post)
        if checked.problems:
            raise InvalidPost(checked.problems)
        for warning in checked.warnings:
            ctx.warn(warning)
        return checked.prepared

    async def publish(self, post: Post, ctx: JobContext) -> Outcome:
        prepared = await self._prepared(post, ctx)
        config = BlueskyConfig.from_settings(ctx.settings.platform(self.name))
        client = await self._client(ctx, config)
        publisher = Publisher(post=post, prepared=prepared, ctx=ctx, client=client, config=config,
                              done=Checkpoint.from_json(ctx.checkpoint))
        session, posted = await publisher.run()
        root = posted[0]
        return Outcome(status=JobStatus.PUBLISHED, publish_id=root.uri,
                       post_url=records.post_url(session.handle, root.rkey))

    async def plan(self, post: Post, ctx: JobContext) -> Sequence[PlannedRequest]:
        """The calls ``publish`` makes, with placeholders for what the server has not given yet."""
        config = BlueskyConfig.from_settings(ctx.settings.platform(self.name))
        checked = await check(post)
        base = await self._base(ctx, config)
        planned: list[PlannedRequest] = []
        for i, (media, facts) in enumerate(zip(post.media, checked.prepared.media, strict=True)):
            if media.type is MediaKind.VIDEO:
                planned.append(_planned(config.video_service, xrpc.upload_video("<did>", f"media[{i}]"),
                                        body=f"<{facts.size} bytes of {media.path}>",
                                        note="upload the video to the video service, then poll its job"))
            else:
                note = "upload the image" + (" (re-encoded as JPEG to fit)" if facts.reencode else "")
                planned.append(_planned(base, xrpc.upload_blob(facts.mime),
                                        body=f"<{facts.size} bytes of {media.path}>", note=note))
        for i, part in enumerate(checked.prepared.parts):
            spans = rich.detect(part)
            for handle in rich.mention_handles(spans):
                planned.append(_planned(base, xrpc.resolve_handle(handle), note=f"resolve @{handle} for its DID"))
            record = records.post_record(text=part, now=ctx.clock.now(), facets=rich.facets(spans, {}),
                                         langs=checked.prepared.options.langs,
                                         labels=checked.prepared.options.labels)
            call = xrpc.create_record("<did>", "<record key chosen before the write>", record)
            planned.append(_planned(base, call, body=call.json,
                                    note=f"create post {i + 1} of {len(checked.prepared.parts)}"
                                         + (" as a reply" if i else "")))
        return planned

    # -- accounts --------------------------------------------------------------------------------

    async def connect_account(self, name: str, values: Mapping[str, str], ctx: ServiceContext) -> Account:
        """Log in once with the app password (``createSession``): wrong credentials fail here and
        nothing is stored. The session's tokens and the app password are stored encrypted."""
        try:
            service = service_url(values.get("service") or DEFAULT_SERVICE)
        except ValueError as exc:
            raise ConfigError(f"--service: {exc}") from None
        handle = (values.get("handle") or "").strip().removeprefix("@")
        password = values.get("app_password") or ""
        if not handle or not password:
            raise ConfigError("give --handle and --app-password (an app password, xxxx-xxxx-xxxx-xxxx)")
        client = XrpcClient(http=ctx.http, base=service, clock=ctx.clock)
        await count_login(ctx.rate, handle)
        try:
            body = await client.call(xrpc.create_session(handle, password), what=f"logging in as {handle}")
        except AuthError as exc:
            raise AuthError(f"{service} did not accept handle {handle!r} with that app password ({exc.code})",
                            code=exc.code, platform=PLATFORM,
                            hint="Check --handle, and create an app password under Settings > Privacy and security "
                                 "> App passwords.") from None
        session = parsed(parse_session, body, "logging in")
        account = Account(platform=PLATFORM, name=name, secrets={APP_PASSWORD: password})
        return with_session(account, session, service=service)

    async def account_info(self, account: AccountAccess, ctx: ServiceContext) -> AccountInfo:
        """Who the stored session is (``getSession``), refreshing it if it expired."""
        config = BlueskyConfig.from_settings(ctx.settings.platform(self.name))
        stored = await account.get()
        client = _client_for(stored, account, config, http=ctx.http, clock=ctx.clock, rate=ctx.rate, log=ctx.log)
        body = await client.call(xrpc.get_session(), what="reading the session")
        facts: dict[str, Any] = {"service": stored.profile.get("service", config.service)}
        if isinstance(body, Mapping):
            facts.update({k: body[k] for k in ("did", "handle", "email", "emailConfirmed", "active") if k in body})
        return AccountInfo(target=stored.key, username=str(facts.get("handle") or stored.profile.get("handle")),
                           facts=facts)

    def emulator(self) -> Emulator | None:
        from crosspost.plugins.bluesky.emulator import BlueskyEmulator

        return BlueskyEmulator()

    # -- steps -----------------------------------------------------------------------------------

    async def _base(self, ctx: JobContext, config: BlueskyConfig) -> str:
        if ctx.account is None:
            return config.service
        stored = await ctx.account.get()
        return _base_of(stored, config)

    async def _client(self, ctx: JobContext, config: BlueskyConfig) -> XrpcClient:
        if ctx.account is None:
            raise AuthError(f"{self.name} needs an account", code="no_account", platform=self.name, hint=RELOGIN_HINT)
        stored = await ctx.account.get()
        return _client_for(stored, ctx.account, config, http=ctx.http, clock=ctx.clock, rate=ctx.rate, log=ctx.log)


def _base_of(account: Account, config: BlueskyConfig) -> str:
    """Where the account's calls go: its own PDS when known, else the service it was added with."""
    for key in ("pds", "service"):
        value = account.profile.get(key)
        if isinstance(value, str) and value:
            return value
    return config.service


def _client_for(account: Account, access: AccountAccess, config: BlueskyConfig, *, http: aiohttp.ClientSession,
                clock: Clock, rate: RateGate, log: logging.Logger) -> XrpcClient:
    client = XrpcClient(http=http, base=_base_of(account, config), clock=clock)
    client.keeper = SessionKeeper(account=access, client=client, clock=clock, rate=rate, log=log)
    return client


def _planned(base: str, call: xrpc.Call, *, body: object = None, note: str = "") -> PlannedRequest:
    query = "&".join(f"{k}={v}" for k, v in call.params.items())
    return PlannedRequest(method=call.method, url=base + call.path + (f"?{query}" if query else ""), body=body,
                          note=note)
