"""Time-ordered ids: a kind prefix, 48 bits of milliseconds and 80 random bits in
Crockford base32. Sorting ids sorts by creation time, which the stores rely on for
history order and cursors (the CQL way: time-ordered clustering keys)."""

from __future__ import annotations

import os
import re
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_ID_RE = re.compile(r"^[a-z]{1,3}_[0-9a-hjkmnp-tv-z]{26}$")

KINDS = {"tenant": "t", "conversation": "c", "message": "m", "visitor": "v", "operator": "op", "attachment": "a", "event": "e", "audio": "au"}


def _encode(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def new_id(kind: str, now_ms: int | None = None) -> str:
    prefix = KINDS[kind]
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")
    return f"{prefix}_{_encode(ms, 10)}{_encode(rand, 16)}"


def is_id(value: str, kind: str) -> bool:
    return bool(_ID_RE.match(value)) and value.split("_", 1)[0] == KINDS[kind]


def id_time_ms(value: str) -> int:
    body = value.split("_", 1)[1][:10]
    ms = 0
    for ch in body:
        ms = ms * 32 + _ALPHABET.index(ch)
    return ms
