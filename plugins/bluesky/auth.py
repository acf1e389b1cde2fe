"""One session per account, shared by every worker: created once, refreshed when it expires.

``createSession`` is limited (30 per 5 minutes per account) and slow (the server hashes the
password), so it is called only when the account has no session or its refresh token is dead.
An expired access token is refreshed with ``refreshSession`` under ``account.lock()``: one
refresh at a time across tasks and processes; a worker that waited on the lock finds the new
session already stored and uses it. The rotated refresh token is stored (encrypted, through
``account.update``) before the new access token is used.
"""

from __future__ import annotations

import hashlib
import logging

from crosspost.core.accounts import Account
from crosspost.core.clock import Clock
from crosspost.core.errors import AuthError, RateLimited
from crosspost.core.platform import AccountAccess, RateGate
from crosspost.plugins.bluesky import xrpc
from crosspost.plugins.bluesky.client import XrpcClient, parsed
from crosspost.plugins.bluesky.errors import PLATFORM, RELOGIN_HINT
from crosspost.plugins.bluesky.limits import LOGIN_LIMIT, LOGIN_WINDOW
from crosspost.plugins.bluesky.session import APP_PASSWORD, Session, parse_session, stored_session, with_session


class SessionKeeper:
    """The account's session: :meth:`session` for a live one, :meth:`renew` after ``ExpiredToken``."""

    def __init__(self, *, account: AccountAccess, client: XrpcClient, clock: Clock, rate: RateGate,
                 log: logging.Logger) -> None:
        self._account = account
        self._client = client
        self._clock = clock
        self._rate = rate
        self._log = log

    def __repr__(self) -> str:
        return f"SessionKeeper(base={self._client.base!r})"

    async def session(self) -> Session:
        """A session whose access token is not about to expire (refreshed or created if needed)."""
        current = stored_session(await self._account.get())
        if current is not None and not current.needs_refresh(self._clock.now()):
            return current
        return await self.renew(current)

    async def renew(self, stale: Session | None) -> Session:
        """Replace ``stale`` (None: there is none): unless another worker already did, refresh it,
        or log in with the app password when the refresh token is dead too."""
        async with self._account.lock():
            account = await self._account.get()
            current = stored_session(account)
            if current is not None and not current.needs_refresh(self._clock.now()) and (
                    stale is None or current.access_jwt != stale.access_jwt):
                return current
            fresh = await self._refreshed(current) if current is not None else None
            if fresh is None:
                fresh = await self._login(account)
            await self._account.update(with_session(account, fresh))
            return fresh

    async def _refreshed(self, current: Session) -> Session | None:
        """The next session from the refresh token; None when the server says it is dead."""
        try:
            body = await self._client.call(xrpc.refresh_session(), what="refreshing the session",
                                           bearer=current.refresh_jwt)
        except AuthError as exc:
            self._log.info("the refresh token was refused (%s); logging in with the app password", exc.code)
            return None
        self._log.info("refreshed the session of %s", current.handle)
        return parsed(parse_session, body, "refreshing the session")

    async def _login(self, account: Account) -> Session:
        identifier = account.profile.get("handle") or account.profile.get("did")
        password = account.secrets.get(APP_PASSWORD)
        if not isinstance(identifier, str) or not password:
            raise AuthError(f"account {account.key} has no handle or app password stored", code="no_credentials",
                            platform=PLATFORM, needs_login=True, hint=RELOGIN_HINT)
        await count_login(self._rate, identifier)
        self._log.info("creating a session for %s", identifier)
        body = await self._client.call(xrpc.create_session(identifier, password), what="logging in")
        return parsed(parse_session, body, "logging in")


async def count_login(rate: RateGate, identifier: str) -> None:
    """Count one ``createSession`` for ``identifier`` against the server's limit, or raise
    RateLimited (retried later) rather than be refused; the key is a fingerprint, not the handle."""
    key = f"{PLATFORM}:login:{hashlib.sha256(identifier.lower().encode()).hexdigest()[:16]}"
    wait = await rate.try_acquire(key, limit=LOGIN_LIMIT, window=LOGIN_WINDOW)
    if wait > 0:
        raise RateLimited(f"Bluesky allows {LOGIN_LIMIT} logins per {LOGIN_WINDOW / 60:g} minutes per account; "
                          "waiting before the next one", code="login_limit", retry_after=wait, platform=PLATFORM)
