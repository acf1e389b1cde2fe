"""Plugin discovery, isolation of broken plugins, and the registration rules."""

from __future__ import annotations

import logging
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from crosspost.core import hookimpl
from crosspost.core.errors import PluginError, Problem
from crosspost.core.models import JobStatus, Post, Target, TargetResult
from crosspost.core.platform import JobContext, Outcome, Platform, Validation
from crosspost.core.plugins import Hooks, make_plugin_manager
from crosspost.core.settings import Settings


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
    info = tmp_path / "cp_tiny-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cp-tiny\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text("[crosspost]\ntiny = cp_tiny\n")
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


def test_the_builtin_tiktok_plugin_is_loaded_by_import_path() -> None:
    names = [i.name for i in Hooks(make_plugin_manager(entry_points=False)).plugin_infos()]
    assert "crosspost.plugins.tiktok.plugin" in names


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
    info = tmp_path / "cp_bad-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cp-bad\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[crosspost]\nbad = cp_missing_module\n")
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

    hooks = hooks_with(AddTag(), Shout())
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
