"""A pooled PostgreSQL statement: crosspost's pool vs asyncpg's default pool vs a bare connection.

Each round times ``--statements`` ``SELECT 1`` calls, one at a time, through (a) the pool of
``crosspost.storage.postgres.connect`` (as the backend uses it: ``pool.fetchval``, acquire and
release per call), (b) the same pool built with asyncpg's default reset (``RESET ALL`` and
friends on every release: what the backend did before) and (c) one plain connection. Rounds
alternate the three; the figures are medians over ``--rounds`` of microseconds per statement,
and each pool's ratio to the plain connection measured in the same run.
Needs ``--postgres`` or ``CROSSPOST_TEST_POSTGRES``; prints a null figure with a note otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from figures import emit

NAME = "postgres_pool"


async def timed(call: Callable[[], Awaitable[Any]], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        await call()
    return (time.perf_counter() - start) / n * 1e6


async def measure(url: str, statements: int, rounds: int) -> dict[str, list[float]]:
    import asyncpg

    from crosspost.storage.postgres import connect
    from crosspost.storage.postgres.rows import init_connection

    storage = await connect(url, migrate=False, pool_size=2)
    default = await asyncpg.create_pool(url, min_size=1, max_size=2, init=init_connection)
    plain = await asyncpg.connect(url)
    figures: dict[str, list[float]] = {"crosspost_pool": [], "default_reset_pool": [], "plain_connection": []}
    try:
        calls = {"crosspost_pool": lambda: storage._pool.fetchval("SELECT 1"),
                 "default_reset_pool": lambda: default.fetchval("SELECT 1"),
                 "plain_connection": lambda: plain.fetchval("SELECT 1")}
        for call in calls.values():
            await timed(call, 50)  # warm: prepared statements, connections open
        for _ in range(rounds):
            for name, call in calls.items():
                figures[name].append(await timed(call, statements))
    finally:
        await plain.close()
        await default.close()
        await storage.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("CROSSPOST_TEST_POSTGRES"))
    parser.add_argument("--statements", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    statements, rounds = (200, 2) if args.quick else (args.statements, args.rounds)
    if not args.postgres:
        emit(NAME, "crosspost_pool_us_per_statement", None, "us",
             note="no PostgreSQL: pass --postgres URL or set CROSSPOST_TEST_POSTGRES")
        return
    figures = asyncio.run(measure(args.postgres, statements, rounds))
    plain = statistics.median(figures["plain_connection"])
    for name, values in figures.items():
        median = statistics.median(values)
        emit(NAME, f"{name}_us_per_statement", median, "us", min=min(values), max=max(values),
             statements=statements, rounds=rounds, ratio_to_plain=median / plain)


if __name__ == "__main__":
    main()
