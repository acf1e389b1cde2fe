"""``crosspost plugin new``: the template renders under a new name and the copy passes its own tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from crosspost.core.errors import ConfigError
from crosspost.core.scaffold import PluginNames, default_template_dir, new_plugin, render_plugin

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "plugins" / "_template"


def rendered_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_names_are_derived_in_every_spelling() -> None:
    names = PluginNames.of("acme_social")

    assert (names.camel, names.upper, names.dashed) == ("AcmeSocial", "ACME_SOCIAL", "acme-social")
    assert names.rename("crosspost-example crosspost_example ExamplePlatform CROSSPOST_EXAMPLE_URL") == (
        "crosspost-acme-social crosspost_acme_social AcmeSocialPlatform CROSSPOST_ACME_SOCIAL_URL")


@pytest.mark.parametrize("name", ["", "Acme", "2fast", "my-site", "with space", "class", "trailing_", "a__b"])
def test_names_that_cannot_be_targets_packages_and_variables_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="lower-case letters"):
        PluginNames.of(name)


def test_the_default_template_is_the_repositorys_plugin_template() -> None:
    assert default_template_dir() == TEMPLATE


def test_the_rendered_copy_keeps_no_trace_of_the_template_name(tmp_path: Path) -> None:
    dest = render_plugin(TEMPLATE, tmp_path / "crosspost-acme-social", "acme_social")

    leftovers = [str(p.relative_to(dest)) for p in rendered_files(dest)
                 if re.search("example", str(p.relative_to(dest)) + p.read_text(), re.IGNORECASE)]
    assert leftovers == []
    project = tomllib.loads((dest / "pyproject.toml").read_text())["project"]
    assert project["name"] == "crosspost-acme-social"
    assert project["entry-points"]["crosspost"] == {"acme_social": "crosspost_acme_social.plugin"}
    assert "class AcmeSocialPlatform(Platform)" in (dest / "crosspost_acme_social" / "platform.py").read_text()
    assert not any(part in {"__pycache__", ".pytest_cache"} for p in rendered_files(dest) for part in p.parts)


def test_rendering_never_overwrites_an_existing_folder(tmp_path: Path) -> None:
    dest = tmp_path / "taken"
    dest.mkdir()
    (dest / "mine.txt").write_text("keep me")

    with pytest.raises(ConfigError, match="not empty"):
        render_plugin(TEMPLATE, dest, "acme_social")

    assert [p.name for p in dest.iterdir()] == ["mine.txt"]


def test_new_plugin_renders_into_a_crosspost_named_folder(tmp_path: Path) -> None:
    created = new_plugin("acme_social", tmp_path)

    assert created == tmp_path / "crosspost-acme-social"
    assert (created / "crosspost_acme_social" / "plugin.py").is_file()


@pytest.mark.slow
def test_the_renamed_copy_passes_its_own_tests_and_the_contract_suite(tmp_path: Path) -> None:
    dest = new_plugin("acme_social", tmp_path)
    env = {**os.environ, "PYTHONPATH": str(dest)}
    env.pop("PYTEST_ADDOPTS", None)

    result = subprocess.run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", str(dest / "tests")],
                            cwd=dest, env=env, capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"\d+ passed", result.stdout.strip().splitlines()[-1])
    contract = "test_acme_social_contract.py::TestAcmeSocialContract::"
    for test in ("test_secrets_never_leak", "test_publish_resumes_after_a_transient_failure_without_posting_twice"):
        assert f"{contract}{test} PASSED" in result.stdout
