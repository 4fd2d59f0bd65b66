import asyncio

import pytest

from inference.service import DeltaBatcher

pytestmark = pytest.mark.unit


async def test_first_delta_goes_out_at_once_and_a_burst_is_merged():
    sent = []

    async def send(text, index):
        sent.append((text, index))

    batcher = DeltaBatcher(send)
    for piece in ["You", " said", ":", " hi"]:
        await batcher.add(piece)
    assert sent == [("You", 0)], "only the first delta of a burst is sent before the flush"
    await batcher.flush()
    assert sent == [("You", 0), (" said: hi", 1)]


async def test_slow_tokens_are_sent_one_by_one():
    sent = []

    async def send(text, index):
        sent.append(text)

    batcher = DeltaBatcher(send)
    for piece in ["a", "b", "c"]:
        await batcher.add(piece)
        await asyncio.sleep(DeltaBatcher.COALESCE_S + 0.01)
    await batcher.flush()
    assert sent == ["a", "b", "c"]
