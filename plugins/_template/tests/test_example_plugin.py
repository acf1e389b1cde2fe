"""The plugin as crosspost loads it: the entry point, the hook implementation, the platform."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

from crosspost.core.plugins import Hooks, make_plugin_manager

import crosspost_example.plugin
from crosspost_example.platform import ExamplePlatform

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_the_entry_point_names_the_module_with_the_hook_implementations() -> None:
    entry_points = tomllib.loads(PYPROJECT.read_text())["project"]["entry-points"]["crosspost"]

    assert entry_points == {"example": "crosspost_example.plugin"}
    assert importlib.import_module(entry_points["example"]) is crosspost_example.plugin


def test_the_plugin_registers_the_platform_and_passes_crosspost_s_hook_checks() -> None:
    hooks = Hooks(make_plugin_manager(builtins=(), entry_points=False, extra=[crosspost_example.plugin]))

    assert isinstance(hooks.platform("example"), ExamplePlatform)
    [info] = hooks.plugin_infos()
    assert info.hooks == ("register_platforms",)
