"""Access tokens for one job: valid when used, refreshed once per account however many jobs ask.

:class:`TokenKeeper` is the client's :class:`~crosspost.plugins.tiktok.client.TokenSource`.
What a caller may rely on:

- A token is refreshed ``skew`` (5 min) before ``access_expires_at``, and when TikTok rejects it.
- Refreshing is single-flight per account: under :meth:`AccountAccess.lock` the account is read
  again, and if another task (or process) already replaced the token, that token is used. Fifty
  jobs holding the same expired token cause exactly one refresh.
- The new pair (TikTok may rotate the refresh token, killing the old one) is stored with
  :meth:`AccountAccess.update` *before* the new access token is used.
- A dead refresh token raises :class:`~crosspost.core.errors.AuthError` with ``needs_login``,
  marks the account, and tells the user to run ``crosspost accounts login tiktok NAME``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import aiohttp
import attrs

from crosspost.core.accounts import Account
from crosspost.core.clock import Clock
from crosspost.core.errors import AuthError
from crosspost.core.platform import AccountAccess
from crosspost.plugins.tiktok.oauth import login_hint, refresh_tokens
from crosspost.plugins.tiktok.requests import DEFAULT_API_BASE

log = logging.getLogger("crosspost.plugins.tiktok.auth")

PLATFORM = "tiktok"
REFRESH_SKEW = timedelta(minutes=5)


@attrs.frozen(kw_only=True)
class OAuthClient:
    """The app's credentials needed to refresh tokens (``CROSSPOST_TIKTOK_*``)."""

    api_base: str = DEFAULT_API_BASE
    client_key: str = ""
    client_secret: str = attrs.field(default="", repr=False)


class TokenKeeper:
    """Valid access tokens for the account behind ``account``, refreshed when needed."""

    def __init__(
        self,
        account: AccountAccess,
        *,
        http: aiohttp.ClientSession,
        app: OAuthClient,
        clock: Clock,
        skew: timedelta = REFRESH_SKEW,
    ) -> None:
        self.account = account
        self.http = http
        self.app = app
        self.clock = clock
        self.skew = skew
        self.refreshes = 0
        """How many refresh requests this keeper sent (for tests and logs)."""

    async def access_token(self) -> str:
        current = await self.account.get()
        token = current.secrets.get("access_token", "")
        if token and self._fresh(current):
            return token
        return await self._refresh(stale=token)

    async def refreshed(self, rejected: str) -> str:
        return await self._refresh(stale=rejected)

    def _fresh(self, account: Account) -> bool:
        expires = account.access_expires_at
        return expires is None or expires - self.skew > self.clock.now()

    async def _refresh(self, *, stale: str) -> str:
        async with self.account.lock():
            current = await self.account.get()
            token = current.secrets.get("access_token", "")
            if token and token != stale and self._fresh(current):
                return token  # another task refreshed while we waited for the lock
            return await self._refresh_locked(current)

    async def _refresh_locked(self, current: Account) -> str:
        refresh_token = current.secrets.get("refresh_token", "")
        if not refresh_token or current.needs_login:
            raise await self._needs_login(current, "no usable refresh token is stored")
        try:
            tokens = await refresh_tokens(
                self.http, api_base=self.app.api_base, client_key=self.app.client_key,
                client_secret=self.app.client_secret, refresh_token=refresh_token, now=self.clock.now(),
                account=current.name,
            )
        except AuthError as err:
            if err.needs_login:
                await self.account.mark_needs_login(f"TikTok refused the refresh token ({err.code})")
            raise
        self.refreshes += 1
        updated = attrs.evolve(
            current,
            secrets={**current.secrets, **tokens.as_secrets()},
            access_expires_at=tokens.expires_at,
            refresh_expires_at=tokens.refresh_expires_at or current.refresh_expires_at,
        )
        stored = await self.account.update(updated)  # before the new token is ever used
        log.info("refreshed the TikTok access token of %s", current.key)
        return _access_token(stored)

    async def _needs_login(self, account: Account, reason: str) -> AuthError:
        await self.account.mark_needs_login(reason)
        return AuthError(
            f"TikTok account {account.name!r} needs a new login: {reason}.",
            code="needs_login", hint=login_hint(account.name), needs_login=True, platform=PLATFORM,
        )


def _access_token(account: Account) -> str:
    token = account.secrets.get("access_token", "")
    if not token:
        raise AuthError(
            f"TikTok account {account.name!r} has no access token.",
            code="needs_login", hint=login_hint(account.name), needs_login=True, platform=PLATFORM,
        )
    return token
