"""One Bluesky job, step by step: keys, media, mentions, then each post of the thread once.

Every step saves what the next attempt needs before the side effect that depends on it (see
:mod:`crosspost.plugins.bluesky.checkpoint`). Bluesky has no idempotency header, so exactly
once rests on the record key: chosen and saved before the write, looked up after a lost answer,
and a repeated ``createRecord`` on a taken key (which the PDS answers with a 500) is settled by
reading the record.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from crosspost.core.errors import PermanentError, TransientError
from crosspost.core.models import JobStatus, MediaKind, Post
from crosspost.core.platform import JobContext
from crosspost.plugins.bluesky import records
from crosspost.plugins.bluesky import text as rich
from crosspost.plugins.bluesky.checkpoint import Checkpoint
from crosspost.plugins.bluesky.client import XrpcClient
from crosspost.plugins.bluesky.config import BlueskyConfig
from crosspost.plugins.bluesky.errors import PLATFORM
from crosspost.plugins.bluesky.limits import MAX_IMAGE_BYTES, RATE_CREATES, RATE_WINDOW
from crosspost.plugins.bluesky.prepare import MediaFacts, Prepared
from crosspost.plugins.bluesky.session import Session
from crosspost.plugins.bluesky.video import VideoService


@attrs.define(kw_only=True)
class Publisher:
    post: Post
    prepared: Prepared
    ctx: JobContext
    client: XrpcClient
    config: BlueskyConfig
    done: Checkpoint

    async def save(self, status: JobStatus | None = None, **changes: Any) -> None:
        self.done = attrs.evolve(self.done, **changes)
        await self.ctx.save(self.done.to_json(), status=status)

    async def run(self) -> tuple[Session, list[records.StrongRef]]:
        parts = self.prepared.parts
        if not self.done.rkeys:
            now = self.ctx.clock.now()
            status = JobStatus.UPLOADING if self.post.media else JobStatus.PROCESSING
            await self.save(status, rkeys=tuple(records.record_keys(now, self.ctx.job_id, len(parts))),
                            created_at=now.isoformat())
        assert self.client.keeper is not None
        session = await self.client.keeper.session()
        embed = await self.media_embed(session)
        for index in range(len(self.done.posted), len(parts)):
            record = await self.record(index, embed if index == 0 else None)
            ref = await self.write(session, index, record)
            await self.save(JobStatus.PROCESSING, posted=(*self.done.posted, ref), writing=None)
        return session, list(self.done.posted)

    # -- media -----------------------------------------------------------------------------------

    async def media_embed(self, session: Session) -> dict[str, Any] | None:
        media = self.post.media
        if not media:
            return None
        if media[0].type is MediaKind.VIDEO:
            return await self.video(session)
        sizes = [f.size for f in self.prepared.media]
        for i in range(len(self.done.images), len(media)):
            path, facts = Path(media[i].path or ""), self.prepared.media[i]
            mime, size, width, height = facts.mime, facts.size, facts.width, facts.height
            if facts.reencode:
                path, width, height = await asyncio.to_thread(self._fit, path)
                mime, size = "image/jpeg", path.stat().st_size
            self.ctx.log.info("uploading media[%d] (%d bytes)", i, size)
            blob = await self.client.upload_blob(path, mime, size, self._progress(sum(sizes[:i]), sum(sizes)))
            entry = {"blob": blob, "width": width, "height": height}
            await self.save(JobStatus.UPLOADING, images=(*self.done.images, entry))
        return records.images_embed([
            records.ImageEmbed(blob=entry["blob"], alt=m.alt or "", width=entry["width"], height=entry["height"])
            for entry, m in zip(self.done.images, media, strict=True)])

    def _fit(self, path: Path) -> tuple[Path, int | None, int | None]:
        from PIL import Image

        from crosspost.plugins.bluesky.images import fit_jpeg

        folder = Path(self.ctx.settings.data_dir) / PLATFORM / self.ctx.job_id
        fitted = fit_jpeg(path, folder, MAX_IMAGE_BYTES)
        with Image.open(fitted) as image:
            return fitted, image.width, image.height

    async def video(self, session: Session) -> dict[str, Any]:
        media, facts = self.post.media[0], self.prepared.media[0]
        if self.done.video is None:
            service = VideoService(pds=self.client, config=self.config, clock=self.ctx.clock)
            if self.done.video_job is None:
                await service.check_limits(facts.size)
                job = await service.upload(session.did, Path(media.path or ""), facts.size,
                                           self._progress(0, facts.size))
                if job.completed:
                    await self.save(JobStatus.PROCESSING, video_job=job.job_id, video=_video_entry(job.blob, facts))
                else:
                    await self.save(JobStatus.PROCESSING, video_job=job.job_id)
            if self.done.video is None:
                assert self.done.video_job is not None
                blob = await service.wait(self.done.video_job,
                                          lambda job: self.ctx.log.info("video job %s", job.state))
                await self.save(JobStatus.PROCESSING, video=_video_entry(blob, facts))
        assert self.done.video is not None
        return records.video_embed(self.done.video["blob"], alt=media.alt, width=self.done.video.get("width"),
                                   height=self.done.video.get("height"))

    def _progress(self, before: int, total: int) -> Callable[[int], None]:
        return lambda sent: self.ctx.progress(before + sent, total)

    # -- records ---------------------------------------------------------------------------------

    async def record(self, index: int, media: dict[str, Any] | None) -> dict[str, Any]:
        text = self.prepared.parts[index]
        spans = rich.detect(text)
        dids = await self.mentions(rich.mention_handles(spans))
        embed = media
        if embed is None and self.prepared.options.link_card and index == self.prepared.card_part:
            embed = records.external_embed(next(s.value for s in spans if s.kind == "link"))
        reply = None
        if index > 0:
            reply = (self.done.posted[0], self.done.posted[index - 1])
        return records.post_record(text=text, now=self.done.part_time(index), facets=rich.facets(spans, dids),
                                   langs=self.prepared.options.langs, labels=self.prepared.options.labels,
                                   reply=reply, embed=embed)

    async def mentions(self, handles: Sequence[str]) -> dict[str, str]:
        dids: dict[str, str] = {}
        for handle in handles:
            did = await self.client.resolve_handle(handle)
            if did is None:
                self.ctx.warn(f"@{handle} is not a Bluesky account anyone could resolve; left as plain text")
            else:
                dids[handle] = did
        return dids

    async def write(self, session: Session, index: int, record: dict[str, Any]) -> records.StrongRef:
        """Create part ``index`` exactly once under its saved key."""
        rkey = self.done.rkeys[index]
        if self.done.writing == index:
            found = await self.existing(session, rkey, record)
            if found is not None:
                return found
        await self.save(JobStatus.PROCESSING, writing=index)
        await self.ctx.rate.acquire(f"{PLATFORM}:{session.did}:create", limit=RATE_CREATES, window=RATE_WINDOW)
        try:
            return await self.client.create_record(session.did, rkey, record)
        except TransientError as exc:
            # A 500 is what the PDS answers when the key is already taken: maybe by this very
            # post, written by a request whose answer was lost. Reading the key settles it.
            if exc.code == "InternalServerError":
                found = await self.existing(session, rkey, record)
                if found is not None:
                    return found
            raise

    async def existing(self, session: Session, rkey: str, record: dict[str, Any]) -> records.StrongRef | None:
        found = await self.client.get_record(session.did, rkey)
        if found is None:
            return None
        ref, value = found
        if value.get("text") != record["text"]:
            raise PermanentError(f"record {rkey} of {session.handle} holds another post; nothing was written",
                                 code="rkey_taken", platform=PLATFORM)
        self.ctx.log.info("post %s was already written (an earlier answer was lost)", rkey)
        return ref


def _video_entry(blob: Any, facts: MediaFacts) -> dict[str, Any]:
    return {"blob": dict(blob), "width": facts.width, "height": facts.height}
