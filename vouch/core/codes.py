"""Crockford base32 invite codes: generation from `secrets` and normalisation of input."""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
INVITE_CODE_LENGTH = 6
INVITE_CODE_MAX_INPUT = 32

_READS_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_IGNORED = str.maketrans("", "", " -\t")


def generate_invite_code() -> str:
    """Return a fresh random invite code; uniqueness is the database's job."""
    return "".join(secrets.choice(ALPHABET) for _ in range(INVITE_CODE_LENGTH))


def normalize_invite_code(raw: str) -> str | None:
    """
    Return the canonical form of a typed invite code, or None if it cannot be one.

    Case does not matter, spaces and dashes are ignored, O reads as 0 and I, L as 1.
    """
    code = raw.translate(_IGNORED).upper().translate(_READS_AS)
    if len(code) != INVITE_CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code
