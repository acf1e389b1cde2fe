"""Run one benchmark several times and summarise each figure as median, min and max.

``python benchmarks/repeat.py --runs 5 benchmarks/upload_throughput.py [its arguments]`` runs
the script five times, one after the other, and prints one JSON line per figure with
``value`` (the median), ``min``, ``max``, ``runs`` and every value seen; ``--markdown`` prints
a table for ``BENCHMARKS.md`` instead. Figures are told apart by name and by the context that
names what was measured (size, post count, module), never by the measured numbers. The
1-minute load average before each run is printed too: other work on the machine moves every
figure here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import defaultdict
from typing import Any

from figures import emit, median

IDENTITY = ("bytes", "posts", "module", "from_posts", "to_posts", "backend", "workers")


def run_once(script: str, args: list[str]) -> list[dict[str, Any]]:
    done = subprocess.run([sys.executable, script, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{script} failed: {done.stderr.strip()[-800:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def key_of(line: dict[str, Any]) -> tuple[Any, ...]:
    return (line["benchmark"], line["figure"], *(json.dumps(line.get(k)) for k in IDENTITY))


def summarise(runs: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    grouped: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for lines in runs:
        for line in lines:
            grouped[key_of(line)].append(line)
    summary = []
    for lines in grouped.values():
        values = [line["value"] for line in lines if isinstance(line["value"], (int, float))]
        first = lines[0]
        named = {k: first[k] for k in IDENTITY if k in first}
        summary.append({"benchmark": first["benchmark"], "figure": first["figure"], "unit": first["unit"],
                        "value": median(values) if values else None, "min": min(values, default=None),
                        "max": max(values, default=None), "runs": len(values), "values": values, **named})
    return summary


def markdown(summary: list[dict[str, Any]]) -> str:
    rows = ["| figure | context | median | min to max | runs |", "|---|---|---|---|---|"]
    for item in summary:
        context = ", ".join(f"{k}={item[k]}" for k in IDENTITY if k in item)
        if item["value"] is None:
            rows.append(f"| {item['figure']} | {context} | n/a | | 0 |")
            continue
        rows.append(f"| {item['figure']} | {context} | {_fmt(item['value'])} {item['unit']} | "
                    f"{_fmt(item['min'])} to {_fmt(item['max'])} | {item['runs']} |")
    return "\n".join(rows)


def _fmt(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description="Median, min and max of a benchmark's figures over several runs.")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table instead of JSON lines")
    parser.add_argument("script")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    runs, loads = [], []
    for _ in range(args.runs):
        loads.append(os.getloadavg()[0])
        runs.append(run_once(args.script, args.args))
    summary = summarise(runs)
    if args.markdown:
        print(markdown(summary))
        print(f"\nload average (1 min) before each run: {', '.join(f'{x:.2f}' for x in loads)}")
        return
    for item in summary:
        emit(item.pop("benchmark"), item.pop("figure"), item.pop("value"), item.pop("unit"), **item)
    emit("repeat", "load_average_1m", median(loads), "load", min=min(loads), max=max(loads), runs=len(loads),
         script=args.script)


if __name__ == "__main__":
    main()
