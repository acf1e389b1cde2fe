"""The base class every platform implements, and the context the engine hands it.

A platform is a small class with declarative capabilities (class attributes) and a few async
methods, like Apprise's notifiers or llm's models. The base class enforces what is generic
(media kinds and count, caption length, unknown option names) before plugin code runs, so every
platform reports those problems the same way. The engine owns persistence, retries, leases and
scheduling; a platform only says what to send and reports progress through :class:`JobContext`.

Resumability contract: ``publish`` may be called again for the same job after a crash or a
retryable error. It must read ``ctx.checkpoint`` (what it saved last time) and continue from
there, and it must ``await ctx.save(...)`` every fact needed to resume (an upload id, the next
chunk) *before* the side effect that depends on it.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import attrs

from crosspost.core.errors import Problem
from crosspost.core.models import JobStatus, MediaKind, Post, Target
from crosspost.core.options import OptionSpec, SettingSpec, option_problems

if TYPE_CHECKING:
    from datetime import datetime

    import aiohttp

    from crosspost.core.account_flows import AccountField, AccountInfo, LoginStart, ServiceContext
    from crosspost.core.accounts import Account
    from crosspost.core.clock import Clock
    from crosspost.core.emulators import Emulator
    from crosspost.core.importers import ImportedOptions
    from crosspost.core.metrics import (
        AccountMetrics,
        MetricRef,
        MetricsContext,
        MetricSnapshot,
        MetricSpec,
        ResolvedPost,
    )
    from crosspost.core.settings import Settings
    from crosspost.core.webhooks import WebhookReceiver


@attrs.frozen(kw_only=True)
class Validation:
    """What ``validate`` found: problems stop the post, warnings travel with the result."""

    problems: tuple[Problem, ...] = ()
    warnings: tuple[str, ...] = ()
    value: Any = attrs.field(default=None, eq=False, repr=False)
    """The platform's own typed result (options parsed, media probed, routes chosen). The engine
    hands it back as ``ctx.validation`` to ``plan`` and ``publish`` of the same attempt, so they
    never recompute it. Not stored: a later attempt validates again."""

    @property
    def ok(self) -> bool:
        return not self.problems


@attrs.frozen(kw_only=True)
class Outcome:
    """A finished publish: ``status`` is PUBLISHED or INBOX (drafts)."""

    status: JobStatus
    publish_id: str | None = None
    post_url: str | None = None
    warnings: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class PlannedRequest:
    """One request a dry run would send (secrets already removed)."""

    method: str
    url: str
    body: Any = None
    note: str = ""


class AccountAccess(Protocol):
    """How a platform reads and updates its account (tokens) during a job."""

    async def get(self) -> Account:
        """The account as stored now (secrets decrypted)."""
        ...

    async def update(self, account: Account) -> Account:
        """Store ``account`` atomically (e.g. a rotated refresh token) and return the stored copy.

        Raises if another writer changed the account since ``account.version`` was read.
        """
        ...

    def lock(self) -> Any:
        """An async context manager held while refreshing tokens: one refresh per account at once
        (single-flight across tasks, and across processes where the backend supports it)."""
        ...

    async def mark_needs_login(self, reason: str) -> None:
        """Flag the account: its jobs wait until the user runs ``crosspost accounts login``."""
        ...


class RateGate(Protocol):
    """Client-side rate limiting, shared by every job using the same key (token + endpoint)."""

    async def acquire(self, key: str, *, limit: int, window: float) -> datetime | None:
        """Wait until one more call under ``key`` stays within ``limit`` calls per ``window``
        seconds (a sliding window), then record the call; return the instant recorded, to pass
        to :meth:`answered` (None: the gate does not track answers)."""
        ...

    async def answered(self, key: str, *, admitted_at: datetime) -> None:
        """The call admitted at ``admitted_at`` got its answer (or failed) now. Platforms count a
        request on arrival, somewhere between our send and its answer, so it counts from now."""
        ...

    async def refused(self, key: str, *, limit: int, window: float) -> None:
        """The platform answered "rate limit exceeded": treat the window as full from now on, for
        every process sharing ``key``."""
        ...

    async def try_acquire(self, key: str, *, limit: int, window: float) -> float:
        """Record one call under ``key`` and return 0.0 when it fits the window; otherwise record
        nothing and return the seconds until it would fit. For long windows (a daily cap) where
        waiting inside a job is wrong: the caller defers the job instead."""
        ...


class JobContext(Protocol):
    """Everything a platform may use while validating or publishing one (post, target) job."""

    job_id: str
    target: Target
    settings: Settings
    """Process settings; a platform reads its own with ``settings.platform(name)``."""
    http: aiohttp.ClientSession
    clock: Clock
    rate: RateGate
    account: AccountAccess | None
    log: logging.Logger
    checkpoint: Mapping[str, Any]
    """What this job saved last time it ran (empty on the first run)."""
    validation: Validation | None
    """This attempt's result of ``validate`` (None when the engine could not validate first, e.g.
    a job resumed after the platform already holds part of the post)."""

    async def save(self, checkpoint: Mapping[str, Any], *, status: JobStatus | None = None,
                   durable: bool = True) -> None:
        """Durably store ``checkpoint`` (and the job's status) before acting on it.

        ``durable=False`` is for a save a power cut may lose without harm, because the run it
        would resume redoes or re-asks that step (progress within an upload the platform can be
        asked about, a status after the platform holds the post): it is stored and visible at
        once but not waited to the disk; the job's next durable write takes it to the disk too.
        A crash of the process loses neither kind. Keep the default for anything a later run
        needs to avoid posting twice (an id the platform returned, an intent saved before a call
        that creates something).

        Raises :class:`~crosspost.core.errors.Cancelled` when the job was cancelled or another
        worker took it over (lease lost), so the caller stops at once.
        """
        ...

    def progress(self, done: int, total: int) -> None:
        """Report bytes (or steps) done; drives progress bars. Cheap; call often."""
        ...

    def warn(self, message: str) -> None:
        """Attach a warning to the job's result (e.g. an option ignored in this mode)."""
        ...

    @property
    def has_media_host(self) -> bool:
        """Whether some ``host_media`` implementation is configured to host local files."""
        ...

    async def host_media(self, path: str) -> str | None:
        """A public URL for a local file, from the ``host_media`` hook, or None if no host."""
        ...


class Platform(abc.ABC):
    """A platform crosspost can post to. Subclass, set the class attributes, implement the methods.

    Register an *instance* from the ``register_platforms`` hook. One instance serves every job,
    concurrently: keep per-job state in the :class:`JobContext`, not on ``self``.
    """

    name: ClassVar[str]
    """Lower-case name used in targets (``tiktok`` in ``tiktok:main``)."""
    display_name: ClassVar[str] = ""
    media_kinds: ClassVar[frozenset[MediaKind]] = frozenset(MediaKind)
    """Which media kinds the platform takes at all."""
    min_media: ClassVar[int] = 0
    max_media: ClassVar[int | None] = None
    caption_limit: ClassVar[int | None] = None
    """Longest ``content`` accepted, in the platform's own unit (see :meth:`caption_length`)."""
    option_names: ClassVar[frozenset[str] | None] = None
    """Accepted ``target_options.<name>`` keys; None accepts any. Derived from :attr:`options`
    when those are declared."""
    options: ClassVar[tuple[OptionSpec, ...]] = ()
    """Typed declaration of ``target_options.<name>``: checked generically (one problem per field,
    the closest valid name for a typo), turned into CLI flags and docs tables."""
    settings: ClassVar[tuple[SettingSpec, ...]] = ()
    """The ``CROSSPOST_<NAME>_*`` variables the platform reads (``crosspost config`` lists them)."""
    needs_account: ClassVar[bool] = True
    account_fields: ClassVar[tuple[AccountField, ...]] = ()
    """What ``crosspost accounts add <name> NAME`` takes (tokens, app password, instance URL);
    empty: accounts cannot be imported. See :meth:`connect_account`."""
    login_fields: ClassVar[tuple[AccountField, ...]] = ()
    """What ``crosspost accounts login <name> NAME`` takes besides the redirect (e.g. an instance)."""
    supports_login: ClassVar[bool] = False
    """Whether :meth:`start_login`/:meth:`finish_login` (browser OAuth) are implemented."""
    alt_text: ClassVar[bool] = False
    """Whether ``media[].alt`` is sent; when False a given alt text is dropped with a warning."""
    metrics: ClassVar[tuple[MetricSpec, ...]] = ()
    """The counters :meth:`fetch_metrics` reports (see :mod:`crosspost.core.metrics`); empty:
    the platform reports none and the engine schedules no metrics for its targets."""

    def caption_length(self, text: str) -> int:
        """How the platform counts caption length (default: code points)."""
        return len(text)

    def generic_problems(self, post: Post) -> list[Problem]:
        """Problems with the declared limits, reported the same way for every platform."""
        problems: list[Problem] = []
        opts_path = f"target_options.{self.name}"
        if self.options:
            problems.extend(option_problems(post.options_for(self.name), self.options, path=opts_path))
        elif self.option_names is not None:
            for key in post.options_for(self.name):
                if key not in self.option_names and key not in ("content", "media"):
                    accepted = ", ".join(sorted(self.option_names))
                    problems.append(Problem(field=f"{opts_path}.{key}",
                                            message=f"unknown option; accepted: {accepted}"))
        for i, media in enumerate(post.media):
            if media.type not in self.media_kinds:
                kinds = " or ".join(sorted(k.value for k in self.media_kinds))
                problems.append(Problem(field=f"media[{i}].type",
                                        message=f"{self.name} takes {kinds} only"))
        count = len(post.media)
        if count < self.min_media:
            problems.append(Problem(field="media",
                                    message=f"{self.name} needs at least {self.min_media} media item(s)"))
        if self.max_media is not None and count > self.max_media:
            problems.append(Problem(field="media",
                                    message=f"{self.name} takes at most {self.max_media} media items, got {count}"))
        if self.caption_limit is not None:
            length = self.caption_length(post.content)
            if length > self.caption_limit:
                problems.append(Problem(field="content",
                                        message=f"too long for {self.name}: {length} > {self.caption_limit}"))
        return problems

    @abc.abstractmethod
    async def validate(self, post: Post, ctx: JobContext) -> Validation:
        """Check ``post`` (already narrowed to this platform, see :func:`for_platform`) against
        live platform limits. Report *every* problem; upload nothing."""

    @abc.abstractmethod
    async def publish(self, post: Post, ctx: JobContext) -> Outcome:
        """Publish ``post`` and return once the platform reports a final state.

        Raise :mod:`crosspost.core.errors` types: ``TransientError`` to be retried later (the
        checkpoint is kept), ``PermanentError`` to fail, ``DailyCapReached`` to defer,
        ``UncertainOutcome`` when a request that may have published got no answer.
        """

    async def plan(self, post: Post, ctx: JobContext) -> Sequence[PlannedRequest]:
        """The requests ``publish`` would send, for ``--dry-run``. Sends nothing that publishes."""
        return ()

    async def cancel(self, ctx: JobContext) -> None:  # noqa: B027 - optional hook, no-op default
        """Best-effort cancel of work already started at the platform (default: nothing)."""

    def post_url(self, outcome: Outcome, ctx: JobContext) -> str | None:
        """A link to the published post, when one can be derived."""
        return outcome.post_url

    # -- accounts (see crosspost.core.account_flows) -------------------------------------------

    async def connect_account(self, name: str, values: Mapping[str, str], ctx: ServiceContext) -> Account:
        """An account made from ``values`` (the :attr:`account_fields`), credentials verified
        against the platform (raise ``AuthError`` when they are wrong) and its public profile
        filled in. Core stores it encrypted; nothing is stored when this raises."""
        raise _unsupported(self, "importing accounts (`crosspost accounts add`)")

    async def start_login(self, name: str, values: Mapping[str, str], *, redirect_uri: str,
                          ctx: ServiceContext) -> LoginStart:
        """Begin a browser login that will come back to ``redirect_uri``."""
        raise _unsupported(self, "browser login (`crosspost accounts login`)")

    async def finish_login(self, name: str, start: LoginStart, callback: Mapping[str, str], *,
                           redirect_uri: str, ctx: ServiceContext) -> Account:
        """Finish the login ``start`` began, from the redirect's query parameters (``state``
        already checked by core); return the account to store."""
        raise _unsupported(self, "browser login (`crosspost accounts login`)")

    async def account_info(self, account: AccountAccess, ctx: ServiceContext) -> AccountInfo:
        """Live public facts about the account (TikTok: creator info). Default: what is stored."""
        from crosspost.core.account_flows import AccountInfo

        stored = await account.get()
        return AccountInfo(target=stored.key, username=stored.profile.get("username"),
                           display_name=stored.profile.get("nickname") or stored.profile.get("display_name"),
                           facts=dict(stored.profile))

    async def revoke_account(self, account: AccountAccess, ctx: ServiceContext) -> None:  # noqa: B027
        """Tell the platform to revoke crosspost's access (``accounts remove``). Default: nothing."""

    # -- metrics (see crosspost.core.metrics) ---------------------------------------------------

    async def fetch_metrics(self, refs: Sequence[MetricRef], ctx: MetricsContext) -> list[MetricSnapshot]:
        """Current counters of ``refs`` (published targets of ``ctx.account``, each with its
        ``platform_post_id``): one snapshot per post found; a post the platform no longer shows
        is left out. Raise ``MissingScope`` when the account lacks a permission, before any call."""
        raise _unsupported(self, "metrics")

    async def account_metrics(self, account: AccountAccess, ctx: MetricsContext) -> AccountMetrics:
        """The account's lifetime totals now (followers, likes...)."""
        raise _unsupported(self, "account metrics")

    async def resolve_post(self, ref: MetricRef, ctx: MetricsContext) -> ResolvedPost | None:
        """The public id (and link) of a post published without one, or None while the platform
        has not made it public yet. ``ref.platform_post_id`` may hold an id a webhook named: then
        only the link is missing. Default: the id is the ``publish_id``."""
        from crosspost.core.metrics import ResolvedPost

        post_id = ref.platform_post_id or ref.publish_id
        return ResolvedPost(platform_post_id=post_id, post_url=ref.post_url) if post_id else None

    def platform_post_id(self, publish_id: str | None, post_url: str | None) -> str | None:
        """The public post id a finished publish stored (default: its ``publish_id``); None
        when it must be resolved later (:meth:`resolve_post`)."""
        return publish_id

    def announce(self, info: AccountInfo) -> list[str]:
        """Lines ``crosspost post`` shows before publishing as this account, once validation
        passed (TikTok: who the post goes out as, and its music consent line). Default: who."""
        who = info.display_name or info.username
        if not who:
            return []
        handle = f" (@{info.username})" if info.username and info.display_name else ""
        return [f"{info.target} posts as {who}{handle}"]

    def option_from_flag(self, spec: OptionSpec, value: Any) -> Any:
        """The ``target_options`` value for the shorthand flag of ``spec`` given as ``value``
        (a tuple when ``spec.flag_multiple``). Default: the value itself (a tuple as a list)."""
        return list(value) if isinstance(value, tuple) else value

    # -- other doors ---------------------------------------------------------------------------

    def webhook_receiver(self) -> WebhookReceiver | None:
        """The platform's incoming-webhook parser, or None when it sends none."""
        return None

    def emulator(self) -> Emulator | None:
        """The bundled stand-in server (demo, tests), or None."""
        return None

    def import_settings(self, service: str, block: Mapping[str, Any]) -> ImportedOptions | None:
        """``target_options.<name>`` from a hosted service's settings block for this platform
        (``service`` is ``zernio``, ``late``, ``postpost``, ``relay``, ``socialsyncer``), or None
        when the platform does not read that service's block."""
        return None


def _unsupported(platform: Platform, what: str) -> Exception:
    from crosspost.core.errors import ConfigError

    return ConfigError(f"{platform.name} does not support {what}")


def for_platform(post: Post, platform: str) -> Post:
    """``post`` as ``platform`` sees it: ``target_options.<platform>.content``/``media`` applied.

    Overridden media come from the raw options dict and are converted by the caller's converter;
    here they must already be :class:`~crosspost.core.models.Media` values or wire dicts.
    """
    options = post.options_for(platform)
    changes: dict[str, Any] = {}
    if isinstance(options.get("content"), str):
        changes["content"] = options["content"]
    if "media" in options:
        from crosspost.core.convert import user_converter
        from crosspost.core.models import Media

        changes["media"] = tuple(
            m if isinstance(m, Media) else user_converter().structure(m, Media)
            for m in options["media"]
        )
    return attrs.evolve(post, **changes) if changes else post


RegisterPlatform = Callable[["Platform"], None]
"""The ``register`` callable handed to ``register_platforms`` implementations."""

MaybeAwaitable = Awaitable[Any] | Any
