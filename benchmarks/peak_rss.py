"""Run a console script in this process and write its peak RSS (VmHWM, KiB) to a file at exit.

Why not ``ru_maxrss`` from ``wait4``: Linux carries the high-water mark of the address space a
child had before ``exec`` into it, and ``subprocess`` starts children with vfork, i.e. in the
parent's address space. A benchmark that holds 180 MiB would report 180 MiB for every child.
``VmHWM`` belongs to the process's own address space, which starts fresh at exec.

Usage: ``python peak_rss.py OUT SCRIPT [ARGS...]`` (SCRIPT: a console script file, e.g. the
``crosspost`` beside the interpreter).
"""

from __future__ import annotations

import atexit
import runpy
import sys
from pathlib import Path


def peak_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    out, script, *args = sys.argv[1:]
    atexit.register(lambda: Path(out).write_text(str(peak_kib())))
    sys.argv = [script, *args]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
