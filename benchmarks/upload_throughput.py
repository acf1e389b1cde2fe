"""Upload throughput: crosspost's uploader against curl and a plain requests loop, same chunks.

A 1 GiB MP4 (``--quick``: 70 MB) is cut by TikTok's chunk plan as crosspost makes it
(32 MiB chunks, the remainder in the last) and sent over loopback to the sink server
(``sink_server.py``, its own process), which checks the ranges, CRCs every byte and answers
like TikTok. Four senders, one after the other, each to a fresh upload id:

``sink_alone``  a raw socket pushing the chunks from memory with ``sendall``: the most the sink
                can take (it shows the sink is not what limits the others);
``crosspost``   ``ChunkUploader`` reading the file 4 MiB at a time (what ``crosspost post`` runs);
``curl``        one curl process, one connection, one ``-T chunk-file`` transfer per chunk
                (``--next``), with the same ``Content-Range`` / ``Content-Type`` headers and
                ``Expect:`` turned off. The chunks are cut into files beforehand (not timed), so
                curl streams each from its own file with no range extraction: curl's best case.
                Its time is the sum of curl's own ``time_total`` (process start-up excluded);
``requests``    a ``requests.Session`` loop that seeks, reads each chunk into memory and PUTs it.

The file holds real bytes (not a hole) and is read once before the runs, so all senders read
the same warm page cache. First each sender (but the raw one) uploads once with the sink's
CRC-32 on, checked against the file's (``intact``; that upload's speed is ``with_checksum_mb_s``).
The timed uploads then go to the sink with the checksum off: on 2 cores a CRC-32 at 2.8 GB/s
makes the sink, not the sender, the bottleneck. ``sink_cpu_share`` (the sink's CPU seconds over
the upload's seconds) says how close to saturated the sink was.
Every sender runs once per round (``--rounds``, default 5; the order rotates each round); a
sender's figure is its median over the rounds, and a ratio is the median of the per-round
ratios, so a burst of other work on the machine hits both sides of a comparison alike.
Prints one JSON line per figure (``figures.py``); never asserts on speed.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import resource
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

from figures import emit, mb_per_s, median
from sink_server import SinkProcess
from uploads import CONTENT_TYPE, GIB, plan_for, prepare_video, run_crosspost_upload

from crosspost.plugins.tiktok.chunks import ChunkPlan

NAME = "upload_throughput"
QUICK_SIZE = 70_000_000
TARGET_VS_CURL = 0.9
TARGET_CPU_VS_CURL = 1.2
ROUNDS = 5


class Run:
    """One sender's upload: seconds on the wire, client CPU seconds, and what the sink saw."""

    def __init__(self, sender: str, seconds: float, client_cpu: float, sink_cpu: float, intact: bool | None) -> None:
        self.sender = sender
        self.seconds = seconds
        self.client_cpu = client_cpu
        self.sink_cpu = sink_cpu
        self.intact = intact


def measured(sender: str, sink: SinkProcess, upload_id: str, crc: int | None,
             send: Callable[[], tuple[float, float]]) -> Run:
    """Run ``send`` (returning wire seconds and client CPU seconds) and read the sink's side."""
    sink_cpu = sink.cpu_seconds()
    seconds, client_cpu = send()
    sink_cpu = sink.cpu_seconds() - sink_cpu
    seen = sink.get(f"/uploads/{upload_id}")
    intact = None if crc is None else (seen["received"] == seen["total"] and seen["crc32"] == crc)
    return Run(sender, seconds, client_cpu, sink_cpu, intact)


def in_process(action: Callable[[], float]) -> tuple[float, float]:
    cpu = time.process_time()
    seconds = action()
    return seconds, time.process_time() - cpu


# -- the senders -----------------------------------------------------------------------------


def send_raw(url: str, plan: ChunkPlan) -> float:
    """PUT every chunk over one socket from a preallocated buffer (the sink's ceiling). The
    bytes are not the video's, so this sender is never checked for integrity."""
    body = memoryview(bytearray(os.urandom(1024)) * (max(c.length for c in plan.chunks()) // 1024 + 1))
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    port = parts.port or 80
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        for index, chunk in enumerate(plan.chunks()):
            head = (f"PUT {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                    f"Content-Type: {CONTENT_TYPE}\r\nContent-Length: {chunk.length}\r\n"
                    f"Content-Range: {plan.content_range(index)}\r\n\r\n").encode()
            sock.sendall(head)
            sock.sendall(body[: chunk.length])
            _read_empty_response(sock)
    return time.perf_counter() - started


def _read_empty_response(sock: socket.socket) -> None:
    answer = b""
    while b"\r\n\r\n" not in answer:
        more = sock.recv(65536)
        if not more:
            raise ConnectionError("the sink closed the connection")
        answer += more
    status = int(answer.split(b" ", 2)[1])
    if status not in (201, 206):
        raise RuntimeError(f"the sink answered {status}")


def split_chunks(path: Path, plan: ChunkPlan, folder: Path) -> list[Path]:
    """Each chunk in a file of its own, for curl's ``-T`` (done before timing)."""
    files = []
    with path.open("rb") as source:
        for chunk in plan.chunks():
            out = folder / f"chunk-{chunk.index:04d}.bin"
            source.seek(chunk.first_byte)
            with out.open("wb") as sink:
                left = chunk.length
                while left > 0:
                    block = source.read(min(left, 4 * 1024 * 1024))
                    sink.write(block)
                    left -= len(block)
            files.append(out)
    return files


def send_curl(curl: str, url: str, plan: ChunkPlan, files: list[Path]) -> tuple[float, float, float]:
    """Curl's summed transfer time, its wall time and its CPU seconds (user + system)."""
    args = [curl, "-sS"]
    for index, file in enumerate(files):
        if index:
            args.append("--next")
        args += ["-T", str(file), "-H", f"Content-Type: {CONTENT_TYPE}",
                 "-H", f"Content-Range: {plan.content_range(index)}", "-H", "Expect:",
                 "-o", os.devnull, "-w", "%{http_code} %{time_total}\\n", url]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [line.split() for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or len(lines) != len(files) or any(code not in ("201", "206") for code, _ in lines):
        raise RuntimeError(f"curl failed ({done.returncode}): {done.stderr.strip()[:300]} {lines[-3:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return sum(float(seconds) for _, seconds in lines), wall, cpu


def send_requests(path: Path, url: str, plan: ChunkPlan) -> float:
    import requests

    started = time.perf_counter()
    with requests.Session() as session, path.open("rb") as file:
        for index, chunk in enumerate(plan.chunks()):
            file.seek(chunk.first_byte)
            data = file.read(chunk.length)
            answer = session.put(url, data=data, headers={"Content-Type": CONTENT_TYPE,
                                                          "Content-Range": plan.content_range(index)})
            if answer.status_code not in (201, 206):
                raise RuntimeError(f"the sink answered {answer.status_code}")
    return time.perf_counter() - started


# -- the run ---------------------------------------------------------------------------------

Sender = Callable[[str], tuple[float, float]]
"""Sends the whole video to the given upload URL; returns (wire seconds, client CPU seconds)."""


def senders(video: Path, plan: ChunkPlan, files: list[Path] | None, curl: str | None) -> dict[str, Sender | str]:
    """Each sender, or why it cannot run here."""
    found: dict[str, Sender | str] = {
        "sink_alone": lambda url: in_process(lambda: send_raw(url, plan)),
        "crosspost": lambda url: in_process(lambda: run_crosspost_upload(video, url, plan)),
    }
    if curl is None or files is None:
        found["curl"] = "curl is not installed"
    else:
        found["curl"] = lambda url: _curl_sender(curl, url, plan, files)
    try:
        import requests  # noqa: F401
    except ImportError:
        found["requests"] = "requests is not installed (pip install -r benchmarks/requirements.txt)"
    else:
        found["requests"] = lambda url: in_process(lambda: send_requests(video, url, plan))
    return found


def _curl_sender(curl: str, url: str, plan: ChunkPlan, files: list[Path]) -> tuple[float, float]:
    seconds, _, cpu = send_curl(curl, url, plan, files)
    return seconds, cpu


def available(found: dict[str, Sender | str]) -> dict[str, Sender]:
    return {name: sender for name, sender in found.items() if not isinstance(sender, str)}


def check_pass(found: dict[str, Sender | str], sink: SinkProcess, crc: int) -> dict[str, Run]:
    """One upload per sender (but the raw one) with the sink's CRC-32 on, compared with the file's."""
    return {name: measured(name, sink, f"{name}-check", crc,
                           functools.partial(sender, sink.upload_url(f"{name}-check", checksum=True)))
            for name, sender in available(found).items() if name != "sink_alone"}


def run_rounds(found: dict[str, Sender | str], sink: SinkProcess, rounds: int) -> dict[str, list[Run]]:
    """Every available sender once per round, the sink only discarding, the order rotating each
    round (so no sender is always first or last): a burst of other work on the machine then
    hits all of them alike."""
    senders_here = available(found)
    names = list(senders_here)
    runs: dict[str, list[Run]] = {name: [] for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            upload = f"{name}-{round_index}"
            runs[name].append(measured(name, sink, upload, None,
                                       functools.partial(senders_here[name], sink.upload_url(upload))))
    return runs


def report(sender: str, runs: list[Run], check: Run | None, size: int, plan: ChunkPlan) -> None:
    speeds = [mb_per_s(size, run.seconds) for run in runs]
    checked = {} if check is None else {"with_checksum_mb_s": mb_per_s(size, check.seconds),
                                        "with_checksum_sink_cpu_share": check.sink_cpu / check.seconds}
    emit(NAME, f"{sender}_mb_s", median(speeds), "MB/s", min=min(speeds), max=max(speeds), rounds=len(runs),
         mib_per_s=median(speeds) * 1e6 / 2**20, bytes=size, chunks=plan.total_chunk_count,
         chunk_size=plan.chunk_size, seconds=median([r.seconds for r in runs]),
         client_cpu_s=median([r.client_cpu for r in runs]),
         sink_cpu_share=median([r.sink_cpu / r.seconds for r in runs]),
         intact=None if check is None else check.intact, **checked,
         **({"note": "raw socket from memory: the most the sink takes"} if sender == "sink_alone" else {}))


def ratio(figure: str, runs: dict[str, list[Run]], top: str, bottom: str, **extra: object) -> None:
    """The median of the per-round ratios (each round's two uploads ran back to back)."""
    if top not in runs or bottom not in runs:
        emit(NAME, figure, None, "ratio", note=f"{bottom} did not run", **extra)
        return
    paired = [b.seconds / t.seconds for t, b in zip(runs[top], runs[bottom], strict=True)]
    emit(NAME, figure, median(paired), "ratio", min=min(paired), max=max(paired), rounds=len(paired), **extra)


def cpu_ratio(figure: str, runs: dict[str, list[Run]], top: str, bottom: str, **extra: object) -> None:
    """The median of per-round client-CPU ratios (``top``'s CPU over ``bottom``'s, same bytes):
    below 1 means ``top`` spent less CPU per byte."""
    if top not in runs or bottom not in runs:
        emit(NAME, figure, None, "ratio", note=f"{bottom} did not run", **extra)
        return
    paired = [t.client_cpu / b.client_cpu for t, b in zip(runs[top], runs[bottom], strict=True) if b.client_cpu > 0]
    emit(NAME, figure, median(paired) if paired else None, "ratio",
         min=min(paired, default=None), max=max(paired, default=None), rounds=len(paired),
         note="client CPU per byte uploaded (user + system, all threads): crosspost's over curl's", **extra)


@contextlib.contextmanager
def workdir(given: str | None) -> Iterator[Path]:
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix="crosspost-bench-") as tmp:
        yield Path(tmp)


def main() -> None:
    parser = argparse.ArgumentParser(description="crosspost's uploader vs curl and requests, same chunks.")
    parser.add_argument("--quick", action="store_true", help=f"a {QUICK_SIZE:,}-byte video, one round")
    parser.add_argument("--size", type=int, help="video size in bytes (default 1 GiB)")
    parser.add_argument("--rounds", type=int, help=f"rounds of every sender (default {ROUNDS}; --quick 1)")
    parser.add_argument("--workdir", help="where to write the video (default: a temporary folder)")
    args = parser.parse_args()
    size = args.size or (QUICK_SIZE if args.quick else GIB)
    rounds = args.rounds or (1 if args.quick else ROUNDS)
    plan = plan_for(size)
    with workdir(args.workdir) as folder, SinkProcess() as sink:
        video = folder / "video.mp4"
        crc = prepare_video(video, size, fill=True)
        curl = shutil.which("curl")
        files = split_chunks(video, plan, folder) if curl else None
        found = senders(video, plan, files, curl)
        checks = check_pass(found, sink, crc)
        runs = run_rounds(found, sink, rounds)
    for name, sender in found.items():
        if isinstance(sender, str):
            emit(NAME, f"{name}_mb_s", None, "MB/s", note=sender)
        else:
            report(name, runs[name], checks.get(name), size, plan)
    ratio("crosspost_vs_curl", runs, "crosspost", "curl", target=TARGET_VS_CURL)
    ratio("crosspost_vs_requests", runs, "crosspost", "requests")
    ratio("crosspost_vs_sink_alone", runs, "crosspost", "sink_alone")
    cpu_ratio("crosspost_cpu_vs_curl", runs, "crosspost", "curl", target=TARGET_CPU_VS_CURL)


if __name__ == "__main__":
    main()
