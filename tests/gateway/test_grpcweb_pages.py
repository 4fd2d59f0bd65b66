"""gRPC-web's HTTP server as a web server: the built pages (static files, compressed copies,
client-side routes), path traversal, the index without built pages, and the pages'
security headers."""

from __future__ import annotations

import asyncio

import pytest

from frontdesk import settings as fd_settings
from gateway.grpcweb import start_grpc_web
from tests.gateway import grpcweb_wire

# the shared fixtures: bound here so that pytest finds them
web = grpcweb_wire.web
http = grpcweb_wire.http


# -- the web pages ---------------------------------------------------------------------------


@pytest.fixture
def dist(tmp_path):
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>widget</title><div id=app></div>")
    (root / "assets" / "app.js").write_text("console.log('hi')")
    (root / "assets" / "app.css").write_text("body{}")
    (root / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (root / "assets" / "x.wasm").write_bytes(b"\0asm")
    (root / ".env").write_text("TOP-SECRET dotfile")
    (tmp_path / "secret.txt").write_text("TOP-SECRET outside")
    (root / "leak.txt").symlink_to(tmp_path / "secret.txt")
    return root


async def test_static_files(mesh, http, dist):
    server = await start_grpc_web(fd_settings.load(env={}), mesh.gateway, dist, host="127.0.0.1", port=0)
    try:
        expected = {
            "/": "text/html",
            "/index.html": "text/html",
            "/assets/app.js": "text/javascript",
            "/assets/app.css": "text/css",
            "/favicon.svg": "image/svg+xml",
            "/assets/x.wasm": "application/wasm",
            "/admin/conversations": "text/html",
        }  # a client-side route of the app: its index.html
        for path, ctype in expected.items():
            async with http.get(server.url + path) as r:
                assert r.status == 200, path
                assert r.headers["content-type"].split(";")[0] == ctype, path
                assert r.headers["x-content-type-options"] == "nosniff"
                body = await r.read()
                if ctype == "text/html":
                    assert b"<title>widget</title>" in body
        async with http.head(server.url + "/assets/app.js") as r:
            assert r.status == 200 and int(r.headers["content-length"]) == len("console.log('hi')")
        async with http.get(server.url + "/assets/missing.js") as r:
            assert r.status == 404 and r.headers["content-type"].startswith("text/html")
            assert "Not found" in await r.text()
    finally:
        await server.stop()


async def test_static_files_are_sent_compressed_when_the_build_made_copies(mesh, http, dist):
    import gzip

    script = "console.log('compressed');" * 100
    (dist / "assets" / "big.js").write_text(script)
    (dist / "assets" / "big.js.gz").write_bytes(gzip.compress(script.encode()))
    server = await start_grpc_web(fd_settings.load(env={}), mesh.gateway, dist, host="127.0.0.1", port=0)
    try:
        async with http.get(server.url + "/assets/big.js", headers={"Accept-Encoding": "gzip"}) as r:
            assert r.status == 200 and r.headers["content-encoding"] == "gzip"
            assert r.headers["content-type"].split(";")[0] == "text/javascript"
            assert int(r.headers["content-length"]) < len(script)
            assert (await r.text()) == script  # aiohttp's client decompresses
        async with http.get(server.url + "/assets/big.js", headers={"Accept-Encoding": "identity"}) as r:
            assert "content-encoding" not in r.headers and (await r.text()) == script
    finally:
        await server.stop()


async def _raw_get(port: int, target: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return int(data.split(b" ", 2)[1]), data


async def test_static_path_traversal_is_refused(mesh, dist):
    server = await start_grpc_web(fd_settings.load(env={}), mesh.gateway, dist, host="127.0.0.1", port=0)
    try:
        for target in (
            "/../secret.txt",
            "/assets/../../secret.txt",
            "/%2e%2e/secret.txt",
            "/assets/%2e%2e/%2e%2e/secret.txt",
            "/..%2fsecret.txt",
            "/assets/..%2f..%2fsecret.txt",
            "/..%5csecret.txt",
            "/leak.txt",
            "/.env",
            "/%2eenv",
            "//etc/passwd",
            "/assets/app.js%00.html",
        ):
            status, data = await _raw_get(server.port, target)
            assert b"TOP-SECRET" not in data and b"root:" not in data, target
            # refused, or (no extension: a client-side route) the app's own index page
            assert status in (400, 404) or (status == 200 and b"<title>widget</title>" in data), (target, status)
    finally:
        await server.stop()


async def test_without_built_pages_a_small_index(web, http):
    async with http.get(web.url + "/") as r:
        assert r.status == 200 and "gRPC-web" in await r.text()
    async with http.get(web.url + "/widget.js") as r:
        assert r.status == 404


# -- the HTTP edge: page headers -----------------------------------------------------------------


async def test_pages_carry_a_content_security_policy_and_refuse_frames(mesh, dist, http):
    (dist / "admin").mkdir()
    (dist / "admin" / "index.html").write_text("<!doctype html><title>admin</title>")
    server = await start_grpc_web(fd_settings.load(env={}), mesh.gateway, dist, host="127.0.0.1", port=0)
    try:
        async with http.get(server.url + "/admin/conversations") as r:
            csp = r.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "'unsafe-eval'" not in csp
            assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        async with http.get(server.url + "/") as r:
            assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        async with http.get(server.url + "/assets/app.js") as r:
            assert r.headers["x-content-type-options"] == "nosniff"
    finally:
        await server.stop()
