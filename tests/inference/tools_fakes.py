"""Shared fakes for the inference.tools tests (test_tools_*.py).

FakeJob stands in for OUR interfaces (ToolContext's search / history / request_handoff
callables); TenantSystem is a real aiohttp server on 127.0.0.1 standing in for the
tenant's own system: it checks the HMAC signature itself and records every request it
sees. The fixtures `job` and `tenant_system` live here; each test module binds the ones
it uses.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import hmac
import json
from urllib.parse import parse_qs

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from inference.tools import Allowlist, HttpTool, ToolContext, ToolResult

SECRET = b"tenant-signing-secret-0123456789"
TENANT = "tnt_acme"
OTHER_TENANT = "tnt_evil"

ORDER_SCHEMA = {
    "type": "object",
    "properties": {"order": {"type": "string", "minLength": 1}, "items": {"type": "array"}},
    "required": ["order"],
}


# ---------------------------------------------------------------------------------------
# fakes of our own interfaces


class FakeJob:
    """The callables a worker binds to one job's tenant and conversation."""

    def __init__(self, hits=None, messages=None):
        self.hits = (
            hits
            if hits is not None
            else [
                {
                    "id": "reset",
                    "title": "How do I reset my password?",
                    "text": "Use 'Forgot password' on the sign-in page.",
                    "score": 0.91,
                }
            ]
        )
        self.messages = (
            messages
            if messages is not None
            else [
                {"role": "customer", "text": "hi"},
                {"role": "ai", "text": "Hello!"},
                {"role": "customer", "text": "I forgot my password"},
            ]
        )
        self.searches: list[tuple[str, int]] = []
        self.history_limits: list[int] = []
        self.handoffs: list[str] = []

    async def search(self, query: str, limit: int) -> list[dict]:
        self.searches.append((query, limit))
        return self.hits[:limit]

    async def history(self, limit: int) -> list[dict]:
        self.history_limits.append(limit)
        return self.messages[-limit:]

    async def request_handoff(self, reason: str) -> None:
        self.handoffs.append(reason)

    def ctx(self, tenant: str = TENANT) -> ToolContext:
        return ToolContext(
            tenant, "conv_1", "job_1", search=self.search, history=self.history, request_handoff=self.request_handoff
        )


@pytest.fixture
def job() -> FakeJob:
    return FakeJob()


def data(result: ToolResult):
    return json.loads(result.content)


# ---------------------------------------------------------------------------------------
# the tenant's system: a real HTTP server on 127.0.0.1


class TenantSystem:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.release = asyncio.Event()
        self.server: TestServer | None = None

    @property
    def port(self) -> int:
        return self.server.port

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def allowlist(self) -> Allowlist:
        return Allowlist([f"http://127.0.0.1:{self.port}/"])

    async def _record(self, request: web.Request) -> dict:
        raw = await request.read()
        timestamp = request.headers.get("X-Frontdesk-Timestamp", "")
        signature = request.headers.get("X-Frontdesk-Signature")
        signed = raw if request.method == "POST" else request.rel_url.raw_query_string.encode()
        expected = "sha256=" + hmac.new(SECRET, timestamp.encode() + b"." + signed, hashlib.sha256).hexdigest()
        seen = {
            "path": request.path,
            "method": request.method,
            "headers": dict(request.headers),
            "raw": raw,
            "query": parse_qs(request.rel_url.raw_query_string),
            "signature": signature,
            "signature_valid": signature is not None and hmac.compare_digest(signature, expected),
            "timestamp": timestamp,
        }
        self.requests.append(seen)
        return seen

    async def tool(self, request: web.Request) -> web.Response:
        seen = await self._record(request)
        if request.method == "POST":
            received = json.loads(seen["raw"])
        else:
            received = {k: v[0] for k, v in seen["query"].items()}
        return web.json_response({"order": "A-17", "status": "shipped", "received": received})

    async def slow(self, request: web.Request) -> web.Response:
        await self._record(request)
        await asyncio.wait_for(self.release.wait(), 5)
        return web.json_response({"late": True})

    async def drip(self, request: web.Request) -> web.StreamResponse:
        """Headers at once, then one byte every 50 ms: each read is quick, the whole is not."""
        await self._record(request)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        await response.write(b'{"a": "')
        for _ in range(60):
            if self.release.is_set():
                break
            await asyncio.sleep(0.05)
            await response.write(b"x")
        await response.write(b'"}')
        return response

    async def big(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({"blob": "x" * 200_000})

    async def big_chunked(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b'{"blob": "')
        try:
            for _ in range(64):
                await response.write(b"x" * 16_384)
            await response.write(b'"}')
        except (ConnectionError, RuntimeError):
            pass
        return response

    async def html(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.Response(text="<html><body>Oops</body></html>", content_type="text/html")

    async def nan(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.Response(text="NaN", content_type="application/json")

    async def fail(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({"error": "database down"}, status=500)

    async def redirect(self, request: web.Request) -> web.Response:
        await self._record(request)
        raise web.HTTPFound("/tool")

    async def gzipped(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.Response(
            body=gzip.compress(b'{"ok": true}'), content_type="application/json", headers={"Content-Encoding": "gzip"}
        )

    async def no_content(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.Response(status=204)


@pytest.fixture
async def tenant_system():
    system = TenantSystem()
    app = web.Application()
    for path, handler in [
        ("/tool", system.tool),
        ("/slow", system.slow),
        ("/drip", system.drip),
        ("/big", system.big),
        ("/big-chunked", system.big_chunked),
        ("/html", system.html),
        ("/nan", system.nan),
        ("/fail", system.fail),
        ("/redirect", system.redirect),
        ("/gzip", system.gzipped),
        ("/no-content", system.no_content),
    ]:
        app.router.add_route("*", path, handler)
    system.server = TestServer(app, host="127.0.0.1")
    await system.server.start_server(shutdown_timeout=1)
    yield system
    system.release.set()
    await system.server.close()


def http_tool(
    system: TenantSystem,
    path: str = "/tool",
    *,
    name: str = "order_status",
    parameters=None,
    secret: bytes | None = SECRET,
    **options,
) -> HttpTool:
    return HttpTool(
        name,
        "Status of an order by its number.",
        ORDER_SCHEMA if parameters is None else parameters,
        url=system.url(path),
        allowlist=system.allowlist(),
        secret=secret,
        **options,
    )


# ---------------------------------------------------------------------------------------
# HttpTool definitions with a fixed allowlist (construction and SSRF tests)


ALLOW = Allowlist(["https://hooks.example.com/frontdesk/", "*.acme.example", "api.shop.example", "http://127.0.0.1:9/"])


def make(url="https://api.shop.example/orders", parameters=None, **kw) -> HttpTool:
    return HttpTool(
        kw.pop("name", "order_status"),
        kw.pop("description", "Order status."),
        ORDER_SCHEMA if parameters is None else parameters,
        url=url,
        allowlist=ALLOW,
        **kw,
    )
