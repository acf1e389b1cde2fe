"""A loopback upload sink that answers like TikTok's upload URL, in a process of its own.

Every benchmark that moves bytes sends them here: crosspost's uploader, curl and requests all
PUT the same chunks (``Content-Range: bytes first-last/total``, explicit ``Content-Length``).
The sink checks that each chunk is the next one expected, discards the bytes and answers 206
with ``Content-Range: bytes 0-{last}/{total}`` (201 after the last chunk), as TikTok does.
Nothing is ever held beyond aiohttp's read buffer. An upload whose URL ends in ``?checksum=1``
also gets a CRC-32 of every byte, updated as the bytes arrive (the cheapest checksum in the
stdlib, ~2.8 GB/s on one core here): on a 2-core machine that is enough to make the sink the
bottleneck (measured: its CPU at 85-99 % of a core, ~1.3 GB/s), so benchmarks check integrity
on one upload per sender and time uploads without it.

It runs in a separate process so its CPU is not the client's: ``GET /stats`` reports its own
CPU seconds, which is how a run shows whether the sink was the bottleneck (its CPU share of
the upload time). ``GET /uploads/{id}`` gives an upload's byte count, chunk count and CRC-32.

Run ``python benchmarks/sink_server.py`` to serve on a free port (it prints ``{"port": N}``
and stops when its stdin closes); benchmarks use :class:`SinkProcess`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import zlib
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


class Upload:
    """What arrived so far for one upload id."""

    def __init__(self, total: int, *, checksum: bool) -> None:
        self.total = total
        self.checksum = checksum
        self.received = 0
        self.chunks = 0
        self.crc = 0


class Sink:
    """The sink's handlers and state (one per process)."""

    def __init__(self) -> None:
        self.uploads: dict[str, Upload] = {}

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_put("/upload/{upload_id}", self.put)
        app.router.add_get("/uploads/{upload_id}", self.upload_stats)
        app.router.add_get("/stats", self.stats)
        return app

    async def put(self, request: web.Request) -> web.Response:
        match = _RANGE.fullmatch(request.headers.get("Content-Range", ""))
        length = request.content_length
        if match is None or length is None:
            return web.Response(status=400, text="Content-Range and Content-Length are required")
        first, last, total = (int(g) for g in match.groups())
        upload = self.uploads.get(request.match_info["upload_id"])
        if upload is None:
            upload = Upload(total, checksum=request.query.get("checksum") == "1")
            self.uploads[request.match_info["upload_id"]] = upload
        if first != upload.received or last - first + 1 != length or total != upload.total:
            await request.read()
            return web.Response(status=416, headers={"Content-Range": _where(upload)})
        received = 0
        crc = upload.crc
        if upload.checksum:
            async for data in request.content.iter_any():
                crc = zlib.crc32(data, crc)
                received += len(data)
        else:
            async for data in request.content.iter_any():
                received += len(data)
        if received != length:
            return web.Response(status=400, text="body shorter than Content-Length")
        upload.received += received
        upload.crc = crc
        upload.chunks += 1
        done = upload.received == upload.total
        return web.Response(status=201 if done else 206, headers={"Content-Range": _where(upload)})

    async def upload_stats(self, request: web.Request) -> web.Response:
        upload = self.uploads.get(request.match_info["upload_id"])
        if upload is None:
            return web.json_response({"error": "unknown upload"}, status=404)
        return web.json_response({"received": upload.received, "chunks": upload.chunks, "total": upload.total,
                                  "crc32": upload.crc if upload.checksum else None})

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response({"cpu_s": time.process_time(), "uploads": len(self.uploads)})


def _where(upload: Upload) -> str:
    if upload.received == 0:
        return f"bytes */{upload.total}"
    return f"bytes 0-{upload.received - 1}/{upload.total}"


async def serve() -> None:
    runner = web.AppRunner(Sink().app(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    sys.stdout.write(json.dumps({"port": port}) + "\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not os.read(sys.stdin.fileno(), 1) else None)
    await stop.wait()
    await runner.cleanup()


class SinkProcess:
    """Starts the sink in a child process; ``base_url`` once entered. Stops it on exit."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def upload_url(self, upload_id: str, *, checksum: bool = False) -> str:
        return f"{self.base_url}/upload/{upload_id}" + ("?checksum=1" if checksum else "")

    def get(self, path: str) -> dict[str, Any]:
        with urllib.request.urlopen(self.base_url + path, timeout=30) as resp:
            result: dict[str, Any] = json.loads(resp.read())
        return result

    def cpu_seconds(self) -> float:
        return float(self.get("/stats")["cpu_s"])

    def __enter__(self) -> SinkProcess:
        self._proc = subprocess.Popen([sys.executable, str(Path(__file__))], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE)
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            self._stop()
            raise RuntimeError("the sink server did not start")
        self.port = int(json.loads(line)["port"])
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop()

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="A loopback upload sink (prints its port; stops when stdin closes).")
    parser.parse_args()
    asyncio.run(serve())


if __name__ == "__main__":
    main()
