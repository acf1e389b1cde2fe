"""Every identifier the emulator hands out, shaped like TikTok's and drawn from a seeded RNG.

Shapes are copied from real responses (tiktok-api.md §1, §2.2, §8.2) so clients that parse or
store them (a 34-character ``log_id``, ``v_pub_file~v2-1.<19 digits>``, ``act.``/``rft.`` tokens)
meet the same strings they will meet in production. A seeded ``random.Random`` keeps two runs
with the same seed byte-identical, which makes failures reproducible.

Tokens are not secret here (this is a test double), but they are still treated like secrets:
records and reprs carry only :func:`token_fingerprint`.
"""

from __future__ import annotations

import hashlib
import random
import string
import uuid
from datetime import UTC, datetime

_TOKEN_ALPHABET = string.ascii_letters + string.digits
_OPEN_ID_ALPHABET = string.ascii_letters + string.digits + "-_"


def token_fingerprint(token: str) -> str:
    """A short, stable, non-reversible stand-in for a token, safe to log and to compare in tests."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class IdFactory:
    """Mints ids; one instance per emulator, seeded so runs repeat exactly."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def _text(self, length: int, alphabet: str = _TOKEN_ALPHABET) -> str:
        return "".join(self._rng.choice(alphabet) for _ in range(length))

    def digits19(self) -> int:
        """A 19-digit positive int64, the shape of TikTok upload ids, publish ids and post ids."""
        return self._rng.randrange(7_000_000_000_000_000_000, 7_999_999_999_999_999_999)

    def log_id(self, now: float) -> str:
        """``YYYYMMDDhhmmss`` (UTC) plus 20 upper-case hex digits: 34 characters, as observed."""
        stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d%H%M%S")
        return stamp + f"{self._rng.getrandbits(80):020X}"

    def publish_id(self, prefix: str) -> str:
        """``prefix`` is the part before the number, e.g. ``v_pub_file~v2-1.``."""
        return f"{prefix}{self.digits19()}"

    def upload_token(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def access_token(self) -> str:
        return "act." + self._text(60)

    def refresh_token(self) -> str:
        return "rft." + self._text(60)

    def open_id(self) -> str:
        return "-000" + self._text(32, _OPEN_ID_ALPHABET)

    def auth_code(self) -> str:
        return self._text(48)
