"""A plugin distribution on disk, as pip would leave it: what the entry-point tests install.

``importlib.metadata`` finds a distribution by its ``NAME-VERSION.dist-info`` folder on
``sys.path``; ``entry_points.txt`` in it declares the ``[crosspost]`` plugins.
"""

from __future__ import annotations

from pathlib import Path


def write_distribution(folder: Path, name: str, version: str, entry_points: dict[str, str]) -> Path:
    """``folder/<name>-<version>.dist-info`` declaring ``entry_points`` (plugin name -> module)."""
    info = folder / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = "".join(f"{plugin} = {module}\n" for plugin, module in entry_points.items())
    (info / "entry_points.txt").write_text(f"[crosspost]\n{lines}")
    return info
