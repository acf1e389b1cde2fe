"""Print where a profiled crosspost client spent its CPU, grouped the way the engine is split.

``python benchmarks/engine_overhead.py --posts 200 --accounts 10 --profile /tmp/engine.prof``
writes the profile; this script prints the top functions by own time and by cumulative time,
and the share of total time spent under each crosspost package (engine, storage, the TikTok
plugin, convert, media) and in the libraries below them (aiosqlite, sqlite3, aiohttp, cattrs,
json, logging), so a change can be judged by the share it removes.
"""

from __future__ import annotations

import argparse
import pstats
from collections import Counter

GROUPS = (
    ("crosspost engine", "/core/engine/"),
    ("crosspost storage", "/storage/"),
    ("crosspost hub", "/core/hub.py"),
    ("crosspost convert", "/core/convert.py"),
    ("crosspost media", "/core/media/"),
    ("crosspost secrets", "/core/secrets.py"),
    ("crosspost tiktok plugin", "/plugins/tiktok/"),
    ("aiosqlite", "aiosqlite"),
    ("asyncpg", "asyncpg"),
    ("aiohttp", "aiohttp"),
    ("cattrs", "cattrs"),
    ("json", "/json/"),
    ("logging", "/logging/"),
    ("asyncio", "/asyncio/"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    stats = pstats.Stats(args.profile)
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_, _, tt, _, _) in raw.values())
    own: Counter[str] = Counter()
    for (filename, _, _), (_, _, tt, _, _) in raw.items():
        group = next((name for name, part in GROUPS if part in filename), "other")
        own[group] += tt
    print(f"total own time {total:.3f} s; share by where the time was spent (own time):")
    for group, seconds in own.most_common():
        print(f"  {group:26s} {seconds:8.3f} s  {100 * seconds / total:5.1f} %")
    print()
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
