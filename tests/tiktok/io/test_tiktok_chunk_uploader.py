"""The chunk uploader on the wire: headers, streaming, resuming and resynchronising.

A small scripted loopback server records exactly what arrives (the emulator checks rules; this
one shows the bytes and headers), and answers as a test script says.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import random
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from crosspost.core.clock import FakeClock
from crosspost.core.errors import PermanentError
from crosspost.plugins.tiktok.chunks import ChunkPlan
from crosspost.plugins.tiktok.client import RetryPolicy
from crosspost.plugins.tiktok.errors import UploadUrlRejected
from crosspost.plugins.tiktok.upload import READ_SIZE, ChunkUploader, UploadTarget, server_position

MIB = 1024 * 1024
SIZE = 12 * MIB + 123
PLAN = ChunkPlan.with_chunk_size(SIZE, 5 * MIB)  # 2 chunks: 5 MiB and the rest


class Recorder:
    """Receives PUTs like TikTok (206 / 201 with Content-Range) unless ``script`` says otherwise."""

    def __init__(self) -> None:
        self.received = 0
        self.headers: list[dict[str, str]] = []
        self.bodies: list[bytes] = []
        self.script: list[tuple[int, str | None]] = []
        """(status, Content-Range) answers to give, first to last, before normal behaviour."""
        self.url = ""

    async def put(self, request: web.Request) -> web.Response:
        self.headers.append(dict(request.headers))
        body = await request.read()
        if self.script:
            status, where = self.script.pop(0)
            return web.Response(status=status, headers={"Content-Range": where} if where else None)
        self.bodies.append(body)
        self.received += len(body)
        total = int(request.headers["Content-Range"].rsplit("/", 1)[1])
        status = 201 if self.received == total else 206
        return web.Response(status=status, headers={"Content-Range": f"bytes 0-{self.received - 1}/{total}"})


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    rec = Recorder()
    app = web.Application(client_max_size=256 * MIB)
    app.router.add_put("/upload/", rec.put)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.url = f"http://127.0.0.1:{runner.addresses[0][1]}/upload/?upload_id=1&upload_token=secret-token"
    yield rec
    await runner.cleanup()


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    path.write_bytes(random.Random(3).randbytes(SIZE))
    return path


@pytest.fixture
async def uploader() -> AsyncIterator[ChunkUploader]:
    async with aiohttp.ClientSession() as http:
        yield ChunkUploader(http, clock=FakeClock(), policy=RetryPolicy(attempts=3), rng=random.Random(0))


def target(clip: Path, recorder: Recorder) -> UploadTarget:
    return UploadTarget(path=clip, plan=PLAN, content_type="video/webm", upload_url=recorder.url)


def acks() -> tuple[list[int], Callable[[int], object]]:
    seen: list[int] = []

    async def on_ack(index: int) -> None:
        seen.append(index)

    return seen, on_ack


async def test_each_chunk_has_its_range_an_explicit_length_and_the_sniffed_type(
    uploader: ChunkUploader, recorder: Recorder, clip: Path,
) -> None:
    seen, on_ack = acks()
    await uploader.upload(target(clip, recorder), on_chunk_acked=on_ack)  # type: ignore[arg-type]
    assert [h["Content-Range"] for h in recorder.headers] == [
        f"bytes 0-{5 * MIB - 1}/{SIZE}", f"bytes {5 * MIB}-{SIZE - 1}/{SIZE}"]
    assert [h["Content-Length"] for h in recorder.headers] == [str(5 * MIB), str(SIZE - 5 * MIB)]
    assert all(h["Content-Type"] == "video/webm" for h in recorder.headers)
    assert all("Transfer-Encoding" not in h for h in recorder.headers)  # never chunked encoding
    assert all("Authorization" not in h for h in recorder.headers)
    assert b"".join(recorder.bodies) == random.Random(3).randbytes(SIZE)  # byte-exact
    assert seen == [0, 1]


async def test_bytes_stream_from_disk_in_1mib_blocks_with_progress(
    uploader: ChunkUploader, recorder: Recorder, clip: Path,
) -> None:
    reports: list[tuple[int, int]] = []
    _, on_ack = acks()
    await uploader.upload(target(clip, recorder), on_chunk_acked=on_ack,  # type: ignore[arg-type]
                          progress=lambda done, total: reports.append((done, total)))
    done = [d for d, _ in reports]
    steps = [b - a for a, b in zip([0, *done], done, strict=False) if b > a]
    assert max(steps) == READ_SIZE == 1 * MIB
    assert done == sorted(done)
    assert reports[-1] == (SIZE, SIZE)


async def test_upload_starts_at_the_given_chunk(uploader: ChunkUploader, recorder: Recorder, clip: Path) -> None:
    recorder.received = 5 * MIB  # the server holds chunk 0 from an earlier run
    seen, on_ack = acks()
    await uploader.upload(target(clip, recorder), start_chunk=1, on_chunk_acked=on_ack)  # type: ignore[arg-type]
    assert [h["Content-Range"] for h in recorder.headers] == [f"bytes {5 * MIB}-{SIZE - 1}/{SIZE}"]
    assert seen == [1]


async def test_416_reads_the_servers_position_and_continues_from_there(
    uploader: ChunkUploader, recorder: Recorder, clip: Path,
) -> None:
    recorder.received = 5 * MIB
    recorder.script = [(416, f"bytes 0-{5 * MIB - 1}/{SIZE}")]
    seen, on_ack = acks()
    await uploader.upload(target(clip, recorder), on_chunk_acked=on_ack)  # type: ignore[arg-type]
    assert [h["Content-Range"].split("/")[0] for h in recorder.headers] == [
        f"bytes 0-{5 * MIB - 1}", f"bytes {5 * MIB}-{SIZE - 1}"]
    assert seen == [0, 1]


async def test_lost_201_is_recognised_from_the_full_range(
    uploader: ChunkUploader, recorder: Recorder, clip: Path,
) -> None:
    recorder.received = SIZE
    recorder.script = [(416, f"bytes 0-{SIZE - 1}/{SIZE}")]
    seen, on_ack = acks()
    await uploader.upload(target(clip, recorder), start_chunk=1, on_chunk_acked=on_ack)  # type: ignore[arg-type]
    assert seen == [1]
    assert len(recorder.headers) == 1


@pytest.mark.parametrize(("status", "where", "code"), [
    (403, None, "upload_url_expired"),
    (404, None, "upload_not_found"),
    (416, f"bytes 0-99/{SIZE}", "upload_position_unknown"),
    (416, None, "upload_position_unknown"),
])
async def test_dead_or_confused_upload_asks_for_a_fresh_init(
    uploader: ChunkUploader, recorder: Recorder, clip: Path, status: int, where: str | None, code: str,
) -> None:
    recorder.script = [(status, where)]
    _, on_ack = acks()
    with pytest.raises(UploadUrlRejected) as raised:
        await uploader.upload(target(clip, recorder), on_chunk_acked=on_ack)  # type: ignore[arg-type]
    assert raised.value.code == code
    assert "secret-token" not in str(raised.value)


async def test_server_errors_on_a_chunk_are_retried(uploader: ChunkUploader, recorder: Recorder, clip: Path) -> None:
    recorder.script = [(500, None), (503, None)]
    seen, on_ack = acks()
    await uploader.upload(target(clip, recorder), on_chunk_acked=on_ack)  # type: ignore[arg-type]
    assert seen == [0, 1]
    assert len(recorder.headers) == 4


def test_server_position_reads_tiktoks_content_range() -> None:
    assert server_position({"Content-Range": "bytes 0-9999999/50000123"}, 50_000_123) == 10_000_000
    assert server_position({"Content-Range": "bytes */50000123"}, 50_000_123) == 0
    assert server_position({"Content-Range": "bytes 0-9/11"}, 50_000_123) is None
    assert server_position({}, 10) is None


async def test_a_file_cut_short_mid_chunk_fails_as_changed_not_as_a_network_error(
    uploader: ChunkUploader, recorder: Recorder, clip: Path,
) -> None:
    def shrink(done: int, total: int) -> None:
        if done >= MIB:  # one block is on the wire: the rest of the chunk is no longer on disk
            with clip.open("r+b") as file:
                file.truncate(2 * MIB)

    _, on_ack = acks()
    with pytest.raises(PermanentError) as raised:
        await uploader.upload(target(clip, recorder), on_chunk_acked=on_ack,  # type: ignore[arg-type]
                              progress=shrink)
    assert raised.value.code == "file_changed"
    assert "secret-token" not in str(raised.value)


async def test_a_file_whose_size_changed_is_refused_before_its_bytes_are_accepted(
    uploader: ChunkUploader, recorder: Recorder, clip: Path,
) -> None:
    with clip.open("ab") as file:  # re-encoded or appended to after the init planned its chunks
        file.write(b"more")
    seen, on_ack = acks()
    with pytest.raises(PermanentError) as raised:
        await uploader.upload(target(clip, recorder), on_chunk_acked=on_ack)  # type: ignore[arg-type]
    assert raised.value.code == "file_changed"
    assert f"({SIZE} -> {SIZE + 4} bytes)" in str(raised.value)
    assert seen == []
    assert recorder.bodies == [], "no chunk of the changed file was accepted"


async def test_a_file_changed_between_chunks_stops_at_the_next_chunk(
    uploader: ChunkUploader, recorder: Recorder, clip: Path,
) -> None:
    seen: list[int] = []

    async def grow_after_first(index: int) -> None:
        seen.append(index)
        with clip.open("ab") as file:
            file.write(b"x")

    with pytest.raises(PermanentError) as raised:
        await uploader.upload(target(clip, recorder), on_chunk_acked=grow_after_first)
    assert raised.value.code == "file_changed"
    assert seen == [0], "the first chunk went; the second found the file changed"
    assert len(recorder.bodies) == 1


def self_signed(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a fresh certificate for 127.0.0.1, and a client context trusting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return server, ssl.create_default_context(cafile=str(folder / "cert.pem"))


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
async def test_bytes_stay_exact_to_a_slow_reader(tmp_path: Path, clip: Path, tls: bool) -> None:
    """The body's buffers are reused, and transports may keep a reference to a written block
    instead of copying it (plain sockets from Python 3.12): a buffer refilled too early would
    send the next block's bytes in its place. A server that reads in small sips keeps the
    client's transport full, which is when that would happen. (Checked: refilling the block just
    written fails the plain case on Python 3.12; 3.11's transports copy, so there it passes.)"""
    received: list[bytes] = []

    async def sipping_put(request: web.Request) -> web.Response:
        parts = []
        while part := await request.content.read(256 * 1024):
            parts.append(part)
            await asyncio.sleep(0.001)
        received.append(b"".join(parts))
        held = sum(map(len, received))
        return web.Response(status=201 if held == SIZE else 206,
                            headers={"Content-Range": f"bytes 0-{held - 1}/{SIZE}"})

    server_tls, client_tls = self_signed(tmp_path) if tls else (None, None)
    app = web.Application(client_max_size=256 * MIB)
    app.router.add_put("/upload/", sipping_put)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_tls)
    await site.start()
    scheme = "https" if tls else "http"
    url = f"{scheme}://127.0.0.1:{runner.addresses[0][1]}/upload/?upload_id=1&upload_token=secret-token"
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_tls or False)) as http:
            uploader = ChunkUploader(http, clock=FakeClock(), policy=RetryPolicy(attempts=1))
            seen, on_ack = acks()
            await uploader.upload(UploadTarget(path=clip, plan=PLAN, content_type="video/mp4", upload_url=url),
                                  on_chunk_acked=on_ack)  # type: ignore[arg-type]
    finally:
        await runner.cleanup()
    assert seen == [0, 1]
    assert b"".join(received) == random.Random(3).randbytes(SIZE)
