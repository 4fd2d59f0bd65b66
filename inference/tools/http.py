"""Tenant HTTP tools: a signed request to the tenant's own system, sent only to a checked
public address (SSRF: resolved on every call, private, loopback, link-local and metadata
addresses refused unless an allowlist entry names the endpoint; redirects never followed),
the answer read within a size limit and a timeout."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx

from frontdesk.ai_settings import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUT_MS,
    Allowlist,
    JsonDict,
    check_http_tool,
    port_of,
)
from inference.tools.base import (
    PREVIEW_CHARS,
    USER_AGENT,
    SchemaTool,
    ToolContext,
    ToolResult,
    dumps,
    log,
    reject_constant,
)


class UnsafeAddress(Exception):
    """The tool's host resolves to an address a tenant tool may not reach."""


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # not global: loopback, private, link-local (the cloud metadata 169.254.169.254),
    # carrier-grade NAT, multicast, reserved, unspecified
    return ip.is_global and not ip.is_multicast


Resolver = Callable[[str, int], Awaitable[list[str]]]


async def _resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def pin_address(request: httpx.Request, allowlist: Allowlist, resolver: Resolver = _resolve) -> httpx.Request:
    """The request sent to a checked address: the host is resolved now (on every call, so a
    DNS change cannot slip a private address in between check and use), every address must
    be public unless a URL-prefix allowlist entry names the endpoint, and the connection
    goes to the checked address (the Host header and TLS name stay the host's)."""
    url = request.url
    host = url.host
    try:
        literal = [str(ipaddress.ip_address(host))]
    except ValueError:
        literal = []
    addresses = literal or await resolver(host, port_of(url))
    if not addresses:
        raise UnsafeAddress(f"{host} does not resolve")
    if not allowlist.names_exactly(url):
        private = [a for a in addresses if not is_public(a)]
        if private:
            raise UnsafeAddress(f"{host} resolves to a non-public address ({private[0]})")
    if literal:
        return request
    pinned = url.copy_with(host=addresses[0])
    headers = httpx.Headers(request.headers)
    headers["Host"] = url.netloc.decode("ascii")
    extensions = dict(request.extensions)
    if url.scheme == "https":
        extensions["sni_hostname"] = host  # the certificate is checked for the name, not the address
    return httpx.Request(request.method, pinned, headers=headers, content=request.content, extensions=extensions)


def sign_request(secret: bytes, timestamp: str, body: bytes) -> str:
    """The X-Frontdesk-Signature value: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def make_client(transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """An HTTP client for tenant tools, to share across calls (close it at shutdown):
    no redirects, no proxy or netrc from the environment, bounded connection pool."""
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        headers={"User-Agent": USER_AGENT},
    )


class _TooLarge(Exception):
    pass


class HttpTool(SchemaTool):
    """A tool the tenant defined: an HTTPS endpoint of the tenant's own system.

    Validated at construction by frontdesk.ai_settings.check_http_tool (ValueError with the
    reason), the same check the gateway runs when the tool is saved. `run` never raises."""

    def __init__(
        self,
        name: str,
        description: str,
        parameters: JsonDict,
        *,
        url: str,
        allowlist: Allowlist | Iterable[str],
        method: str = "POST",
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        secret: bytes | str | None = None,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
    ):
        spec = check_http_tool(
            name,
            description,
            parameters,
            url=url,
            allowlist=allowlist,
            method=method,
            timeout_ms=timeout_ms,
            max_response_bytes=max_response_bytes,
        )
        self.name, self.description, self.parameters = spec.name, spec.description, spec.parameters
        self.url, self.method, self.timeout_ms = str(spec.url), spec.method, spec.timeout_ms
        self.max_response_bytes = spec.max_response_bytes
        self._validator = spec.validator
        self._parsed_url = spec.url
        allowlist = spec.allowlist
        self._secret = secret.encode() if isinstance(secret, str) else (secret or b"")
        self._client, self._transport = client, transport
        self._allowlist = allowlist
        self._resolver = resolver or _resolve

    @property
    def has_secret(self) -> bool:
        return bool(self._secret)

    @classmethod
    def from_spec(
        cls, spec: Any, *, allowlist: Allowlist | Iterable[str], secret: bytes | str | None = None, **options: Any
    ) -> HttpTool:
        """From a stored admin `HttpTool` message (parameters_schema is JSON text; a zero
        timeout_ms and an empty method take the defaults)."""
        try:
            parameters = json.loads(spec.parameters_schema or "{}")
        except ValueError:
            raise ValueError(f"tool {spec.name!r}: parameters_schema is not JSON") from None
        return cls(
            spec.name,
            spec.description,
            parameters,
            url=spec.url,
            allowlist=allowlist,
            method=spec.method or "POST",
            timeout_ms=spec.timeout_ms or DEFAULT_TIMEOUT_MS,
            secret=secret,
            **options,
        )

    def __repr__(self) -> str:  # never the secret
        return f"HttpTool({self.name!r}, {self.method} {self.url}, signed={self.has_secret})"

    def _build(self, client: httpx.AsyncClient, ctx: ToolContext, arguments: JsonDict) -> httpx.Request:
        timestamp = str(int(time.time()))
        headers = {
            "X-Frontdesk-Tenant": ctx.tenant_id,
            "X-Frontdesk-Timestamp": timestamp,
            "Accept": "application/json",
            "Accept-Encoding": "identity",
            "User-Agent": USER_AGENT,
        }
        if self.method == "POST":
            body = dumps(
                {"arguments": arguments, "conversation_id": ctx.conversation_id, "job_id": ctx.job_id}
            ).encode()
            url, signed = self._parsed_url, body
            headers["Content-Type"] = "application/json"
        else:
            params = {k: v if isinstance(v, str) else dumps(v) for k, v in arguments.items()}
            params.update(conversation_id=ctx.conversation_id, job_id=ctx.job_id)
            url = self._parsed_url.copy_merge_params(params)
            body, signed = None, url.query
        if self._secret:
            headers["X-Frontdesk-Signature"] = sign_request(self._secret, timestamp, signed)
        return client.build_request(
            self.method, url, content=body, headers=headers, timeout=httpx.Timeout(self.timeout_ms / 1000)
        )

    async def _run(self, ctx: ToolContext, arguments: JsonDict) -> ToolResult:
        timeout_s = self.timeout_ms / 1000
        try:
            async with asyncio.timeout(timeout_s):  # the whole exchange, however slowly it drips
                if self._client is not None:
                    return await self._exchange(self._client, ctx, arguments)
                async with make_client(self._transport) as client:
                    return await self._exchange(client, ctx, arguments)
        except (TimeoutError, httpx.TimeoutException):
            return ToolResult.failure(f"the tool {self.name} timed out after {self.timeout_ms} ms")
        except httpx.ConnectError:
            return ToolResult.failure(f"the tool {self.name} could not be reached")
        except httpx.HTTPError as err:
            return ToolResult.failure(f"the request to the tool {self.name} failed ({type(err).__name__})")

    async def _exchange(self, client: httpx.AsyncClient, ctx: ToolContext, arguments: JsonDict) -> ToolResult:
        request = self._build(client, ctx, arguments)
        try:
            request = await pin_address(request, self._allowlist, self._resolver)
        except UnsafeAddress as err:
            log.warning("tool.unsafe_address", tool=self.name, tenant=ctx.tenant_id, error=str(err))
            return ToolResult.failure(f"the tool {self.name} is not reachable from here: {err}")
        except OSError:
            return ToolResult.failure(f"the tool {self.name} could not be reached (its host does not resolve)")
        response = await client.send(request, stream=True, follow_redirects=False)
        try:
            status = response.status_code
            if 300 <= status < 400:
                return ToolResult.failure(
                    f"the tool {self.name} answered with a redirect (HTTP {status}); redirects are not followed",
                    status=status,
                )
            encoding = response.headers.get("content-encoding", "identity").strip().lower()
            if encoding not in ("", "identity"):
                return ToolResult.failure(
                    f"the tool {self.name} sent a compressed response ({encoding[:20]}), which is not accepted",
                    status=status,
                )
            try:
                body = await self._read_bounded(response)
            except _TooLarge:
                return ToolResult.failure(
                    f"the tool {self.name}'s response is larger than {self.max_response_bytes} bytes; it was cut off",
                    status=status,
                )
        finally:
            await response.aclose()
        parsed, is_json = _parse_json(body)
        if not 200 <= status < 300:
            detail = {"detail": dumps(parsed)[:PREVIEW_CHARS]} if is_json else {}
            return ToolResult.failure(f"the tool {self.name} failed with HTTP {status}", status=status, **detail)
        if status == 204 and not body:
            return ToolResult.success({"status": 204, "result": None})
        if not is_json:
            return ToolResult.failure("the tool returned something that is not JSON", status=status)
        return ToolResult.success(parsed)

    async def _read_bounded(self, response: httpx.Response) -> bytes:
        """The body, never more than max_response_bytes (plus one network chunk) in memory."""
        limit = self.max_response_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _TooLarge
        body = bytearray()
        async for chunk in response.aiter_raw():
            body += chunk
            if len(body) > limit:
                raise _TooLarge
        return bytes(body)


def _parse_json(body: bytes) -> tuple[Any, bool]:
    try:
        return json.loads(body.decode("utf-8"), parse_constant=reject_constant), True
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, False
