"""The FILE_UPLOAD chunk plan: TikTok's worked example, the boundaries, and properties over all sizes."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from crosspost.plugins.tiktok.chunks import (
    DEFAULT_CHUNK_SIZE,
    LAST_CHUNK_LIMIT,
    MAX_CHUNK_SIZE,
    MAX_CHUNKS,
    MAX_PLANNABLE_SIZE,
    MIN_CHUNK_SIZE,
    WHOLE_UPLOAD_MAX,
    Chunk,
    ChunkPlan,
    plan_chunks,
    plan_problems,
)

GiB = 1024**3
MiB = 1024**2


def test_official_worked_example_gives_five_chunks_with_the_remainder_in_the_last():
    plan = ChunkPlan.with_chunk_size(50_000_123, 10_000_000)
    assert plan.total_chunk_count == 5
    assert [plan.content_range(i) for i in range(5)] == [
        "bytes 0-9999999/50000123",
        "bytes 10000000-19999999/50000123",
        "bytes 20000000-29999999/50000123",
        "bytes 30000000-39999999/50000123",
        "bytes 40000000-50000122/50000123",
    ]
    assert [c.length for c in plan.chunks()] == [10_000_000] * 4 + [10_000_123]
    assert plan.source_fields() == {"video_size": 50_000_123, "chunk_size": 10_000_000, "total_chunk_count": 5}


def test_official_whole_upload_example_is_one_chunk():
    plan = plan_chunks(4_194_304)
    assert (plan.chunk_size, plan.total_chunk_count) == (4_194_304, 1)
    assert plan.content_range(0) == "bytes 0-4194303/4194304"


@pytest.mark.parametrize("size", [1, 5 * MiB - 1, 5 * MiB, 5_000_000, 10_000_000, 63_999_999, 64_000_000])
def test_video_up_to_64_000_000_bytes_is_uploaded_whole(size):
    plan = plan_chunks(size)
    assert plan.chunks() == (Chunk(index=0, first_byte=0, last_byte=size - 1, length=size),)
    assert plan.chunk_size == size


@pytest.mark.parametrize("size", [64_000_001, 64 * MiB, 70 * MiB, 128 * MiB + 1, 4 * GiB, 10 * GiB])
def test_video_over_64_000_000_bytes_is_split_in_at_least_two_chunks(size):
    plan = plan_chunks(size)
    assert plan.total_chunk_count >= 2
    assert MIN_CHUNK_SIZE <= plan.chunk_size <= MAX_CHUNK_SIZE


def test_default_chunk_size_is_32_mib_and_inside_both_readings_of_mb():
    assert 32 * MiB == DEFAULT_CHUNK_SIZE
    assert 5 * MiB <= DEFAULT_CHUNK_SIZE <= 64_000_000
    assert plan_chunks(4 * GiB).total_chunk_count == 128


def test_just_over_64_000_000_lowers_the_chunk_to_half_the_video():
    plan = plan_chunks(64_000_001)
    assert plan.chunk_size == 32_000_000
    assert [c.length for c in plan.chunks()] == [32_000_000, 32_000_001]


def test_huge_video_raises_the_chunk_size_to_stay_within_1000_chunks():
    plan = plan_chunks(50 * 10**9, preferred_chunk_size=MIN_CHUNK_SIZE)
    assert plan.total_chunk_count <= MAX_CHUNKS
    assert plan.chunk(plan.total_chunk_count - 1).length < LAST_CHUNK_LIMIT


def test_largest_plannable_video_uses_1000_chunks_of_64_000_000():
    plan = plan_chunks(MAX_PLANNABLE_SIZE)
    assert (plan.chunk_size, plan.total_chunk_count) == (MAX_CHUNK_SIZE, MAX_CHUNKS)
    assert plan.chunk(999).length == LAST_CHUNK_LIMIT - 1


def test_video_beyond_1000_chunks_of_64_000_000_is_refused():
    with pytest.raises(ValueError, match="too large"):
        plan_chunks(MAX_PLANNABLE_SIZE + 1)


def test_empty_video_is_refused():
    with pytest.raises(ValueError, match="empty"):
        plan_chunks(0)


@pytest.mark.parametrize("preferred", [MIN_CHUNK_SIZE - 1, MAX_CHUNK_SIZE + 1, 0])
def test_preferred_chunk_size_outside_5_mib_to_64_000_000_is_refused_naming_the_range(preferred):
    with pytest.raises(ValueError, match=r"between 5242880 .* and 64000000"):
        plan_chunks(100 * MiB, preferred_chunk_size=preferred)


@pytest.mark.parametrize(
    ("size", "chunk", "count", "fragment"),
    [
        (75_064_653, 37_532_327, 2, "total_chunk_count must be video_size // chunk_size = 1"),  # postiz's balanced plan
        (100_000_000, 100_000_000, 1, "must be sent in several chunks"),
        (50_000_000, 10_000_000, 1, "must be video_size // chunk_size"),
        (20_000_000, 4_000_000, 5, "chunk_size must be between"),
        (200_000_000, 66_000_000, 3, "chunk_size must be between"),
        (1000 * 5 * MiB + 1, 5 * MiB, 1000, ""),
        (1001 * 5 * MiB, 5 * MiB, 1001, "at most 1000 chunks"),
    ],
)
def test_plan_problems_names_each_broken_rule(size, chunk, count, fragment):
    problems = plan_problems(size, chunk, count)
    if fragment:
        assert any(fragment in p for p in problems), problems
        with pytest.raises(ValueError, match="invalid chunk plan"):
            ChunkPlan(video_size=size, chunk_size=chunk, total_chunk_count=count)
    else:
        assert problems == []


def test_chunk_starting_at_resumes_on_a_boundary_only():
    plan = ChunkPlan.with_chunk_size(50_000_123, 10_000_000)
    assert plan.chunk_starting_at(0) == plan.chunk(0)
    assert plan.chunk_starting_at(40_000_000) == plan.chunk(4)
    assert plan.chunk_starting_at(50_000_123) is None
    with pytest.raises(ValueError, match="not the start of a chunk"):
        plan.chunk_starting_at(50_000_000)
    with pytest.raises(ValueError, match="not the start of a chunk"):
        plan.chunk_starting_at(123)


def test_chunk_index_outside_the_plan_raises():
    with pytest.raises(IndexError):
        plan_chunks(10).chunk(1)


sizes = st.one_of(
    st.integers(min_value=1, max_value=MAX_PLANNABLE_SIZE),
    st.integers(min_value=1, max_value=5 * GiB),
    st.sampled_from([WHOLE_UPLOAD_MAX, WHOLE_UPLOAD_MAX + 1, 4 * GiB, 4 * GiB + 1, 128_000_000, 2 * MAX_CHUNK_SIZE]),
)
preferred_sizes = st.integers(min_value=MIN_CHUNK_SIZE, max_value=MAX_CHUNK_SIZE)


@given(size=sizes, preferred=preferred_sizes)
@example(size=MAX_PLANNABLE_SIZE, preferred=MIN_CHUNK_SIZE)
@example(size=WHOLE_UPLOAD_MAX + 1, preferred=MAX_CHUNK_SIZE)
def test_every_plan_follows_tiktoks_rules(size, preferred):
    plan = plan_chunks(size, preferred_chunk_size=preferred)
    chunks = plan.chunks()
    assert plan_problems(plan.video_size, plan.chunk_size, plan.total_chunk_count) == []
    assert plan.total_chunk_count == size // plan.chunk_size == len(chunks)
    assert 1 <= len(chunks) <= MAX_CHUNKS
    # contiguous, in order, covering every byte exactly once
    assert chunks[0].first_byte == 0
    assert chunks[-1].last_byte == size - 1
    assert all(a.last_byte + 1 == b.first_byte for a, b in itertools.pairwise(chunks))
    assert sum(c.length for c in chunks) == size
    assert all(c.length == c.last_byte - c.first_byte + 1 for c in chunks)
    if size <= WHOLE_UPLOAD_MAX:
        assert plan.chunk_size == size
        assert len(chunks) == 1
    else:
        assert len(chunks) >= 2
        assert MIN_CHUNK_SIZE <= plan.chunk_size <= MAX_CHUNK_SIZE
        assert all(c.length == plan.chunk_size for c in chunks[:-1])
        assert plan.chunk_size <= chunks[-1].length < min(2 * plan.chunk_size, LAST_CHUNK_LIMIT)
        assert plan.chunk_size <= max(preferred, size // (MAX_CHUNKS + 1) + 1)


@given(size=sizes, preferred=preferred_sizes)
def test_content_range_matches_each_chunk(size, preferred):
    plan = plan_chunks(size, preferred_chunk_size=preferred)
    last = plan.total_chunk_count - 1
    for index in {0, last // 2, last}:
        chunk = plan.chunk(index)
        assert plan.content_range(index) == f"bytes {chunk.first_byte}-{chunk.last_byte}/{size}"
        assert plan.chunk_starting_at(chunk.first_byte) == chunk


@given(size=st.integers(min_value=MAX_PLANNABLE_SIZE + 1, max_value=MAX_PLANNABLE_SIZE * 4))
def test_sizes_beyond_the_rules_always_raise(size):
    with pytest.raises(ValueError, match="too large"):
        plan_chunks(size)
