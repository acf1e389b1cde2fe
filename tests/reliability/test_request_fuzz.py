"""Fuzzed request files are refused as typed problems, before anything is stored or sent (issue 19
item 3): 600 seeded cases through the request reader, the converter and the Hub's validation
against the TikTok emulator, and a seeded sample through ``crosspost post FILE --json`` itself.

For every case: an :class:`InvalidPost` (exit 2 from the CLI), never another exception (exit 1
``internal``); a problem located at a JSON path unless the document as a whole is broken (not
UTF-8, not JSON, not an object); no post stored; no request reached TikTok (the emulator's log
stays empty).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosspost.core.cli.app import cli
from crosspost.core.cli.post import native_request, read_request
from crosspost.core.convert import post_from_dict
from crosspost.core.errors import InvalidPost
from crosspost.core.hub import Hub
from crosspost.core.models import Media, MediaKind, Post, Target
from crosspost.core.secrets import generate_key
from crosspost.core.settings import Settings
from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState
from crosspost.testing.media import make_video
from tests.cli.cli_support import ThreadedEmulator
from tests.reliability.request_fuzz import Case, generate
from tests.reliability.tiktok_hub import account_for

SEED = 20261202
CASES = 600
CLI_CASES = 40


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "clip.mp4"
    make_video(path, container="mp4")
    return path


def env_for(base_url: str, tmp_path: Path) -> dict[str, str]:
    """No CROSSPOST_ALLOW_HOSTS: loopback media URLs must be refused."""
    return {"CROSSPOST_DB": str(tmp_path / "fuzz.db"), "CROSSPOST_DATA_DIR": str(tmp_path),
            "CROSSPOST_SECRET_KEY": generate_key(), "CROSSPOST_TIKTOK_API_BASE": base_url,
            "CROSSPOST_TIKTOK_CLIENT_KEY": "emu-client-key", "CROSSPOST_TIKTOK_CLIENT_SECRET": "emu-client-secret"}


@pytest.fixture
async def emulator() -> AsyncIterator[tuple[EmulatorState, EmulatorServer]]:
    state = EmulatorState(rng_seed=1)
    async with EmulatorServer(state) as server:
        yield state, server


def assert_refused_well(case: Case, error: InvalidPost) -> None:
    assert error.problems, case
    for problem in error.problems:
        assert isinstance(problem.field, str)
        assert problem.message, case
        assert "Traceback" not in problem.message, case
    if not case.whole_document:
        assert any(p.field for p in error.problems), (case, error.problems)


async def refused(case: Case, hub: Hub, folder: Path) -> InvalidPost:
    """Run ``case`` through what ``crosspost post FILE`` does before publishing; return the refusal."""
    path = folder / f"case-{case.seed}.json"
    path.write_bytes(case.raw)
    try:
        raw, base = read_request(str(path))
        data, _ = native_request(raw)
        post = post_from_dict(data, base=base)
        await hub.submit(post)
    except InvalidPost as error:
        return error
    except Exception as exc:
        pytest.fail(f"case {case.seed} {case.mutations} raised {type(exc).__name__}: {exc}\n{case.raw[:300]!r}")
    pytest.fail(f"case {case.seed} {case.mutations} was accepted: {case.raw[:300]!r}")


async def test_600_fuzzed_request_files_are_refused_with_paths_and_nothing_stored_or_sent(
    emulator: tuple[EmulatorState, EmulatorServer], tmp_path: Path, clip: Path,
) -> None:
    state, server = emulator
    creator = state.add_creator(username="fuzz.creator")
    from crosspost.core.clock import SystemClock

    async with Hub.open(Settings.from_env(env_for(server.base_url, tmp_path))) as hub:
        await hub.accounts.add(account_for(creator, SystemClock()))
        families: dict[str, int] = {}
        for seed in range(SEED, SEED + CASES):
            case = generate(seed, str(clip))
            assert_refused_well(case, await refused(case, hub, tmp_path))
            for name in case.mutations:
                families[name] = families.get(name, 0) + 1
        assert await hub.list_posts() == [], "a malformed request was stored"
    assert state.requests == [], "a malformed request reached TikTok"
    assert min(families.values()) >= 25, families  # every family was exercised


def test_the_fuzz_would_catch_an_accepted_request(clip: Path) -> None:
    """The harness can fail: the unmutated request is valid and converts."""
    from tests.reliability.request_fuzz import base_request

    post = post_from_dict(base_request(str(clip)))
    assert post == Post(content="fuzzed #test", targets=[Target(platform="tiktok", account="main")],
                        media=[Media(type=MediaKind.VIDEO, path=str(clip))],
                        target_options=base_request(str(clip))["target_options"])


@pytest.fixture
def threaded_emulator() -> Iterator[ThreadedEmulator]:
    running = ThreadedEmulator(EmulatorState(rng_seed=2))
    running.start()
    yield running
    running.stop()


def test_crosspost_post_exits_2_naming_the_field_for_fuzzed_files(
    threaded_emulator: ThreadedEmulator, tmp_path: Path, clip: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in env_for(threaded_emulator.base_url, tmp_path).items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    for seed in range(SEED + CASES, SEED + CASES + CLI_CASES):
        case = generate(seed, str(clip))
        path = tmp_path / f"cli-{seed}.json"
        path.write_bytes(case.raw)
        result = runner.invoke(cli, ["post", str(path), "--json"], catch_exceptions=False)
        assert result.exit_code == 2, (case, result.output)
        body = json.loads(result.stdout)
        error = body.get("error", body)
        assert error["code"] == "invalid", (case, body)
        assert "internal" not in result.output
    assert threaded_emulator.routes() == []
    assert not (tmp_path / "fuzz.db").exists() or _no_posts(tmp_path / "fuzz.db")


def _no_posts(db: Path) -> bool:
    import sqlite3

    with sqlite3.connect(db) as conn:
        try:
            return conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0] == 0
        except sqlite3.OperationalError:
            return True
