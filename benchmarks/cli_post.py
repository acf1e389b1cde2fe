"""`crosspost post` of one large video as users run it: the CLI process, end to end, against curl.

Per round, against a fresh TikTok emulator in its own process (``emulator_process.py``):

``crosspost``  ``crosspost accounts add`` (not timed), then the timed command
               ``crosspost --json post --to tiktok:main --video V --privacy SELF_ONLY
               --no-allow-comment --no-allow-duet --no-allow-stitch`` in a child process. Its
               peak RSS is its own ``VmHWM`` at exit (``peak_rss.py`` runs the console script in
               the measured process: ``ru_maxrss`` would include this benchmark's own memory,
               inherited through vfork), its CPU comes from ``wait4``'s rusage. From the
               emulator's request log (each request's start time):
               ``first_request_s`` (the command's first request: start-up, imports, settings,
               storage, the first byte on the wire), ``upload_start_s`` (the first chunk PUT) and
               ``upload_done_s`` (the first status poll after the last chunk PUT: the platform
               polls as soon as the last chunk is acknowledged).
``curl``       the same protocol by hand: one init request (Python's ``urllib``, timed), then one
               curl process sending the same chunk plan (``-T`` per chunk file, split beforehand:
               curl's best case), timed from curl's start to its exit.

Ratios: ``end_to_end_vs_curl`` = (curl init + curl upload) / crosspost's start-to-upload-done
(≥ 0.9 is the target), ``cpu_vs_curl`` = crosspost child CPU / curl CPU. The video is a valid
MP4 padded with pseudo-random bytes (``--size-mib``, default 1024; ``--quick`` 48), read once
before each round so that both senders read a warm page cache (curl's chunk files were just
written). Never asserts on speed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from emulator_process import EmulatorProcess
from figures import emit, median
from upload_throughput import send_curl, split_chunks
from uploads import MIB, file_crc32, plan_for, prepare_video

NAME = "cli_post"
HERE = Path(__file__).resolve().parent
TARGET_VS_CURL = 0.9
TARGET_FIRST_BYTE_S = 0.3


def cli(*args: str) -> list[str]:
    """The ``crosspost`` console script beside this interpreter (as a user's venv has it)."""
    exe = Path(sys.executable).with_name("crosspost")
    return [str(exe) if exe.exists() else shutil.which("crosspost") or "crosspost", *args]


def run_crosspost(video: Path, folder: Path) -> dict[str, Any]:
    from crosspost.core.secrets import generate_key

    with EmulatorProcess(1) as emulator:
        info = emulator.info
        creator = info["creators"][0]
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("CROSSPOST_")},
               "CROSSPOST_DB": str(folder / "crosspost.db"), "CROSSPOST_DATA_DIR": str(folder),
               "CROSSPOST_SECRET_KEY": generate_key(), "CROSSPOST_TIKTOK_API_BASE": info["base_url"],
               "CROSSPOST_TIKTOK_CLIENT_KEY": info["client_key"],
               "CROSSPOST_TIKTOK_CLIENT_SECRET": info["client_secret"]}
        subprocess.run(cli("--json", "accounts", "add", "tiktok", "main", "--access-token",
                           creator["access_token"], "--refresh-token", creator["refresh_token"]),
                       env=env, check=True, capture_output=True)
        started = time.time()
        peak_file = folder / "peak_rss_kib"
        command = cli("--json", "post", "--to", "tiktok:main", "--video", str(video),
                      "--privacy", "SELF_ONLY", "--no-allow-comment", "--no-allow-duet", "--no-allow-stitch")
        proc = subprocess.Popen([sys.executable, str(HERE / "peak_rss.py"), str(peak_file), *command],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.time() - started
        out = proc.stdout.read().decode() if proc.stdout else ""
        err = proc.stderr.read().decode() if proc.stderr else ""
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"crosspost post failed ({proc.returncode}): {err[-800:]} {out[-400:]}")
    asked = emulator.final["asked_at"]
    mine = sorted(t for times in asked.values() for t in times if t >= started)
    puts = [t for t in asked["upload_put"] if t >= started]
    done = min(t for t in asked["status"] if t >= max(puts))
    return {
        "wall_s": wall, "peak_rss_mib": int(peak_file.read_text()) / 1024, "cpu_s": usage.ru_utime + usage.ru_stime,
        "first_request_s": mine[0] - started, "upload_start_s": puts[0] - started,
        "upload_done_s": done - started, "status": json.loads(out)["status"],
    }


def run_curl(curl: str, video: Path, folder: Path) -> dict[str, Any]:
    plan = plan_for(video.stat().st_size)
    files = split_chunks(video, plan, folder)
    try:
        with EmulatorProcess(1) as emulator:
            info = emulator.info
            body = {"post_info": {"title": "benchmark", "privacy_level": "SELF_ONLY", "disable_comment": True,
                                  "disable_duet": True, "disable_stitch": True},
                    "source_info": {"source": "FILE_UPLOAD", "video_size": plan.video_size,
                                    "chunk_size": plan.chunk_size, "total_chunk_count": plan.total_chunk_count}}
            request = urllib.request.Request(
                info["base_url"] + "/v2/post/publish/video/init/", data=json.dumps(body).encode(), method="POST",
                headers={"Authorization": f"Bearer {info['creators'][0]['access_token']}",
                         "Content-Type": "application/json; charset=UTF-8"})
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=30) as answer:  # loopback emulator only
                upload_url = json.loads(answer.read())["data"]["upload_url"]
            init_s = time.perf_counter() - started
            # curl -T appends the file's name to a URL whose path ends in "/": use the emulator's
            # equivalent route without the slash.
            _, upload_wall, cpu = send_curl(curl, upload_url.replace("/upload/?", "/upload?"), plan, files)
    finally:
        for file in files:
            file.unlink()
    return {"wall_s": init_s + upload_wall, "init_s": init_s, "upload_s": upload_wall, "cpu_s": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description="`crosspost post` of a large video vs curl, end to end.")
    parser.add_argument("--quick", action="store_true", help="a 48 MiB video, one round")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    size = (48 if args.quick else args.size_mib) * MIB
    rounds = 1 if args.quick else args.rounds
    curl = shutil.which("curl")
    ours: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="crosspost-bench-") as tmp:
        folder = Path(tmp)
        video = folder / "video.mp4"
        prepare_video(video, size, fill=True)  # real bytes, and in the page cache like curl's chunk files
        for index in range(rounds):
            workdir = folder / f"round{index}"
            workdir.mkdir()
            file_crc32(video)  # warm again: both senders read the same hot page cache
            ours.append(run_crosspost(video, workdir))
            if curl:
                theirs.append(run_curl(curl, video, workdir))
    common = {"size_mib": size / MIB, "rounds": rounds}
    for key, unit in (("wall_s", "s"), ("upload_done_s", "s"), ("cpu_s", "s"), ("peak_rss_mib", "MiB"),
                      ("first_request_s", "s"), ("upload_start_s", "s")):
        values = [r[key] for r in ours]
        extra: dict[str, Any] = {}
        if key == "first_request_s":
            extra = {"target": TARGET_FIRST_BYTE_S, "within_target": median(values) <= TARGET_FIRST_BYTE_S}
        emit(NAME, f"crosspost_{key}", median(values), unit, min=min(values), max=max(values), **common, **extra)
    if not theirs:
        emit(NAME, "end_to_end_vs_curl", None, "ratio", note="curl is not installed", **common)
        return
    emit(NAME, "curl_wall_s", median([r["wall_s"] for r in theirs]), "s", **common)
    ratios = [c["wall_s"] / o["upload_done_s"] for o, c in zip(ours, theirs, strict=True)]
    emit(NAME, "end_to_end_vs_curl", median(ratios), "ratio", min=min(ratios), max=max(ratios),
         target=TARGET_VS_CURL, within_target=median(ratios) >= TARGET_VS_CURL, **common,
         note="(curl init + upload) / crosspost start-to-last-chunk-acknowledged; >= 0.9 is the target")
    cpu = [o["cpu_s"] / c["cpu_s"] for o, c in zip(ours, theirs, strict=True) if c["cpu_s"] > 0]
    emit(NAME, "cpu_vs_curl", median(cpu) if cpu else None, "ratio", **common,
         note="whole crosspost process CPU (start-up, validation, storage, upload) / curl's")


if __name__ == "__main__":
    main()
