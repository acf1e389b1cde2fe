"""TikTok's doors beyond posting: accounts (import tokens, browser login, creator info, revoke),
the webhook receiver, the emulator, and the CLI's view of its options (announce, ``--brand``).

What a caller may rely on (``crosspost accounts add|login|info|remove`` and the REST API go
through :class:`~crosspost.core.hub.Hub`, which calls these):

- :meth:`TikTokAccounts.connect_account` verifies imported tokens against TikTok *before*
  anything is stored: it reads the creator info (refreshing first when the access token has
  expired and the refresh token still works) and the user's ``open_id``, and returns one account
  holding the newest tokens, the profile and the ``open_id`` that webhooks name. The Hub stores it
  once. Bogus tokens raise :class:`~crosspost.core.errors.AuthError`; nothing is stored.
- :meth:`TikTokAccounts.start_login` / :meth:`TikTokAccounts.finish_login` build TikTok's
  authorize URL (PKCE with TikTok's hex challenge) and exchange the code; core runs the redirect
  server and checks ``state``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from crosspost.core.account_flows import AccountField, AccountInfo, LoginStart
from crosspost.core.accounts import Account
from crosspost.core.errors import AuthError, ConfigError, PlatformError

if TYPE_CHECKING:
    from crosspost.core.account_flows import ServiceContext
    from crosspost.core.options import OptionSpec
    from crosspost.core.platform import AccountAccess
    from crosspost.plugins.tiktok.client import TikTokClient
    from crosspost.plugins.tiktok.creator import CreatorInfo
    from crosspost.plugins.tiktok.demo import TikTokEmulator
    from crosspost.plugins.tiktok.webhook_receiver import TikTokWebhookReceiver

PLATFORM = "tiktok"
USER_INFO_FIELDS = "open_id,display_name,avatar_url"
"""Fields of ``/v2/user/info/`` covered by ``user.info.basic`` (every login asks for it)."""
MUSIC_CONSENT = "By posting, you agree to TikTok's Music Usage Confirmation."

TOKEN_FIELDS: tuple[AccountField, ...] = (
    AccountField(name="access_token", secret=True, help="The user access token."),
    AccountField(name="refresh_token", secret=True, help="The refresh token."),
    AccountField(name="expires_in", required=False,
                 help="Seconds until the access token expires (TikTok's expires_in)."),
    AccountField(name="refresh_expires_in", required=False,
                 help="Seconds until the refresh token expires (TikTok's refresh_expires_in)."),
    AccountField(name="scopes", required=False, default="user.info.basic,video.publish,video.upload",
                 help="Comma-separated scopes the tokens were granted."),
)


class MemoryAccess:
    """An :class:`~crosspost.core.platform.AccountAccess` over an account not stored yet: a
    refresh while verifying lands here, and the caller stores the result once."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.needs_login_reason: str | None = None

    def __repr__(self) -> str:
        return f"MemoryAccess({self.account.key})"

    async def get(self) -> Account:
        return self.account

    async def update(self, account: Account) -> Account:
        self.account = attrs.evolve(account, version=self.account.version)
        return self.account

    @contextlib.asynccontextmanager
    async def lock(self) -> AsyncIterator[None]:
        yield

    async def mark_needs_login(self, reason: str) -> None:
        self.needs_login_reason = reason


def account_client(account: AccountAccess, ctx: ServiceContext) -> TikTokClient:
    """A client for ``account`` outside a job: tokens refresh through ``account``."""
    from crosspost.plugins.tiktok.auth import OAuthClient, TokenKeeper
    from crosspost.plugins.tiktok.client import TikTokClient
    from crosspost.plugins.tiktok.config import TikTokConfig

    config = TikTokConfig.from_settings(ctx.settings)
    app = OAuthClient(api_base=config.api_base, client_key=config.client_key, client_secret=config.client_secret)
    tokens = TokenKeeper(account, http=ctx.http, app=app, clock=ctx.clock)
    return TikTokClient(ctx.http, api_base=config.api_base, tokens=tokens, rate=ctx.rate, clock=ctx.clock,
                        paced=config.client_limits)


def _seconds(values: Mapping[str, str], name: str) -> int | None:
    raw = (values.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"--{name.replace('_', '-')} must be a whole number of seconds (1 or more), got {raw!r}")
    return int(raw)


def _at(now: datetime, seconds: int | None) -> datetime | None:
    return now + timedelta(seconds=seconds) if seconds else None


def creator_facts(info: CreatorInfo) -> dict[str, Any]:
    """The creator info TikTok requires apps to show, as JSON facts."""
    return {
        "username": info.username,
        "nickname": info.nickname,
        "avatar_url": info.avatar_url,
        "privacy_level_options": list(info.privacy_level_options),
        "comment_disabled": info.comment_disabled,
        "duet_disabled": info.duet_disabled,
        "stitch_disabled": info.stitch_disabled,
        "max_video_post_duration_sec": info.max_video_post_duration_sec,
    }


class TikTokAccounts:
    """The account half of :class:`~crosspost.plugins.tiktok.platform.TikTokPlatform` (a mixin)."""

    account_fields: ClassVar[tuple[AccountField, ...]] = TOKEN_FIELDS
    login_fields: ClassVar[tuple[AccountField, ...]] = ()
    supports_login: ClassVar[bool] = True

    async def connect_account(self, name: str, values: Mapping[str, str], ctx: ServiceContext) -> Account:
        """Verify imported tokens (refreshing an expired access token), then return the account
        with the newest tokens, the creator's profile and ``open_id``; nothing is stored here."""
        now = ctx.clock.now()
        scopes = tuple(s.strip() for s in (values.get("scopes") or TOKEN_FIELDS[-1].default or "").split(",")
                       if s.strip())
        draft = Account(platform=PLATFORM, name=name, scopes=scopes,
                        secrets={"access_token": values.get("access_token", ""),
                                 "refresh_token": values.get("refresh_token", "")},
                        access_expires_at=_at(now, _seconds(values, "expires_in")),
                        refresh_expires_at=_at(now, _seconds(values, "refresh_expires_in")))
        return await self._verified(draft, ctx, what="these tokens")

    async def _verified(self, draft: Account, ctx: ServiceContext, *, what: str) -> Account:
        access = MemoryAccess(draft)
        client = account_client(access, ctx)
        try:
            info = await client.creator_info()
        except AuthError as err:
            raise AuthError(f"TikTok did not accept {what} for {draft.key} ({err.code}); nothing was stored.",
                            code=err.code, platform=PLATFORM,
                            hint=(f"{err.hint + ' ' if err.hint else ''}Copy fresh tokens from the app that issued "
                                  f"them and run the command again, or log in instead: `crosspost accounts login "
                                  f"tiktok {draft.name}`.")) from None
        user = await _user_info(client)
        profile = {**dict(draft.profile), "username": info.username, "nickname": info.nickname}
        if user.get("open_id"):
            profile["open_id"] = user["open_id"]
        return attrs.evolve(access.account, profile=profile, needs_login=False)

    async def start_login(self, name: str, values: Mapping[str, str], *, redirect_uri: str,
                          ctx: ServiceContext) -> LoginStart:
        """TikTok's authorize URL for ``redirect_uri`` (PKCE, TikTok's hex challenge)."""
        from crosspost.plugins.tiktok.oauth import OAuthApp, start_authorization

        pending = start_authorization(OAuthApp.from_settings(ctx.settings), redirect_uri=redirect_uri)
        return LoginStart(url=pending.url, state=pending.state,
                          pending={"code_verifier": pending.code_verifier or "", "scopes": list(pending.scopes)})

    async def finish_login(self, name: str, start: LoginStart, callback: Mapping[str, str], *,
                           redirect_uri: str, ctx: ServiceContext) -> Account:
        """Exchange the redirect's code for tokens; refuse a login missing a required scope."""
        from crosspost.plugins.tiktok.oauth import OAuthApp, exchange_code, missing_scope_error

        code = callback.get("code", "")
        if not code:
            raise AuthError("the login redirect carries no authorization code; start the login again",
                            code="no_code", platform=PLATFORM)
        app = OAuthApp.from_settings(ctx.settings)
        tokens = await exchange_code(ctx.http, api_base=app.api_base, client_key=app.client_key,
                                     client_secret=app.client_secret, code=code, redirect_uri=redirect_uri,
                                     code_verifier=str(start.pending.get("code_verifier") or "") or None,
                                     now=ctx.clock.now())
        missing = tokens.missing_scopes()
        if missing:
            raise missing_scope_error(missing, account=name)
        draft = Account(platform=PLATFORM, name=name, secrets=tokens.as_secrets(), scopes=tokens.scopes,
                        profile={"open_id": tokens.open_id}, access_expires_at=tokens.expires_at,
                        refresh_expires_at=tokens.refresh_expires_at)
        return await self._verified(draft, ctx, what="the login")

    async def account_info(self, account: AccountAccess, ctx: ServiceContext) -> AccountInfo:
        """The creator info TikTok requires apps to show before posting (one read-only call)."""
        stored = await account.get()
        info = await account_client(account, ctx).creator_info()
        return AccountInfo(target=stored.key, username=info.username or None,
                           display_name=info.nickname or None, facts=creator_facts(info))

    async def revoke_account(self, account: AccountAccess, ctx: ServiceContext) -> None:
        """Revoke crosspost's access (the app disappears from the user's TikTok settings)."""
        from crosspost.plugins.tiktok.oauth import OAuthApp, revoke_token

        app = OAuthApp.from_settings(ctx.settings)
        stored = await account.get()
        await revoke_token(ctx.http, api_base=app.api_base, client_key=app.client_key,
                           client_secret=app.client_secret, access_token=stored.secrets.get("access_token", ""))

    def webhook_receiver(self) -> TikTokWebhookReceiver:
        """Verifies and parses TikTok's webhooks (mounted at ``POST /webhooks/tiktok``)."""
        from crosspost.plugins.tiktok.webhook_receiver import TikTokWebhookReceiver

        return TikTokWebhookReceiver()

    def emulator(self) -> TikTokEmulator:
        """The bundled TikTok emulator with a ready creator and a media host it trusts."""
        from crosspost.plugins.tiktok.demo import TikTokEmulator

        return TikTokEmulator()

    def option_from_flag(self, spec: OptionSpec, value: Any) -> Any:
        """``--brand organic --brand content`` -> ``commercial_content_type: both``."""
        from crosspost.plugins.tiktok.options import BRAND_FLAGS

        if spec.name == "commercial_content_type":
            return BRAND_FLAGS[frozenset(value)]
        return list(value) if isinstance(value, tuple) else value

    def announce(self, info: AccountInfo) -> list[str]:
        """Who the post goes out as, and the consent line TikTok's guidelines ask apps to show."""
        who = f"{info.display_name or '?'} (@{info.username or '?'})"
        return [f"{info.target} posts as {who}", MUSIC_CONSENT]


async def _user_info(client: TikTokClient) -> dict[str, Any]:
    """``open_id`` and display name from ``/v2/user/info/``; empty when TikTok will not say
    (a token without ``user.info.basic``): webhooks then cannot name this account."""
    from crosspost.plugins.tiktok.client import EndpointLimit
    from crosspost.plugins.tiktok.requests import ApiRequest

    request = ApiRequest(method="GET", path=f"/v2/user/info/?fields={USER_INFO_FIELDS}")
    try:
        data = await client.call(request, endpoint=EndpointLimit(name="user_info", limit=600))
    except PlatformError:
        return {}
    user = data.get("user")
    return dict(user) if isinstance(user, Mapping) else {}
