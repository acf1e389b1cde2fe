"""The template stays a template: its README names every file an author changes, every setting and
option it reads, and the whole checklist; its code paths hold no stubs."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from types import ModuleType

import attrs
import pytest

TEMPLATE = Path(__file__).resolve().parents[2] / "plugins" / "_template"
README = (TEMPLATE / "README.md").read_text()
PACKAGE = TEMPLATE / "crosspost_example"


def template_module(name: str) -> ModuleType:
    sys.path.insert(0, str(TEMPLATE))
    try:
        return importlib.import_module(f"crosspost_example.{name}")
    finally:
        sys.path.remove(str(TEMPLATE))


@pytest.mark.parametrize("module", sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"))
def test_the_readme_names_every_module_an_author_may_change(module: str) -> None:
    assert f"`crosspost_example/{module}`" in README


def test_the_readme_documents_every_setting_the_plugin_reads() -> None:
    sansio = template_module("sansio")
    variables = {f"CROSSPOST_EXAMPLE_{f.name.upper()}" for f in attrs.fields(sansio.ExampleConfig)}

    assert {v for v in variables if f"`{v}`" not in README} == set()


def test_the_readme_documents_every_target_option() -> None:
    platform = template_module("platform").ExamplePlatform

    assert {o for o in platform.option_names if f"| `{o}` |" not in README} == set()


@pytest.mark.parametrize("topic", ["Limits", "Settings", "Credentials", "Rate limits", "Error mapping",
                                   "Resumable publishing", "Uploads", "Fake server", "Tests", "Docs"])
def test_the_checklist_covers(topic: str) -> None:
    assert re.search(rf"^- \[ \] \*\*{topic}\.\*\*", README, flags=re.MULTILINE)


def test_the_plugins_code_paths_hold_no_stubs() -> None:
    stubs = [f"{p.name}:{n}" for p in PACKAGE.glob("*.py")
             for n, line in enumerate(p.read_text().splitlines(), 1)
             if re.search(r"TODO|FIXME|XXX|NotImplementedError|^\s*\.\.\.\s*$", line)]

    assert stubs == []
