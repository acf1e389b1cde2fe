"""The package installs as the crosspost.* namespace from a built wheel, not only editable."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Every folder mapped onto the crosspost namespace (pyproject's package-dir), built-in plugins included.
MAPPED: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]


def declared_packages() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(config["tool"]["setuptools"]["packages"])


def test_every_source_folder_with_an_init_is_declared_as_a_package() -> None:
    found = set()
    for package, folder in MAPPED.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([package, *rel.parts]) if rel.parts else package)
    assert found == declared_packages()


@pytest.mark.slow
def test_a_built_wheel_imports_the_same_way_in_a_fresh_venv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(dist), str(ROOT)], check=True, capture_output=True)
    wheel = next(dist.glob("crosspost-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True)
    # Dependencies come from the test environment; crosspost itself only from the wheel.
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # (A venv made with --system-site-packages keeps them outside its own purelib.)
    folders = dict.fromkeys([sysconfig.get_path("purelib"), *(p for p in sys.path if p.endswith("-packages"))])
    Path(site, "test-deps.pth").write_text("".join(f"{f}\n" for f in folders))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = ("import crosspost.core, crosspost.storage, crosspost.plugins.tiktok, crosspost.plugins.mastodon,"
            " crosspost.plugins.mastodon.emulator, crosspost.testing;"
            "print(crosspost.core.__file__)")
    out = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True,
                         env=env, cwd=tmp_path).stdout
    assert out.strip().startswith(site)
    helped = subprocess.run([str(venv / "bin" / "crosspost"), "--help"], capture_output=True, text=True,
                            env=env, cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    assert "Usage" in helped.stdout
    plugins = subprocess.run([str(python), "-c", _PLUGINS_FROM_THE_WHEEL], check=True, capture_output=True,
                             text=True, env=env, cwd=tmp_path).stdout.split()
    assert plugins == ["bluesky=crosspost.plugins.bluesky.plugin:builtin",
                       "mastodon=crosspost.plugins.mastodon.plugin:builtin",
                       "puthost=crosspost.plugins.puthost.plugin:builtin",
                       "s3host=crosspost.plugins.s3host.plugin:builtin",
                       "tiktok=crosspost.plugins.tiktok.plugin:builtin"]


_PLUGINS_FROM_THE_WHEEL = """
from importlib import metadata
from crosspost.core.plugins import Hooks, make_plugin_manager
eps = {ep.name: ep.value for ep in metadata.distribution("crosspost").entry_points.select(group="crosspost")}
infos = Hooks(make_plugin_manager(entry_points=False)).plugin_infos()
for info in sorted(infos, key=lambda i: i.name):
    print(f"{info.name}={eps[info.name]}:{'builtin' if info.builtin else 'third-party'}")
"""
