"""The admin panel in a real browser (web/e2e/admin.ts: playwright-core + Debian's Chromium)
against the real mesh of tests/web/conftest.py, checked again from the visitor's side over
gRPC; and the gateway's fallback that serves the panel's own index.html for its routes."""

from __future__ import annotations

import time

import jwt
import pytest

from frontdesk_pb.auth.v1 import auth_pb2
from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.common.v1 import common_pb2 as common
from frontdesk import settings as fd_settings
from gateway.grpcweb import start_grpc_web
from tests.e2e.helpers import Client, bearer


async def _expired_operator_token(site) -> str:
    """A real operator token of the demo owner, re-signed with the deployment's secret an hour
    after its expiry: exactly what a tab left open overnight holds."""
    async with site.mesh.channel() as ch:
        login = await Client(ch).auth.OperatorLogin(auth_pb2.OperatorLoginRequest(
            tenant=site.tenant, email=site.operator_email, password=site.operator_password), timeout=10)
    claims = jwt.decode(login.token, options={"verify_signature": False})
    now = int(time.time())
    claims.update(iat=now - 9 * 3600, exp=now - 3600)
    secret = (site.mesh.data_dir / "secret").read_text().strip()
    return jwt.encode(claims, secret, algorithm="HS256")


@pytest.mark.timeout(600)
async def test_operator_signs_in_takes_over_and_the_visitor_gets_the_reply(web_site, run_e2e):
    expired = await _expired_operator_token(web_site)
    result = run_e2e("admin.ts", env={"FRONTDESK_EXPIRED_TOKEN": expired}, timeout=420)

    assert "not correct" in result["wrongPasswordMessage"]
    assert {"gateway", "conversation"} <= set(result["services"])
    assert result["queues"] >= 1
    # the live view showed the second question and what followed it without a reload
    assert result["liveRoles"].count("Customer") >= 2 and len(result["liveRoles"]) >= 4
    assert result["joined"], "the visitor's stream announced the agent"
    assert result["agentMessage"]["role"] == common.ROLE_AGENT
    assert "Sam from support <i>here</i>" in result["agentMessage"]["text"]
    assert "1 of" in result["ingestion"] or "1 line" in result["ingestion"]
    assert "session has ended" in result["invalidMessage"]
    assert "token expired" in result["expiredMessage"]
    assert result["autoResolveKept"] == "1440"  # the owner's choice was stored, then set back

    # the visitor's side, over native gRPC: the agent's reply is in the history, once, and
    # the AI no longer answers this conversation
    visitor = bearer(result["visitorToken"])
    async with web_site.mesh.channel() as ch:
        c = Client(ch)
        history = await c.chat.ListMessages(chat_pb2.ListMessagesRequest(conversation_id=result["conversationId"]),
                                            metadata=visitor, timeout=10)
        agent = [m for m in history.messages if m.role == common.ROLE_AGENT]
        assert [m.id for m in agent] == [result["agentMessage"]["id"]]
        assert agent[0].text == result["agentMessage"]["text"]
        conv = await c.chat.GetConversation(chat_pb2.GetConversationRequest(conversation_id=result["conversationId"]),
                                            metadata=visitor, timeout=10)
        assert conv.status == common.CONVERSATION_STATUS_HUMAN
        sent = await c.chat.SendMessage(chat_pb2.SendMessageRequest(conversation_id=conv.id, text="thanks!"),
                                        metadata=visitor, timeout=10)
        assert not sent.queued_for_ai


async def test_admin_routes_get_the_admin_index(tmp_path, http_session):
    root = tmp_path / "dist"
    (root / "admin" / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<title>start</title>")
    (root / "admin" / "index.html").write_text("<title>admin</title>")
    (root / "admin" / "assets" / "app.js").write_text("1")
    server = await start_grpc_web(fd_settings.load(env={}), "127.0.0.1:9", root, host="127.0.0.1", port=0)
    try:
        for path, title in {"/admin/": "admin", "/admin/conversations/c_1": "admin", "/admin/knowledge": "admin",
                            "/somewhere": "start", "/": "start"}.items():
            async with http_session.get(server.url + path) as r:
                assert r.status == 200, path
                assert f"<title>{title}</title>" in await r.text(), path
        async with http_session.get(server.url + "/admin/assets/missing.js") as r:
            assert r.status == 404  # a missing file is not a route
    finally:
        await server.stop()


@pytest.fixture
async def http_session():
    import aiohttp

    async with aiohttp.ClientSession() as s:
        yield s
