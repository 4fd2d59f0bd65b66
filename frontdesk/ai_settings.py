"""The rules of a tenant's AI settings, in one place for both sides that need them: the
gateway checks them when an admin saves settings or a tool, inference applies them when it
answers (the same checks, so what was saved always runs).

- the hosted backends a tenant may bring a key for, and where a tenant's own model may be;
- what a tenant HTTP tool may be: its name, description, JSON Schema parameters, URL (inside
  the deployment's allowlist), method, timeout and response size (`check_http_tool`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
import referencing
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

JsonDict = dict[str, Any]

# ---------------------------------------------------------------------------------------
# backends and keys

TENANT_BACKENDS = ("openai", "anthropic", "gemini")  # hosted models a tenant may bring a key for
API_KEY_PURPOSE = "ai_api_key"  # what a sealed model key is for (frontdesk/secretbox.py)


def tool_secret_purpose(name: str) -> str:
    """What a sealed tool signing secret is for: bound to the tool's name."""
    return f"tool_secret/{name}"


def url_allowed(url: str, allowlist: str) -> bool:
    """Whether `url` is inside a comma-separated allowlist (the rules of `Allowlist`)."""
    entries = [e.strip() for e in allowlist.split(",") if e.strip()]
    if not entries:
        return False
    try:
        # a base URL is a root the SDK appends paths to: "…/v1" is inside a "…/v1/" prefix
        return Allowlist(entries).permits(parse_url(url.rstrip("/") + "/"))
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------
# tools

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_DESCRIPTION_CHARS = 1024
MAX_SCHEMA_BYTES = 16 * 1024
MIN_TIMEOUT_MS = 100
MAX_TIMEOUT_MS = 10_000
DEFAULT_TIMEOUT_MS = 5_000
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024
MAX_RESPONSE_BYTES = 1024 * 1024
# the built-in tools (inference/tools/builtin.py); a tenant tool may not take their names
BUILTIN_NAMES = frozenset({"search_knowledge_base", "handoff_to_human", "conversation_history"})
# what a model's tool choice may say instead of a tool's name
TOOL_CHOICES = frozenset({"none", "auto", "required"})

# Arguments that name whose data a call is about. They come from the job, never the model.
_RESERVED_KEYS = {"tenant", "tenantid", "conversationid", "jobid"}


def is_reserved(key: str) -> bool:
    return re.sub(r"[^a-z0-9]", "", key.lower()) in _RESERVED_KEYS


def check_name(name: Any) -> None:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ValueError(f"tool name {name!r} must match [a-z][a-z0-9_]{{0,63}}")


def make_validator(name: str, parameters: Any) -> Draft202012Validator:
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
    refuse_remote_refs(name, parameters)
    try:
        Draft202012Validator.check_schema(parameters)
    except SchemaError as err:
        raise ValueError(f"tool {name!r}: parameters are not a valid JSON Schema: {err.message}") from None
    # An empty registry: a $ref can only point inside the schema, nothing is ever fetched
    # (jsonschema's default would fetch remote references over the network).
    return Draft202012Validator(parameters, registry=referencing.Registry())


def refuse_remote_refs(name: str, node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("$ref", "$dynamicRef") and not (isinstance(value, str) and value.startswith("#")):
                raise ValueError(f'tool {name!r}: parameters may only use local references ($ref: "#/...")')
            refuse_remote_refs(name, value)
    elif isinstance(node, list):
        for item in node:
            refuse_remote_refs(name, item)


DEFAULT_PORTS = {"http": 80, "https": 443}
URL_CHARS = re.compile(r"[\x00-\x20\x7f\\]|%2[eEfF]|%5[cC]")  # no encoded dots or slashes either


def parse_url(url: str) -> httpx.URL:
    if not isinstance(url, str) or not url or URL_CHARS.search(url) or len(url) > 2048:
        raise ValueError(f"tool url {url!r} is not a valid URL")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise ValueError(f"tool url {url!r} is not a valid URL") from None
    if parsed.scheme not in DEFAULT_PORTS or not parsed.host:
        raise ValueError(f"tool url {url!r} must be an http(s) URL with a host")
    if parsed.userinfo:
        raise ValueError("tool url must not carry a user name or password")
    if parsed.fragment:
        raise ValueError("tool url must not have a fragment")
    return parsed


def port_of(url: httpx.URL) -> int:
    return url.port or DEFAULT_PORTS[url.scheme]


@dataclass(frozen=True)
class UrlPrefix:
    scheme: str
    host: str
    port: int
    path: str

    def matches(self, url: httpx.URL) -> bool:
        if (url.scheme, url.host, port_of(url)) != (self.scheme, self.host, self.port):
            return False
        if self.path in ("", "/") or url.path == self.path:
            return True
        base = self.path if self.path.endswith("/") else self.path + "/"
        return url.path.startswith(base)


@dataclass(frozen=True)
class HostPattern:
    host: str  # "api.example.com" or "*.example.com" (any subdomain, not the apex)
    port: int  # 443 unless the pattern names one

    def matches(self, url: httpx.URL) -> bool:
        if url.scheme != "https" or port_of(url) != self.port:
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
        self._rules: list[UrlPrefix | HostPattern] = [self._parse(e) for e in self.entries]

    @staticmethod
    def _parse(entry: str) -> UrlPrefix | HostPattern:
        entry = entry.strip() if isinstance(entry, str) else ""
        if not entry or entry in ("*", "*.*") or entry.startswith("*:"):
            raise ValueError(f"allowlist entry {entry!r} is empty or matches every host")
        if "://" in entry:
            url = parse_url(entry)
            if url.query:
                raise ValueError(f"allowlist entry {entry!r} must not have a query")
            return UrlPrefix(url.scheme, url.host, port_of(url), url.path)
        host, _, port = entry.lower().rstrip(".").partition(":")
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise ValueError(f"allowlist entry {entry!r} has an invalid port")
        bare = host[2:] if host.startswith("*.") else host
        if not bare or "*" in bare or "/" in bare or "." not in bare and bare != "localhost":
            raise ValueError(f"allowlist entry {entry!r} is not a host name or *.domain pattern")
        return HostPattern(host, int(port) if port else 443)

    def permits(self, url: httpx.URL) -> bool:
        return any(rule.matches(url) for rule in self._rules)

    def names_exactly(self, url: httpx.URL) -> bool:
        """Whether a URL-prefix entry covers ``url``: the operator wrote this very endpoint
        down, so it may be on a private network. A host pattern never admits one."""
        return any(isinstance(rule, UrlPrefix) and rule.matches(url) for rule in self._rules)

    def __repr__(self) -> str:
        return f"Allowlist({list(self.entries)!r})"


@dataclass(frozen=True)
class HttpToolSpec:
    """A tenant HTTP tool that passed every check, as `check_http_tool` returns it."""

    name: str
    description: str
    parameters: JsonDict
    url: httpx.URL
    method: str
    timeout_ms: int
    max_response_bytes: int
    allowlist: Allowlist
    validator: Draft202012Validator


def check_http_tool(
    name: str,
    description: str,
    parameters: JsonDict,
    *,
    url: str,
    allowlist: Allowlist | Iterable[str],
    method: str = "POST",
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
) -> HttpToolSpec:
    """ValueError with the reason, else the checked tool: name, description, parameters (a
    Draft 2020-12 JSON Schema of an object, local $refs only, no reserved argument names),
    url (https, or http only where the allowlist names http:// explicitly; inside the
    allowlist), method, timeout and response size limit."""
    check_name(name)
    if name in BUILTIN_NAMES:
        raise ValueError(f"tool name {name!r} is taken by a built-in tool")
    if name in TOOL_CHOICES:
        raise ValueError(f"tool name {name!r} is reserved (it is a tool choice)")
    if not isinstance(description, str) or not description.strip():
        raise ValueError(f"tool {name!r}: a description is required (the model reads it)")
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise ValueError(f"tool {name!r}: the description is longer than {MAX_DESCRIPTION_CHARS} characters")
    validator = make_validator(name, parameters)
    reserved = sorted(k for k in parameters.get("properties", {}) if is_reserved(k))
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
    parsed = parse_url(url)
    if not allowlist.permits(parsed):
        raise ValueError(
            f"tool {name!r}: url {url!r} is not on this deployment's allowlist"
            + (" (plain http must be allowed explicitly)" if parsed.scheme == "http" else "")
        )
    return HttpToolSpec(
        name, description.strip(), parameters, parsed, method, timeout_ms, max_response_bytes, allowlist, validator
    )
