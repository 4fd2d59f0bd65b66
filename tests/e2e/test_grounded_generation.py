"""The same pipeline with a model behind an OpenAI-compatible server (what vLLM serves):
the policy retrieves and decides, the model writes the answer from the retrieved
passages, the final message cites the knowledge used. The server is llama.cpp's real
OpenAI-compatible server with the bundled SmolLM2."""

from __future__ import annotations

from tests.conftest import start_mesh
from tests.e2e.helpers import Client
from tests.inference.test_openai_compat import API_KEY, server  # noqa: F401 - the real server fixture


async def test_a_model_behind_an_openai_compatible_server_writes_a_cited_answer(server, tmp_path):  # noqa: F811
    mesh = start_mesh(
        tmp_path / "data",
        backend="openai",
        openai_base_url=server.base_url,
        openai_model="smollm2",
        openai_api_key=API_KEY,
        answer_policy="knowledge",
        grounded_generation=1,
        max_reply_tokens=48,
    )
    try:
        async with mesh.channel() as ch:
            c = Client(ch)
            _, md = await c.visitor(mesh.demo["widget_key"])
            conv = await c.start(md)
            _, deltas, reply = await c.ask(md, conv, "How long does delivery take to France?", timeout=120)
            # it streams: checked sentences arrive as deltas before the stored reply (one
            # sentence is one delta; what the model wrote past the answer is never sent)
            assert deltas and "".join(d.text for d in deltas).strip() == reply.text.strip()
            assert reply.text.strip() and reply.author_id == "smollm2"
            assert [x.source_id for x in reply.citations][:1] == ["shipping-time"]
        log = (mesh.data_dir / "logs" / "inference.log").read_text()
        assert API_KEY not in log, "the backend's key is never logged"
    finally:
        mesh.stop()
