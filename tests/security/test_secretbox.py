"""SecretBox: authenticated encryption of tokens at rest, with key files and key rotation."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from crosspost.core.errors import ConfigError
from crosspost.core.secrets import KEY_ENV, SecretBox, generate_key, key_file_path, parse_keys
from crosspost.core.settings import Settings

TOKEN = b"act.example12345Example12345Example"


def _settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"CROSSPOST_DB": str(tmp_path / "db" / "crosspost.db"), **env})


def test_round_trip_returns_the_plaintext_and_hides_it_in_the_ciphertext() -> None:
    box = SecretBox(os.urandom(32))
    token = box.encrypt(TOKEN, associated=b"tiktok:main")
    assert TOKEN not in token
    assert box.decrypt(token, associated=b"tiktok:main") == TOKEN


def test_same_plaintext_encrypts_differently_each_time() -> None:
    box = SecretBox(os.urandom(32))
    assert box.encrypt(TOKEN, associated=b"a") != box.encrypt(TOKEN, associated=b"a")


def test_wrong_key_says_which_setting_to_check_never_returns_garbage() -> None:
    token = SecretBox(os.urandom(32)).encrypt(TOKEN, associated=b"tiktok:main")
    other = SecretBox(os.urandom(32), source=KEY_ENV)
    with pytest.raises(ConfigError, match=r"different key than CROSSPOST_SECRET_KEY") as info:
        other.decrypt(token, associated=b"tiktok:main")
    assert "old one after it" in str(info.value)


def test_tampered_ciphertext_is_refused() -> None:
    box = SecretBox(os.urandom(32))
    token = bytearray(box.encrypt(TOKEN, associated=b"tiktok:main"))
    token[-1] ^= 0x01
    with pytest.raises(ConfigError, match="integrity check"):
        box.decrypt(bytes(token), associated=b"tiktok:main")


def test_ciphertext_swapped_onto_another_account_is_refused() -> None:
    box = SecretBox(os.urandom(32))
    token = box.encrypt(TOKEN, associated=b"tiktok:alice")
    with pytest.raises(ConfigError, match="belongs to another record"):
        box.decrypt(token, associated=b"tiktok:bob")


def test_truncated_or_foreign_data_is_refused() -> None:
    box = SecretBox(os.urandom(32))
    with pytest.raises(ConfigError, match="not in crosspost's encrypted format"):
        box.decrypt(b"gAAAAAnot-ours", associated=b"x")


def test_rotation_new_key_encrypts_old_keys_still_decrypt() -> None:
    old, new = os.urandom(32), os.urandom(32)
    stored = SecretBox(old).encrypt(TOKEN, associated=b"a")
    rotated_box = SecretBox([new, old])
    assert rotated_box.decrypt(stored, associated=b"a") == TOKEN
    rewritten = rotated_box.rotate(stored, associated=b"a")
    assert SecretBox(new).decrypt(rewritten, associated=b"a") == TOKEN
    with pytest.raises(ConfigError):
        SecretBox(old).decrypt(rewritten, associated=b"a")


def test_env_key_list_first_encrypts_all_decrypt(tmp_path: Path) -> None:
    old, new = generate_key(), generate_key()
    stored = SecretBox.from_settings(_settings(tmp_path, CROSSPOST_SECRET_KEY=old)).encrypt(TOKEN, associated=b"a")
    box = SecretBox.from_settings(_settings(tmp_path, CROSSPOST_SECRET_KEY=f"{new}, {old}"))
    assert box.decrypt(stored, associated=b"a") == TOKEN
    assert box.source == KEY_ENV
    assert not (tmp_path / "db" / "crosspost.key").exists()


def test_malformed_env_key_names_the_variable_and_how_to_generate_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"CROSSPOST_SECRET_KEY is not 32 bytes.*generate_key"):
        SecretBox.from_settings(_settings(tmp_path, CROSSPOST_SECRET_KEY="too-short"))


def test_generated_key_is_32_bytes_of_urlsafe_base64() -> None:
    assert len(base64.urlsafe_b64decode(generate_key())) == 32
    assert len(parse_keys(generate_key().rstrip("="), source="x")) == 1


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_key_file_is_created_beside_the_database_with_mode_0600(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    box = SecretBox.from_settings(settings)
    path = tmp_path / "db" / "crosspost.key"
    assert key_file_path(settings) == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert str(path) in box.source
    again = SecretBox.from_settings(settings)
    assert again.decrypt(box.encrypt(TOKEN, associated=b"a"), associated=b"a") == TOKEN
    assert [p.name for p in path.parent.iterdir()] == ["crosspost.key"]  # no temporary file left


def test_key_file_path_follows_sqlite_urls_and_uses_data_dir_for_server_databases(tmp_path: Path) -> None:
    sqlite_url = Settings.from_env({"CROSSPOST_DB": f"sqlite:///{tmp_path}/x/y.db"})
    assert key_file_path(sqlite_url) == tmp_path / "x" / "crosspost.key"
    pg = Settings.from_env({"CROSSPOST_DB": "postgresql://u@h/db", "CROSSPOST_DATA_DIR": str(tmp_path / "d")})
    assert key_file_path(pg) == tmp_path / "d" / "crosspost.key"


def test_box_repr_shows_no_key_material() -> None:
    key = os.urandom(32)
    text = repr(SecretBox(key))
    assert base64.urlsafe_b64encode(key).decode() not in text
    assert key.hex() not in text
