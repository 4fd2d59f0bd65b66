"""The job loop against a real nats-server and the embedded store: one reply per
job however often it is delivered, and a job that keeps failing ends in a handoff."""

from __future__ import annotations

import asyncio

import nats
import pytest

from frontdesk import bus, ids
from frontdesk import settings as settings_mod
from frontdesk.publish import Publisher
from frontdesk.stores.sqlite import SqliteLogStore
from frontdesk_pb.common.v1 import common_pb2 as common
from frontdesk_pb.inference.v1 import inference_pb2
from inference.backends.base import Backend, BackendError
from inference.backends.echo import EchoBackend
from inference.worker import Worker

TENANT = "t_01testtenant0000000000000a"


class FailingBackend(Backend):
    """Our own Backend interface, failing on purpose (a unit-test fake of our code)."""

    name = "failing"
    model = "failing"

    def __init__(self, retryable: bool = True):
        self.calls = 0
        self.retryable = retryable

    async def stream(self, request):
        self.calls += 1
        raise BackendError("model overloaded" if self.retryable else "HTTP 401: invalid key", retryable=self.retryable)
        yield  # pragma: no cover - makes this an async generator


@pytest.fixture
async def env(nats_server, tmp_path):
    settings = settings_mod.load(
        env={}, data_dir=tmp_path, nats_url=nats_server.url, job_max_deliver=2, job_ack_wait_s=5.0, worker_concurrency=2
    )
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await bus.ensure_streams(js, settings)
    store = SqliteLogStore(tmp_path / "logs.db")
    yield settings, nc, js, store
    await store.close()
    await nc.close()


async def _conversation_with_question(store, text="where is my order?"):
    conv = await store.create_conversation(
        TENANT,
        common.Conversation(id=ids.new_id("conversation"), visitor_id="v_x", status=common.CONVERSATION_STATUS_AI),
    )
    msg, _ = await store.append_message(
        TENANT, common.Message(id=ids.new_id("message"), conversation_id=conv.id, role=common.ROLE_CUSTOMER, text=text)
    )
    return conv, msg


def _job(conv, msg) -> bytes:
    job = inference_pb2.AiJob(
        job_id=msg.id, tenant_id=TENANT, conversation_id=conv.id, message_id=msg.id, text=msg.text
    )
    job.enqueued_at.GetCurrentTime()
    return job.SerializeToString()


async def _run_until(worker, condition, timeout=15):
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        for _ in range(int(timeout / 0.05)):
            if await condition():
                return
            await asyncio.sleep(0.05)
        raise AssertionError("condition not reached")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_a_redelivered_job_never_makes_a_second_reply(env):
    settings, nc, js, store = env
    conv, msg = await _conversation_with_question(store)
    # the same job twice, under different publish ids so JetStream's dedupe does not hide it
    await js.publish(bus.jobs_subject(TENANT), _job(conv, msg), headers={"Nats-Msg-Id": "first"})
    await js.publish(bus.jobs_subject(TENANT), _job(conv, msg), headers={"Nats-Msg-Id": "second"})
    worker = Worker(settings, store, js, Publisher(nc, js), EchoBackend())

    async def both_acked():
        return (await js.stream_info(bus.JOBS_STREAM)).state.messages == 0

    await _run_until(worker, both_acked)
    messages, _ = await store.list_messages(TENANT, conv.id)
    replies = [m for m in messages if m.role == common.ROLE_AI]
    assert len(replies) == 1 and replies[0].in_reply_to == msg.id
    assert replies[0].text == f"You said: {msg.text}"


async def test_a_job_that_keeps_failing_hands_the_conversation_to_a_person(env):
    settings, nc, js, store = env
    conv, msg = await _conversation_with_question(store)
    await js.publish(bus.jobs_subject(TENANT), _job(conv, msg), headers={"Nats-Msg-Id": msg.id})
    backend = FailingBackend()
    worker = Worker(settings, store, js, Publisher(nc, js), backend)

    async def handed_off():
        c = await store.get_conversation(TENANT, conv.id)
        return c.status == common.CONVERSATION_STATUS_HANDOFF

    # max_deliver=2: one retry after a 2 s backoff, then the handoff
    await _run_until(worker, handed_off, timeout=20)
    assert backend.calls == 2
    updated = await store.get_conversation(TENANT, conv.id)
    assert updated.handoff_reason == "ai_failure"
    messages, _ = await store.list_messages(TENANT, conv.id)
    assert [m.role for m in messages] == [common.ROLE_CUSTOMER, common.ROLE_SYSTEM]
    assert "person" in messages[-1].text


async def test_a_permanent_backend_error_hands_off_on_the_first_delivery(env):
    settings, nc, js, store = env
    settings = settings_mod.load(
        env={},
        data_dir=settings.data_dir,
        nats_url=settings.nats_url,
        job_max_deliver=4,
        job_ack_wait_s=5.0,
        worker_concurrency=2,
    )
    conv, msg = await _conversation_with_question(store)
    await js.publish(bus.jobs_subject(TENANT), _job(conv, msg), headers={"Nats-Msg-Id": msg.id})
    backend = FailingBackend(retryable=False)
    worker = Worker(settings, store, js, Publisher(nc, js), backend)

    async def handed_off():
        c = await store.get_conversation(TENANT, conv.id)
        return c.status == common.CONVERSATION_STATUS_HANDOFF

    await _run_until(worker, handed_off, timeout=20)
    assert backend.calls == 1, "a wrong key fails the same way every time: no retries"
    assert (await store.get_conversation(TENANT, conv.id)).handoff_reason == "ai_failure"


async def test_a_job_whose_subject_names_another_tenant_is_refused(env):
    settings, nc, js, store = env
    conv, msg = await _conversation_with_question(store)
    # published on another tenant's subject: the worker trusts the subject, sees the mismatch, drops it
    await js.publish(bus.jobs_subject("t_01othertenant000000000000a"), _job(conv, msg), headers={"Nats-Msg-Id": "x"})
    worker = Worker(settings, store, js, Publisher(nc, js), EchoBackend())

    async def consumed():
        return (await js.stream_info(bus.JOBS_STREAM)).state.messages == 0

    await _run_until(worker, consumed)
    messages, _ = await store.list_messages(TENANT, conv.id)
    assert [m.role for m in messages] == [common.ROLE_CUSTOMER], (
        "the tenant of a job comes from its subject, not its payload"
    )


async def test_one_tenants_burst_does_not_starve_another(env):
    """Tenant A queues 60 questions; tenant B asks 3 while A's burst is being worked off.
    B is answered within a few jobs, not after A's whole backlog."""
    settings, nc, js, store = env
    settings = settings_mod.load(
        env={},
        data_dir=settings.data_dir,
        nats_url=settings.nats_servers[0],
        worker_concurrency=2,
        max_jobs_per_tenant=2,
    )
    other = "t_01secondtenant0000000000a"

    async def queue(tenant, n):
        conv = await store.create_conversation(
            tenant,
            common.Conversation(id=ids.new_id("conversation"), visitor_id="v_x", status=common.CONVERSATION_STATUS_AI),
        )
        for i in range(n):
            msg, _ = await store.append_message(
                tenant,
                common.Message(
                    id=ids.new_id("message"), conversation_id=conv.id, role=common.ROLE_CUSTOMER, text=f"q{i}"
                ),
            )
            job = inference_pb2.AiJob(
                job_id=msg.id, tenant_id=tenant, conversation_id=conv.id, message_id=msg.id, text=msg.text
            )
            await js.publish(bus.jobs_subject(tenant), job.SerializeToString(), headers={"Nats-Msg-Id": msg.id})
        await nc.publish(bus.ready_subject(tenant), b"")
        return conv

    conv_a = await queue(TENANT, 60)
    worker = Worker(settings, store, js, Publisher(nc, js), EchoBackend(token_delay_s=0.01))
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))

    async def replies(tenant, conv):
        msgs, _ = await store.list_messages(tenant, conv.id, limit=200)
        return [m.id for m in msgs if m.role == common.ROLE_AI]

    while len(await replies(TENANT, conv_a)) < 5:
        await asyncio.sleep(0.02)
    conv_b = await queue(other, 3)
    while len(await replies(other, conv_b)) < 3:
        await asyncio.sleep(0.02)
    a_done_when_b_finished = len(await replies(TENANT, conv_a))
    stop.set()
    await asyncio.wait_for(task, 30)
    assert a_done_when_b_finished < 20, f"B waited for {a_done_when_b_finished} of A's 60 jobs"
