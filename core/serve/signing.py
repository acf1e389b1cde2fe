"""Webhook signatures, pure: each service's documented scheme, and crosspost's timestamped one.

* native: ``Crosspost-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`` (the
  Stripe / Standard Webhooks style: the timestamp lets a receiver refuse replays);
* Zernio, Late, SocialSyncerAPI, PostPost: hex HMAC-SHA256 of the body (PostPost's check hashes
  a compact re-serialisation, so bodies are sent compact);
* RelayAPI: ``sha256=<hex>`` of the body.
"""

from __future__ import annotations

import hashlib
import hmac


def hex_hmac(secret: str, message: str) -> str:
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def timestamped(secret: str, body: str, unix: int) -> str:
    return f"t={unix},v1={hex_hmac(secret, f'{unix}.{body}')}"


def verify_timestamped(secret: str, body: str, header: str, *, now: int, tolerance: int = 300) -> bool:
    """The receiver's check for :func:`timestamped` (what docs/serve.md shows)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        unix = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - unix) > tolerance:
        return False
    return hmac.compare_digest(parts.get("v1", ""), hex_hmac(secret, f"{unix}.{body}"))
