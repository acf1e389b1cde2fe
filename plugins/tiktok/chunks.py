"""The FILE_UPLOAD chunk plan: the one place that decides how a video is cut into PUT requests.

TikTok's Media Transfer Guide, verbatim rules: ``total_chunk_count = video_size // chunk_size``
(floor); every chunk is 5 to 64 MB except the last, which takes the trailing bytes and may reach
128 MB; a video under 5 MB goes whole; one over 64 MB must be split; 1 to 1,000 chunks.

"MB" is not defined (the official "4 MB" example is 4,194,304 bytes; others read 10^6), so the
plan stays inside both readings:

* whole upload (``chunk_size == video_size``, one chunk) up to :data:`WHOLE_UPLOAD_MAX`
  (64,000,000 bytes);
* otherwise at least two chunks of ``chunk_size`` in [:data:`MIN_CHUNK_SIZE` (5 MiB),
  :data:`MAX_CHUNK_SIZE` (64,000,000)], the remainder merged into the last chunk, which is
  therefore shorter than ``2 * chunk_size`` <= 128,000,000 bytes.

Default chunk size: 32 MiB. Memory does not depend on it (the uploader streams each chunk from
disk), so it only trades request count against the bytes re-sent when one chunk fails: a 4 GiB
video is 128 requests instead of 429 at TikTok's example size of 10,000,000 (a ~0.2 s round trip
each), while a retried chunk costs at most ~13 s at 20 Mbit/s.
"""

from __future__ import annotations

from typing import Any

import attrs

MIN_CHUNK_SIZE = 5 * 1024 * 1024
"""5 MiB: the larger reading of TikTok's "at least 5 MB" per chunk."""
MAX_CHUNK_SIZE = 64_000_000
"""The smaller reading of TikTok's "no greater than 64 MB" per chunk."""
WHOLE_UPLOAD_MAX = 64_000_000
"""Largest video sent in one request; above it TikTok requires several chunks."""
LAST_CHUNK_LIMIT = 128_000_000
"""The last chunk must be shorter than this (TikTok: "up to 128 MB")."""
MAX_CHUNKS = 1000
DEFAULT_CHUNK_SIZE = 32 * 1024 * 1024
MAX_PLANNABLE_SIZE = MAX_CHUNK_SIZE * (MAX_CHUNKS + 1) - 1
"""Largest video any valid plan can carry: 1,000 chunks, the last one just under 128,000,000."""


@attrs.frozen(kw_only=True)
class Chunk:
    """One PUT: bytes ``first_byte`` to ``last_byte`` inclusive of the video."""

    index: int
    first_byte: int
    last_byte: int
    length: int


def plan_problems(video_size: int, chunk_size: int, total_chunk_count: int) -> list[str]:
    """Every way the three ``source_info`` numbers break TikTok's chunk rules (empty = valid).

    Applies the rules as this module reads them (both readings of "MB"); usable by anyone who
    must judge a plan, such as an emulator.
    """
    if video_size < 1:
        return [f"video_size must be at least 1 byte, got {video_size}"]
    if chunk_size < 1 or total_chunk_count < 1:
        return [f"chunk_size and total_chunk_count must be positive, got {chunk_size} and {total_chunk_count}"]
    problems: list[str] = []
    if total_chunk_count != video_size // chunk_size:
        problems.append(
            f"total_chunk_count must be video_size // chunk_size = {video_size // chunk_size}, got {total_chunk_count}"
        )
    if total_chunk_count > MAX_CHUNKS:
        problems.append(f"at most {MAX_CHUNKS} chunks, got {total_chunk_count}")
    if total_chunk_count == 1:
        if chunk_size != video_size:
            problems.append(f"a single chunk must be the whole video ({video_size} bytes), got {chunk_size}")
        if video_size > WHOLE_UPLOAD_MAX:
            problems.append(f"a video over {WHOLE_UPLOAD_MAX} bytes must be sent in several chunks")
        return problems
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        problems.append(f"chunk_size must be between {MIN_CHUNK_SIZE} and {MAX_CHUNK_SIZE}, got {chunk_size}")
    last = video_size - chunk_size * (total_chunk_count - 1)
    if last >= LAST_CHUNK_LIMIT:
        problems.append(f"the last chunk must be shorter than {LAST_CHUNK_LIMIT} bytes, got {last}")
    return problems


def _valid_plan(instance: ChunkPlan, attribute: attrs.Attribute[Any], value: int) -> None:
    problems = plan_problems(instance.video_size, instance.chunk_size, instance.total_chunk_count)
    if problems:
        raise ValueError("invalid chunk plan: " + "; ".join(problems))


@attrs.frozen(kw_only=True)
class ChunkPlan:
    """A valid FILE_UPLOAD plan (construction raises ValueError on any broken rule)."""

    video_size: int
    chunk_size: int
    total_chunk_count: int = attrs.field(validator=_valid_plan)

    @classmethod
    def with_chunk_size(cls, video_size: int, chunk_size: int) -> ChunkPlan:
        """The plan TikTok's rules give for exactly this ``chunk_size`` (floor count, remainder last).

        ``ChunkPlan.with_chunk_size(50_000_123, 10_000_000)`` is the official worked example.
        """
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        return cls(video_size=video_size, chunk_size=chunk_size, total_chunk_count=video_size // chunk_size)

    def chunk(self, index: int) -> Chunk:
        """Chunk ``index`` (0-based); the last one carries the remainder."""
        if not 0 <= index < self.total_chunk_count:
            raise IndexError(f"chunk {index} outside 0..{self.total_chunk_count - 1}")
        first = index * self.chunk_size
        last = self.video_size - 1 if index == self.total_chunk_count - 1 else first + self.chunk_size - 1
        return Chunk(index=index, first_byte=first, last_byte=last, length=last - first + 1)

    def chunks(self) -> tuple[Chunk, ...]:
        """Every chunk, in the order TikTok requires them to be sent."""
        return tuple(self.chunk(i) for i in range(self.total_chunk_count))

    def content_range(self, index: int) -> str:
        """The ``Content-Range`` header of chunk ``index``: ``bytes {first}-{last}/{total}``."""
        chunk = self.chunk(index)
        return f"bytes {chunk.first_byte}-{chunk.last_byte}/{self.video_size}"

    def chunk_starting_at(self, offset: int) -> Chunk | None:
        """The chunk beginning at byte ``offset`` (resuming after ``offset`` bytes were stored).

        ``None`` when ``offset`` is the end of the video (nothing left) ; ValueError when ``offset``
        is not a chunk boundary of this plan.
        """
        if offset == self.video_size:
            return None
        index, rest = divmod(offset, self.chunk_size)
        if offset < 0 or rest or index >= self.total_chunk_count:
            raise ValueError(f"byte {offset} is not the start of a chunk of this plan")
        return self.chunk(index)

    def source_fields(self) -> dict[str, int]:
        """The FILE_UPLOAD numbers of ``source_info``."""
        return {"video_size": self.video_size, "chunk_size": self.chunk_size,
                "total_chunk_count": self.total_chunk_count}


def plan_chunks(video_size: int, *, preferred_chunk_size: int = DEFAULT_CHUNK_SIZE) -> ChunkPlan:
    """The chunk plan for a video of ``video_size`` bytes.

    Whole upload up to 64,000,000 bytes. Larger videos use ``preferred_chunk_size``, lowered to
    half the video when needed so there are always at least two chunks, and raised when needed to
    stay within 1,000 chunks. Raises ValueError for an empty video, a preferred size outside
    [5 MiB, 64,000,000] or a video larger than :data:`MAX_PLANNABLE_SIZE`.
    """
    if video_size < 1:
        raise ValueError(f"cannot upload an empty video (video_size={video_size})")
    if not MIN_CHUNK_SIZE <= preferred_chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(
            f"chunk size must be between {MIN_CHUNK_SIZE} (5 MiB) and {MAX_CHUNK_SIZE} bytes, "
            f"got {preferred_chunk_size}"
        )
    if video_size <= WHOLE_UPLOAD_MAX:
        return ChunkPlan(video_size=video_size, chunk_size=video_size, total_chunk_count=1)
    if video_size > MAX_PLANNABLE_SIZE:
        raise ValueError(
            f"a video of {video_size} bytes is too large for TikTok's upload rules "
            f"(1,000 chunks of at most {MAX_CHUNK_SIZE} bytes carry at most {MAX_PLANNABLE_SIZE})"
        )
    fewest_bytes_for_1000 = video_size // (MAX_CHUNKS + 1) + 1
    chunk_size = max(min(preferred_chunk_size, video_size // 2), fewest_bytes_for_1000)
    return ChunkPlan.with_chunk_size(video_size, chunk_size)
