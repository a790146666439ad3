"""Standard Webhooks 1.0 signatures: `whsec_` secrets and the `webhook-*` headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105  (the standard's prefix, not a secret)
SECRET_BYTES = 32  # the standard asks for 24 to 64


def secret_new() -> str:
    """Return a fresh endpoint secret, `whsec_<base64 of 32 random bytes>`."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def event_id_new() -> str:
    """Return a fresh event id (the `webhook-id`), `msg_<random>`."""
    return "msg_" + secrets.token_hex(12)


def signature(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` keyed with the secret's bytes."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signed_headers(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one attempt to deliver `body`."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(
            secret=secret, msg_id=msg_id, timestamp=timestamp, body=body
        ),
        "content-type": "application/json",
    }
