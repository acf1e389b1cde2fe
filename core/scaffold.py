"""``crosspost plugin new NAME``: a copy of the plugin template, renamed for a new platform.

The template (``plugins/_template``) is a working plugin for a platform called ``example``.
Rendering copies it and renames every ``example`` / ``Example`` / ``EXAMPLE`` in file names and
contents (package ``crosspost_example``, class ``ExamplePlatform``, settings
``CROSSPOST_EXAMPLE_*``, entry point ``example``) to the new name, so the copy installs and
passes its tests unchanged. The template keeps the word only where it means the platform.
"""

from __future__ import annotations

import keyword
import re
import shutil
from pathlib import Path

import attrs

from crosspost.core.errors import ConfigError

TEMPLATE_NAME = "example"
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_SKIPPED = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "build", "dist", ".venv"})


@attrs.frozen(kw_only=True)
class PluginNames:
    """The spellings of one platform name: ``my_site``, ``MySite``, ``MY_SITE``, ``my-site``."""

    name: str
    camel: str
    upper: str
    dashed: str

    @classmethod
    def of(cls, name: str) -> PluginNames:
        """Check ``name`` (lower-case letters, digits, ``_``; used in targets, packages and
        environment variable names) and derive its spellings."""
        if not _NAME.fullmatch(name) or keyword.iskeyword(name) or name.endswith("_") or "__" in name:
            raise ConfigError(f"plugin name {name!r}: use lower-case letters, digits and single '_' "
                              "inside, starting with a letter (e.g. mastodon, my_site)")
        camel = "".join(part.capitalize() for part in name.split("_"))
        return cls(name=name, camel=camel, upper=name.upper(), dashed=name.replace("_", "-"))

    def rename(self, text: str) -> str:
        """``text`` with the template's platform name replaced by this one, in every spelling."""
        return (text.replace(f"crosspost-{TEMPLATE_NAME}", f"crosspost-{self.dashed}")
                .replace(TEMPLATE_NAME.upper(), self.upper)
                .replace(TEMPLATE_NAME.capitalize(), self.camel)
                .replace(TEMPLATE_NAME, self.name))


def render_plugin(template_dir: Path, dest_dir: Path, name: str) -> Path:
    """Copy ``template_dir`` to ``dest_dir`` renamed for platform ``name``; return ``dest_dir``.

    Build and cache folders are left out. Raises ConfigError for a bad name, a missing template
    or a ``dest_dir`` that already has files (nothing is overwritten).
    """
    names = PluginNames.of(name)
    if not (template_dir / "pyproject.toml").is_file():
        raise ConfigError(f"{template_dir} is not a plugin template (no pyproject.toml)")
    if dest_dir.exists() and any(dest_dir.iterdir()):
        raise ConfigError(f"{dest_dir} already exists and is not empty; choose a new folder")
    for source in sorted(template_dir.rglob("*")):
        relative = source.relative_to(template_dir)
        if any(part in _SKIPPED or part.endswith(".egg-info") for part in relative.parts):
            continue
        target = dest_dir / names.rename(relative.as_posix())
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            target.write_text(names.rename(source.read_text(encoding="utf-8")), encoding="utf-8")
        except UnicodeDecodeError:
            target.write_bytes(source.read_bytes())
        shutil.copymode(source, target)
    dest_dir.mkdir(parents=True, exist_ok=True)
    return dest_dir


def default_template_dir() -> Path:
    """The template beside crosspost's code: ``plugins/_template`` next to ``core/`` in a source
    checkout or editable install (``crosspost/plugins/_template`` if a wheel ships it)."""
    candidate = Path(__file__).resolve().parents[1] / "plugins" / "_template"
    if (candidate / "pyproject.toml").is_file():
        return candidate
    raise ConfigError("the plugin template was not found next to crosspost's code; clone crosspost's "
                      "repository and copy plugins/_template, or pass its folder explicitly")


def new_plugin(name: str, parent: Path, *, template_dir: Path | None = None) -> Path:
    """Render the template into ``parent/crosspost-<name>`` (``crosspost plugin new NAME``)."""
    names = PluginNames.of(name)
    return render_plugin(template_dir or default_template_dir(), parent / f"crosspost-{names.dashed}", name)
