"""Function calling: the tools the AI may call while answering a customer, and the bounded
loop that lets it call them.

    ctx = ToolContext(tenant_id, conversation_id, job_id,
                      search=..., history=..., request_handoff=...)   # bound to this job's tenant
    allow = Allowlist(["https://hooks.example.com/frontdesk/", "*.acme-shop.com"])
    orders = HttpTool("order_status", "Status of an order by its number", schema,
                      url="https://api.acme-shop.com/tools/order", allowlist=allow, secret=b"...")
    registry = ToolRegistry(BUILTIN_TOOLS, [orders], enabled=None, on_call=admin_log.append)
    registry.specs()                                   # OpenAI-style function schemas for the model
    await registry.call(ctx, "order_status", '{"order": "A-17"}')      # -> ToolResult, never raises
    result = await run_tool_loop(complete, registry, ctx, messages, max_rounds=3)

Rules every tool follows:

- The tenant is never a tool argument. Tools read it from the job's `ToolContext` (the
  built-ins through callables already bound to the tenant, tenant HTTP tools through the
  `X-Frontdesk-Tenant` header). Top-level arguments that name a tenant, conversation or
  job (`tenant`, `tenant_id`, `tenantId`, `conversation_id`, `job_id`, ...) are dropped
  before validation and recorded as ignored; a tenant tool may not declare them.
- Arguments are validated against the tool's JSON Schema (Draft 2020-12) before anything
  runs; invalid ones come back to the model as an error result it can read and correct.
- Every failure (unknown tool, arguments that are not a JSON object, a timeout, a 500, a
  body that is too large or not JSON, a redirect) is a `ToolResult(ok=False)` with a clear
  message. Nothing raises out of `Tool.run` or `ToolRegistry.call`; every call is logged
  (`tool.called`) and handed to the `on_call` hook for the admin.

A tenant HTTP tool's request (POST; GET sends the same fields as query parameters):

    POST <url>
    Content-Type: application/json
    X-Frontdesk-Tenant: <tenant id>
    X-Frontdesk-Timestamp: <unix seconds>
    X-Frontdesk-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
    {"arguments": {...}, "conversation_id": "...", "job_id": "..."}

For GET the signed "body" is the request's raw query string exactly as sent. The
signature is sent only when the tool has a signing secret. `job_id` is stable across
redeliveries of the same job, so a tenant can use (job_id, tool) to make side effects
idempotent.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import inspect
import ipaddress
import json
import re
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import httpx
import referencing
import referencing.exceptions
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, best_match

from frontdesk import logs

log = logs.get("inference.tools")

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_DESCRIPTION_CHARS = 1024
MAX_SCHEMA_BYTES = 16 * 1024
MAX_ARGUMENT_BYTES = 16 * 1024
MIN_TIMEOUT_MS = 100
MAX_TIMEOUT_MS = 10_000
DEFAULT_TIMEOUT_MS = 5_000
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024
MAX_RESPONSE_BYTES = 1024 * 1024
DEFAULT_CALL_TIMEOUT_S = 15.0  # ceiling on any one call, built-ins included
MAX_CALLS_PER_ROUND = 5  # tool calls run from one model turn; the rest get an error result
PREVIEW_CHARS = 500  # how much of a result the admin record keeps
RECORD_ARGUMENT_CHARS = 2000
USER_AGENT = "frontdesk-tools/1"

# Arguments that name whose data a call is about. They come from the job, never the model.
_RESERVED_KEYS = {"tenant", "tenantid", "conversationid", "jobid"}

JsonDict = dict[str, Any]


def _is_reserved(key: str) -> bool:
    return re.sub(r"[^a-z0-9]", "", key.lower()) in _RESERVED_KEYS


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ValueError(f"tool name {name!r} must match [a-z][a-z0-9_]{{0,63}}")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


# ---------------------------------------------------------------------------------------
# results, context, the tool protocol


@dataclass(frozen=True)
class ToolResult:
    ok: bool
    content: str  # JSON text the model reads
    error: str = ""  # for people and logs; also inside `content` as {"error": ...}

    @classmethod
    def success(cls, data: Any) -> ToolResult:
        return cls(True, _dumps(data))

    @classmethod
    def failure(cls, message: str, **extra: Any) -> ToolResult:
        return cls(False, _dumps({"error": message, **extra}), message)


@dataclass(frozen=True)
class ToolContext:
    """Who a call is for. Built by the worker from the job (the tenant comes from the job's
    subject, checked against the job), never from model output. The callables are bound to
    this tenant and conversation: search(query, limit) -> [dict], history(limit) -> [dict],
    request_handoff(reason) -> None; each is async."""

    tenant_id: str
    conversation_id: str
    job_id: str
    search: Callable[[str, int], Awaitable[list[dict]]] | None = field(default=None, repr=False)
    history: Callable[[int], Awaitable[list[dict]]] | None = field(default=None, repr=False)
    request_handoff: Callable[[str], Awaitable[None]] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.tenant_id:
            raise ValueError("a tool context needs the job's tenant id")


@runtime_checkable
class Tool(Protocol):
    name: str
    description: str
    parameters: JsonDict

    async def run(self, ctx: ToolContext, arguments: JsonDict) -> ToolResult: ...


def _split_reserved(arguments: Mapping[str, Any]) -> tuple[JsonDict, tuple[str, ...]]:
    kept = {k: v for k, v in arguments.items() if not _is_reserved(k)}
    dropped = tuple(sorted(k for k in arguments if _is_reserved(k)))
    return kept, dropped


def _make_validator(name: str, parameters: Any) -> Draft202012Validator:
    """A validator for a tool's parameters; ValueError when they are not a usable schema."""
    if not isinstance(parameters, dict):
        raise ValueError(f"tool {name!r}: parameters must be a JSON Schema object")
    if parameters.get("type") != "object":
        raise ValueError(f'tool {name!r}: parameters must describe an object ("type": "object")')
    try:
        size = len(json.dumps(parameters).encode())
    except (TypeError, ValueError) as err:
        raise ValueError(f"tool {name!r}: parameters are not JSON ({err})") from None
    if size > MAX_SCHEMA_BYTES:
        raise ValueError(f"tool {name!r}: parameters schema is larger than {MAX_SCHEMA_BYTES} bytes")
    _refuse_remote_refs(name, parameters)
    try:
        Draft202012Validator.check_schema(parameters)
    except SchemaError as err:
        raise ValueError(f"tool {name!r}: parameters are not a valid JSON Schema: {err.message}") from None
    # An empty registry: a $ref can only point inside the schema, nothing is ever fetched
    # (jsonschema's default would fetch remote references over the network).
    return Draft202012Validator(parameters, registry=referencing.Registry())


def _refuse_remote_refs(name: str, node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("$ref", "$dynamicRef") and not (isinstance(value, str) and value.startswith("#")):
                raise ValueError(f'tool {name!r}: parameters may only use local references ($ref: "#/...")')
            _refuse_remote_refs(name, value)
    elif isinstance(node, list):
        for item in node:
            _refuse_remote_refs(name, item)


def _argument_error(tool: str, validator: Draft202012Validator, arguments: JsonDict) -> str:
    """'' when the arguments fit the schema, else a message the model can act on."""
    try:
        error = best_match(validator.iter_errors(arguments))
    except (referencing.exceptions.Unresolvable, RecursionError, re.error):
        return f"the arguments for {tool} could not be checked against its parameters"
    if error is None:
        return ""
    where = "/".join(str(p) for p in error.absolute_path)
    where = f" at '{where}'" if where else ""
    return f"invalid arguments for {tool}{where}: {error.message}"[:400]


class _SchemaTool:
    """Shared by built-in and HTTP tools: drop reserved arguments, validate, then run."""

    name: str
    description: str
    parameters: JsonDict
    _validator: Draft202012Validator

    async def run(self, ctx: ToolContext, arguments: JsonDict) -> ToolResult:
        try:
            if not isinstance(arguments, dict):
                return ToolResult.failure(f"the arguments for {self.name} must be a JSON object")
            arguments, _ = _split_reserved(arguments)
            problem = _argument_error(self.name, self._validator, arguments)
            if problem:
                return ToolResult.failure(problem)
            return await self._run(ctx, arguments)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 - a tool never raises; the log says what broke
            log.error(
                "tool.failed",
                tenant=ctx.tenant_id,
                conversation=ctx.conversation_id,
                tool=self.name,
                error_type=type(err).__name__,
            )
            return ToolResult.failure(f"the tool {self.name} failed unexpectedly")

    async def _run(self, ctx: ToolContext, arguments: JsonDict) -> ToolResult:  # pragma: no cover
        raise NotImplementedError


# ---------------------------------------------------------------------------------------
# built-in tools


class BuiltinTool(_SchemaTool):
    def __init__(
        self,
        name: str,
        description: str,
        parameters: JsonDict,
        handler: Callable[[ToolContext, JsonDict], Awaitable[ToolResult]],
    ):
        _check_name(name)
        self.name, self.description, self.parameters = name, description, parameters
        self._validator = _make_validator(name, parameters)
        self._handler = handler

    async def _run(self, ctx: ToolContext, arguments: JsonDict) -> ToolResult:
        return await self._handler(ctx, arguments)

    def __repr__(self) -> str:
        return f"BuiltinTool({self.name!r})"


async def _search(ctx: ToolContext, args: JsonDict) -> ToolResult:
    if ctx.search is None:
        return ToolResult.failure("the knowledge base is not available for this conversation")
    limit = int(args.get("limit", 3))
    hits = list(await ctx.search(args["query"], limit))[:limit]
    if not hits:
        return ToolResult.success(
            {
                "results": [],
                "note": "nothing in the knowledge base matches; "
                "do not guess, offer to hand the conversation to a person",
            }
        )
    return ToolResult.success({"results": hits})


async def _handoff(ctx: ToolContext, args: JsonDict) -> ToolResult:
    if ctx.request_handoff is None:
        return ToolResult.failure("a handoff is not possible for this conversation")
    await ctx.request_handoff(args["reason"])
    return ToolResult.success(
        {"handed_off": True, "message": "a person from the team will take over this conversation"}
    )


async def _history(ctx: ToolContext, args: JsonDict) -> ToolResult:
    if ctx.history is None:
        return ToolResult.failure("the conversation's history is not available")
    limit = int(args.get("limit", 10))
    messages = list(await ctx.history(limit))[-limit:]
    return ToolResult.success({"messages": messages})


SEARCH_KNOWLEDGE_BASE = BuiltinTool(
    "search_knowledge_base",
    "Search this business's knowledge base (FAQ and documents) for passages that answer the "
    "customer's question. Answer only from what it returns.",
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["query"],
        "properties": {
            "query": {
                "type": "string",
                "minLength": 1,
                "maxLength": 500,
                "description": "what to look for, in the customer's words",
            },
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": 10,
                "default": 3,
                "description": "how many passages to return",
            },
        },
    },
    _search,
)

HANDOFF_TO_HUMAN = BuiltinTool(
    "handoff_to_human",
    "Hand the conversation to a person from the team: when the customer asks for one, when "
    "the knowledge base does not answer the question, or when the request needs a person.",
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["reason"],
        "properties": {
            "reason": {
                "type": "string",
                "minLength": 1,
                "maxLength": 500,
                "description": "why a person is needed, in one sentence",
            }
        },
    },
    _handoff,
)

CONVERSATION_HISTORY = BuiltinTool(
    "conversation_history",
    "Read the earlier messages of this conversation, oldest first.",
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": 50,
                "default": 10,
                "description": "how many of the latest messages to return",
            }
        },
    },
    _history,
)

BUILTIN_TOOLS: tuple[BuiltinTool, ...] = (SEARCH_KNOWLEDGE_BASE, HANDOFF_TO_HUMAN, CONVERSATION_HISTORY)
BUILTIN_NAMES = frozenset(t.name for t in BUILTIN_TOOLS)


def hit_to_dict(hit: Any) -> JsonDict:
    """A knowledge-base Hit as the search tool returns it to the model."""
    out = {"id": hit.entry_id, "title": hit.title, "text": hit.text, "score": round(float(hit.score), 3)}
    if getattr(hit, "url", ""):
        out["url"] = hit.url
    return out


# ---------------------------------------------------------------------------------------
# tenant HTTP tools


_DEFAULT_PORTS = {"http": 80, "https": 443}
_URL_CHARS = re.compile(r"[\x00-\x20\x7f\\]|%2[eEfF]|%5[cC]")  # no encoded dots or slashes either


def _parse_url(url: str) -> httpx.URL:
    if not isinstance(url, str) or not url or _URL_CHARS.search(url) or len(url) > 2048:
        raise ValueError(f"tool url {url!r} is not a valid URL")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise ValueError(f"tool url {url!r} is not a valid URL") from None
    if parsed.scheme not in _DEFAULT_PORTS or not parsed.host:
        raise ValueError(f"tool url {url!r} must be an http(s) URL with a host")
    if parsed.userinfo:
        raise ValueError("tool url must not carry a user name or password")
    if parsed.fragment:
        raise ValueError("tool url must not have a fragment")
    return parsed


def _port(url: httpx.URL) -> int:
    return url.port or _DEFAULT_PORTS[url.scheme]


@dataclass(frozen=True)
class _Prefix:
    scheme: str
    host: str
    port: int
    path: str

    def matches(self, url: httpx.URL) -> bool:
        if (url.scheme, url.host, _port(url)) != (self.scheme, self.host, self.port):
            return False
        if self.path in ("", "/") or url.path == self.path:
            return True
        base = self.path if self.path.endswith("/") else self.path + "/"
        return url.path.startswith(base)


@dataclass(frozen=True)
class _HostPattern:
    host: str  # "api.example.com" or "*.example.com" (any subdomain, not the apex)
    port: int  # 443 unless the pattern names one

    def matches(self, url: httpx.URL) -> bool:
        if url.scheme != "https" or _port(url) != self.port:
            return False
        if self.host.startswith("*."):
            return url.host.endswith(self.host[1:]) and len(url.host) > len(self.host) - 1
        return url.host == self.host


class Allowlist:
    """The deployment's list of where tenant tools may send requests. Each entry is either

    - a URL prefix, "https://hooks.example.com/frontdesk/": same scheme, host and port, and
      the path is the prefix's or below it (on a "/" boundary); or
    - a host pattern, "api.example.com", "*.example.com" (subdomains only), with an
      optional ":port": https only.

    Plain http is allowed only through a URL prefix that says http:// explicitly (a
    tenant's own server on 127.0.0.1 in tests, an internal network in a private install).
    A bare "*" is refused: it would let tenants reach anything the worker can.
    """

    def __init__(self, entries: Iterable[str]):
        self.entries: tuple[str, ...] = tuple(entries)
        self._rules: list[_Prefix | _HostPattern] = [self._parse(e) for e in self.entries]

    @staticmethod
    def _parse(entry: str) -> _Prefix | _HostPattern:
        entry = entry.strip() if isinstance(entry, str) else ""
        if not entry or entry in ("*", "*.*") or entry.startswith("*:"):
            raise ValueError(f"allowlist entry {entry!r} is empty or matches every host")
        if "://" in entry:
            url = _parse_url(entry)
            if url.query:
                raise ValueError(f"allowlist entry {entry!r} must not have a query")
            return _Prefix(url.scheme, url.host, _port(url), url.path)
        host, _, port = entry.lower().rstrip(".").partition(":")
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise ValueError(f"allowlist entry {entry!r} has an invalid port")
        bare = host[2:] if host.startswith("*.") else host
        if not bare or "*" in bare or "/" in bare or "." not in bare and bare != "localhost":
            raise ValueError(f"allowlist entry {entry!r} is not a host name or *.domain pattern")
        return _HostPattern(host, int(port) if port else 443)

    def permits(self, url: httpx.URL) -> bool:
        return any(rule.matches(url) for rule in self._rules)

    def names_exactly(self, url: httpx.URL) -> bool:
        """Whether a URL-prefix entry covers ``url``: the operator wrote this very endpoint
        down, so it may be on a private network. A host pattern never admits one."""
        return any(isinstance(rule, _Prefix) and rule.matches(url) for rule in self._rules)


class UnsafeAddress(Exception):
    """The tool's host resolves to an address a tenant tool may not reach."""


def _is_public(address: str) -> bool:
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
    addresses = literal or await resolver(host, _port(url))
    if not addresses:
        raise UnsafeAddress(f"{host} does not resolve")
    if not allowlist.names_exactly(url):
        private = [a for a in addresses if not _is_public(a)]
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

    def __repr__(self) -> str:
        return f"Allowlist({list(self.entries)!r})"


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


class HttpTool(_SchemaTool):
    """A tool the tenant defined: an HTTPS endpoint of the tenant's own system.

    Validated at construction (ValueError with the reason): name, description, parameters
    (a Draft 2020-12 JSON Schema of an object, local $refs only, no reserved argument names),
    url (https, or http only where the allowlist names http:// explicitly; inside the
    allowlist), method, timeout and response size limit. `run` never raises."""

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
        _check_name(name)
        if name in BUILTIN_NAMES:
            raise ValueError(f"tool name {name!r} is taken by a built-in tool")
        if name in ("none", "auto", "required"):
            raise ValueError(f"tool name {name!r} is reserved (it is a tool choice)")
        if not isinstance(description, str) or not description.strip():
            raise ValueError(f"tool {name!r}: a description is required (the model reads it)")
        if len(description) > MAX_DESCRIPTION_CHARS:
            raise ValueError(f"tool {name!r}: the description is longer than {MAX_DESCRIPTION_CHARS} characters")
        self._validator = _make_validator(name, parameters)
        reserved = sorted(k for k in parameters.get("properties", {}) if _is_reserved(k))
        if reserved:
            raise ValueError(
                f"tool {name!r}: parameters may not declare {', '.join(reserved)}: "
                "the tenant, conversation and job come from the job's context"
            )
        method = method.upper() if isinstance(method, str) else ""
        if method not in ("GET", "POST"):
            raise ValueError(f"tool {name!r}: method must be GET or POST")
        if not isinstance(timeout_ms, int) or not MIN_TIMEOUT_MS <= timeout_ms <= MAX_TIMEOUT_MS:
            raise ValueError(f"tool {name!r}: timeout must be {MIN_TIMEOUT_MS}..{MAX_TIMEOUT_MS} ms")
        if not isinstance(max_response_bytes, int) or not 1 <= max_response_bytes <= MAX_RESPONSE_BYTES:
            raise ValueError(f"tool {name!r}: the response limit must be 1..{MAX_RESPONSE_BYTES} bytes")
        allowlist = allowlist if isinstance(allowlist, Allowlist) else Allowlist(allowlist)
        parsed = _parse_url(url)
        if not allowlist.permits(parsed):
            raise ValueError(
                f"tool {name!r}: url {url!r} is not on this deployment's allowlist"
                + (" (plain http must be allowed explicitly)" if parsed.scheme == "http" else "")
            )
        self.name, self.description, self.parameters = name, description.strip(), parameters
        self.url, self.method, self.timeout_ms = str(parsed), method, timeout_ms
        self.max_response_bytes = max_response_bytes
        self._parsed_url = parsed
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
            body = _dumps(
                {"arguments": arguments, "conversation_id": ctx.conversation_id, "job_id": ctx.job_id}
            ).encode()
            url, signed = self._parsed_url, body
            headers["Content-Type"] = "application/json"
        else:
            params = {k: v if isinstance(v, str) else _dumps(v) for k, v in arguments.items()}
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
            detail = {"detail": _dumps(parsed)[:PREVIEW_CHARS]} if is_json else {}
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


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_json(body: bytes) -> tuple[Any, bool]:
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant), True
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, False


# ---------------------------------------------------------------------------------------
# the registry


@dataclass(frozen=True)
class ToolCallRecord:
    """One call, as the admin sees it. Holds no secret and only a preview of the result."""

    call_id: str
    tool: str
    tenant_id: str
    conversation_id: str
    job_id: str
    arguments: str  # JSON text of the arguments the tool got (or the raw text), cut
    ok: bool
    error: str
    duration_ms: float
    started_at: float  # unix seconds
    result_bytes: int
    result_preview: str
    ignored_arguments: tuple[str, ...] = ()
    result: ToolResult | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> JsonDict:
        return {
            k: getattr(self, k)
            for k in (
                "call_id",
                "tool",
                "tenant_id",
                "conversation_id",
                "job_id",
                "arguments",
                "ok",
                "error",
                "duration_ms",
                "started_at",
                "result_bytes",
                "result_preview",
            )
        } | {"ignored_arguments": list(self.ignored_arguments)}


class ToolRegistry:
    """The tools one job may use: the built-ins plus the tenant's HTTP tools, filtered by the
    tenant's `enabled` set (None = all). Build one per job (or per tenant configuration)."""

    def __init__(
        self,
        builtins: Iterable[Tool] = BUILTIN_TOOLS,
        tenant_tools: Iterable[Tool] = (),
        enabled: set[str] | frozenset[str] | None = None,
        *,
        on_call: Callable[[ToolCallRecord], Any] | None = None,
        call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S,
    ):
        self._tools: dict[str, Tool] = {}
        for tool in [*builtins, *tenant_tools]:
            _check_name(tool.name)
            if tool.name in self._tools:
                raise ValueError(f"two tools are named {tool.name!r}")
            if enabled is None or tool.name in enabled:
                self._tools[tool.name] = tool
        self.on_call = on_call
        self.call_timeout_s = call_timeout_s

    def names(self) -> list[str]:
        return list(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def specs(self) -> list[JsonDict]:
        """OpenAI-style `tools` for a chat completion request."""
        return [
            {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
            for t in self._tools.values()
        ]

    async def call(self, ctx: ToolContext, name: str, raw_arguments: str | dict | None) -> ToolResult:
        return (await self.invoke(ctx, name, raw_arguments)).result  # type: ignore[return-value]

    async def invoke(self, ctx: ToolContext, name: Any, raw_arguments: Any, call_id: str = "") -> ToolCallRecord:
        """Run one call and return its record (the result is `record.result`). Never raises."""
        started_at, started = time.time(), time.monotonic()
        shown_name = name if isinstance(name, str) else ""
        arguments_text = raw_arguments if isinstance(raw_arguments, str) else _safe_dumps(raw_arguments)
        ignored: tuple[str, ...] = ()
        tool = self._tools.get(name) if isinstance(name, str) else None
        arguments, problem = _parse_arguments(raw_arguments)
        if tool is None:
            listed = ", ".join(self._tools) or "none"
            result = ToolResult.failure(f"there is no tool named {shown_name[:64]!r}; the tools are: {listed}")
        elif problem:
            result = ToolResult.failure(f"{problem}; call {tool.name} again with a JSON object matching its parameters")
        else:
            arguments, ignored = _split_reserved(arguments)
            arguments_text = _safe_dumps(arguments)
            result = await self._run(ctx, tool, arguments)
        return await self._finish(ctx, call_id, shown_name, arguments_text, ignored, result, started_at, started)

    async def reject(
        self, ctx: ToolContext, name: Any, raw_arguments: Any, message: str, call_id: str = ""
    ) -> ToolCallRecord:
        """Record a call that is not run (the loop's per-turn cap) with an error result."""
        arguments_text = raw_arguments if isinstance(raw_arguments, str) else _safe_dumps(raw_arguments)
        return await self._finish(
            ctx,
            call_id,
            name if isinstance(name, str) else "",
            arguments_text,
            (),
            ToolResult.failure(message),
            time.time(),
            time.monotonic(),
        )

    async def _run(self, ctx: ToolContext, tool: Tool, arguments: JsonDict) -> ToolResult:
        try:
            result = await asyncio.wait_for(tool.run(ctx, arguments), self.call_timeout_s)
        except TimeoutError:
            return ToolResult.failure(f"the tool {tool.name} timed out")
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 - a third-party Tool that raises still yields a result
            log.error(
                "tool.failed",
                tenant=ctx.tenant_id,
                conversation=ctx.conversation_id,
                tool=tool.name,
                error_type=type(err).__name__,
            )
            return ToolResult.failure(f"the tool {tool.name} failed unexpectedly")
        if not isinstance(result, ToolResult):
            return ToolResult.failure(f"the tool {tool.name} failed unexpectedly")
        return result

    async def _finish(
        self,
        ctx: ToolContext,
        call_id: str,
        name: str,
        arguments_text: str,
        ignored: tuple[str, ...],
        result: ToolResult,
        started_at: float,
        started: float,
    ) -> ToolCallRecord:
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        record = ToolCallRecord(
            call_id=call_id,
            tool=name[:64],
            tenant_id=ctx.tenant_id,
            conversation_id=ctx.conversation_id,
            job_id=ctx.job_id,
            arguments=arguments_text[:RECORD_ARGUMENT_CHARS],
            ok=result.ok,
            error=result.error,
            duration_ms=duration_ms,
            started_at=started_at,
            result_bytes=len(result.content.encode()),
            result_preview=result.content[:PREVIEW_CHARS],
            ignored_arguments=ignored,
            result=result,
        )
        fields: JsonDict = dict(
            tenant=ctx.tenant_id,
            conversation=ctx.conversation_id,
            job=ctx.job_id,
            tool=record.tool,
            ok=result.ok,
            duration_ms=duration_ms,
            error=result.error,
        )
        if ignored:
            fields["ignored_arguments"] = list(ignored)
        (log.info if result.ok else log.warning)("tool.called", **fields)
        if self.on_call is not None:
            try:
                outcome = self.on_call(record)
                if inspect.isawaitable(outcome):
                    await outcome
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - the admin record must not break the answer
                log.error("tool.record_failed", tenant=ctx.tenant_id, tool=record.tool, error_type=type(err).__name__)
        return record


def _safe_dumps(value: Any) -> str:
    try:
        return _dumps(value)
    except (TypeError, ValueError, RecursionError):
        return repr(value)[:RECORD_ARGUMENT_CHARS]


def _parse_arguments(raw: Any) -> tuple[JsonDict, str]:
    """(arguments, '') or ({}, why they cannot be used)."""
    if raw is None:
        return {}, ""
    if isinstance(raw, str):
        if len(raw.encode()) > MAX_ARGUMENT_BYTES:
            return {}, f"the arguments are longer than {MAX_ARGUMENT_BYTES} bytes"
        if not raw.strip():
            return {}, ""
        try:
            raw = json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as err:
            reason = f" ({err.msg} at position {err.pos})" if isinstance(err, json.JSONDecodeError) else ""
            return {}, f"the arguments are not valid JSON{reason}"
    if not isinstance(raw, dict):
        return {}, f"the arguments must be a JSON object, not {_json_type(raw)}"
    return raw, ""


def _json_type(value: Any) -> str:
    return {
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


# ---------------------------------------------------------------------------------------
# the bounded loop


# complete(messages, tools) -> (text, tool_calls): one model turn. tool_calls is a list of
# OpenAI-style {"id", "type": "function", "function": {"name", "arguments": "<JSON text>"}}
# (a flat {"id", "name", "arguments"} dict, or an object with id / name / raw_arguments or
# arguments attributes, is accepted too); [] or None when the model answered.
Complete = Callable[[list[JsonDict], list[JsonDict]], Awaitable[tuple[str | None, Any]]]

ANSWERED, MAX_ROUNDS, HANDOFF, EMPTY = "answered", "max_rounds", "handoff", "empty"


@dataclass
class LoopResult:
    text: str  # the model's answer; "" unless stopped_reason == "answered"
    calls: list[ToolCallRecord]
    rounds: int  # model turns taken
    stopped_reason: str  # answered | max_rounds | handoff | empty
    messages: list[JsonDict] = field(default_factory=list, repr=False)  # the transcript, tool turns included

    @property
    def needs_handoff(self) -> bool:
        """The caller must still hand the conversation to a person (max_rounds or empty). After
        "handoff" the handoff_to_human tool has already asked for one through the context."""
        return self.stopped_reason in (MAX_ROUNDS, EMPTY)


@dataclass(frozen=True)
class _Call:
    id: str
    name: str
    arguments: Any  # as the model gave it: JSON text, a dict, or garbage
    arguments_text: str  # what goes back into the transcript


def _normalize_calls(tool_calls: Any, round_no: int) -> list[_Call]:
    """Whatever the model emitted, as a list of calls with unique ids (a call that cannot be
    read becomes one with an empty name, which the registry answers with an error)."""
    if not tool_calls:
        return []
    items = tool_calls if isinstance(tool_calls, (list, tuple)) else [tool_calls]
    calls: list[_Call] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        if not isinstance(item, dict) and isinstance(getattr(item, "name", None), str):
            # a backend's ToolCall object (id, name, raw_arguments / arguments): the raw text is
            # preferred, so JSON the backend could not parse still gets the registry's error
            item = {
                "id": getattr(item, "id", None),
                "name": item.name,
                "arguments": getattr(item, "raw_arguments", None) or getattr(item, "arguments", None),
            }
        fn = item.get("function") if isinstance(item, dict) else None
        source = fn if isinstance(fn, dict) else item if isinstance(item, dict) else {}
        name = source.get("name")
        arguments = source.get("arguments")
        call_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(call_id, str) or not call_id or call_id in seen or len(call_id) > 128:
            call_id = f"call_{round_no}_{i}"
        seen.add(call_id)
        text = arguments if isinstance(arguments, str) else "" if arguments is None else _safe_dumps(arguments)
        calls.append(_Call(call_id, name if isinstance(name, str) else "", arguments, text[:MAX_ARGUMENT_BYTES]))
    return calls


async def run_tool_loop(
    complete: Complete,
    registry: ToolRegistry,
    ctx: ToolContext,
    messages: Sequence[JsonDict],
    max_rounds: int = 3,
    max_calls_per_round: int = MAX_CALLS_PER_ROUND,
) -> LoopResult:
    """Let the model call tools until it answers with text, at most `max_rounds` model turns.

    Each turn that asks for tools appends the assistant's tool calls and one `tool` message
    per call (OpenAI format) and asks again. A call that cannot be run (unknown tool, bad
    JSON, invalid arguments, a failing endpoint) gets an error result the model reads on its
    next turn. Tool calls asked for on the last turn are not run (nothing would read them).
    Stops with stopped_reason:
      answered    the model answered with text
      handoff     handoff_to_human succeeded: a person takes over, text is ""
      max_rounds  still calling tools after max_rounds turns: text is "", hand off
      empty       the model returned neither text nor tool calls: text is "", hand off
    Exceptions from `complete` (the model backend) propagate: the job's retry handles them.
    `messages` is not modified."""
    if max_rounds < 1:
        raise ValueError("max_rounds must be at least 1")
    transcript: list[JsonDict] = [dict(m) for m in messages]
    specs = registry.specs()
    records: list[ToolCallRecord] = []
    for round_no in range(1, max_rounds + 1):
        text, tool_calls = await complete(list(transcript), specs)
        text = text if isinstance(text, str) else ""
        calls = _normalize_calls(tool_calls, round_no)
        if not calls:
            if text.strip():
                return LoopResult(text.strip(), records, round_no, ANSWERED, transcript)
            log.warning(
                "tool.loop_stopped",
                tenant=ctx.tenant_id,
                conversation=ctx.conversation_id,
                job=ctx.job_id,
                reason=EMPTY,
                rounds=round_no,
            )
            return LoopResult("", records, round_no, EMPTY, transcript)
        if round_no == max_rounds:
            log.warning(
                "tool.loop_stopped",
                tenant=ctx.tenant_id,
                conversation=ctx.conversation_id,
                job=ctx.job_id,
                reason=MAX_ROUNDS,
                rounds=round_no,
                unrun_calls=len(calls),
            )
            return LoopResult("", records, round_no, MAX_ROUNDS, transcript)
        transcript.append(
            {
                "role": "assistant",
                "content": text or None,
                "tool_calls": [
                    {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments_text}}
                    for c in calls
                ],
            }
        )
        handed_off = False
        for index, call in enumerate(calls):
            if index >= max_calls_per_round:
                record = await registry.reject(
                    ctx,
                    call.name,
                    call.arguments,
                    call_id=call.id,
                    message=f"not run: at most {max_calls_per_round} tool calls per turn",
                )
            elif handed_off and call.name == HANDOFF_TO_HUMAN.name:
                record = await registry.reject(
                    ctx,
                    call.name,
                    call.arguments,
                    call_id=call.id,
                    message="not run: the conversation is already being handed off",
                )
            else:
                record = await registry.invoke(ctx, call.name, call.arguments, call_id=call.id)
            records.append(record)
            handed_off = handed_off or (record.ok and call.name == HANDOFF_TO_HUMAN.name)
            content = record.result.content if record.result is not None else record.error
            transcript.append({"role": "tool", "tool_call_id": call.id, "content": content})
        if handed_off:
            log.info(
                "tool.loop_stopped",
                tenant=ctx.tenant_id,
                conversation=ctx.conversation_id,
                job=ctx.job_id,
                reason=HANDOFF,
                rounds=round_no,
            )
            return LoopResult("", records, round_no, HANDOFF, transcript)
    raise AssertionError("unreachable")  # pragma: no cover
