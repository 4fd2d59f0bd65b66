"""gRPC-web: CORS preflights and headers, with any origin allowed and with configured origins."""

from __future__ import annotations

from frontdesk import settings as fd_settings
from frontdesk_pb.auth.v1 import auth_pb2
from gateway.grpcweb import start_grpc_web
from tests.gateway import grpcweb_wire
from tests.gateway.grpcweb_wire import AUTH, CHAT, call

# the shared fixtures: bound here so that pytest finds them
web = grpcweb_wire.web
http = grpcweb_wire.http


# -- CORS ----------------------------------------------------------------------------------


async def test_cors_preflight(web, http):
    asked = "content-type,x-grpc-web,x-user-agent,grpc-timeout,authorization,x-request-id,x-tenant-hint"
    async with http.options(
        web.url + CHAT + "StreamEvents",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": asked,
        },
    ) as r:
        assert r.status == 204
        assert r.headers["access-control-allow-origin"] == "*"
        assert "POST" in r.headers["access-control-allow-methods"]
        allowed = {h.strip() for h in r.headers["access-control-allow-headers"].split(",")}
        assert set(asked.split(",")) <= allowed
        exposed = {h.strip() for h in r.headers["access-control-expose-headers"].split(",")}
        assert {"grpc-status", "grpc-message", "retry-after", "x-frontdesk-error"} <= exposed
        assert int(r.headers["access-control-max-age"]) > 0
    reply = await call(http, web.url, AUTH + "WhoAmI", auth_pb2.WhoAmIRequest(), origin="https://shop.example")
    assert reply.headers["access-control-allow-origin"] == "*" and reply.code == 16
    async with http.options(
        web.url + "/frontdesk.conversation.v1.ConversationService/SendMessage",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
    ) as r:
        assert r.status == 404 and "access-control-allow-origin" not in r.headers


async def test_cors_with_configured_origins(mesh, http):
    settings = fd_settings.load(env={})
    server = await start_grpc_web(
        settings,
        mesh.gateway,
        None,
        host="127.0.0.1",
        port=0,
        allowed_origins=["https://shop.example", "https://admin.example/"],
    )
    try:
        preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
        async with http.options(
            server.url + AUTH + "WhoAmI", headers={"Origin": "https://admin.example", **preflight}
        ) as r:
            assert r.status == 204 and r.headers["access-control-allow-origin"] == "https://admin.example"
            assert r.headers["vary"] == "Origin"
        async with http.options(
            server.url + AUTH + "WhoAmI", headers={"Origin": "https://evil.example", **preflight}
        ) as r:
            assert r.status == 403 and "access-control-allow-origin" not in r.headers
        evil = await call(http, server.url, AUTH + "WhoAmI", auth_pb2.WhoAmIRequest(), origin="https://evil.example")
        assert evil.status == 403
        good = await call(http, server.url, AUTH + "WhoAmI", auth_pb2.WhoAmIRequest(), origin="https://shop.example")
        assert good.status == 200 and good.code == 16
        assert good.headers["access-control-allow-origin"] == "https://shop.example"
        native = await call(http, server.url, AUTH + "WhoAmI", auth_pb2.WhoAmIRequest())  # no Origin: not a browser
        assert native.status == 200 and "access-control-allow-origin" not in native.headers
    finally:
        await server.stop()
