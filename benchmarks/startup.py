"""Start-up: wall time of ``crosspost --help`` and what ``import crosspost.core`` spends its time on.

``crosspost --help`` is run ``RUNS`` times (after one unmeasured warm-up, so the figures are
for warm file-system caches, as a user typing commands sees) through the installed console
script beside this Python; the figure is the median with min and max. Then
``python -X importtime -c "import crosspost.core"`` is run once more and its ``TOP`` slowest
imports (cumulative time, which includes what they import) are printed, one line each.
Target: ``--help`` under 300 ms on this machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from figures import emit, median

NAME = "startup"
RUNS = 15
QUICK_RUNS = 3
TOP = 12
TARGET_MS = 300.0


def console_script() -> list[str]:
    """The installed ``crosspost`` command next to this interpreter (else ``python -m``-style)."""
    beside = Path(sys.executable).with_name("crosspost")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("crosspost")
    if found:
        return [found]
    return [sys.executable, "-c", "from crosspost.core.cli import main; main()"]


def clean_env() -> dict[str, str]:
    """The environment without ``CROSSPOST_*`` settings (a user's own must not change the figure)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CROSSPOST_")}


def help_times(runs: int) -> list[float]:
    command = [*console_script(), "--help"]
    env = clean_env()
    subprocess.run(command, capture_output=True, check=True, env=env)  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, env=env)
        times.append((time.perf_counter() - started) * 1000)
    return times


def python_baseline(runs: int) -> float:
    """Median wall time of a bare ``python -c pass`` (the floor under any Python command)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], capture_output=True, check=True)
        times.append((time.perf_counter() - started) * 1000)
    return median(times)


def import_times(module: str) -> list[tuple[str, int, int]]:
    """``(module, self µs, cumulative µs)`` for every import ``-X importtime`` reports."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                          capture_output=True, text=True, check=True, env=clean_env())
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_us, cumulative_us, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        rows.append((name, int(self_us), int(cumulative_us)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description="crosspost --help wall time and import-time breakdown.")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_RUNS} runs instead of {RUNS}")
    parser.add_argument("--runs", type=int, help=f"how many timed runs of --help (default {RUNS})")
    args = parser.parse_args()
    runs = args.runs or (QUICK_RUNS if args.quick else RUNS)
    times = help_times(runs)
    emit(NAME, "help_wall_ms", median(times), "ms", runs=runs, min=min(times), max=max(times), target=TARGET_MS,
         within_target=median(times) < TARGET_MS, command=" ".join([Path(console_script()[0]).name, "--help"]))
    emit(NAME, "python_bare_ms", python_baseline(runs), "ms", runs=runs,
         note="python -c pass: the interpreter's own start-up, included in every figure above")
    rows = import_times("crosspost.core")
    total = next((cumulative for module, _, cumulative in rows if module == "crosspost.core"), None)
    emit(NAME, "import_core_ms", None if total is None else total / 1000, "ms", modules=len(rows),
         note='python -X importtime -c "import crosspost.core": its cumulative time')
    for rank, (module, self_us, cumulative_us) in enumerate(sorted(rows, key=lambda r: -r[2])[:TOP], start=1):
        emit(NAME, "import_top_ms", cumulative_us / 1000, "ms", rank=rank, module=module, self_ms=self_us / 1000)


if __name__ == "__main__":
    main()
