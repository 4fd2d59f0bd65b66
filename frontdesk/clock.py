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
