"""The architecture rules are import-linter contracts in pyproject.toml, and they hold."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RULES = {"core-names-no-plugin", "storage-below-the-engine", "tiktok-sans-io", "plugins-independent"}


def contracts() -> dict[str, dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {c["id"]: c for c in config["contracts"]}


def test_every_architecture_rule_is_a_contract() -> None:
    assert set(contracts()) >= RULES


def test_every_plugin_package_is_in_the_independence_contract() -> None:
    packages = {f"crosspost.plugins.{p.name}" for p in (ROOT / "plugins").iterdir()
                if (p / "__init__.py").exists() and not p.name.startswith("_")}
    assert set(contracts()["plugins-independent"]["modules"]) == packages  # type: ignore[arg-type]


def test_the_contracts_hold() -> None:
    script = Path(sys.executable).parent / "lint-imports"
    command = str(script) if script.exists() else shutil.which("lint-imports")
    if command is None:
        pytest.skip("import-linter is not installed (pip install -e '.[lint]')")
    env = {**os.environ, "PYTHONPATH": str(ROOT / ".typecheck")}
    result = subprocess.run([command, "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:]
