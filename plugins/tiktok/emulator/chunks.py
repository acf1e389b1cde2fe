"""The FILE_UPLOAD chunk-plan rule, in its strictest reading (tiktok-api.md §3.1).

TikTok's rules say "MB" without saying whether that is 10^6 or 2^20 bytes, and multi-chunk plans
that bend the rules have been refused in production since 2026-08 (post-for-me #327). The
emulator therefore accepts exactly the plans that are valid under *both* readings and refuses
everything else with 400 ``invalid_params`` "The chunk size is invalid":

- **Whole upload:** ``total_chunk_count == 1`` and ``chunk_size == video_size`` with
  ``1 <= video_size <= 64_000_000``. This is the only way to send a video under 5 MiB, and a
  whole upload above 64,000,000 bytes is refused (64 MiB would be fine under one reading only).
- **Chunked upload:** ``5_242_880 <= chunk_size <= 64_000_000``,
  ``total_chunk_count == video_size // chunk_size`` (floor, never ceil), ``1 <= count <= 1000``,
  and the final chunk, ``video_size - chunk_size * (count - 1)``, is under 128,000,000 bytes.
  Every chunk but the last is exactly ``chunk_size``; the last absorbs the trailing bytes.

So the official example (50,000,123 bytes, 10,000,000-byte chunks, 5 chunks) passes, and a
"balanced" plan such as 75,064,653 bytes in 2 chunks of 37,532,327 (floor gives 1) fails. A
chunked plan with one chunk (``count == 1``, ``chunk_size < video_size``, e.g. 6,000,000 bytes
as one 5,242,880 chunk) follows the written rules and is accepted.
"""

from __future__ import annotations

MIN_CHUNK_SIZE = 5 * 1024 * 1024
MAX_CHUNK_SIZE = 64_000_000
MAX_WHOLE_UPLOAD = 64_000_000
MAX_FINAL_CHUNK = 128_000_000
MAX_CHUNK_COUNT = 1000


def chunk_plan_problem(video_size: int, chunk_size: int, total_chunk_count: int) -> str | None:
    """Why the plan is refused, or None when TikTok accepts it under both readings of "MB"."""
    if video_size < 1:
        return "video_size must be at least 1 byte"
    if total_chunk_count == 1 and chunk_size == video_size:
        if video_size > MAX_WHOLE_UPLOAD:
            return f"a whole upload may hold at most {MAX_WHOLE_UPLOAD} bytes; split it into chunks"
        return None
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        return f"chunk_size must lie in [{MIN_CHUNK_SIZE}, {MAX_CHUNK_SIZE}] unless the video is sent whole"
    expected = video_size // chunk_size
    if total_chunk_count != expected:
        return f"total_chunk_count must be video_size // chunk_size = {expected}"
    if not 1 <= total_chunk_count <= MAX_CHUNK_COUNT:
        return f"total_chunk_count must lie in [1, {MAX_CHUNK_COUNT}]"
    final = video_size - chunk_size * (total_chunk_count - 1)
    if final >= MAX_FINAL_CHUNK:
        return f"the final chunk ({final} bytes) must be under {MAX_FINAL_CHUNK} bytes"
    return None
