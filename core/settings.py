"""Configuration from flags or the environment, read once into a frozen value.

Names follow the CLI contract: ``CROSSPOST_DB``, ``CROSSPOST_TIKTOK_API_BASE``,
``CROSSPOST_TIKTOK_CLIENT_KEY``, ``CROSSPOST_TIKTOK_CLIENT_SECRET``. A platform reads its own
settings with :meth:`Settings.platform` (``CROSSPOST_<PLATFORM>_<KEY>``), so a third-party plugin
gets configuration without core knowing its names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import attrs

PREFIX = "CROSSPOST_"


def default_data_dir() -> Path:
    """The user's data folder (XDG on Linux, the usual places elsewhere)."""
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif os.uname().sysname == "Darwin":  # pragma: no cover - exercised on macOS only
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "crosspost"


def disabled_plugins(environ: Mapping[str, str]) -> frozenset[str]:
    """The plugin names in ``CROSSPOST_DISABLE_PLUGINS`` (a comma list)."""
    return frozenset(n.strip() for n in environ.get("CROSSPOST_DISABLE_PLUGINS", "").split(",") if n.strip())


@attrs.frozen(kw_only=True)
class Settings:
    """Everything crosspost reads from its environment. Secrets are never shown in its repr."""

    db: str
    """SQLite path, ``sqlite:///path`` or ``postgresql://…`` URL."""
    data_dir: Path
    env: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    """The ``CROSSPOST_*`` variables, for platform settings (kept out of reprs: may hold secrets)."""
    disabled_plugins: frozenset[str] = frozenset()
    concurrency: int = 8

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``environ`` (default ``os.environ``), then explicit ``overrides``."""
        environ = os.environ if environ is None else environ
        env = {k: v for k, v in environ.items() if k.startswith(PREFIX)}
        data_dir = Path(env.get("CROSSPOST_DATA_DIR") or default_data_dir())
        values: dict[str, object] = {
            "db": env.get("CROSSPOST_DB") or str(data_dir / "crosspost.db"),
            "data_dir": data_dir,
            "env": env,
            "disabled_plugins": disabled_plugins(env),
            "concurrency": int(env.get("CROSSPOST_CONCURRENCY", "8")),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def platform(self, name: str) -> Mapping[str, str]:
        """``CROSSPOST_<NAME>_*`` variables with the prefix removed and keys lower-cased.

        ``platform("tiktok")["api_base"]`` reads ``CROSSPOST_TIKTOK_API_BASE``.
        """
        prefix = f"{PREFIX}{name.upper()}_"
        return {k[len(prefix):].lower(): v for k, v in self.env.items() if k.startswith(prefix)}
