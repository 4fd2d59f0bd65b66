"""The knowledge thread's calls, tenants in turn (inference/turns.py): a tenant with a hundred
calls waiting delays another tenant's one call by at most the call in progress; results and
errors reach their callers; a cancelled caller's call is not run."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from inference.turns import TenantTurns

pytestmark = pytest.mark.unit


async def test_a_tenants_backlog_does_not_delay_another_tenants_call():
    turns = TenantTurns(ThreadPoolExecutor(max_workers=1))
    ran: list[str] = []

    def work(name: str) -> str:
        time.sleep(0.002)
        ran.append(name)
        return name

    busy = [asyncio.ensure_future(turns.run("busy", work, f"busy{i}")) for i in range(100)]
    await asyncio.sleep(0.01)  # the busy tenant's calls are under way
    done_before = len(ran)
    assert await turns.run("quiet", work, "quiet") == "quiet"
    # its turn came right after the call in progress (one more may finish meanwhile), not
    # after the busy tenant's remaining ~95
    assert ran.index("quiet") <= done_before + 2, (done_before, ran.index("quiet"))
    assert [await b for b in busy] == [f"busy{i}" for i in range(100)]  # in order, each once


async def test_errors_reach_their_caller_and_the_thread_goes_on():
    turns = TenantTurns(ThreadPoolExecutor(max_workers=1))

    def fail():
        raise ValueError("bad index")

    with pytest.raises(ValueError, match="bad index"):
        await turns.run("t", fail)
    assert await turns.run("t", lambda: 42) == 42


async def test_a_cancelled_callers_call_is_not_run():
    turns = TenantTurns(ThreadPoolExecutor(max_workers=1))
    release = threading.Event()
    ran: list[str] = []
    first = asyncio.ensure_future(turns.run("t", release.wait, 5))
    await asyncio.sleep(0.01)
    second = asyncio.ensure_future(turns.run("t", ran.append, "second"))
    await asyncio.sleep(0.01)
    second.cancel()
    release.set()
    assert await first is True
    assert await turns.run("t", lambda: "after") == "after"
    assert ran == []
