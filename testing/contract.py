"""The platform contract: generated tests every platform runs against itself (like Apprise's URL tester).

Subclass :class:`PlatformContract` in a test module under a ``Test`` name, provide the factories
(``make_platform``, ``valid_posts``, ``fake_server``, ``settings_env``; optionally
``invalid_posts``, ``make_account``, ``make_plugin``) and pytest runs, against your platform and
its HTTP fake:

* declared limits (media kinds and count, caption length, option names) are enforced before
  the platform's code runs, and a caption right at the limit passes;
* every problem is reported at once (two problems in, two out);
* HTTP failures map to crosspost's types (4xx permanent, 401 auth, 429 ``RateLimited`` with
  ``Retry-After``, 5xx transient);
* no secret of the account appears in reprs, exceptions, logs, checkpoints, plans or warnings;
* a cancelled ``ctx.save`` stops ``publish`` with no further request;
* after a transient failure at *any* request (answered or lost), the next attempt resumes from
  the checkpoint and the fake holds exactly one post.

The fake is any loopback HTTP server satisfying :class:`ContractFake`: it counts requests and
injects faults through a :class:`~crosspost.testing.faults.FaultPlan` middleware and says how
many posts exist. Each scenario gets a fresh fake, so tests never see each other's posts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import attrs
import pytest
import pytest_asyncio

from crosspost.core.accounts import Account
from crosspost.core.clock import FakeClock
from crosspost.core.models import Post, Target
from crosspost.core.platform import PlannedRequest, Platform
from crosspost.core.plugins import Hooks, make_plugin_manager
from crosspost.testing.contract_cases import (
    CONTRACT_SECRET,
    DEFAULT_ERROR_CASES,
    ErrorCase,
    InvalidCase,
    combined_case,
    exception_texts,
    limit_cases,
    masked,
)
from crosspost.testing.contract_run import (
    ContractFake,
    ContractRun,
    cancel_at_save,
    context_texts,
    error_mismatch,
    fields,
    resume_after_fault,
    resume_after_power_cut,
)

__all__ = ["CONTRACT_SECRET", "DEFAULT_ERROR_CASES", "ContractFake", "ContractRun", "ErrorCase", "InvalidCase",
           "PlatformContract"]

_NAME = re.compile(r"[a-z][a-z0-9_]*")


class PlatformContract:
    """Generated tests for one platform. Subclass as ``TestMyPlatformContract`` and fill in the
    factories below; override ``error_cases`` to add your platform's own statuses."""

    pytestmark: ClassVar[Any] = pytest.mark.asyncio
    error_cases: ClassVar[Sequence[ErrorCase]] = DEFAULT_ERROR_CASES

    # -- what a platform's test module provides --------------------------------------------------

    def make_platform(self) -> Platform:
        """A platform instance (one serves every scenario, as in production)."""
        raise NotImplementedError("return your Platform instance from make_platform()")

    def valid_posts(self, media_dir: Path) -> Sequence[Post]:
        """Posts that must pass; write their media under ``media_dir``. The first one is published
        by the scenarios, so give it media to cover uploads."""
        raise NotImplementedError("return valid posts from valid_posts(media_dir)")

    def invalid_posts(self, media_dir: Path) -> Sequence[InvalidCase]:
        """Posts within the declared limits that ``validate`` must refuse, each with two or more
        problems (the engine runs ``validate`` only when the declared limits hold)."""
        return ()

    def fake_server(self, clock: FakeClock) -> AbstractAsyncContextManager[ContractFake]:
        """A fresh HTTP fake on loopback, started on ``async with``; ``clock`` is the test's."""
        raise NotImplementedError("return your fake server from fake_server(clock)")

    def settings_env(self, fake: ContractFake) -> Mapping[str, str]:
        """``CROSSPOST_*`` variables pointing the platform at ``fake``."""
        raise NotImplementedError("return the CROSSPOST_* settings for the fake from settings_env(fake)")

    def make_account(self) -> Account | None:
        """The account jobs run as; every secret in it is checked for leaks."""
        return Account(platform=self.make_platform().name, name="main",
                       secrets={"access_token": CONTRACT_SECRET})

    def make_plugin(self) -> object | None:
        """The plugin (module or object) registering the platform; None skips that check."""
        return None

    # -- the fixture ------------------------------------------------------------------------

    @pytest_asyncio.fixture
    async def contract(self, tmp_path: Path) -> AsyncIterator[ContractRun]:
        media_dir = tmp_path / "media"
        media_dir.mkdir()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            yield ContractRun(suite=self, platform=self.make_platform(), http=http, clock=FakeClock(),
                              media_dir=media_dir)

    # -- the contract -----------------------------------------------------------------------

    async def test_declared_capabilities_are_consistent(self, contract: ContractRun) -> None:
        p = contract.platform
        assert _NAME.fullmatch(p.name), f"name {p.name!r}: lower-case letters, digits, '_' (used in env names)"
        assert Target.parse(p.name) == Target(platform=p.name)
        assert p.media_kinds or p.max_media == 0, "media_kinds is empty but media are allowed"
        assert p.min_media >= 0
        assert p.max_media is None or p.max_media >= p.min_media
        assert p.caption_limit is None or p.caption_limit > 0
        assert p.option_names is None or p.option_names.isdisjoint({"content", "media"}), \
            "content and media overrides are handled by crosspost; do not list them in option_names"

    async def test_valid_posts_pass_validation(self, contract: ContractRun) -> None:
        async with contract.scenario() as sc:
            for post in self.valid_posts(contract.media_dir):
                assert await sc.problems(post) == [], f"a valid post was refused: {post!r}"
            assert sc.fake.posts_created() == 0, "validate must not publish anything"

    async def test_declared_limits_are_enforced(self, contract: ContractRun) -> None:
        """Each declared limit is reported, at its field, before the platform's code runs; and a
        caption exactly at ``caption_limit`` passes (the declared limit is the real one)."""
        platform = contract.platform
        cases = limit_cases(platform, contract.post)
        if not cases:
            pytest.skip("the platform declares no limits")
        failures: list[str] = []
        for case in cases:
            reported = fields(platform.generic_problems(attrs.evolve(contract.post, **case.changes)))
            if case.field not in reported:
                failures.append(f"{case.label}: {case.field!r} not reported (got {sorted(reported)})")
        caption = "x" * (platform.caption_limit or 0)
        if platform.caption_limit is not None and platform.caption_length(caption) == platform.caption_limit:
            async with contract.scenario() as sc:
                refused = [p.message for p in await sc.problems(attrs.evolve(contract.post, content=caption))
                           if p.field == "content"]
                assert sc.fake.posts_created() == 0, "validate must not publish anything"
            if refused:
                failures.append(f"a caption of exactly caption_limit={platform.caption_limit} is refused: {refused}")
        assert not failures, "\n".join(failures)

    async def test_every_problem_is_reported_at_once(self, contract: ContractRun) -> None:
        base = contract.post
        cases = list(self.invalid_posts(contract.media_dir))
        combined = combined_case(base, limit_cases(contract.platform, base))
        if combined is not None:
            cases.insert(0, combined)
        if not cases:
            pytest.skip("no post with several problems: give invalid_posts() cases")
        failures: list[str] = []
        async with contract.scenario() as sc:
            for case in cases:
                reported = fields(await sc.problems(case.post))
                missing = set(case.fields) - reported
                if missing:
                    failures.append(f"{case.label}: {sorted(missing)} not reported (got {sorted(reported)})")
            assert sc.fake.posts_created() == 0, "validate must not publish anything"
        assert not failures, "\n".join(failures)

    async def test_http_errors_map_to_crosspost_error_types(self, contract: ContractRun) -> None:
        failures: list[str] = []
        for case in self.error_cases:
            async with contract.scenario() as sc:
                sc.fake.faults.fail_from(sc.fake.faults.requests_seen, case.status, headers=case.headers,
                                         body=case.body)
                try:
                    await contract.platform.publish(contract.post, sc.context())
                except Exception as exc:
                    failures.extend(error_mismatch(case, exc))
                else:
                    failures.append(f"{case.label}: publish succeeded although every request failed")
        assert not failures, "\n".join(failures)

    async def test_secrets_never_leak(self, contract: ContractRun, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG)
        account = self.make_account()
        secrets = [s for s in (account.secrets.values() if account else ()) if len(s) >= 8]
        shown: list[tuple[str, str]] = [("repr(platform)", repr(contract.platform)), ("repr(account)", repr(account))]
        async with contract.scenario() as sc:
            ctx = sc.context()
            shown.append(("validate()", repr(await contract.platform.validate(contract.post, ctx))))
            shown.extend(("plan()", repr(p)) for p in await contract.platform.plan(contract.post, ctx))
            shown.append(("publish() outcome", repr(await contract.platform.publish(contract.post, ctx))))
            shown += context_texts(ctx)
        for status in (401, 429, 500):
            async with contract.scenario() as sc:
                sc.fake.faults.fail_from(sc.fake.faults.requests_seen, status)
                ctx = sc.context()
                try:
                    await contract.platform.publish(contract.post, ctx)
                except Exception as exc:
                    shown.extend((f"the error raised on HTTP {status}", text) for text in exception_texts(exc))
                shown += context_texts(ctx)
        shown.append(("the log", caplog.text))
        leaks = [f"{where}: ...{masked(text, secret)}..." for where, text in shown for secret in secrets
                 if secret in text]
        assert not leaks, "a secret of the account appeared in:\n" + "\n".join(leaks)

    async def test_cancelled_save_stops_publish(self, contract: ContractRun) -> None:
        clean, _ = await contract.publish_once()
        assert clean.saves, "publish never calls ctx.save: it can neither resume nor be cancelled"
        failures: list[str] = []
        for index in range(len(clean.saves)):
            async with contract.scenario() as sc:
                failures.extend(await cancel_at_save(contract, sc, index))
        assert not failures, "\n".join(failures)

    async def test_publish_resumes_after_a_transient_failure_without_posting_twice(
            self, contract: ContractRun) -> None:
        _, requests = await contract.publish_once()
        failures: list[str] = []
        for lost in (False, True):
            for k in range(requests):
                label = f"request {k} {'answered, answer lost' if lost else 'refused'} with 503"
                async with contract.scenario() as sc:
                    failures.extend(await resume_after_fault(contract, sc, k, lost, label))
        assert not failures, "\n".join(failures)

    async def test_publish_resumes_after_a_power_cut_at_any_save_without_posting_twice(
            self, contract: ContractRun) -> None:
        clean, _ = await contract.publish_once()
        failures: list[str] = []
        for index in [*range(len(clean.saves)), None]:
            async with contract.scenario() as sc:
                failures.extend(await resume_after_power_cut(contract, sc, index))
        assert not failures, "\n".join(failures)

    async def test_plan_sends_nothing_that_publishes(self, contract: ContractRun) -> None:
        async with contract.scenario() as sc:
            planned = await contract.platform.plan(contract.post, sc.context())
            assert sc.fake.posts_created() == 0
        assert all(isinstance(p, PlannedRequest) for p in planned)

    async def test_registers_through_its_plugin(self, contract: ContractRun) -> None:
        plugin = self.make_plugin()
        if plugin is None:
            pytest.skip("make_plugin() returns None")
        hooks = Hooks(make_plugin_manager(builtins=(), entry_points=False, extra=[plugin]))
        assert type(hooks.platform(contract.platform.name)) is type(contract.platform)
