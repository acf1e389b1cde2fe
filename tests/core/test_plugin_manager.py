"""Plugin discovery, isolation of broken plugins, and the registration rules."""

from __future__ import annotations

import logging
import sys
import textwrap
from collections.abc import Generator, Iterator
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from crosspost.core import hookimpl
from crosspost.core.errors import PluginError, Problem
from crosspost.core.models import JobStatus, Post, Target, TargetResult
from crosspost.core.platform import JobContext, Outcome, Platform, Validation
from crosspost.core.plugins import Hooks, make_plugin_manager
from crosspost.core.settings import Settings
from tests.plugin_dists import write_distribution


class Dummy(Platform):
    name = "dummy"

    async def validate(self, post: Post, ctx: JobContext) -> Validation:
        return Validation()

    async def publish(self, post: Post, ctx: JobContext) -> Outcome:
        return Outcome(status=JobStatus.PUBLISHED)


def plugin_registering(*platforms: Platform) -> object:
    class _Plugin:
        @hookimpl
        def register_platforms(self, register):  # type: ignore[no-untyped-def]
            for p in platforms:
                register(p)

    return _Plugin()


def hooks_with(*plugins: object) -> Hooks:
    return Hooks(make_plugin_manager(builtins=(), entry_points=False, extra=plugins))


@pytest.fixture
def installed_distribution(tmp_path: Path) -> Iterator[str]:
    """A tiny distribution 'installed' the way pip installs one: a module plus its dist-info
    with an entry point in the 'crosspost' group, on sys.path."""
    (tmp_path / "cp_tiny.py").write_text(textwrap.dedent('''
        from crosspost.core import hookimpl
        from crosspost.core.models import JobStatus
        from crosspost.core.platform import Outcome, Platform, Validation

        class Tiny(Platform):
            name = "tiny"
            async def validate(self, post, ctx):
                return Validation()
            async def publish(self, post, ctx):
                return Outcome(status=JobStatus.PUBLISHED)

        @hookimpl
        def register_platforms(register):
            register(Tiny())
    '''))
    write_distribution(tmp_path, "cp-tiny", "1.2.3", {"tiny": "cp_tiny"})
    sys.path.insert(0, str(tmp_path))
    try:
        yield "tiny"
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("cp_tiny", None)


def test_a_plugin_is_discovered_through_its_entry_point(installed_distribution: str) -> None:
    hooks = Hooks(make_plugin_manager(builtins=()))
    assert "tiny" in hooks.platforms()
    info = {i.name: i for i in hooks.plugin_infos()}["tiny"]
    assert info.version == "1.2.3"
    assert info.hooks == ("register_platforms",)


def test_a_plugin_can_be_disabled_by_name(installed_distribution: str) -> None:
    hooks = Hooks(make_plugin_manager(builtins=(), disabled=["tiny"]))
    assert "tiny" not in hooks.platforms()


def test_the_builtin_plugins_are_crosspost_s_own_entry_points() -> None:
    infos = {i.name: i for i in Hooks(make_plugin_manager(entry_points=False)).plugin_infos()}

    assert {"tiktok", "s3host"} <= set(infos)
    assert infos["tiktok"].builtin
    assert infos["s3host"].builtin
    assert infos["tiktok"].version == metadata.version("crosspost")


def test_only_the_named_builtins_load() -> None:
    names = [i.name for i in Hooks(make_plugin_manager(builtins=("s3host",), entry_points=False)).plugin_infos()]

    assert names == ["s3host"]


@pytest.mark.parametrize("blocked", ["tiktok", "crosspost.plugins.tiktok.plugin"])
def test_a_builtin_can_be_disabled_by_entry_point_name_or_module(blocked: str) -> None:
    hooks = Hooks(make_plugin_manager(entry_points=False, disabled=[blocked]))

    assert "tiktok" not in [i.name for i in hooks.plugin_infos()]
    assert "tiktok" not in hooks.platforms()


def test_a_third_party_plugin_is_not_builtin(installed_distribution: str) -> None:
    info = {i.name: i for i in Hooks(make_plugin_manager()).plugin_infos()}[installed_distribution]

    assert info.builtin is False


def test_a_misspelled_hook_is_an_error_naming_the_plugin() -> None:
    class Typo:
        @hookimpl
        def register_platform(self, register):  # type: ignore[no-untyped-def]
            pass

    with pytest.raises(PluginError, match="register_platform"):
        make_plugin_manager(builtins=(), entry_points=False, extra=[Typo()])


def test_duplicate_platform_names_are_refused_naming_both_plugins() -> None:
    pm = make_plugin_manager(builtins=(), entry_points=False)
    pm.register(plugin_registering(Dummy()), name="first-plugin")
    pm.register(plugin_registering(Dummy()), name="second-plugin")
    with pytest.raises(PluginError) as info:
        Hooks(pm).platforms()
    assert "first-plugin" in str(info.value)
    assert "second-plugin" in str(info.value)


def test_a_plugin_that_raises_while_registering_does_not_take_the_others_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken:
        @hookimpl
        def register_platforms(self, register):  # type: ignore[no-untyped-def]
            raise RuntimeError("boom")

    pm = make_plugin_manager(builtins=(), entry_points=False)
    pm.register(Broken(), name="broken-plugin")
    pm.register(plugin_registering(Dummy()), name="good-plugin")
    with caplog.at_level(logging.ERROR, logger="crosspost.plugins"):
        platforms = Hooks(pm).platforms()
    assert list(platforms) == ["dummy"]
    assert "broken-plugin" in caplog.text


def test_a_plugin_that_fails_to_import_is_skipped_and_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_distribution(tmp_path, "cp-bad", "0.1", {"bad": "cp_missing_module"})
    sys.path.insert(0, str(tmp_path))
    try:
        with caplog.at_level(logging.ERROR, logger="crosspost.plugins"):
            hooks = Hooks(make_plugin_manager(builtins=()))
    finally:
        sys.path.remove(str(tmp_path))
    assert "bad" in caplog.text
    assert "bad" not in [i.name for i in hooks.plugin_infos()]


async def test_every_check_post_problem_is_collected() -> None:
    class VetoA:
        @hookimpl
        def check_post(self, post, target):  # type: ignore[no-untyped-def]
            return [Problem(field="content", message="no swearing")]

    class VetoB:
        @hookimpl
        async def check_post(self, post, target):  # type: ignore[no-untyped-def]
            return [Problem(field="media", message="no cats")]

    hooks = hooks_with(VetoA(), VetoB())
    post = Post(content="x", targets=[Target(platform="dummy")])
    problems = await hooks.check_post(post, post.targets[0])
    assert {p.message for p in problems} == {"no swearing", "no cats"}


async def test_rewrites_chain_in_order_and_may_be_async() -> None:
    class AddTag:
        @hookimpl
        def rewrite_post(self, post, target):  # type: ignore[no-untyped-def]
            return Post(content=post.content + " #a", targets=post.targets)

    class Shout:
        @hookimpl
        async def rewrite_post(self, post, target):  # type: ignore[no-untyped-def]
            return Post(content=post.content.upper(), targets=post.targets)

    # pluggy's call order: the last registered runs first, and sees nothing of the other.
    hooks = hooks_with(Shout(), AddTag())
    post = Post(content="hi", targets=[Target(platform="dummy")])
    rewritten, problems = await hooks.rewrite_post(post, post.targets[0])
    assert rewritten.content == "HI #A"
    assert problems == []


async def test_a_failing_event_listener_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []

    class Loud:
        @hookimpl
        def target_published(self, post_id, result):  # type: ignore[no-untyped-def]
            raise RuntimeError("listener broke")

    class Quiet:
        @hookimpl
        async def target_published(self, post_id, result):  # type: ignore[no-untyped-def]
            seen.append(post_id)

    hooks = hooks_with(Loud(), Quiet())
    result = TargetResult(target=Target(platform="dummy"), status=JobStatus.PUBLISHED)
    await hooks.target_published("p1", result)
    assert seen == ["p1"]
    assert "listener broke" in caplog.text


async def test_host_media_takes_the_first_url_offered() -> None:
    class Declines:
        @hookimpl
        def host_media(self, path, target):  # type: ignore[no-untyped-def]
            return None

    class Hosts:
        @hookimpl
        async def host_media(self, path, target):  # type: ignore[no-untyped-def]
            return f"https://cdn.example/{path}"

    hooks = hooks_with(Hosts(), Declines())
    settings = Settings.from_env({})
    assert await hooks.host_media("a.jpg", Target(platform="dummy"), settings) == "https://cdn.example/a.jpg"
    assert await hooks_with(Declines()).host_media("a.jpg", Target(platform="dummy"), settings) is None


def test_registering_something_that_is_not_a_platform_is_refused() -> None:
    hooks = hooks_with(plugin_registering(SimpleNamespace(name="x")))  # type: ignore[arg-type]
    with pytest.raises(PluginError, match="not a Platform"):
        hooks.platforms()


def recorder(seen: list[str], label: str, **marks: bool) -> object:
    class _Listener:
        @hookimpl(**marks)
        def post_cancelled(self, post_id):  # type: ignore[no-untyped-def]
            seen.append(label)

    return _Listener()


async def test_tryfirst_runs_first_and_trylast_last_whatever_the_registration_order() -> None:
    seen: list[str] = []
    hooks = hooks_with(recorder(seen, "first", tryfirst=True), recorder(seen, "plain-1"),
                       recorder(seen, "last", trylast=True), recorder(seen, "plain-2"))

    await hooks.post_cancelled("p1")

    assert seen == ["first", "plain-2", "plain-1", "last"]


async def test_rewrites_follow_tryfirst_and_trylast() -> None:
    class Late:
        @hookimpl(trylast=True)
        def rewrite_post(self, post, target):  # type: ignore[no-untyped-def]
            return Post(content=post.content + " late", targets=post.targets)

    class Early:
        @hookimpl(tryfirst=True)
        def rewrite_post(self, post, target):  # type: ignore[no-untyped-def]
            return Post(content=post.content + " early", targets=post.targets)

    hooks = hooks_with(Early(), Late())
    post = Post(content="x", targets=[Target(platform="dummy")])

    rewritten, _ = await hooks.rewrite_post(post, post.targets[0])

    assert rewritten.content == "x early late"


async def test_a_wrapper_wraps_the_check_post_call_and_sees_every_result() -> None:
    calls: list[str] = []

    class Veto:
        @hookimpl
        def check_post(self, post, target):  # type: ignore[no-untyped-def]
            calls.append("veto")
            return [Problem(field="content", message="no")]

    class Audit:
        @hookimpl(wrapper=True)
        def check_post(self, post, target) -> Generator[None, list[Any], list[Any]]:  # type: ignore[no-untyped-def]
            calls.append("before")
            results = yield
            calls.append(f"after {len(results)}")
            return [*results, [Problem(field="media", message="audited")]]

    hooks = hooks_with(Veto(), Audit())
    post = Post(content="x", targets=[Target(platform="dummy")])

    problems = await hooks.check_post(post, post.targets[0])

    assert calls == ["before", "veto", "after 1"]
    assert [p.message for p in problems] == ["no", "audited"]


async def test_no_none_reaches_the_problem_list() -> None:
    class Accepts:
        @hookimpl
        def check_post(self, post, target):  # type: ignore[no-untyped-def]
            return None

    class AcceptsAsync:
        @hookimpl
        async def check_post(self, post, target):  # type: ignore[no-untyped-def]
            return [None]

    class PassThrough:
        @hookimpl(wrapper=True)
        def check_post(self, post, target):  # type: ignore[no-untyped-def]
            return (yield)

    hooks = hooks_with(Accepts(), AcceptsAsync(), PassThrough())
    post = Post(content="x", targets=[Target(platform="dummy")])

    assert await hooks.check_post(post, post.targets[0]) == []


async def test_a_check_post_that_raises_is_a_problem_naming_the_plugin_and_the_others_still_run() -> None:
    class Broken:
        @hookimpl
        async def check_post(self, post, target):  # type: ignore[no-untyped-def]
            raise RuntimeError("lookup down")

    class Veto:
        @hookimpl
        def check_post(self, post, target):  # type: ignore[no-untyped-def]
            raise ValueError("bad word")

    pm = make_plugin_manager(builtins=(), entry_points=False)
    pm.register(Broken(), name="broken")
    pm.register(Veto(), name="veto")
    post = Post(content="x", targets=[Target(platform="dummy")])

    problems = await Hooks(pm).check_post(post, post.targets[0])

    assert sorted(p.message for p in problems) == ["plugin 'broken': lookup down", "plugin 'veto': bad word"]


@pytest.mark.parametrize("hook", ["rewrite_post", "host_media"])
def test_a_wrapper_of_an_iterated_hook_is_refused_saying_why(hook: str) -> None:
    def wrapper(self, **kwargs):  # type: ignore[no-untyped-def]
        return (yield)

    wrapper.__name__ = hook
    plugin_class = type("Wrapping", (), {hook: hookimpl(wrapper=True)(wrapper)})
    pm = make_plugin_manager(builtins=(), entry_points=False)

    with pytest.raises(PluginError, match=f"{hook} does not take wrapper implementations") as info:
        pm.register(plugin_class(), name="wrapping")

    assert "wrapping" in str(info.value)
    assert pm.get_plugin("wrapping") is None


def test_a_host_that_says_it_is_not_ready_is_not_counted() -> None:
    class Bucket:
        ready = False

        @hookimpl
        def host_media(self, path, target, settings):  # type: ignore[no-untyped-def]
            return None

        @hookimpl
        def media_host_ready(self, settings):  # type: ignore[no-untyped-def]
            return self.ready

    bucket = Bucket()
    hooks = hooks_with(bucket)
    settings = Settings.from_env({})

    assert hooks.has_media_host(settings) is False
    bucket.ready = True
    assert hooks.has_media_host(Settings.from_env({})) is True
    assert hooks_with().has_media_host(settings) is False


def test_the_readiness_answer_is_kept_per_settings_object_until_the_plugins_change() -> None:
    asked: list[Settings] = []

    class Bucket:
        @hookimpl
        def host_media(self, path, target, settings):  # type: ignore[no-untyped-def]
            return None

        @hookimpl
        def media_host_ready(self, settings):  # type: ignore[no-untyped-def]
            asked.append(settings)
            return True

    class Other:
        @hookimpl
        def media_host_ready(self, settings):  # type: ignore[no-untyped-def]
            return False

    hooks = hooks_with(Bucket())
    settings = Settings.from_env({})
    assert [hooks.has_media_host(settings) for _ in range(3)] == [True, True, True]
    assert asked == [settings]
    other = Settings.from_env({"CROSSPOST_X": "1"})
    assert hooks.has_media_host(other) is True
    assert asked == [settings, other]
    hooks.register(Other(), name="other")
    assert hooks.has_media_host(other) is True
    assert asked == [settings, other, other]


def test_a_host_without_a_readiness_answer_counts_as_ready() -> None:
    class Always:
        @hookimpl
        def host_media(self, path, target):  # type: ignore[no-untyped-def]
            return "https://cdn.example/x"

    assert hooks_with(Always()).has_media_host(Settings.from_env({})) is True


def test_the_s3_host_is_ready_only_with_a_bucket() -> None:
    hooks = Hooks(make_plugin_manager(builtins=("s3host",), entry_points=False))

    assert hooks.has_media_host(Settings.from_env({})) is False
    assert hooks.has_media_host(Settings.from_env({"CROSSPOST_S3_BUCKET": "media"})) is True
