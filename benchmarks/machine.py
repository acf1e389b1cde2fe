"""The machine the figures come from: cores, memory, load, Python and the libraries that matter.

Prints one JSON line (``figure: cores``) with the rest as context, so a file of benchmark output
says where it was taken. ``--quick`` is accepted (and changes nothing) so ``run_all.sh`` can
pass its arguments to every script.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
from importlib import metadata

from figures import emit

PACKAGES = ("crosspost", "aiohttp", "aiosqlite", "attrs", "cattrs", "pluggy", "click", "rich", "av", "requests")


def version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def curl_version() -> str | None:
    curl = shutil.which("curl")
    if curl is None:
        return None
    done = subprocess.run([curl, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.split("\n", 1)[0] or None


def memory_gib() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description="Where the figures come from.")
    parser.add_argument("--quick", action="store_true", help="accepted for run_all.sh; changes nothing")
    parser.parse_args()
    emit("machine", "cores", os.cpu_count(), "cores", load_average_1m=os.getloadavg()[0], memory_gib=memory_gib(),
         system=f"{platform.system()} {platform.release()} {platform.machine()}", processor=platform.processor(),
         python=sys.version.split()[0], sqlite=sqlite3.sqlite_version, curl=curl_version(),
         packages={name: version(name) for name in PACKAGES})


if __name__ == "__main__":
    main()
