"""Checking and publishing one status (or thread) on Mastodon: the steps, in order, resumable.

:func:`prepare` is what ``validate`` computes once per attempt (options parsed, thread split,
media described); :class:`Publisher` carries it out, saving a checkpoint before each step that
depends on the one before:

1. upload each media item (``POST /api/v2/media``, alt text as ``description``), saving its id;
2. poll each until processed (``GET /api/v1/media/:id`` 206 → 200); unprocessed media are never
   attached;
3. post each thread part (``POST /api/v1/statuses``) with a stable ``Idempotency-Key`` per job
   and part, replying to the part before, saving each status id before the next part.

A lost answer at step 3 is retried with the same key, so the server returns the status it made
instead of posting again. The server keeps keys for an hour; a resume later than that, with the
answer to the last request unknown, is reported as uncertain instead of risking a double post.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import attrs
from yarl import URL

from crosspost.core.errors import PermanentError, Problem, TransientError, UncertainOutcome
from crosspost.core.media.sniff import sniff
from crosspost.core.models import JobStatus, Media, MediaKind, Post
from crosspost.core.netguard import AllowList, SafeFetcher, UnsafeURL, check_url
from crosspost.core.platform import JobContext
from crosspost.plugins.mastodon import sansio
from crosspost.plugins.mastodon.client import MastodonClient, file_head
from crosspost.plugins.mastodon.limits import (
    InstanceLimits,
    MediaFacts,
    count_characters,
    media_problems,
    split_thread,
    text_problems,
)
from crosspost.plugins.mastodon.options import PLATFORM, MastodonOptions, language_problem

IDEMPOTENCY_SAFE_S = 50 * 60.0
"""How long after sending a status crosspost trusts the server to still know its Idempotency-Key
(Mastodon keeps keys for 3,600 s; ten minutes of margin for clocks and queues)."""
DOWNLOAD_TIMEOUT_S = 900.0


@attrs.frozen(kw_only=True)
class PreparedStatus:
    """A post as Mastodon will receive it: parts of text, options, media and the limits used."""

    origin: str
    limits: InstanceLimits
    options: MastodonOptions
    parts: tuple[str, ...]
    media: tuple[MediaFacts, ...]


async def prepare(post: Post, ctx: JobContext, *, origin: str,
                  limits: InstanceLimits) -> tuple[PreparedStatus, list[Problem]]:
    """The status to publish and every problem with it, reading only the first bytes of files."""
    raw = post.options_for(PLATFORM)
    options = MastodonOptions.from_options(raw)
    problems: list[Problem] = []
    if (message := language_problem(raw.get("language"))) is not None:
        problems.append(Problem(field=f"target_options.{PLATFORM}.language", message=message))
    host = origin.split("://", 1)[1]
    parts: tuple[str, ...] = (post.content,)
    length = count_characters(post.content, spoiler_text=options.spoiler_text,
                              url_characters=limits.characters_reserved_per_url)
    if options.thread and length > limits.max_characters:
        budget = limits.max_characters - count_characters(options.spoiler_text)
        if budget < 1:
            problems.append(Problem(field=f"target_options.{PLATFORM}.spoiler_text", message=(
                f"the content warning alone fills {host}'s limit of {limits.max_characters} characters")))
        else:
            parts = tuple(split_thread(post.content, budget=budget,
                                       url_characters=limits.characters_reserved_per_url))
    else:
        problems.extend(text_problems(post.content, spoiler_text=options.spoiler_text, limits=limits,
                                      instance=host, has_media=bool(post.media)))
    facts = tuple(await asyncio.gather(*(_facts(i, m) for i, m in enumerate(post.media))))
    problems.extend(media_problems(facts, limits))
    problems.extend(_remote_problems(post.media, AllowList.from_settings(ctx.settings)))
    return PreparedStatus(origin=origin, limits=limits, options=options, parts=parts, media=facts), problems


async def _facts(index: int, media: Media) -> MediaFacts:
    if media.path is None:
        return MediaFacts(index=index, kind=media.type, alt=media.alt)
    head = await file_head(media.path)
    if head is None:
        return MediaFacts(index=index, kind=media.type, alt=media.alt, missing=True)
    data, size = head
    fmt = sniff(data)
    mime = fmt.mime if fmt.mime != "application/octet-stream" else None
    return MediaFacts(index=index, kind=media.type, mime=mime, size=size, alt=media.alt)


def _remote_problems(media: Sequence[Media], allow: AllowList) -> list[Problem]:
    problems = []
    for i, item in enumerate(media):
        if item.url is None:
            continue
        try:
            check_url(URL(item.url), allow)
        except (UnsafeURL, ValueError) as exc:
            problems.append(Problem(field=f"media[{i}].url", message=str(exc)))
    return problems


@attrs.frozen(kw_only=True)
class PollPolicy:
    interval: float = 2.0
    timeout: float = 600.0
    """Per attempt; a longer wait ends the attempt as transient, the checkpoint keeps the ids."""


class Publisher:
    """One publish of a prepared status, from the job's checkpoint to the last thread part."""

    def __init__(self, *, ctx: JobContext, client: MastodonClient, prepared: PreparedStatus, post: Post,
                 poll: PollPolicy) -> None:
        self.ctx = ctx
        self.client = client
        self.prepared = prepared
        self.post = post
        self.poll = poll
        self.done = sansio.Checkpoint.from_json(ctx.checkpoint)
        saved = ctx.checkpoint.get("texts")
        # The split is fixed at the first attempt: an instance changing its limit later must not
        # re-cut a thread whose first parts are already posted.
        self.texts = tuple(saved) if isinstance(saved, list) and saved else prepared.parts

    async def save(self, status: JobStatus) -> None:
        await self.ctx.save({**self.done.to_json(), "texts": list(self.texts)}, status=status)

    async def run(self) -> sansio.Checkpoint:
        if not self.done.parts:
            await self.save(JobStatus.UPLOADING if self.post.media else JobStatus.PROCESSING)
            await self.upload_all()
            await self.wait_until_processed()
        await self.post_parts()
        await self.remove_downloads()
        return self.done

    async def upload_all(self) -> None:
        for index in range(len(self.done.media), len(self.post.media)):
            path, mime = await self.local_file(index)
            item = self.post.media[index]
            request = sansio.upload_media_request(str(path), mime=mime, filename=f"media-{index}{path.suffix}",
                                                  description=item.alt)
            self.ctx.log.info("uploading media[%d] to %s", index, self.client.origin)
            state = await self.client.upload_media(request, what=f"uploading media[{index}]")
            self.done = attrs.evolve(self.done, media=(*self.done.media, (state.id, state.ready)))
            sizes = [f.size or 0 for f in self.prepared.media]
            self.ctx.progress(sum(sizes[:index + 1]), sum(sizes))  # bytes, as progress bars expect
            await self.save(JobStatus.UPLOADING)

    async def local_file(self, index: int) -> tuple[Path, str]:
        """The file to upload for media[index] (a remote URL is fetched first, SSRF-guarded)."""
        item = self.post.media[index]
        if item.path is not None:
            path = Path(item.path)
        else:
            assert item.url is not None
            path = await self.download(index, item.url, item.type)
        head = await file_head(str(path))
        if head is None:
            raise PermanentError(f"media[{index}]: no such file {path}", code="missing_media",
                                 field=f"media[{index}].path", platform=PLATFORM)
        mime = sniff(head[0]).mime
        if mime not in self.prepared.limits.supported_mime_types:
            raise PermanentError(f"media[{index}] is {mime}, which {self.client.origin} does not take",
                                 code="bad_media", field=f"media[{index}]", platform=PLATFORM)
        return path, mime

    def work_dir(self) -> Path:
        safe = hashlib.sha256(self.ctx.job_id.encode()).hexdigest()[:24]
        return Path(self.ctx.settings.data_dir) / "tmp" / PLATFORM / safe

    async def download(self, index: int, url: str, kind: MediaKind) -> Path:
        limits = self.prepared.limits
        cap = limits.video_size_limit if kind is MediaKind.VIDEO else limits.image_size_limit
        folder = self.work_dir()
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        dest = folder / f"media-{index}"
        if not await asyncio.to_thread(dest.exists):
            async with SafeFetcher.from_settings(self.ctx.settings, max_bytes=cap, timeout=DOWNLOAD_TIMEOUT_S) as f:
                await f.fetch(url, dest)
        return dest

    async def remove_downloads(self) -> None:
        await asyncio.to_thread(shutil.rmtree, self.work_dir(), True)

    async def wait_until_processed(self) -> None:
        """Poll every media item not known processed; never attach one that is not."""
        pending = [i for i, (_, ready) in enumerate(self.done.media) if not ready]
        if not pending:
            return
        await self.save(JobStatus.PROCESSING)
        deadline = self.ctx.clock.monotonic() + self.poll.timeout
        for index in pending:
            media_id = self.done.media[index][0]
            while not (await self.client.media_state(media_id)).ready:
                if self.ctx.clock.monotonic() + self.poll.interval > deadline:
                    raise TransientError(f"media[{index}] is still processing at {self.client.origin} after "
                                         f"{self.poll.timeout:g} s", code="still_processing", platform=PLATFORM,
                                         retry_after=self.poll.interval)
                await self.ctx.clock.sleep(self.poll.interval)
            media = list(self.done.media)
            media[index] = (media_id, True)
            self.done = attrs.evolve(self.done, media=tuple(media))
            await self.save(JobStatus.PROCESSING)

    async def post_parts(self) -> None:
        options = self.prepared.options
        for part in range(len(self.done.parts), len(self.texts)):
            self.refuse_stale_resend(part)
            self.done = attrs.evolve(self.done, sending=(part, self.ctx.clock.now().isoformat()))
            await self.save(JobStatus.PROCESSING)
            media_ids = [m for m, _ in self.done.media] if part == 0 else []
            reply_to = self.done.parts[-1] if self.done.parts else None
            request = sansio.status_request(self.texts[part], options, media_ids=media_ids, in_reply_to=reply_to,
                                            key=sansio.idempotency_key(self.ctx.job_id, part))
            what = "posting the status" if len(self.texts) == 1 else f"posting part {part + 1}/{len(self.texts)}"
            status = await self.client.parsed(request, sansio.parse_status, what=what)
            self.done = attrs.evolve(self.done, parts=(*self.done.parts, status.id),
                                     urls=(*self.done.urls, status.url), sending=None)
            await self.save(JobStatus.PROCESSING)

    def refuse_stale_resend(self, part: int) -> None:
        """A part whose request went out longer ago than the server remembers keys: its answer is
        unknown and a resend could post twice, so the user decides."""
        sending = self.done.sending
        if sending is None or sending[0] != part:
            return
        age = (self.ctx.clock.now() - datetime.fromisoformat(sending[1])).total_seconds()
        if age > IDEMPOTENCY_SAFE_S:
            raise UncertainOutcome(
                f"part {part + 1} was sent {age / 60:.0f} minutes ago and its answer was lost; the instance no "
                "longer remembers the Idempotency-Key, so sending it again could post it twice",
                platform=PLATFORM, hint=f"Check the account's profile at {self.client.origin}; if the status is "
                                        "missing, post it again.")
