"""The secret key file is never created or read where other users could plant or swap it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from crosspost.core.errors import ConfigError
from crosspost.core.secrets import read_or_create_key_file


def test_a_key_file_in_a_world_writable_folder_is_refused_naming_the_fix(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp

    with pytest.raises(ConfigError, match="every user can write to: set CROSSPOST_DATA_DIR"):
        read_or_create_key_file(shared / "crosspost.key")

    assert not (shared / "crosspost.key").exists()


def test_a_new_key_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "crosspost.key"

    read_or_create_key_file(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0


@pytest.mark.skipif(os.getuid() != 0, reason="only root can give a file to another user")
def test_a_key_file_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "crosspost.key"
    read_or_create_key_file(path)
    os.chown(path, 65534, 65534)

    with pytest.raises(ConfigError, match="belongs to another user"):
        read_or_create_key_file(path)
