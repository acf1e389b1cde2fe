"""The Example platform: what it accepts, how a post is checked, published and cancelled.

Publishing is resumable (see :class:`crosspost.core.platform.Platform`): every fact needed to
continue is saved with ``ctx.save`` before the step that depends on it, so a run after a crash
or a retryable error picks up where the last one stopped and never creates a second post.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs
from crosspost.core.account_flows import AccountField, ServiceContext
from crosspost.core.accounts import Account
from crosspost.core.errors import AuthError, PermanentError, Problem, TransientError
from crosspost.core.models import JobStatus, Media, MediaKind, Post
from crosspost.core.options import OptionSpec, OptionType, SettingSpec
from crosspost.core.platform import JobContext, Outcome, PlannedRequest, Platform, Validation

from crosspost_example import sansio
from crosspost_example.client import ExampleClient
from crosspost_example.errors import RELOGIN_HINT


class ExamplePlatform(Platform):
    """Posts text with one video or up to four images to an Example server."""

    # AUTHOR: the declared limits. The base class checks them for every post, before your code.
    name = sansio.PLATFORM
    display_name = "Example"
    media_kinds = frozenset({MediaKind.VIDEO, MediaKind.IMAGE})
    max_media = sansio.MAX_IMAGES
    caption_limit = 500
    # AUTHOR: the typed declarations. crosspost checks options against them (the closest name for
    # a typo, the JSON type), turns `flag` into a `crosspost post` flag, and lists the settings in
    # `crosspost config`. Your `validate` checks what only your API knows.
    options = (
        OptionSpec(name="visibility", type=OptionType.STRING, default="public", flag="visibility",
                   help="Who sees the post: public, unlisted or private."),
        OptionSpec(name="tags", type=OptionType.STRING_LIST, flag="tag",
                   help=f"Up to {sansio.MAX_TAGS} tags, 1-{sansio.TAG_LIMIT} characters, no spaces."),
    )
    option_names = frozenset(o.name for o in options)
    settings = (
        SettingSpec(name="url", required=True, help="API base URL, http:// or https://."),
        SettingSpec(name="poll_interval", default="2", help="Seconds between status checks while the post processes."),
        SettingSpec(name="poll_timeout", default="600",
                    help="Seconds one attempt polls before the engine retries it later."),
        SettingSpec(name="max_upload_bytes", default=str(sansio.DEFAULT_MAX_UPLOAD_BYTES),
                    help="Largest file accepted, checked before uploading."),
    )
    needs_account = True
    # AUTHOR: what `crosspost accounts add example NAME --access-token T` takes.
    account_fields = (AccountField(name="access_token", secret=True, help="Your Example API token."),)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    async def connect_account(self, name: str, values: Mapping[str, str], ctx: ServiceContext) -> Account:
        """Check the token with the API before crosspost stores it (a wrong one raises AuthError,
        and nothing is stored), and keep who it belongs to."""
        config = sansio.ExampleConfig.from_settings(ctx.settings.platform(self.name))
        token = values["access_token"]
        client = ExampleClient(http=ctx.http, config=config, token=token, rate=ctx.rate, clock=ctx.clock)
        profile = await client.profile()
        return Account(platform=self.name, name=name, secrets={"access_token": token},
                       profile={"id": profile.id, "username": profile.username})

    async def validate(self, post: Post, ctx: JobContext) -> Validation:
        """Endpoint-specific checks, every problem at once (the declared limits are checked by
        :meth:`generic_problems` before this runs). Uploads nothing."""
        config = sansio.ExampleConfig.from_settings(ctx.settings.platform(self.name))
        problems = [*sansio.option_problems(post.options_for(self.name)), *sansio.media_mix_problems(post)]
        for i, (media, size) in enumerate(zip(post.media, await _file_sizes(post.media), strict=True)):
            if media.path is None:
                continue
            if size is None:
                problems.append(Problem(field=f"media[{i}].path", message=f"no such file: {media.path}"))
            elif (problem := sansio.size_problem(i, size, config.max_upload_bytes)) is not None:
                problems.append(problem)
        warnings = tuple(f"tag {t!r} is sent without its '#'"
                         for t in post.options_for(self.name).get("tags", [])
                         if isinstance(t, str) and t.startswith("#"))
        return Validation(problems=tuple(problems), warnings=warnings)

    async def publish(self, post: Post, ctx: JobContext) -> Outcome:
        client = await self._client(ctx)
        done = sansio.Checkpoint.from_json(ctx.checkpoint)
        if done.post_id is None:
            done = await self._upload(post, ctx, client, done)
            ctx.log.info("creating the post from %d media item(s)", len(done.media_ids))
            await ctx.save(done.to_json(), status=JobStatus.PROCESSING)
            request = sansio.create_post_request(post, done.media_ids, sansio.idempotency_key(ctx.job_id))
            done = attrs.evolve(done, post_id=await client.create_post(request))
            await ctx.save(done.to_json(), status=JobStatus.PROCESSING)
        assert done.post_id is not None
        state = await self._wait_until_done(client, done.post_id, ctx)
        return Outcome(status=JobStatus.PUBLISHED, publish_id=done.post_id, post_url=state.url)

    async def plan(self, post: Post, ctx: JobContext) -> Sequence[PlannedRequest]:
        """The calls ``publish`` makes, with placeholders for ids the server has not given yet."""
        config = sansio.ExampleConfig.from_settings(ctx.settings.platform(self.name))
        planned: list[PlannedRequest] = []
        for i, (media, size) in enumerate(zip(post.media, await _file_sizes(post.media), strict=True)):
            request = sansio.upload_request(media.type, size or 0)
            planned.append(_planned(config, request, body=f"<{size} bytes of {media.path}>",
                                    note=f"upload media[{i}]"))
        ids = [f"<media {i} id>" for i in range(len(post.media))]
        create = sansio.create_post_request(post, ids, sansio.idempotency_key(ctx.job_id))
        planned.append(_planned(config, create, body=create.json, note="create the post"))
        status = sansio.status_request("<post id>")
        planned.append(_planned(config, status, note="poll until published"))
        return planned

    async def cancel(self, ctx: JobContext) -> None:
        """Delete a post that is still processing (a published post stays; 404 means gone)."""
        post_id = sansio.Checkpoint.from_json(ctx.checkpoint).post_id
        if post_id is None:
            return
        client = await self._client(ctx)
        try:
            await client.delete_post(post_id)
        except PermanentError as exc:
            ctx.warn(f"could not cancel post {post_id} at {self.name}: {exc}")

    # -- steps ---------------------------------------------------------------------------------

    async def _client(self, ctx: JobContext) -> ExampleClient:
        config = sansio.ExampleConfig.from_settings(ctx.settings.platform(self.name))
        if ctx.account is None:
            raise AuthError(f"{self.name} needs an account", code="no_account", platform=self.name,
                            hint=RELOGIN_HINT)
        account = await ctx.account.get()
        token = account.secrets.get("access_token")
        if not token:
            raise AuthError(f"account {account.key} has no access_token", code="no_token",
                            platform=self.name, needs_login=True, hint=RELOGIN_HINT)
        return ExampleClient(http=ctx.http, config=config, token=token, rate=ctx.rate, clock=ctx.clock)

    async def _upload(self, post: Post, ctx: JobContext, client: ExampleClient,
                      done: sansio.Checkpoint) -> sansio.Checkpoint:
        """Upload the media not uploaded yet, saving each id as soon as the server gives it."""
        paths = [_local_path(i, m) for i, m in enumerate(post.media)]
        sizes = [size or 0 for size in await _file_sizes(post.media)]
        total = sum(sizes)
        if len(done.media_ids) < len(paths):
            await ctx.save(done.to_json(), status=JobStatus.UPLOADING)
        for i in range(len(done.media_ids), len(paths)):
            before = sum(sizes[:i])
            ctx.log.info("uploading media[%d] (%d bytes)", i, sizes[i])
            media_id = await client.upload(paths[i], post.media[i].type, _progress(ctx, before, total))
            done = attrs.evolve(done, media_ids=(*done.media_ids, media_id))
            await ctx.save(done.to_json(), status=JobStatus.UPLOADING)
        return done

    async def _wait_until_done(self, client: ExampleClient, post_id: str, ctx: JobContext) -> sansio.PostState:
        """Poll the post's status until it is final, for at most ``poll_timeout`` per attempt."""
        config = client.config
        deadline = ctx.clock.monotonic() + config.poll_timeout
        while True:
            state = await client.post_state(post_id)
            if state.state == "published":
                return state
            if state.state in ("failed", "cancelled"):
                raise PermanentError(f"{self.name} did not publish post {post_id}: "
                                     f"{state.error_message or state.state}",
                                     code=state.error_code or state.state, platform=self.name)
            if ctx.clock.monotonic() + config.poll_interval > deadline:
                # The post exists and the checkpoint has its id: the next attempt only polls.
                raise TransientError(f"post {post_id} is still processing after {config.poll_timeout:g} s",
                                     code="still_processing", platform=self.name,
                                     retry_after=config.poll_interval)
            await ctx.clock.sleep(config.poll_interval)


async def _file_sizes(media: Sequence[Media]) -> list[int | None]:
    """Each item's size in bytes; None for a missing file or a URL. Reads the disk off the loop."""

    def sizes() -> list[int | None]:
        return [Path(m.path).stat().st_size if m.path and Path(m.path).is_file() else None for m in media]

    return await asyncio.to_thread(sizes)


def _local_path(index: int, media: Media) -> Path:
    if media.path is None:  # validate reports this; publish refuses rather than guessing
        raise PermanentError(f"media[{index}] has no local path", code="not_local", field=f"media[{index}]",
                             platform=sansio.PLATFORM)
    return Path(media.path)


def _progress(ctx: JobContext, before: int, total: int) -> Callable[[int], None]:
    """Progress of one file as progress of the whole post (``before`` bytes already sent)."""
    return lambda sent: ctx.progress(before + sent, total)


def _planned(config: sansio.ExampleConfig, request: sansio.Request, *, body: object = None,
             note: str = "") -> PlannedRequest:
    query = "&".join(f"{k}={v}" for k, v in request.query.items())
    url = config.url + request.path + (f"?{query}" if query else "")
    return PlannedRequest(method=request.method, url=url, body=body, note=note)
