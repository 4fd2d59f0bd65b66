"""Protobuf timestamps, made in one place."""

from __future__ import annotations

import time

from google.protobuf.timestamp_pb2 import Timestamp


def now_ts() -> Timestamp:
    ts = Timestamp()
    ts.GetCurrentTime()
    return ts


def ts_from_ms(ms: int) -> Timestamp:
    ts = Timestamp()
    ts.FromMilliseconds(int(ms))
    return ts


def ts_from_s(seconds: float) -> Timestamp:
    return ts_from_ms(int(seconds * 1000))


def ms_of(ts: Timestamp) -> int:
    """Milliseconds since the epoch (0 for an unset timestamp)."""
    return ts.ToMilliseconds()


def now_ms() -> int:
    """Milliseconds since the epoch, as the stores keep time."""
    return int(time.time() * 1000)


# what google.protobuf.Timestamp allows: 0001-01-01 to 9999-12-31, nanos 0..999,999,999
_MIN_S, _MAX_S = -62_135_596_800, 253_402_300_799


def ms_of_input(ts: Timestamp, field: str) -> int:
    """Milliseconds of a timestamp a caller sent; ValueError naming the field when it is not a
    valid one (nanos out of range, seconds outside years 1 to 9999)."""
    if not 0 <= ts.nanos < 1_000_000_000 or not _MIN_S <= ts.seconds <= _MAX_S:
        raise ValueError(f"{field} is not a valid timestamp")
    return ts.ToMilliseconds()
