"""Secrets at rest (:class:`SecretBox`) and secrets kept out of logs (:func:`install_log_redaction`).

Why AES-GCM and not Fernet: each stored secret is bound to the row it belongs to through
*associated data* (e.g. ``b"tiktok:main"``), so a ciphertext copied onto another account fails to
decrypt instead of silently lending one account's token to another. Fernet has no associated
data. Key rotation is kept the way MultiFernet does it: several keys, the first encrypts, every
key decrypts; :meth:`SecretBox.rotate` re-encrypts a value under the first key.

Token layout (bytes): ``version (1) | key id (4) | nonce (12) | AES-256-GCM ciphertext + tag``.
The key id (a SHA-256 fingerprint of the key, not the key) lets a wrong key be reported as
*"encrypted with a key you did not configure"* rather than as corruption.

Keys: ``CROSSPOST_SECRET_KEY`` holds one or more comma-separated keys, each 32 random bytes in
URL-safe base64. Generate one with::

    python -c "from crosspost.core.secrets import generate_key; print(generate_key())"

(or ``python -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"``).
To rotate, put the new key first and keep the old one after it until every secret was rewritten.
Without the variable, a key file ``crosspost.key`` beside the database is used, created with mode
0600 on first use (one key per line, same rules).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import logging
import os
import re
import secrets as _random
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crosspost.core.errors import ConfigError
from crosspost.core.settings import Settings

log = logging.getLogger("crosspost.secrets")

KEY_ENV = "CROSSPOST_SECRET_KEY"
KEY_FILE_NAME = "crosspost.key"
_VERSION = 1
_KEY_ID_LEN = 4
_NONCE_LEN = 12
_HEADER_LEN = 1 + _KEY_ID_LEN + _NONCE_LEN
_GENERATE_HINT = 'generate one with: python -c "from crosspost.core.secrets import generate_key; print(generate_key())"'


def generate_key() -> str:
    """A new random key in the form ``CROSSPOST_SECRET_KEY`` and the key file expect."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"crosspost-secretbox-key-id:" + key).digest()[:_KEY_ID_LEN]


def parse_keys(text: str, *, source: str) -> list[bytes]:
    """Keys from a comma- or newline-separated list of URL-safe base64 strings (32 bytes each)."""
    keys: list[bytes] = []
    for n, item in enumerate(re.split(r"[,\s]+", text.strip()), start=1):
        if not item:
            continue
        try:
            raw = base64.urlsafe_b64decode(item + "=" * (-len(item) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ConfigError(f"secret key #{n} in {source} is not 32 bytes of URL-safe base64; {_GENERATE_HINT}")
        keys.append(raw)
    if not keys:
        raise ConfigError(f"{source} holds no secret key; {_GENERATE_HINT}")
    return keys


class SecretBox:
    """Authenticated encryption of small secrets (tokens, client secrets) with key rotation.

    ``encrypt``/``decrypt`` take ``associated`` bytes that must match on both sides (use the
    account key, e.g. ``b"tiktok:main"``). Decryption never returns garbage: a wrong key,
    a tampered token or a mismatched ``associated`` raises :class:`ConfigError` naming the fix.
    """

    def __init__(self, key: bytes | Sequence[bytes], *, source: str = "the configured key") -> None:
        keys = [key] if isinstance(key, bytes) else list(key)
        if not keys or any(len(k) != 32 for k in keys):
            raise ConfigError(f"a SecretBox key must be 32 bytes; {_GENERATE_HINT}")
        self._ciphers = [(_key_id(k), AESGCM(k)) for k in keys]
        self.source = source
        """Where the keys came from (env variable or key file path), for error messages."""

    def __repr__(self) -> str:
        return f"SecretBox(keys={len(self._ciphers)}, source={self.source!r})"

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        """Keys from ``CROSSPOST_SECRET_KEY``, else from the key file beside the database
        (created with mode 0600 on first use)."""
        env_value = settings.env.get(KEY_ENV, "").strip()
        if env_value:
            return cls(parse_keys(env_value, source=KEY_ENV), source=KEY_ENV)
        path = key_file_path(settings)
        return cls(parse_keys(read_or_create_key_file(path), source=str(path)), source=f"key file {path}")

    def encrypt(self, plaintext: bytes, *, associated: bytes) -> bytes:
        """Encrypt under the first key; the result decrypts only with the same ``associated``."""
        key_id, cipher = self._ciphers[0]
        nonce = os.urandom(_NONCE_LEN)
        return bytes([_VERSION]) + key_id + nonce + cipher.encrypt(nonce, plaintext, associated)

    def decrypt(self, token: bytes, *, associated: bytes) -> bytes:
        """The plaintext, or :class:`ConfigError` saying whether the key or the data is wrong."""
        if len(token) < _HEADER_LEN + 16 or token[0] != _VERSION:
            raise ConfigError(
                "a stored secret is not in crosspost's encrypted format (truncated or written by "
                "something else); log in again to replace it"
            )
        key_id, nonce, body = token[1 : 1 + _KEY_ID_LEN], token[1 + _KEY_ID_LEN : _HEADER_LEN], token[_HEADER_LEN:]
        candidates = [cipher for kid, cipher in self._ciphers if kid == key_id]
        if not candidates:
            raise ConfigError(
                f"stored secrets were encrypted with a different key than {self.source}; check that "
                f"{KEY_ENV} (or the key file beside the database) is the key used when they were "
                "saved. After a key change, list the new key first and the old one after it, comma-separated"
            )
        for cipher in candidates:
            try:
                return cipher.decrypt(nonce, body, associated)
            except InvalidTag:
                continue
        raise ConfigError(
            "a stored secret failed its integrity check: it was modified, or it belongs to another "
            "record than the one it was read for; log in again to replace it"
        )

    def rotate(self, token: bytes, *, associated: bytes) -> bytes:
        """Re-encrypt ``token`` under the first (newest) key."""
        return self.encrypt(self.decrypt(token, associated=associated), associated=associated)


def key_file_path(settings: Settings) -> Path:
    """``crosspost.key`` in the database's folder (the data folder for server databases)."""
    db = settings.db
    if db.startswith("sqlite:///"):
        db = db[len("sqlite:///") :]
    elif db.startswith("sqlite://"):
        db = db[len("sqlite://") :]
    if "://" in db or db in ("", ":memory:"):
        return settings.data_dir / KEY_FILE_NAME
    return Path(db).expanduser().parent / KEY_FILE_NAME


def read_or_create_key_file(path: Path) -> str:
    """The key file's text; on first use write a new key to it atomically with mode 0600.

    The key is written to a private temporary file (``O_EXCL``) and hard-linked into place, so a
    concurrent process either creates the file or reads the complete one, never a half-written key.
    """
    _check_key_folder(path)
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{_random.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(generate_key() + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
            log.info("created a new secret key file at %s (mode 0600); back it up with the database", path)
        except FileExistsError:
            pass  # another process won the race; use its key
    finally:
        tmp.unlink(missing_ok=True)
    return _read_key_file(path)


def _check_key_folder(path: Path) -> None:
    """Refuse a key file in a folder other users can write to (``/tmp``), or one they own.

    There anyone can plant ``crosspost.key`` first, or swap it, and read every token encrypted
    with it; the quickstart once put the database (and so the key) in ``/tmp``.
    """
    if os.name != "posix":
        return
    folder = path.parent
    with contextlib.suppress(FileNotFoundError):
        if folder.stat().st_mode & 0o002:
            raise ConfigError(
                f"the secret key file would be {path}, in a folder every user can write to: set "
                "CROSSPOST_DATA_DIR (or CROSSPOST_DB) to a private folder such as ~/.local/share/crosspost, "
                "or set CROSSPOST_SECRET_KEY")
    with contextlib.suppress(FileNotFoundError):
        if path.stat().st_uid != os.getuid():
            raise ConfigError(f"the secret key file {path} belongs to another user: crosspost will not use it; "
                              "move the database to a private folder or set CROSSPOST_SECRET_KEY")


def _read_key_file(path: Path) -> str:
    text = path.read_text(encoding="ascii")
    if os.name == "posix" and path.stat().st_mode & 0o077:
        log.warning("secret key file %s is readable by other users; run: chmod 600 %s", path, path)
    return text


# --- keeping secrets out of logs -------------------------------------------------------------

MASK = "***"
_PATTERNS = (
    # key=value in query strings, form bodies and reprs
    re.compile(r"(?i)\b(upload_token|access_token|refresh_token|client_secret|code_verifier|token)=([^&\s\"',;)]+)"),
    # "key": "value" in JSON
    re.compile(r'(?i)"(upload_token|access_token|refresh_token|client_secret|code_verifier)"\s*:\s*"([^"]*)"'),
    re.compile(r"(?i)\b(Bearer)\s+([A-Za-z0-9._~+/=-]+)"),
)
_TOKEN_PREFIX = re.compile(r"\b(act|rft|clt)\.[A-Za-z0-9._~+/=-]+")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret value and every token-looking pattern masked.

    Masks ``access_token=…``/``upload_token=…``-style pairs (query strings, form bodies, JSON),
    ``Bearer …`` and TikTok's ``act.…``/``rft.…``/``clt.…`` tokens, plus the given values.
    """
    for value in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(value, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(_mask_value, text)
    return _TOKEN_PREFIX.sub(lambda m: f"{m.group(1)}.{MASK}", text)


def _mask_value(match: re.Match[str]) -> str:
    start = match.start()
    whole = match.group(0)
    return whole[: match.start(2) - start] + MASK + whole[match.end(2) - start :]


class RedactionFilter(logging.Filter):
    """A logging filter that masks secrets in a record's message, arguments and traceback.

    Known values are added with :meth:`add` (``SecretBox.decrypt`` callers should add what they
    decrypted); patterns are masked whether registered or not. Never drops a record.
    """

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, *values: str) -> None:
        """Mask these exact values from now on (values shorter than 6 characters are ignored:
        masking them would garble ordinary words)."""
        with self._lock:
            self._secrets.update(v for v in values if len(v) >= 6)

    def redact(self, text: str) -> str:
        with self._lock:
            known = tuple(self._secrets)
        return redact(text, known)

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_crosspost_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the raw template, still masked
            message = str(record.msg)
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        record._crosspost_redacted = True
        return True


REDACTOR = RedactionFilter()
"""The process-wide filter :func:`install_log_redaction` installs; add known secrets to it."""
_installed: set[str] = set()
_install_lock = threading.Lock()
_factory_before: list[Callable[..., logging.LogRecord]] = []


def register_secret(*values: str) -> None:
    """Mask these values in every crosspost log record from now on."""
    REDACTOR.add(*values)


def install_log_redaction(logger_names: Iterable[str] = ("crosspost", "aiohttp")) -> RedactionFilter:
    """Mask secrets in records of the named loggers *and their children*. Idempotent.

    A filter attached to a logger sees only records logged on that very logger, not those of its
    children (``crosspost.platform.<name>``) passing through. So besides adding :data:`REDACTOR`
    to each named logger, this wraps the log record factory so records of child loggers are
    redacted when they are created, whatever handlers the application configured.
    """
    names = tuple(logger_names)
    with _install_lock:
        for name in names:
            logger = logging.getLogger(name)
            if REDACTOR not in logger.filters:
                logger.addFilter(REDACTOR)
        new = set(names) - _installed
        if not new:
            return REDACTOR
        _installed.update(new)
        prefixes = tuple(sorted(_installed))
        previous = logging.getLogRecordFactory()
        if not _factory_before:
            _factory_before.append(previous)

        def factory(*args: object, **kwargs: object) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if record.name.startswith(prefixes) and _is_under(record.name, prefixes):
                REDACTOR.filter(record)
            return record

        logging.setLogRecordFactory(factory)
    return REDACTOR


def uninstall_log_redaction() -> None:
    """Undo :func:`install_log_redaction` (for tests): restore the record factory it replaced.

    Only safe when nothing else replaced the factory after it; known secrets are kept.
    """
    with _install_lock:
        for name in _installed:
            logging.getLogger(name).removeFilter(REDACTOR)
        if _factory_before:
            logging.setLogRecordFactory(_factory_before.pop())
        _installed.clear()


def _is_under(name: str, roots: Iterable[str]) -> bool:
    return any(name == root or name.startswith(root + ".") for root in roots)
