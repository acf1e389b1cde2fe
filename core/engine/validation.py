"""Checking a post for each of its targets before anything is stored or uploaded.

Per target, in order: the post as the platform sees it (:func:`~crosspost.core.platform.for_platform`),
then ``rewrite_post`` hooks, ``check_post`` hooks, the platform's generic limits and the
platform's own ``validate`` (which may ask the platform's API, e.g. TikTok's creator info), run
even when the general checks failed so every problem shows at once. One problem per field: where
both report a field, the platform's answer (checked against the live account) is kept, in the
general one's place. Every problem of every target is collected into one :class:`InvalidPost`; with several
targets each field is prefixed by its target (``tiktok:main: target_options.tiktok.privacy_level``).
Jobs run the same checks again when they start (a scheduled post's creator settings may have
changed), unless the platform already holds part of the post (a non-empty checkpoint), or the
job runs soon in the process that just checked it (:meth:`Preparer.remember`): each attempt
validates once, and the result (``Validation.value``) reaches ``plan`` and ``publish`` as
``ctx.validation``.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Iterable

import attrs

from crosspost.core.accounts import Account
from crosspost.core.engine.context import BaseContext
from crosspost.core.engine.runtime import Runtime
from crosspost.core.errors import (
    AuthError,
    ConfigError,
    DailyCapReached,
    InvalidPost,
    PluginError,
    Problem,
    one_per_field,
)
from crosspost.core.models import Post, Target
from crosspost.core.netguard import AllowList, media_url_problems
from crosspost.core.platform import Platform, Validation, for_platform

ContextFactory = Callable[[Platform, Target, Account | None], BaseContext]
"""(platform, resolved target, its account as just read or None) -> the check's context."""
log = logging.getLogger("crosspost.engine.validation")
FRESH_FOR = 30.0
"""Seconds a submission's check stands in for the first run's (``hub.publish`` runs at once)."""
REMEMBERED = 4096
"""Checks kept at most: a process that only submits (its workers run elsewhere) keeps no more."""


@attrs.frozen(kw_only=True)
class PreparedTarget:
    """One target of a post that passed its checks."""

    requested: Target
    """The target as the post names it."""
    target: Target
    """With the account resolved (``tiktok:main`` for a post that said ``tiktok``)."""
    post: Post
    """What the platform will publish: narrowed to the platform and rewritten by hooks."""
    validation: Validation
    deferred: DailyCapReached | None = attrs.field(default=None, eq=False)
    """Set when the account is at its posting cap now: the job is stored deferred, not refused."""


class Preparer:
    """Runs the checks for :class:`~crosspost.core.hub.Hub` and for jobs at run time."""

    def __init__(self, rt: Runtime, contexts: ContextFactory) -> None:
        self._rt = rt
        self._contexts = contexts
        self._fresh: collections.OrderedDict[str, tuple[float, PreparedTarget]] = collections.OrderedDict()

    async def prepare(self, post: Post) -> list[PreparedTarget]:
        """Every target checked; raises :class:`InvalidPost` with all problems of all targets.

        Platform errors other than auth and cap problems (a platform briefly down) propagate:
        the post could not be checked, so it is not stored.
        """
        if not post.targets:
            raise InvalidPost([Problem(field="targets", message="required: a non-empty list such as ['tiktok:main']")])
        many = len(post.targets) > 1
        problems: list[Problem] = []
        prepared: list[PreparedTarget] = []
        seen: dict[Target, int] = {}
        for index, requested in enumerate(post.targets):
            result, found = await self._prepare_one(post, requested, index)
            problems.extend(_prefixed(p, requested, many) for p in found)
            if result is None:
                continue
            if result.target in seen:
                problems.append(Problem(field=f"targets[{index}]",
                                        message=f"same account as targets[{seen[result.target]}] "
                                                f"({result.target}); list each account once"))
                continue
            seen[result.target] = index
            prepared.append(result)
        if problems:
            raise InvalidPost(problems)
        return prepared

    async def _prepare_one(self, post: Post, requested: Target,
                           index: int) -> tuple[PreparedTarget | None, list[Problem]]:
        at = f"targets[{index}]"
        try:
            platform = self._rt.hooks.platform(requested.platform)
            target, account = await self._resolve(platform, requested)
        except (PluginError, ConfigError) as exc:
            return None, [Problem(field=at, message=str(exc))]
        ctx = self._contexts(platform, target, account)
        try:
            return await self.check(post, requested, target, platform, ctx), []
        except InvalidPost as exc:
            return None, list(exc.problems)
        except AuthError as exc:
            return None, [Problem(field=at, message=str(exc))]
        except DailyCapReached as exc:
            narrowed = await self.narrow(post, target, platform)
            return PreparedTarget(requested=requested, target=target, post=narrowed,
                                  validation=Validation(), deferred=exc), []

    async def _resolve(self, platform: Platform, requested: Target) -> tuple[Target, Account | None]:
        """``requested`` with its account named, and that account (the check's context reuses
        it rather than read it again); ConfigError when none fits or it needs a login."""
        if not platform.needs_account:
            return requested, None
        account = await self._rt.accounts.resolve(requested)
        if account.needs_login:
            raise ConfigError(f"account {account.key} needs a new login; add it again with "
                              f"`crosspost accounts add {account.platform} {account.name}`")
        return Target(platform=account.platform, account=account.name), account

    async def narrow(self, post: Post, target: Target, platform: Platform) -> Post:
        """The post as ``platform`` publishes it: its own overrides applied, then rewritten."""
        try:
            narrowed = for_platform(post, platform.name)
        except Exception as exc:
            raise InvalidPost([Problem(field=f"target_options.{platform.name}.media", message=str(exc))]) from None
        rewritten, problems = await self._rt.hooks.rewrite_post(narrowed, target)
        if problems:
            raise InvalidPost(problems)
        return rewritten

    async def check(self, post: Post, requested: Target, target: Target, platform: Platform,
                    ctx: BaseContext) -> PreparedTarget:
        """All checks for one resolved target. Raises :class:`InvalidPost` (fields not
        prefixed) or the platform's own errors."""
        narrowed = await self.narrow(post, target, platform)
        unsafe = media_url_problems(narrowed, AllowList.from_settings(self._rt.settings))
        general = [*await self._rt.hooks.check_post(narrowed, target), *platform.generic_problems(narrowed), *unsafe]
        # A media URL aimed at this machine or its network never reaches the platform's checks,
        # not even a read-only call: the post is refused as it stands.
        validation = Validation() if unsafe else await self._platform_checks(narrowed, platform, ctx, general)
        problems = one_per_field(general, validation.problems)
        if problems:
            raise InvalidPost(problems)
        warnings = [*validation.warnings, *ctx.warnings]
        # The platform's typed result (``value``) is kept: plan and publish of this attempt use it.
        return PreparedTarget(requested=requested, target=target, post=narrowed,
                              validation=attrs.evolve(validation, warnings=tuple(dict.fromkeys(warnings))))

    # -- validate once: a job run at once by the process that just checked it ------------------

    def remember(self, job_id: str, prepared: PreparedTarget) -> None:
        """Keep ``prepared`` for the first run of ``job_id`` in this process, if it comes within
        :data:`FRESH_FOR` seconds (``hub.publish`` runs the job at once; a worker in the process
        that submitted a due post usually claims it within moments): the run reuses the check.
        At most :data:`REMEMBERED` are kept, the oldest dropped first."""
        now = self._rt.clock.monotonic()
        self._fresh[job_id] = (now, prepared)
        self._fresh.move_to_end(job_id)
        while self._fresh:
            oldest_id, (kept_at, _) = next(iter(self._fresh.items()))
            if len(self._fresh) <= REMEMBERED and now - kept_at <= FRESH_FOR:
                break
            del self._fresh[oldest_id]

    def forget(self, job_ids: Iterable[str]) -> None:
        for job_id in job_ids:
            self._fresh.pop(job_id, None)

    def take(self, job_id: str) -> PreparedTarget | None:
        """The check :meth:`remember` kept for ``job_id``, once, while it is fresh (a scheduled
        post's check is not reused at its time: the creator's settings may have changed)."""
        kept = self._fresh.pop(job_id, None)
        if kept is None or self._rt.clock.monotonic() - kept[0] > FRESH_FOR:
            return None
        return kept[1]

    async def _platform_checks(self, post: Post, platform: Platform, ctx: BaseContext,
                               general: list[Problem]) -> Validation:
        """The platform's ``validate``, run even when the general checks found problems, so a
        user sees every problem at once (an unknown option must not hide a privacy typo).

        When the general checks already failed, the post is refused whatever the platform says:
        a platform that cannot be asked (down, a posting cap, a login needed) or whose checks
        trip over input the declared limits already refused does not hide the problems found.
        """
        if not general:
            return await platform.validate(post, ctx)
        try:
            return await platform.validate(post, ctx)
        except AuthError as exc:
            return Validation(problems=(Problem(field="", message=str(exc)),))
        except Exception:
            log.debug("%s validate gave up on a post that already has problems", platform.name, exc_info=True)
            return Validation()


def _prefixed(problem: Problem, target: Target, many: bool) -> Problem:
    if not many or problem.field.startswith("targets["):
        return problem
    field = f"{target}: {problem.field}" if problem.field else str(target)
    return Problem(field=field, message=problem.message)
