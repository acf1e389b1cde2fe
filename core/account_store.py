"""Stored accounts: secrets encrypted at rest, version-checked updates, a login flag jobs wait on.

Secrets are encrypted with :class:`crosspost.core.secrets.SecretBox` using the account key
(``b"tiktok:main"``) as associated data, so a ciphertext copied onto another account does not
decrypt. Storage only ever sees the encrypted blob. Every stored change bumps ``version``;
:meth:`AccountStore.update` writes only over the version it read, so a refreshed token is never
lost to a concurrent writer.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, Protocol

import attrs

from crosspost.core.accounts import Account
from crosspost.core.clock import Clock, SystemClock
from crosspost.core.errors import ConfigError, CrosspostError
from crosspost.core.models import Target
from crosspost.core.settings import Settings
from crosspost.storage.base import AccountRow, Storage


class SecretCipher(Protocol):
    """What the store needs from :class:`~crosspost.core.secrets.SecretBox`."""

    def encrypt(self, plaintext: bytes, *, associated: bytes) -> bytes: ...

    def decrypt(self, token: bytes, *, associated: bytes) -> bytes: ...


class AccountConflict(CrosspostError):
    """Another writer changed the account since it was read; read it again and retry."""

    code = "conflict"


def blocked_key(platform: str, name: str) -> str:
    """What jobs of an account needing a login wait on (``JobRow.blocked_on``)."""
    return f"account:{platform}:{name}"


class AccountStore:
    """Add, read, update and remove accounts; flag the ones whose login died."""

    lock_ttl = 120.0
    """Seconds a cross-process account lock lasts if its holder dies without releasing it."""
    lock_poll = 0.2

    def __init__(self, storage: Storage, *, box: SecretCipher | None = None,
                 settings: Settings | None = None, clock: Clock | None = None) -> None:
        if box is None and settings is None:
            raise ValueError("give a SecretBox or the settings to build one from")
        self._storage = storage
        self._box = box
        self._settings = settings
        self._clock = clock or SystemClock()
        self._owner = uuid.uuid4().hex
        self._locks: dict[str, asyncio.Lock] = {}
        self._opened: dict[tuple[str, str], tuple[bytes, dict[str, Any]]] = {}
        """Decrypted secrets by account, with the ciphertext they came from (see :meth:`_secrets`)."""

    def cipher(self) -> SecretCipher:
        """The box that seals this store's secrets; the engine seals job checkpoints with it too.
        Built on first use: the key file beside the database is only created when a secret is
        actually stored or read."""
        if self._box is None:
            from crosspost.core.secrets import SecretBox

            assert self._settings is not None
            self._box = SecretBox.from_settings(self._settings)
        return self._box

    # -- conversions -------------------------------------------------------------------------

    def _row(self, account: Account, *, version: int, created: AccountRow | None = None) -> AccountRow:
        now = self._clock.now()
        plaintext = json.dumps(dict(account.secrets)).encode()
        return AccountRow(
            platform=account.platform,
            name=account.name,
            secrets=self.cipher().encrypt(plaintext, associated=account.key.encode()),
            profile=dict(account.profile),
            scopes=tuple(account.scopes),
            access_expires_at=account.access_expires_at,
            refresh_expires_at=account.refresh_expires_at,
            needs_login=account.needs_login,
            login_reason=None,
            version=version,
            created_at=created.created_at if created else now,
            updated_at=now,
        )

    opened_limit = 4096
    """Accounts whose decrypted secrets are kept; past it the oldest entry is dropped."""

    def _secrets(self, row: AccountRow) -> dict[str, Any]:
        """The row's secrets, decrypted once per ciphertext: every job of an account reads it
        several times, and the stored bytes change with every write (a fresh nonce), so an
        unchanged ciphertext of the same account is the same plaintext. A concurrent update
        is never hidden: the row is still read each time, only the decryption is saved."""
        key = (row.platform, row.name)
        cached = self._opened.get(key)
        if cached is not None and cached[0] == row.secrets:
            return dict(cached[1])
        secrets: dict[str, Any] = json.loads(
            self.cipher().decrypt(row.secrets, associated=f"{row.platform}:{row.name}".encode()))
        self._opened.pop(key, None)
        if len(self._opened) >= self.opened_limit:
            self._opened.pop(next(iter(self._opened)))
        self._opened[key] = (row.secrets, secrets)
        return dict(secrets)

    def _account(self, row: AccountRow, *, decrypt: bool = True) -> Account:
        secrets = self._secrets(row) if decrypt else {}
        return Account(
            platform=row.platform, name=row.name, secrets=secrets, profile=dict(row.profile),
            scopes=row.scopes, access_expires_at=row.access_expires_at,
            refresh_expires_at=row.refresh_expires_at, needs_login=row.needs_login, version=row.version,
        )

    # -- reading -----------------------------------------------------------------------------

    async def find(self, platform: str, name: str) -> Account | None:
        """The account with secrets decrypted, or None."""
        row = await self._storage.get_account(platform, name)
        return None if row is None else self._account(row)

    async def get(self, platform: str, name: str) -> Account:
        """The account with secrets decrypted; :class:`ConfigError` listing the known ones."""
        account = await self.find(platform, name)
        if account is None:
            raise ConfigError(f"no account {platform}:{name}; {await self._known(platform)}")
        return account

    async def resolve(self, target: Target) -> Account:
        """The account ``target`` names, or the platform's only account when it names none."""
        if target.account is not None:
            return await self.get(target.platform, target.account)
        rows = await self._storage.list_accounts(target.platform)
        if len(rows) == 1:
            return self._account(rows[0])
        if not rows:
            raise ConfigError(f"no {target.platform} account yet; add one with "
                              f"`crosspost accounts add {target.platform} NAME`")
        names = ", ".join(f"{r.platform}:{r.name}" for r in rows)
        raise ConfigError(f"{target.platform} has several accounts ({names}); say which one, "
                          f"e.g. {rows[0].platform}:{rows[0].name}")

    async def _known(self, platform: str) -> str:
        rows = await self._storage.list_accounts(platform)
        if not rows:
            return f"add one with `crosspost accounts add {platform} NAME`"
        return "known: " + ", ".join(f"{r.platform}:{r.name}" for r in rows)

    # -- writing -----------------------------------------------------------------------------

    async def add(self, account: Account, *, replace: bool = False) -> Account:
        """Store a new account. With ``replace``, an existing one is overwritten (a new login:
        its ``needs_login`` flag clears and its waiting jobs resume)."""
        if await self._storage.insert_account(self._row(account, version=1)):
            return await self.get(account.platform, account.name)
        existing = await self._storage.get_account(account.platform, account.name)
        if not replace or existing is None:
            raise ConfigError(f"account {account.key} already exists; remove it first or replace it")
        return await self._write(attrs.evolve(account, version=existing.version), created=existing)

    async def update(self, account: Account) -> Account:
        """Store ``account`` if nobody changed it since it was read (its ``version``); raises
        :class:`AccountConflict` otherwise. Clearing ``needs_login`` resumes its waiting jobs."""
        existing = await self._storage.get_account(account.platform, account.name)
        if existing is None:
            raise ConfigError(f"no account {account.key}; {await self._known(account.platform)}")
        return await self._write(account, created=existing)

    async def _write(self, account: Account, *, created: AccountRow) -> Account:
        row = self._row(account, version=account.version + 1, created=created)
        if not await self._storage.update_account(row, expected_version=account.version):
            raise AccountConflict(f"account {account.key} was changed by another writer; read it again")
        if not account.needs_login:
            await self._storage.unblock_jobs(blocked_key(account.platform, account.name), now=self._clock.now())
        return self._account(row)

    async def remove(self, platform: str, name: str) -> bool:
        return await self._storage.delete_account(platform, name)

    async def mark_needs_login(self, platform: str, name: str, reason: str) -> None:
        """Flag the account; its jobs wait (deferred) until it is updated with a new login."""
        await self._storage.set_needs_login(platform, name, reason, now=self._clock.now())

    @contextlib.asynccontextmanager
    async def lock(self, platform: str, name: str) -> AsyncIterator[None]:
        """Held while refreshing tokens: one holder per account across tasks and processes."""
        key = blocked_key(platform, name)
        async with self._locks.setdefault(key, asyncio.Lock()):
            while not await self._storage.try_lock(
                    key, self._owner, now=self._clock.now(),
                    until=self._clock.now() + timedelta(seconds=self.lock_ttl)):
                await self._clock.sleep(self.lock_poll)
            try:
                yield
            finally:
                await asyncio.shield(self._storage.unlock(key, self._owner))

    def access(self, platform: str, name: str, *, known: Account | None = None) -> StoredAccountAccess:
        """The :class:`~crosspost.core.platform.AccountAccess` a job of this account gets;
        ``known``: the account as the caller just read it (its first ``get`` returns that)."""
        access = StoredAccountAccess(self, platform, name)
        if known is not None and (known.platform, known.name) == (platform, name):
            access._kept = known
        return access

    async def list(self, platform: str | None = None) -> builtins.list[Account]:
        """Every account (of ``platform``), *without* secrets: listing never needs the key."""
        return [self._account(r, decrypt=False) for r in await self._storage.list_accounts(platform)]


class StoredAccountAccess:
    """One account as a job sees it (``ctx.account``), read once per job run.

    A job asks for its account many times (the engine's login check, each request's token, the
    username for the post's URL); the first :meth:`get` reads it and later ones reuse it, and an
    :meth:`update` keeps what it wrote. Nothing another writer does is lost: entering
    :meth:`lock` (what a token refresh holds) drops the kept copy, so the refresh decides on the
    stored account, and every write is version-checked (:class:`AccountConflict`). A token that
    went stale meanwhile is refused by the platform, and its refresh path reads afresh.
    """

    def __init__(self, store: AccountStore, platform: str, name: str) -> None:
        self._store = store
        self.platform = platform
        self.name = name
        self._kept: Account | None = None

    def __repr__(self) -> str:
        return f"StoredAccountAccess({self.platform}:{self.name})"

    async def get(self) -> Account:
        if self._kept is None:
            self._kept = await self._store.get(self.platform, self.name)
        return self._kept

    async def update(self, account: Account) -> Account:
        self._kept = None
        self._kept = await self._store.update(account)
        return self._kept

    @contextlib.asynccontextmanager
    async def lock(self) -> AsyncIterator[None]:
        async with self._store.lock(self.platform, self.name):
            self._kept = None
            yield

    async def mark_needs_login(self, reason: str) -> None:
        self._kept = None
        await self._store.mark_needs_login(self.platform, self.name, reason)
