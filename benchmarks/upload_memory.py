"""Upload memory: peak RSS of a process uploading 100 MiB, 1 GiB and 4 GiB videos with crosspost.

Each size is uploaded by a fresh child process (this script with ``--child``) that imports
crosspost's uploader, sends the video to the sink server (``sink_server.py``) with TikTok's chunk
plan, and reports its ``VmHWM`` (peak resident set) from ``/proc/self/status`` (``ru_maxrss``
where there is no ``/proc``). The videos are valid MP4s padded sparsely (``make_video(pad_to=)``):
where the bytes come from does not change what the process holds.

The figure that matters is the growth of the peak from the smallest to the largest video: the
uploader streams 4 MiB reads, so the target is that it stays under one chunk (32 MiB) + 16 MiB.
``--quick`` uses 8 MiB and 80 MiB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from figures import emit
from sink_server import SinkProcess
from uploads import GIB, MIB, plan_for, prepare_video, run_crosspost_upload

NAME = "upload_memory"
SIZES = (100 * MIB, GIB, 4 * GIB)
QUICK_SIZES = (8 * MIB, 80 * MIB)
SLACK = 16 * MIB


def memory_kib(field: str) -> int | None:
    """``VmHWM`` / ``VmRSS`` of this process in KiB, or None without ``/proc``."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def child(path: Path, url: str) -> None:
    """Upload ``path`` to ``url`` and print this process's memory figures as one JSON object."""
    import aiohttp  # noqa: F401 - loaded before the baseline, as the uploader needs it anyway

    baseline = memory_kib("VmRSS")
    seconds = run_crosspost_upload(path, url, plan_for(path.stat().st_size))
    peak = memory_kib("VmHWM")
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"peak_kib": peak, "baseline_kib": baseline, "seconds": seconds}))


def measure(size: int, folder: Path, sink: SinkProcess) -> dict[str, float]:
    video = folder / f"video-{size}.mp4"
    prepare_video(video, size, fill=False)
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(video), sink.upload_url(f"memory-{size}")],
            capture_output=True, text=True, check=False)
    finally:
        video.unlink()
    if done.returncode != 0:
        raise RuntimeError(f"the upload child failed: {done.stderr.strip()[-500:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description="Peak RSS of crosspost's uploader by video size.")
    parser.add_argument("--quick", action="store_true", help="8 MiB and 80 MiB instead of 100 MiB, 1 GiB, 4 GiB")
    parser.add_argument("--sizes", help="comma-separated sizes in MiB (default 100,1024,4096)")
    parser.add_argument("--child", nargs=2, metavar=("PATH", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), args.child[1])
        return
    sizes = tuple(int(s) * MIB for s in args.sizes.split(",")) if args.sizes else (
        QUICK_SIZES if args.quick else SIZES)
    peaks: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="crosspost-bench-") as tmp, SinkProcess() as sink:
        for size in sizes:
            result = measure(size, Path(tmp), sink)
            seen = sink.get(f"/uploads/memory-{size}")
            peaks[size] = result["peak_kib"] / 1024
            emit(NAME, "peak_rss_mib", peaks[size], "MiB", bytes=size, size_mib=size / MIB,
                 baseline_rss_mib=result["baseline_kib"] / 1024, seconds=result["seconds"],
                 chunks=plan_for(size).total_chunk_count, complete=seen["received"] == size)
    smallest, largest = min(sizes), max(sizes)
    chunk = plan_for(largest).chunk_size
    limit = (chunk + SLACK) / MIB
    growth = peaks[largest] - peaks[smallest]
    emit(NAME, "peak_rss_growth_mib", growth, "MiB", from_mib=smallest / MIB, to_mib=largest / MIB,
         limit_mib=limit, within_limit=growth < limit, note="target: growth < one chunk + 16 MiB")


if __name__ == "__main__":
    main()
