"""The mesh as a whole: the default model backend answers, a restart keeps the data."""

from __future__ import annotations

from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.common.v1 import common_pb2 as common
from tests.conftest import start_mesh
from tests.e2e.helpers import Client


async def test_restarting_the_mesh_keeps_history_and_credentials(tmp_path):
    mesh = start_mesh(tmp_path / "data")
    try:
        async with mesh.channel() as ch:
            c = Client(ch)
            _, md = await c.visitor(mesh.demo["widget_key"])
            conv = await c.start(md)
            sent, _, reply = await c.ask(md, conv, "remember me")
        demo_before = mesh.demo
    finally:
        assert mesh.stop() == 0, "Ctrl-C stops the mesh cleanly"
    assert not (tmp_path / "data" / "runtime.json").exists()

    mesh = start_mesh(tmp_path / "data", ports=mesh.ports)
    try:
        assert mesh.demo == demo_before, "the demo tenant is seeded once"
        async with mesh.channel() as ch:
            c = Client(ch)
            history = await c.chat.ListMessages(chat_pb2.ListMessagesRequest(conversation_id=conv), metadata=md)
            assert [(m.id, m.text) for m in history.messages] == [(sent.id, "remember me"), (reply.id, reply.text)]
            _, _, again = await c.ask(md, conv, "still there?")
            assert again.role == common.ROLE_AI
    finally:
        mesh.stop()


async def test_default_backend_streams_a_model_reply(tmp_path):
    """The embedded default: SmolLM2-135M through llama.cpp, in process."""
    mesh = start_mesh(tmp_path / "data", backend="llamacpp", max_reply_tokens=48, answer_policy="none")
    try:
        result = mesh.cli("ask", "How do I reset my password?", timeout=180)
        assert result.returncode == 0, result.stderr
        assert len(result.stdout.split()) >= 3, result.stdout
        status = mesh.cli("status")
        assert status.returncode == 0, status.stdout
    finally:
        mesh.stop()
