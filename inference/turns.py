"""The knowledge thread's work, tenants in turn.

Every policy decision and knowledge-base search of a worker runs on one thread (the
knowledge executor: the models are CPU-bound on a small machine, and one at a time keeps
their caches warm). Submitted straight to the executor, calls would wait in one FIFO: a
tenant (or an integration of its API key) firing hundreds of KnowledgeService.Search calls
would put every other tenant's answers behind them. `TenantTurns.run(tenant, fn)` queues a
call per tenant and hands the executor one call at a time, one tenant after another, so a
tenant's backlog delays another tenant by at most the call in progress (a few ms).
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any


class TenantTurns:
    def __init__(self, executor: Executor):
        self.executor = executor
        self._queues: dict[str, deque] = {}  # tenants with calls waiting, in turn order
        self._busy = False

    async def run(self, tenant_id: str, fn: Callable[..., Any], *args) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        self._queues.setdefault(tenant_id, deque()).append((fn, args, future))
        self._next(loop)
        return await future

    def _next(self, loop: asyncio.AbstractEventLoop) -> None:
        while not self._busy and self._queues:
            tenant_id = next(iter(self._queues))
            calls = self._queues.pop(tenant_id)
            fn, args, future = calls.popleft()
            if calls:
                self._queues[tenant_id] = calls  # to the back of the line
            if future.cancelled():  # its caller went away: nothing to run
                continue
            try:
                running = loop.run_in_executor(self.executor, fn, *args)
            except RuntimeError as err:  # the executor is shut down: no call can run any more
                future.set_exception(err)
                continue
            self._busy = True
            running.add_done_callback(functools.partial(self._finished, loop, future))

    def _finished(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future, done: asyncio.Future) -> None:
        self._busy = False
        if not future.done():
            if done.cancelled():
                future.cancel()
            elif done.exception() is not None:
                future.set_exception(done.exception())  # type: ignore[arg-type]
            else:
                future.set_result(done.result())
        self._next(loop)
