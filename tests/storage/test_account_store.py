"""AccountStore: secrets encrypted at rest, version-checked updates, resolution, login flag, lock."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import pytest

from crosspost.core.account_store import AccountConflict, AccountStore
from crosspost.core.accounts import Account
from crosspost.core.clock import FakeClock
from crosspost.core.errors import ConfigError
from crosspost.core.models import Target
from crosspost.core.secrets import SecretBox
from crosspost.core.settings import Settings
from crosspost.storage import open_storage
from crosspost.storage.base import Storage

SECRET = "act.super-secret-access-token"


@pytest.fixture
async def sqlite_storage(tmp_path: Path) -> AsyncIterator[Storage]:
    storage = await open_storage(str(tmp_path / "accounts.db"))
    yield storage
    await storage.close()


@pytest.fixture
def store(sqlite_storage: Storage) -> AccountStore:
    return AccountStore(sqlite_storage, box=SecretBox(os.urandom(32)), clock=FakeClock())


def main_account(**changes: object) -> Account:
    values: dict[str, object] = {"platform": "fake", "name": "main",
                                 "secrets": {"access_token": SECRET, "refresh_token": "rft.refresh"},
                                 "profile": {"username": "creator"}, "scopes": ("video.publish",)}
    values.update(changes)
    return Account(**values)  # type: ignore[arg-type]


async def test_secrets_are_stored_encrypted_and_read_back_decrypted(store: AccountStore, tmp_path: Path) -> None:
    stored = await store.add(main_account())
    assert stored.secrets["access_token"] == SECRET
    assert stored.version == 1
    with sqlite3.connect(tmp_path / "accounts.db") as db:
        blob = db.execute("SELECT secrets FROM accounts").fetchone()[0]
    assert SECRET.encode() not in blob
    assert b"refresh" not in blob
    assert SECRET not in repr(stored)


async def test_a_ciphertext_moved_to_another_account_does_not_decrypt(store: AccountStore,
                                                                      tmp_path: Path) -> None:
    await store.add(main_account())
    await store.add(main_account(name="other", secrets={"access_token": "act.other"}))
    with sqlite3.connect(tmp_path / "accounts.db") as db:
        db.execute("UPDATE accounts SET secrets = (SELECT secrets FROM accounts WHERE name = 'main') "
                   "WHERE name = 'other'")
    with pytest.raises(ConfigError, match="integrity"):
        await store.get("fake", "other")


async def test_listing_needs_no_key_and_shows_no_secrets(sqlite_storage: Storage) -> None:
    await AccountStore(sqlite_storage, box=SecretBox(os.urandom(32))).add(main_account())
    wrong_key = AccountStore(sqlite_storage, box=SecretBox(os.urandom(32)))
    listed = await wrong_key.list()
    assert [(a.key, dict(a.secrets), a.profile["username"]) for a in listed] == [("fake:main", {}, "creator")]
    with pytest.raises(ConfigError, match="different key"):
        await wrong_key.get("fake", "main")


async def test_the_secret_box_comes_from_settings_when_not_given(sqlite_storage: Storage, tmp_path: Path) -> None:
    settings = Settings(db=str(tmp_path / "accounts.db"), data_dir=tmp_path)
    store = AccountStore(sqlite_storage, settings=settings)
    await store.add(main_account())
    assert (tmp_path / "crosspost.key").exists()
    assert (await AccountStore(sqlite_storage, settings=settings).get("fake", "main")).secrets["access_token"] == SECRET


async def test_update_writes_only_over_the_version_it_read(store: AccountStore) -> None:
    first = await store.add(main_account())
    rotated = await store.update(main_account(secrets={"access_token": "act.new"}, version=first.version))
    assert rotated.version == 2
    assert rotated.secrets["access_token"] == "act.new"
    with pytest.raises(AccountConflict, match="another writer"):
        await store.update(main_account(secrets={"access_token": "act.lost"}, version=first.version))
    assert (await store.get("fake", "main")).secrets["access_token"] == "act.new"


async def test_add_refuses_a_duplicate_unless_replacing(store: AccountStore) -> None:
    await store.add(main_account())
    with pytest.raises(ConfigError, match="already exists"):
        await store.add(main_account())
    replaced = await store.add(main_account(secrets={"access_token": "act.relogin"}), replace=True)
    assert replaced.version == 2
    assert replaced.secrets["access_token"] == "act.relogin"


async def test_resolve_picks_the_named_or_the_only_account(store: AccountStore) -> None:
    with pytest.raises(ConfigError, match="no fake account yet; add one"):
        await store.resolve(Target(platform="fake"))
    await store.add(main_account())
    assert (await store.resolve(Target(platform="fake"))).name == "main"
    await store.add(main_account(name="alt"))
    with pytest.raises(ConfigError, match=r"several accounts \(fake:alt, fake:main\)"):
        await store.resolve(Target(platform="fake"))
    assert (await store.resolve(Target(platform="fake", account="alt"))).name == "alt"
    with pytest.raises(ConfigError, match="no account fake:nope; known: fake:alt, fake:main"):
        await store.resolve(Target(platform="fake", account="nope"))


async def test_mark_needs_login_flags_the_account_until_an_update_clears_it(store: AccountStore) -> None:
    await store.add(main_account())
    await store.mark_needs_login("fake", "main", "refresh token revoked")
    flagged = await store.get("fake", "main")
    assert flagged.needs_login
    assert flagged.version == 2
    cleared = await store.update(main_account(secrets={"access_token": "act.fresh"}, version=flagged.version))
    assert not cleared.needs_login


async def test_account_lock_is_single_flight_across_stores(sqlite_storage: Storage) -> None:
    clock = FakeClock()
    box = SecretBox(os.urandom(32))
    one = AccountStore(sqlite_storage, box=box, clock=clock)
    two = AccountStore(sqlite_storage, box=box, clock=clock)
    inside: list[str] = []
    overlaps: list[int] = []

    async def refresh(store: AccountStore, name: str) -> None:
        async with store.lock("fake", "main"):
            inside.append(name)
            overlaps.append(len(inside))
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            inside.remove(name)

    await asyncio.gather(*(refresh(s, f"{i}") for i, s in enumerate([one, two, one, two])))
    assert overlaps == [1, 1, 1, 1]


class CountingBox(SecretBox):
    """A SecretBox that counts decryptions."""

    decryptions = 0

    def decrypt(self, token: bytes, *, associated: bytes) -> bytes:
        self.decryptions += 1
        return super().decrypt(token, associated=associated)


class CountingStorage:
    """Storage whose account reads are counted (everything else passes through)."""

    def __init__(self, inner: Storage) -> None:
        self._inner = inner
        self.reads = 0

    async def get_account(self, platform: str, name: str) -> object:
        self.reads += 1
        return await self._inner.get_account(platform, name)

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


async def test_a_job_reads_and_decrypts_its_account_once(sqlite_storage: Storage) -> None:
    box, counted = CountingBox(os.urandom(32)), CountingStorage(sqlite_storage)
    await AccountStore(sqlite_storage, box=box, clock=FakeClock()).add(main_account())
    store = AccountStore(counted, box=box, clock=FakeClock())  # type: ignore[arg-type]
    box.decryptions = 0
    access = store.access("fake", "main")
    tokens = [(await access.get()).secrets["access_token"] for _ in range(5)]
    assert tokens == [SECRET] * 5
    assert (counted.reads, box.decryptions) == (1, 1)


async def test_an_unchanged_row_is_read_again_but_not_decrypted_again(sqlite_storage: Storage) -> None:
    box = CountingBox(os.urandom(32))
    await AccountStore(sqlite_storage, box=box, clock=FakeClock()).add(main_account())
    store = AccountStore(sqlite_storage, box=box, clock=FakeClock())  # another process's store
    box.decryptions = 0
    for _ in range(3):
        assert (await store.access("fake", "main").get()).secrets["access_token"] == SECRET
    assert box.decryptions == 1


async def test_another_writers_update_is_seen_under_the_lock_and_never_overwritten(
        sqlite_storage: Storage) -> None:
    key = os.urandom(32)
    ours = AccountStore(sqlite_storage, box=SecretBox(key), clock=FakeClock())
    theirs = AccountStore(sqlite_storage, box=SecretBox(key), clock=FakeClock())
    await ours.add(main_account())
    access = ours.access("fake", "main")
    assert (await access.get()).version == 1
    # Another process refreshes the token meanwhile.
    await theirs.update(attrs.evolve(await theirs.get("fake", "main"), secrets={"access_token": "act.theirs"}))
    async with access.lock():  # what a refresh holds: it decides on the stored account
        current = await access.get()
    assert current.secrets["access_token"] == "act.theirs"
    assert current.version == 2
    # A write from a copy kept before their update is refused, not written over theirs.
    stale = ours.access("fake", "main")
    stale._kept = attrs.evolve(current, version=1)
    with pytest.raises(AccountConflict):
        await stale.update(attrs.evolve(await stale.get(), secrets={"access_token": "act.lost"}))
    assert (await theirs.get("fake", "main")).secrets["access_token"] == "act.theirs"
    # A fresh decryption follows a changed ciphertext in the same store, too.
    assert (await ours.get("fake", "main")).secrets["access_token"] == "act.theirs"


async def test_an_access_given_the_account_just_read_does_not_read_it_again(sqlite_storage: Storage) -> None:
    box, counted = CountingBox(os.urandom(32)), CountingStorage(sqlite_storage)
    await AccountStore(sqlite_storage, box=box, clock=FakeClock()).add(main_account())
    store = AccountStore(counted, box=box, clock=FakeClock())  # type: ignore[arg-type]
    read = await store.get("fake", "main")  # what resolving a post's target does
    assert counted.reads == 1
    assert (await store.access("fake", "main", known=read).get()) is read
    assert counted.reads == 1, "the check's context reuses the account its target was resolved with"
    with pytest.raises(ConfigError):
        await store.access("fake", "alt", known=read).get()  # another account's copy is never used
    assert counted.reads == 2
