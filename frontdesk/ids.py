"""Time-ordered ids: a kind prefix, 48 bits of milliseconds and 80 random bits in
Crockford base32. Sorting ids sorts by creation time, which the stores rely on for
history order and cursors (the CQL way: time-ordered clustering keys)."""

from __future__ import annotations

import os
import re
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_ID_RE = re.compile(r"[a-z]{1,3}_[0-9a-hjkmnp-tv-z]{26}")

KINDS = {
    "tenant": "t",
    "conversation": "c",
    "message": "m",
    "visitor": "v",
    "operator": "op",
    "attachment": "a",
    "event": "e",
    "audio": "au",
    "note": "n",
    "audit": "ad",
}


def _encode(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


_last = (0, 0)  # (ms, random) of the previous id made by this process
_lock = threading.Lock()


def new_id(kind: str, now_ms: int | None = None, after: str = "") -> str:
    """A new id of `kind`. Ids made by one process are strictly increasing (within a
    millisecond the random part counts up, as in monotonic ULIDs); with `after`, the
    id also sorts after that one (a reply after its question, made elsewhere)."""
    global _last
    prefix = KINDS[kind]
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big") >> 1  # headroom so counting up cannot overflow
    floors = [_last]
    if after:
        floors.append(_decode(after))
    with _lock:
        for floor_ms, floor_rand in floors + [_last]:
            if ms < floor_ms or (ms == floor_ms and rand <= floor_rand):
                ms, rand = floor_ms, floor_rand + 1
        _last = max(_last, (ms, rand))
    return f"{prefix}_{_encode(ms, 10)}{_encode(rand, 16)}"


def _decode(value: str) -> tuple[int, int]:
    body = value.split("_", 1)[1]
    number = 0
    for ch in body:
        number = number * 32 + _ALPHABET.index(ch)
    return number >> 80, number & ((1 << 80) - 1)


def is_id(value: str, kind: str) -> bool:
    return bool(isinstance(value, str) and _ID_RE.fullmatch(value)) and value.split("_", 1)[0] == KINDS[kind]


def id_time_ms(value: str) -> int:
    return _decode(value)[0]
