"""Protobuf timestamps, made in one place."""

from __future__ import annotations

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
