"""The contract suite has teeth: a platform keeping the contract passes every clause, and each
defect a real plugin could have fails exactly the clause written for it."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from crosspost.core import hookimpl
from crosspost.core.accounts import Account
from crosspost.core.clock import FakeClock
from crosspost.core.errors import (
    AuthError,
    Cancelled,
    PermanentError,
    PlatformError,
    Problem,
    RateLimited,
    TransientError,
)
from crosspost.core.models import JobStatus, Media, MediaKind, Post, Target
from crosspost.core.platform import JobContext, Outcome, Platform, RegisterPlatform, Validation
from crosspost.testing.contract import (
    CONTRACT_SECRET,
    ContractFake,
    ContractRun,
    InvalidCase,
    PlatformContract,
)
from crosspost.testing.faults import FaultPlan

TARGET = (Target(platform="mini", account="main"),)


class MiniPlatform(Platform):
    """A tiny platform over :class:`MiniFake`; each ``defect`` breaks one clause of the contract."""

    name = "mini"
    media_kinds = frozenset({MediaKind.IMAGE})
    max_media = 2
    caption_limit = 20
    option_names = frozenset({"mood"})
    defect: ClassVar[str | None] = None

    def caption_length(self, text: str) -> int:
        return len(text) // 10 if self.defect == "counts_caption_wrong" else len(text)

    async def validate(self, post: Post, ctx: JobContext) -> Validation:
        problems = []
        if self.defect == "refuses_below_its_declared_limit" and len(post.content) > 10:
            problems.append(Problem(field="content", message="at most 10 characters"))
        if post.options_for(self.name).get("mood", "calm") not in ("calm", "happy"):
            problems.append(Problem(field="target_options.mini.mood", message="calm or happy"))
        if "!" in post.content:
            problems.append(Problem(field="content", message="no exclamation marks"))
        if self.defect == "stops_at_first_problem":
            problems = problems[:1]
        return Validation(problems=tuple(problems))

    async def publish(self, post: Post, ctx: JobContext) -> Outcome:
        assert ctx.account is not None
        token = (await ctx.account.get()).secrets["access_token"]
        if self.defect == "logs_the_token":
            ctx.log.debug("publishing with token %s", token)
        forgets = self.defect == "forgets_its_checkpoint"
        lazy = self.defect == "saves_the_id_lazily_without_a_key"
        post_id = None if forgets else ctx.checkpoint.get("post_id")
        if post_id is None:
            try:
                await ctx.save({}, status=JobStatus.PROCESSING)
            except Cancelled:
                if self.defect != "ignores_cancellation":
                    raise
            body = await self._call(ctx, token, "POST", "/posts", key=None if forgets or lazy else ctx.job_id)
            post_id = body["id"]
            await ctx.save({"post_id": post_id}, status=JobStatus.PROCESSING, durable=not lazy)
        await self._call(ctx, token, "GET", f"/posts/{post_id}")
        return Outcome(status=JobStatus.PUBLISHED, publish_id=post_id)

    async def _call(self, ctx: JobContext, token: str, method: str, path: str, key: str | None = None) -> Any:
        url = ctx.settings.platform(self.name)["url"] + path
        headers = {"Authorization": f"Bearer {token}", **({"Idempotency-Key": key} if key else {})}
        try:
            async with ctx.http.request(method, url, headers=headers) as response:
                status, retry_after = response.status, response.headers.get("Retry-After")
                body = await response.json(content_type=None)
        except aiohttp.ClientError:
            raise TransientError(f"{method} {path}: connection failed", platform=self.name) from None
        if status < 300:
            return body
        message = f"{method} {path}: HTTP {status}"
        if self.defect == "calls_5xx_permanent" and status >= 500:
            raise PermanentError(message)
        if status == 429:
            raise RateLimited(message, retry_after=float(retry_after) if retry_after else None)
        if status >= 500:
            raise TransientError(message)
        raise AuthError(message) if status == 401 else PermanentError(message)


class MiniFake:
    """The mini API: ``POST /posts`` (deduplicated by Idempotency-Key) and ``GET /posts/{id}``."""

    def __init__(self) -> None:
        self.faults = FaultPlan()
        self.posts: dict[str, str] = {}
        self.keys: dict[str, str] = {}

    def posts_created(self) -> int:
        return len(self.posts)

    async def create(self, request: web.Request) -> web.Response:
        key = request.headers.get("Idempotency-Key")
        if key in self.keys:
            return web.json_response({"id": self.keys[key]})
        post_id = f"p{len(self.posts) + 1}"
        self.posts[post_id] = "published"
        if key:
            self.keys[key] = post_id
        return web.json_response({"id": post_id})

    async def status(self, request: web.Request) -> web.Response:
        return web.json_response({"state": self.posts[request.match_info["id"]]})

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[MiniFake]:
        app = web.Application(middlewares=[self.faults.middleware()])
        app.add_routes([web.post("/posts", self.create), web.get("/posts/{id}", self.status)])
        async with TestServer(app, host="127.0.0.1") as server:
            self.url = str(server.make_url("")).rstrip("/")
            yield self


class MiniPlugin:
    @hookimpl
    def register_platforms(self, register: RegisterPlatform) -> None:
        register(MiniPlatform())


class MiniContract(PlatformContract):
    """The contract for :class:`MiniPlatform` (not collected: the name has no ``Test``)."""

    def __init__(self, platform: MiniPlatform) -> None:
        self.platform = platform

    def make_platform(self) -> Platform:
        return self.platform

    def make_plugin(self) -> object:
        return MiniPlugin()

    def valid_posts(self, media_dir: Path) -> Sequence[Post]:
        image = media_dir / "a.jpg"
        image.write_bytes(b"\xff\xd8")
        return [Post(content="hello", targets=TARGET, media=(Media(type=MediaKind.IMAGE, path=str(image)),))]

    def invalid_posts(self, media_dir: Path) -> Sequence[InvalidCase]:
        post = Post(content="hi!", targets=TARGET, target_options={"mini": {"mood": "angry"}})
        return [InvalidCase(label="shouting and angry", post=post,
                            fields=("content", "target_options.mini.mood"))]

    def fake_server(self, clock: FakeClock) -> Any:
        return MiniFake().serving()

    def settings_env(self, fake: ContractFake) -> Mapping[str, str]:
        assert isinstance(fake, MiniFake)
        return {"CROSSPOST_MINI_URL": fake.url}

    def make_account(self) -> Account | None:
        return Account(platform="mini", name="main", secrets={"access_token": CONTRACT_SECRET})


CLAUSES = [name for name in dir(PlatformContract) if name.startswith("test_")]


async def run_clause(name: str, defect: str | None, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    platform = MiniPlatform() if defect is None else type("Defective", (MiniPlatform,), {"defect": defect})()
    suite = MiniContract(platform)
    media_dir = tmp_path / f"{name}-{defect}"
    media_dir.mkdir()
    async with aiohttp.ClientSession() as http:
        run = ContractRun(suite=suite, platform=platform, http=http, clock=FakeClock(), media_dir=media_dir)
        clause = getattr(suite, name)
        extra = {"caplog": caplog} if "caplog" in inspect.signature(clause).parameters else {}
        await clause(run, **extra)


@pytest.mark.parametrize("clause", CLAUSES)
async def test_a_platform_keeping_the_contract_passes_every_clause(
        clause: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    await run_clause(clause, None, tmp_path, caplog)


@pytest.mark.parametrize(("defect", "clause", "reported"), [
    ("counts_caption_wrong", "test_declared_limits_are_enforced", "caption over 20: 'content' not reported"),
    ("refuses_below_its_declared_limit", "test_declared_limits_are_enforced",
     "a caption of exactly caption_limit=20 is refused"),
    ("stops_at_first_problem", "test_every_problem_is_reported_at_once", "['content'] not reported"),
    ("calls_5xx_permanent", "test_http_errors_map_to_crosspost_error_types", "expected TransientError"),
    ("logs_the_token", "test_secrets_never_leak", "the log: "),
    ("ignores_cancellation", "test_cancelled_save_stops_publish", "sent after the cancelled save"),
    ("forgets_its_checkpoint", "test_publish_resumes_after_a_transient_failure_without_posting_twice",
     "2 posts exist after the next run"),
    ("saves_the_id_lazily_without_a_key", "test_publish_resumes_after_a_power_cut_at_any_save_without_posting_twice",
     "power cut after publish returned: 2 posts exist"),
])
async def test_each_defect_fails_the_clause_written_for_it(
        defect: str, clause: str, reported: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(AssertionError) as failed:
        await run_clause(clause, defect, tmp_path, caplog)

    assert reported in str(failed.value)


async def test_a_leak_report_masks_the_secret_it_found(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(AssertionError) as failed:
        await run_clause("test_secrets_never_leak", "logs_the_token", tmp_path, caplog)

    assert "publishing with token <SECRET>" in str(failed.value)
    assert CONTRACT_SECRET not in str(failed.value)


async def test_the_suite_lists_each_broken_case_not_just_the_first(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(AssertionError) as failed:
        await run_clause("test_http_errors_map_to_crosspost_error_types", "calls_5xx_permanent", tmp_path, caplog)

    assert [line.split(":")[0] for line in str(failed.value).splitlines()[:3]] == [
        "500 server error", "502 bad gateway", "503 unavailable"]


async def test_a_lost_answer_is_a_fault_the_handler_already_acted_on() -> None:
    fake = MiniFake()
    async with fake.serving(), aiohttp.ClientSession() as http:
        fake.faults.fail_next(503, after_handling=True)
        async with http.post(f"{fake.url}/posts") as lost:
            assert lost.status == 503
        fake.faults.fail_next(503)
        async with http.post(f"{fake.url}/posts") as refused:
            assert refused.status == 503

    assert fake.posts_created() == 1
    assert (fake.faults.requests_seen, fake.faults.faulted) == (2, [0, 1])


def test_error_clauses_cover_every_family_of_http_failure() -> None:
    expected = {case.status: case.expected for case in PlatformContract.error_cases}

    assert expected[401] is AuthError
    assert expected[429] is RateLimited
    assert all(issubclass(expected[s], TransientError) for s in (500, 502, 503))
    assert all(issubclass(expected[s], PermanentError) and not issubclass(expected[s], TransientError)
               for s in (400, 403, 404, 422))
    assert all(issubclass(e, PlatformError) for e in expected.values())
