"""The plaintext secrets of a real run appear nowhere a user or an attacker can read.

One scenario, end to end against the TikTok emulator on loopback: ``accounts add`` through the
CLI (client secret in the environment), a multi-chunk video submitted with ``post --no-wait``,
a worker interrupted after the first chunk (so a checkpoint holding the signed ``upload_url`` is
stored), the CLI's human and ``--json`` views of the stored state, then the upload resumed to the
end by ``crosspost worker``. Every log record (DEBUG and up), every CLI output, the event log and
the raw bytes of the SQLite database and its WAL are scanned for the access token, the refresh
token, the client secret and the upload URL's ``upload_token``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from crosspost.core.engine.checkpoints import is_sealed, open_checkpoint, seal
from crosspost.core.engine.progress import ProgressEvent
from crosspost.core.hub import Hub
from crosspost.core.models import JobStatus
from crosspost.core.secrets import SecretBox, generate_key, parse_keys
from crosspost.core.settings import Settings
from crosspost.testing.media import make_video
from tests.cli.cli_support import CHUNK_SIZE, ThreadedEmulator, invoke, threaded_emulator  # noqa: F401 - shared fixture

VIDEO_BYTES = 70_000_000
"""Seven 10 MB chunks: the worker is stopped after the first, mid-upload."""




def leaks(secrets: Mapping[str, str], haystacks: Mapping[str, str | bytes]) -> list[str]:
    """``"<secret name> in <where>"`` for every secret found in plaintext (text or raw bytes)."""
    found = []
    for where, hay in haystacks.items():
        data = hay if isinstance(hay, bytes) else hay.encode()
        found += [f"{name} in {where}" for name, value in secrets.items() if value.encode() in data]
    return found


def db_files(db_path: Path) -> dict[str, bytes]:
    """The raw bytes of the database and of its WAL / journal files, whichever exist."""
    candidates = [db_path, *(db_path.with_name(db_path.name + suffix) for suffix in ("-wal", "-journal", "-shm"))]
    return {path.name: path.read_bytes() for path in candidates if path.exists()}


def log_text(records: Iterable[logging.LogRecord]) -> str:
    return "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in records)


async def interrupted_upload(settings: Settings, db_path: Path) -> tuple[str, list[str], dict[str, bytes]]:
    """Run the worker until the first chunk is sent, then cancel it (the job is released with
    its checkpoint). Returns the stored job's upload_token, the event log and the database
    files read while the database is still open (so the WAL is there)."""
    async with Hub.open(settings) as hub:
        first_chunk = asyncio.Event()

        def on_progress(event: ProgressEvent) -> None:
            if event.done > 0:
                first_chunk.set()

        unsubscribe = hub.subscribe(on_progress)
        worker = asyncio.create_task(hub.run_worker())
        async with asyncio.timeout(120):
            await first_chunk.wait()
        worker.cancel()
        with pytest.raises(asyncio.CancelledError):
            await worker
        unsubscribe()
        [post] = await hub.list_posts()
        row = await hub.storage.get_post(post.id)
        assert row is not None
        [job] = row.jobs
        assert job.status is JobStatus.QUEUED, "released mid-upload"
        assert is_sealed(job.checkpoint), "the stored checkpoint is sealed"
        opened = open_checkpoint(hub.accounts.cipher(), job.id, job.checkpoint)
        [upload_token] = parse_qs(urlsplit(opened["upload_url"]).query)["upload_token"]
        assert upload_token in json.dumps(opened), "plaintext would be found by the scan"
        events = [repr(e) + json.dumps(dict(e.data), default=str) for e in await hub.events(post.id)]
        return upload_token, events, db_files(db_path)


def test_no_secret_or_upload_token_reaches_logs_output_events_or_the_database_files(
        tmp_path: Path, emulator: ThreadedEmulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    db_path = tmp_path / "data" / "crosspost.db"
    db_path.parent.mkdir(parents=True)
    creator = emulator.state.add_creator(username="scan.me", nickname="Scan Me")
    env = {"CROSSPOST_DB": str(db_path), "CROSSPOST_DATA_DIR": str(db_path.parent),
           "CROSSPOST_TIKTOK_API_BASE": emulator.base_url, "CROSSPOST_TIKTOK_AUTH_BASE": emulator.base_url,
           "CROSSPOST_TIKTOK_CLIENT_KEY": emulator.state.client_key,
           "CROSSPOST_TIKTOK_CLIENT_SECRET": emulator.state.client_secret,
           "CROSSPOST_TIKTOK_CHUNK_SIZE": str(CHUNK_SIZE)}
    cli = CliRunner(env=env)
    outputs: dict[str, str | bytes] = {}

    def run(*args: str) -> str:
        result = invoke(cli, *args)
        assert result.exit_code == 0, result.output
        outputs[" ".join(args[:2])] = result.stdout + result.stderr
        return result.stdout

    run("accounts", "add", "tiktok", "main", "--access-token", creator.access_token,
        "--refresh-token", creator.refresh_token, "--expires-in", "86400")
    run("accounts", "list", "--json")
    video = make_video(tmp_path / "long.mp4", pad_to=VIDEO_BYTES)
    request = {"content": "scanned #crosspost", "targets": ["tiktok:main"],
               "media": [{"type": "video", "path": str(video)}],
               "target_options": {"tiktok": {"privacy_level": "SELF_ONLY", "allow_comment": True,
                                             "allow_duet": False, "allow_stitch": False}}}
    (tmp_path / "post.json").write_text(json.dumps(request))
    post_id = json.loads(run("post", str(tmp_path / "post.json"), "--no-wait", "--json"))["id"]

    upload_token, events, open_db = asyncio.run(interrupted_upload(Settings.from_env(env), db_path))
    assert "-wal" in "".join(open_db), "the WAL was scanned while it held the latest writes"
    outputs |= {f"{name} (database open)": data for name, data in open_db.items()}
    outputs["event log (interrupted)"] = "\n".join(events)
    run("status", post_id)
    run("status", post_id, "--json")
    run("list", "--json")
    outputs |= {f"{name} (interrupted)": data for name, data in db_files(db_path).items()}

    run("worker", "--until-idle")
    assert json.loads(run("status", post_id, "--json"))["status"] == "published", "resumed from the sealed checkpoint"
    outputs |= {f"{name} (published)": data for name, data in db_files(db_path).items()}
    outputs["logs"] = log_text(caplog.records)

    secrets = {"access token": creator.access_token, "refresh token": creator.refresh_token,
               "client secret": emulator.state.client_secret, "upload_token": upload_token}
    assert all(len(value) >= 16 for value in secrets.values()), "values long enough not to match by chance"
    assert leaks(secrets, outputs) == []
    planted = {**outputs, "planted": b"x" + upload_token.encode() + b"y"}
    assert leaks(secrets, planted) == ["upload_token in planted"], "the scan finds a plaintext value"


def box() -> SecretBox:
    return SecretBox(parse_keys(generate_key(), source="test"))


def test_a_sealed_checkpoint_opens_only_for_its_own_job() -> None:
    key = box()
    stored = seal(key, "job-1", {"upload_url": "https://up.example/?upload_token=abc123secret"})
    assert is_sealed(stored)
    assert "abc123secret" not in json.dumps(stored)
    assert open_checkpoint(key, "job-1", stored) == {"upload_url": "https://up.example/?upload_token=abc123secret"}
    with pytest.raises(Exception, match="integrity"):
        open_checkpoint(key, "job-2", stored)


def test_empty_and_plaintext_checkpoints_load_unchanged() -> None:
    key = box()
    assert seal(key, "job-1", {}) == {}
    legacy = {"publish_id": "v_1", "next_chunk": 3}
    assert not is_sealed(legacy)
    assert open_checkpoint(key, "job-1", legacy) == legacy
