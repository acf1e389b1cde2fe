"""The examples in ``examples/`` run against the TikTok emulator and really publish.

The chat bot is driven programmatically (scripted messages, replies collected) and once as the
README runs it, in a subprocess with scripted stdin; the web app's OAuth login, upload, post and
webhook flow runs through an aiohttp test client. Time is a FakeClock shared by crosspost and
the emulator, so polling and backoff cost no wall time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from crosspost.core.clock import FakeClock
from crosspost.core.hub import Hub
from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState

ROOT = Path(__file__).resolve().parents[2]


def load_example(name: str) -> ModuleType:
    """Import ``examples/{name}.py`` (the folder is not a package)."""
    module_name = f"crosspost_example_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "examples" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


bot = load_example("bot")
webapp = load_example("webapp")
SAMPLE = bot.SAMPLE_VIDEO
SAMPLE_SHA256 = hashlib.sha256(SAMPLE.read_bytes()).hexdigest()


# -- the chat bot ----------------------------------------------------------------------------

class Script:
    """A chat whose messages are given up front and whose replies are collected."""

    def __init__(self, *texts: str, ids: list[str] | None = None, channel: str = "#general") -> None:
        self.replies: list[tuple[str, str]] = []
        self.chat = bot.Chat(send=lambda ch, text: self.replies.append((ch, text)))
        for number, text in enumerate(texts):
            message_id = ids[number] if ids else str(number)
            self.chat.inbox.put_nowait(bot.Message(id=message_id, channel=channel, author="ana", text=text))
        self.chat.inbox.put_nowait(None)

    def texts(self) -> list[str]:
        return [text for _, text in self.replies]


async def run_script(tmp_path: Path, script: Script, *, privacy: str = "PUBLIC_TO_EVERYONE",
                     before: Any = None) -> EmulatorState:
    async with bot.emulator_hub(tmp_path, clock=FakeClock()) as (hub, server, target):
        if before is not None:
            before(server.state)
        settings = bot.PostSettings(target=target, video=SAMPLE, privacy_level=privacy)
        await bot.run_bot(hub, script.chat, settings)
        state: EmulatorState = server.state
        return state


async def test_bot_posts_on_command_and_replies_with_the_post_link(tmp_path: Path) -> None:
    script = Script("!post Hello from the bot #crosspost")

    state = await run_script(tmp_path, script)

    [publish] = state.published
    assert publish.status == "PUBLISH_COMPLETE"
    assert publish.sha256 == SAMPLE_SHA256
    assert publish.request_body["post_info"]["title"] == "Hello from the bot #crosspost"
    link = f"https://www.tiktok.com/@crosspost.bot/video/{publish.post_ids[0]}"
    assert script.replies[-1] == ("#general", f"Published to tiktok:demo: {link}")
    assert script.texts()[0].startswith("Posting to tiktok:demo (post ")


async def test_bot_replies_with_the_reason_when_tiktok_fails_the_post(tmp_path: Path) -> None:
    script = Script("!post This one fails")

    state = await run_script(tmp_path, script, before=lambda s: s.fail_next_publish("frame_rate_check_failed"))

    assert [p.status for p in state.published] == ["FAILED"]
    last = script.texts()[-1]
    assert last.startswith("tiktok:demo failed: ")
    assert "frame rate" in last.lower()


async def test_bot_refuses_an_invalid_post_without_uploading_anything(tmp_path: Path) -> None:
    script = Script("!post " + "x" * 2201, "!post", "!status nope")

    state = await run_script(tmp_path, script)

    assert state.published == []
    refused, usage, unknown = script.texts()
    assert refused.startswith("I can't post that: ")
    assert "2200" in refused.replace(",", "")
    assert usage == "Usage: !post <caption>"
    assert unknown.startswith("Sorry: no post 'nope'")


async def test_a_redelivered_chat_message_posts_once(tmp_path: Path) -> None:
    script = Script("!post Only once", "!post Only once", ids=["42", "42"])

    state = await run_script(tmp_path, script, privacy="SELF_ONLY")

    assert len(state.published) == 1
    first, second, result = script.texts()
    assert first == second  # the same post id both times
    assert result.startswith("Published to tiktok:demo (no public link; publish_id ")


async def test_bot_says_why_a_post_waits_when_the_creator_is_at_the_daily_cap(tmp_path: Path) -> None:
    script = Script("!post Too many today")

    def capped(state: EmulatorState) -> None:
        for creator in state.creators.values():
            creator.cap_state = "spam_risk_too_many_posts"

    state = await run_script(tmp_path, script, before=capped)

    assert state.published == []  # stored deferred, nothing sent
    [reply] = script.texts()
    posting, waiting = reply.split("\n")
    assert posting.startswith("Posting to tiktok:demo (post ")
    assert waiting.startswith("tiktok:demo has to wait: ")


def test_bot_runs_from_the_command_line_with_scripted_input() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "bot.py"), "--emulator"],
                          input="!post Hello from stdin\n", capture_output=True, text=True, timeout=120,
                          check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "[#terminal] bot: Published to tiktok:demo: https://www.tiktok.com/@crosspost.bot/video/" in done.stdout


# -- the web app -----------------------------------------------------------------------------

@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def emulator(clock: FakeClock) -> AsyncIterator[EmulatorServer]:
    state = EmulatorState(processing_polls=0, clock=clock.timestamp)
    state.add_creator(username="crosspost.web", nickname="Crosspost Web")
    async with EmulatorServer(state) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def hub(emulator: EmulatorServer, http: aiohttp.ClientSession, clock: FakeClock,
              tmp_path: Path) -> AsyncIterator[Hub]:
    env = {"CROSSPOST_TIKTOK_API_BASE": emulator.base_url, "CROSSPOST_TIKTOK_AUTH_BASE": emulator.base_url,
           "CROSSPOST_TIKTOK_CLIENT_KEY": emulator.state.client_key,
           "CROSSPOST_TIKTOK_CLIENT_SECRET": emulator.state.client_secret}
    async with Hub.open(webapp.emulator_settings(env, tmp_path), http=http, clock=clock) as opened:
        yield opened


@pytest.fixture
async def client(hub: Hub, http: aiohttp.ClientSession, emulator: EmulatorServer,
                 tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    app = webapp.make_app(hub, http, uploads=tmp_path / "uploads")
    async with TestClient(TestServer(app)) as test_client:
        emulator.state.webhook_url = str(test_client.make_url(f"{webapp.WEBHOOK_PREFIX}/tiktok"))
        yield test_client


async def log_in(client: TestClient[Any, Any], http: aiohttp.ClientSession, account: str = "main") -> str:
    """/login -> the emulator's consent page -> back to /callback; returns the callback's page."""
    started = await client.get("/login", params={"account": account}, allow_redirects=False)
    assert started.status == 302
    async with http.get(started.headers["Location"], allow_redirects=False) as consent:
        assert consent.status == 302
        back = URL(consent.headers["Location"])
    assert back.path == "/callback"
    finished = await client.get(back.path_qs)
    assert finished.status == 200, await finished.text()
    return await finished.text()


async def test_web_app_logs_in_through_oauth_and_publishes_an_uploaded_video(
    client: TestClient[Any, Any], http: aiohttp.ClientSession, hub: Hub, emulator: EmulatorServer,
) -> None:
    started = await client.get("/login", params={"account": "main"}, allow_redirects=False)
    authorize = URL(started.headers["Location"])
    assert str(authorize).startswith(f"{emulator.base_url}/v2/auth/authorize/")
    assert authorize.query["code_challenge_method"] == "S256"
    assert started.cookies[webapp.LOGIN_COOKIE].value != authorize.query["state"]  # a handle, not the state

    page = await log_in(client, http)

    assert "Logged in as tiktok:main" in page
    account = await hub.accounts.get("tiktok", "main")
    [creator] = emulator.state.creators.values()
    assert account.profile["open_id"] == creator.open_id
    assert {"video.publish", "video.upload"} <= set(account.scopes)

    uploaded = await (await client.post("/api/uploads", data=SAMPLE.read_bytes())).json()
    request = {"content": "Hello from the web app", "targets": ["tiktok:main"],
               "media": [{"type": "video", "path": uploaded["path"]}],
               "target_options": {"tiktok": {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": False,
                                             "allow_duet": False, "allow_stitch": False}}}
    submitted = await client.post("/api/posts", json=request)
    assert submitted.status == 202
    post_id = (await submitted.json())["id"]
    result = await (await client.get(f"/api/posts/{post_id}", params={"wait": "600"})).json()

    [publish] = emulator.state.published
    assert publish.sha256 == SAMPLE_SHA256
    assert result["status"] == "published"
    assert result["targets"][0]["post_url"] == f"https://www.tiktok.com/@crosspost.web/video/{publish.post_ids[0]}"
    log = client.app[webapp.APP].webhooks
    await log.wait_for(lambda events: any(e.outcome == "published" and e.publish_id == publish.publish_id
                                          for e in events))


async def test_web_app_refuses_a_callback_whose_state_was_not_issued_to_this_browser(
    client: TestClient[Any, Any], hub: Hub,
) -> None:
    await client.get("/login", params={"account": "main"}, allow_redirects=False)
    forged = await client.get("/callback", params={"code": "stolen", "state": "not-the-one-sent"})
    assert forged.status == 400
    assert "state mismatch" in await forged.text()
    again = await client.get("/callback", params={"code": "stolen", "state": "x"})
    assert again.status == 400  # the pending login was used up
    assert await hub.accounts.list() == []


async def test_web_app_posts_only_files_uploaded_to_it(client: TestClient[Any, Any]) -> None:
    request = {"targets": ["tiktok:main"], "media": [{"type": "video", "path": "/etc/passwd"}]}
    refused = await client.post("/api/posts", json=request)
    assert refused.status == 400
    assert (await refused.json())["error"]["problems"] == [
        {"field": "media[0].path", "message": "not a file uploaded here; POST it to /api/uploads first"}]


async def test_web_app_flags_the_account_when_tiktok_reports_the_authorization_removed(
    client: TestClient[Any, Any], http: aiohttp.ClientSession, hub: Hub, emulator: EmulatorServer,
) -> None:
    await log_in(client, http)
    [creator] = emulator.state.creators.values()

    emulator.state.remove_authorization(creator.open_id)  # TikTok signs and sends authorization.removed
    await emulator.state.drain()
    log = client.app[webapp.APP].webhooks
    await log.wait_for(lambda events: any(e.kind.value == "account" and e.outcome == "removed" for e in events))

    assert (await hub.accounts.get("tiktok", "main")).needs_login
    page = await (await client.get("/")).text()
    assert "tiktok:main — needs a new login" in page


def test_the_web_app_imports_no_platform_plugin() -> None:
    source = (Path(__file__).resolve().parents[2] / "examples" / "webapp.py").read_text()
    assert "crosspost.plugins" not in source
