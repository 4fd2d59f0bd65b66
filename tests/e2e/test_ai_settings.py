"""Per-tenant AI settings through the whole mesh (real processes, real NATS, embedded
stores): a tenant that chooses its own OpenAI-compatible endpoint and brings its API key
gets answers from that model while other tenants keep the deployment's default; the key is
stored sealed, never returned; a sealed key copied into another tenant's record is useless
there; a settings change applies within seconds. The tenant's endpoint is llama.cpp's REAL
OpenAI-compatible server with the bundled SmolLM2, started with an API key it checks."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest

from frontdesk.stores.sqlite import SqliteAccountStore
from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.chat.v1 import chat_pb2
from tests.conftest import PLATFORM_TOKEN, start_mesh
from tests.e2e.helpers import Client, bearer, create_tenant
from tests.inference.test_openai_compat import API_KEY, server  # noqa: F401 - the real server fixture


def stored_bytes(data_dir) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data_dir.glob("accounts.db*")))


async def wait_for_handoff(client: Client, md, conversation_id: str, text: str, timeout: float = 120) -> str:
    """Send a message and return the handoff reason the stream announces."""
    events = client.chat.StreamEvents(chat_pb2.StreamEventsRequest(conversation_id=conversation_id), metadata=md)
    try:
        await asyncio.wait_for(events.read(), 10)
        await client.chat.SendMessage(
            chat_pb2.SendMessageRequest(conversation_id=conversation_id, text=text), metadata=md, timeout=10
        )

        async def watch():
            while (ev := await events.read()) is not grpc.aio.EOF:
                if ev.WhichOneof("kind") == "handoff":
                    return ev.handoff.reason
                if ev.WhichOneof("kind") == "message" and ev.message.in_reply_to:
                    raise AssertionError(f"answered instead of handing off: {ev.message.text!r}")
            raise AssertionError("stream ended")

        return await asyncio.wait_for(watch(), timeout)
    finally:
        events.cancel()


async def test_a_tenant_brings_its_own_model_and_key(server, tmp_path):  # noqa: F811
    mesh = start_mesh(
        tmp_path / "data",
        backend="echo",
        tenant_settings_ttl_s=1,
        model_url_allowlist=f"http://127.0.0.1:{server.port}/",
    )
    try:
        async with mesh.channel() as ch:
            c = Client(ch)
            acme = await create_tenant(c, PLATFORM_TOKEN, "acme-ai")
            admin_md = bearer(acme.api_key)
            own = admin_pb2.AiSettings(
                backend="openai", model="smollm2", base_url=server.base_url, max_tokens=12, temperature=0.0
            )

            # bad settings are refused with a reason, nothing stored
            for bad, why in [
                (admin_pb2.AiSettings(backend="bogus"), "backend"),
                (admin_pb2.AiSettings(backend="openai", model="m", base_url="http://10.9.9.9/v1"), "allowlist"),
                (admin_pb2.AiSettings(backend="anthropic"), "model"),
            ]:
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await c.admin.UpdateAiSettings(admin_pb2.UpdateAiSettingsRequest(settings=bad), metadata=admin_md)
                assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and why in err.value.details()
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await c.admin.UpdateAiSettings(
                    admin_pb2.UpdateAiSettingsRequest(settings=own, api_key=API_KEY, clear_api_key=True),
                    metadata=admin_md,
                )
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT

            saved = await c.admin.UpdateAiSettings(
                admin_pb2.UpdateAiSettingsRequest(settings=own, api_key=API_KEY), metadata=admin_md
            )
            assert saved.has_api_key and saved.backend == "openai" and saved.base_url == server.base_url
            read = await c.admin.GetAiSettings(admin_pb2.GetAiSettingsRequest(), metadata=admin_md)
            assert read.has_api_key and API_KEY not in str(read)
            assert API_KEY.encode() not in stored_bytes(mesh.data_dir), "the key is stored sealed, never in the clear"

            # acme's customers are answered by acme's model (which only answers with the right key) ...
            _, md = await c.visitor(acme.tenant.widget_key)
            conv = await c.start(md)
            _, _, reply = await c.ask(md, conv, "Hello, what can you do?", timeout=120)
            assert reply.author_id == "smollm2" and reply.text.strip()
            # ... while the demo tenant keeps the deployment's default backend
            _, demo_md = await c.visitor(mesh.demo["widget_key"])
            demo_conv = await c.start(demo_md)
            _, _, demo_reply = await c.ask(demo_md, demo_conv, "Hello there", timeout=60)
            assert demo_reply.author_id == "echo"

            # another tenant whose record holds a copy of acme's sealed key cannot use it:
            # its worker cannot open the key, the endpoint answers 401, the customer is handed to a person
            copycat = await create_tenant(c, PLATFORM_TOKEN, "copycat-ai")
            await c.admin.UpdateAiSettings(
                admin_pb2.UpdateAiSettingsRequest(settings=own), metadata=bearer(copycat.api_key)
            )
            accounts = SqliteAccountStore(mesh.data_dir / "accounts.db")
            try:
                stolen = (await accounts.get_tenant(acme.tenant.id)).ai_settings["api_key_sealed"]
                record = await accounts.get_tenant(copycat.tenant.id)
                record.ai_settings["api_key_sealed"] = stolen
                await accounts.update_tenant(record)
            finally:
                await accounts.close()
            _, cmd = await c.visitor(copycat.tenant.widget_key)
            cconv = await c.start(cmd)
            assert await wait_for_handoff(c, cmd, cconv, "Hello?") == "ai_failure"
            log = (mesh.data_dir / "logs" / "inference.log").read_text()
            assert "tenant.api_key_unusable" in log and API_KEY not in log

            # a settings change applies within seconds (the workers' cache lasts 1 s here)
            await c.admin.UpdateAiSettings(
                admin_pb2.UpdateAiSettingsRequest(settings=admin_pb2.AiSettings(temperature=0.2), clear_api_key=True),
                metadata=admin_md,
            )
            cleared = await c.admin.GetAiSettings(admin_pb2.GetAiSettingsRequest(), metadata=admin_md)
            assert not cleared.has_api_key and cleared.backend == ""
            authors = []
            for _ in range(10):
                await asyncio.sleep(0.5)
                _, _, again = await c.ask(md, conv, "And now?", timeout=120)
                authors.append(again.author_id)
                if again.author_id == "echo":
                    break
            assert authors[-1] == "echo", authors
    finally:
        mesh.stop()


@pytest.mark.parametrize(
    "backend,model,recording",
    [("anthropic", "claude-sonnet-5", "anthropic_stream.sse"), ("gemini", "gemini-2.5-flash", "gemini_stream.sse")],
)
async def test_a_tenant_on_a_hosted_model_is_answered_through_its_sdk(backend, model, recording, tmp_path):
    """The same path with Claude or Gemini chosen in the tenant's settings: the worker builds
    that SDK's backend with the tenant's unsealed key; the API's far end is the replay server
    of tests/inference/test_hosted_backends.py (recorded streaming bodies, no internet here)."""
    from tests.inference.test_hosted_backends import Replay

    async with Replay() as api:
        api.then(recording)
        mesh = start_mesh(tmp_path / "data", backend="echo", model_url_allowlist=f"{api.url}/")
        try:
            async with mesh.channel() as ch:
                c = Client(ch)
                t = await create_tenant(c, PLATFORM_TOKEN, f"hosted-{backend}")
                await c.admin.UpdateAiSettings(
                    admin_pb2.UpdateAiSettingsRequest(
                        settings=admin_pb2.AiSettings(backend=backend, model=model, base_url=api.url),
                        api_key=f"{backend}-tenant-key-123456",
                    ),
                    metadata=bearer(t.api_key),
                )
                _, md = await c.visitor(t.tenant.widget_key)
                conv = await c.start(md)
                _, deltas, reply = await c.ask(md, conv, "How fast do orders ship?", timeout=60)
                assert reply.text == "Orders ship within two business days." and reply.author_id == model
                assert len(deltas) >= 1
            sent = api.requests[0]
            assert f"{backend}-tenant-key-123456" in " ".join(sent["headers"].values())
            assert "How fast do orders ship?" in json.dumps(sent["json"])
        finally:
            mesh.stop()
