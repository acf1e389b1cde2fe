"""Start-up: wall time of ``crosspost --help`` and what ``import crosspost.core`` spends its time on.

Three commands are timed ``RUNS`` times each, interleaved round by round (so a busy moment on
the machine hits all three alike), after one unmeasured warm-up each (warm file-system caches,
as a user typing commands sees), through the installed console script beside this Python:

* ``help_wall_ms``: ``crosspost --help`` with a warm command index (the cache every run after
  the first uses; kept in a temporary ``XDG_CACHE_HOME`` of this run's own);
* ``help_cold_ms``: ``crosspost --help`` with ``CROSSPOST_NO_COMMAND_CACHE=1``, the full build
  (every plugin and command module imported), which is also what the first run pays;
* ``python_bare_ms``: ``python -c pass``, the interpreter's own start-up.

Each figure is the median with min and max; ``help_ratio`` and ``help_cold_ratio`` divide the
two ``--help`` medians by ``python -c pass``'s from the same run. Then
``python -X importtime -c "import crosspost.core"`` is run once more and its ``TOP`` slowest
imports (cumulative time, which includes what they import) are printed, one line each.
Targets: ``--help`` under 300 ms on this machine, and at most 2.5x ``python -c pass`` (issue 18).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from figures import emit, median

NAME = "startup"
RUNS = 15
QUICK_RUNS = 3
TOP = 12
TARGET_MS = 300.0
TARGET_RATIO = 2.5


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


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True, env=env)
    return (time.perf_counter() - started) * 1000


def startup_times(runs: int, cache_home: str) -> dict[str, list[float]]:
    """Wall times (ms) of warm ``--help``, cold ``--help`` and ``python -c pass``, interleaved."""
    help_command = [*console_script(), "--help"]
    warm_env = {**clean_env(), "XDG_CACHE_HOME": cache_home}
    cold_env = {**warm_env, "CROSSPOST_NO_COMMAND_CACHE": "1"}
    commands = {"warm": (help_command, warm_env), "cold": (help_command, cold_env),
                "bare": ([sys.executable, "-c", "pass"], None)}
    for command, env in commands.values():
        timed(command, env)  # warm-up; for "warm", this one writes the command index
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (command, env) in commands.items():
            times[name].append(timed(command, env))
    return times


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
    with tempfile.TemporaryDirectory(prefix="crosspost-startup-cache-") as cache_home:
        times = startup_times(runs, cache_home)
    warm, cold, bare = median(times["warm"]), median(times["cold"]), median(times["bare"])
    command = " ".join([Path(console_script()[0]).name, "--help"])
    emit(NAME, "help_wall_ms", warm, "ms", runs=runs, min=min(times["warm"]), max=max(times["warm"]),
         target=TARGET_MS, within_target=warm < TARGET_MS, command=command, cache="warm",
         note="the command index cached by an earlier run (every run after the first)")
    emit(NAME, "help_cold_ms", cold, "ms", runs=runs, min=min(times["cold"]), max=max(times["cold"]),
         command=f"CROSSPOST_NO_COMMAND_CACHE=1 {command}", cache="off",
         note="the full build: every plugin and command module imported (what the first run pays)")
    emit(NAME, "python_bare_ms", bare, "ms", runs=runs, min=min(times["bare"]), max=max(times["bare"]),
         note="python -c pass: the interpreter's own start-up, included in every figure above")
    emit(NAME, "help_ratio", warm / bare, "x", target=TARGET_RATIO, within_target=warm / bare <= TARGET_RATIO,
         note="help_wall_ms / python_bare_ms, medians of the same run")
    emit(NAME, "help_cold_ratio", cold / bare, "x", note="help_cold_ms / python_bare_ms, medians of the same run")
    rows = import_times("crosspost.core")
    total = next((cumulative for module, _, cumulative in rows if module == "crosspost.core"), None)
    emit(NAME, "import_core_ms", None if total is None else total / 1000, "ms", modules=len(rows),
         note='python -X importtime -c "import crosspost.core": its cumulative time')
    for rank, (module, self_us, cumulative_us) in enumerate(sorted(rows, key=lambda r: -r[2])[:TOP], start=1):
        emit(NAME, "import_top_ms", cumulative_us / 1000, "ms", rank=rank, module=module, self_ms=self_us / 1000)


if __name__ == "__main__":
    main()
