"""Tests for inference.tools' HttpTool definitions: the URL allowlist, reserved names,
parameter schemas and the other checks made when a tenant's tool is built (no request is
sent here).

Run: .venv/bin/python -m pytest tests/inference/test_tools_http_config.py -q -p no:cacheprovider
"""

from __future__ import annotations

import json

import pytest

from frontdesk_pb.admin.v1 import admin_pb2
from inference.tools import Allowlist, HttpTool
from tests.inference.tools_fakes import ALLOW, ORDER_SCHEMA, make

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]


# ---------------------------------------------------------------------------------------
# HttpTool: construction


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/frontdesk/orders",
        "https://eu.acme.example/tool",
        "https://a.b.acme.example/tool",
        "https://api.shop.example/x?fixed=1",
        "https://API.Shop.Example:443/orders",
        "http://127.0.0.1:9/hook",
    ],
)
def test_allowlisted_urls_are_accepted(url):
    assert make(url).url.lower().startswith(url.split("?")[0].lower().replace(":443", ""))


@pytest.mark.parametrize(
    "url, why",
    [
        ("https://evil.example/orders", "allowlist"),
        ("https://hooks.example.com/frontdeskevil/x", "allowlist"),  # prefix ends on a "/" boundary
        ("https://hooks.example.com/frontdesk", "allowlist"),  # the prefix is ".../frontdesk/"
        ("https://hooks.example.com/frontdesk/../admin", "allowlist"),  # dot segments are resolved first
        ("https://hooks.example.com/frontdesk/%2e%2e/admin", "not a valid URL"),
        ("https://acme.example/tool", "allowlist"),  # *.domain is subdomains only
        ("https://acme.example.evil.net/tool", "allowlist"),
        ("https://api.shop.example:8443/orders", "allowlist"),
        ("http://api.shop.example/orders", "plain http"),  # host patterns are https only
        ("http://127.0.0.1:8080/hook", "allowlist"),
        ("https://user:pw@api.shop.example/orders", "user name"),
        ("https://api.shop.example\\@evil.example/", "not a valid URL"),
        ("ftp://api.shop.example/orders", "http(s)"),
        ("https://api.shop.example/orders#frag", "fragment"),
    ],
)
def test_urls_off_the_allowlist_are_refused_at_construction(url, why):
    with pytest.raises(ValueError, match=why.replace("(", r"\(").replace(")", r"\)")):
        make(url)


@pytest.mark.parametrize("name", ["none", "auto", "required"])
def test_a_tool_may_not_be_named_like_a_tool_choice(name):
    # the in-process model answers {"name": "none"} when it needs no tool
    with pytest.raises(ValueError, match="reserved"):
        HttpTool(name, "d", ORDER_SCHEMA, url="https://api.shop.example/x", allowlist=["https://api.shop.example/"])


def test_allowlist_refuses_match_everything():
    for entry in ["*", "", "*:443", "https://"]:
        with pytest.raises(ValueError):
            Allowlist([entry])
    with pytest.raises(ValueError, match="allowlist"):
        HttpTool("t", "d", ORDER_SCHEMA, url="https://api.shop.example/", allowlist=[])


@pytest.mark.parametrize(
    "parameters, why",
    [
        ({"type": "object", "properties": {"order": {"type": "strin"}}}, "not a valid JSON Schema"),
        ({"type": "object", "required": "order"}, "not a valid JSON Schema"),
        ({"type": "string"}, "must describe an object"),
        ([], "must be a JSON Schema object"),
        ({"type": "object", "properties": {"o": {"$ref": "https://evil.example/schema.json"}}}, "local references"),
        ({"type": "object", "properties": {"tenant_id": {"type": "string"}}}, "may not declare tenant_id"),
        ({"type": "object", "properties": {"conversationId": {"type": "string"}}}, "may not declare"),
        ({"type": "object", "properties": {"x": {"enum": ["y" * 20_000]}}}, "larger than"),
    ],
)
def test_invalid_schemas_are_refused(parameters, why):
    with pytest.raises(ValueError, match=why):
        make(parameters=parameters)


@pytest.mark.parametrize(
    "kw, why",
    [
        ({"name": "Order-Status"}, "must match"),
        ({"name": "search_knowledge_base"}, "built-in"),
        ({"description": "  "}, "description is required"),
        ({"description": "x" * 2000}, "longer than"),
        ({"method": "DELETE"}, "GET or POST"),
        ({"timeout_ms": 50}, "timeout"),
        ({"timeout_ms": 20_000}, "timeout"),
        ({"max_response_bytes": 0}, "response limit"),
    ],
)
def test_other_bad_definitions_are_refused(kw, why):
    with pytest.raises(ValueError, match=why):
        make(**kw)


def test_from_admin_proto_and_repr_hides_the_secret():
    spec = admin_pb2.HttpTool(
        name="order_status",
        description="Order status.",
        parameters_schema=json.dumps(ORDER_SCHEMA),
        url="https://api.shop.example/orders",
        method="get",
        timeout_ms=0,
        has_secret=True,
    )
    tool = HttpTool.from_spec(spec, allowlist=ALLOW, secret="s3cret-value")
    assert (tool.method, tool.timeout_ms, tool.has_secret) == ("GET", 5000, True)
    assert "s3cret" not in repr(tool)
    with pytest.raises(ValueError, match="not JSON"):
        HttpTool.from_spec(
            admin_pb2.HttpTool(name="x", description="d", parameters_schema="{nope", url="https://api.shop.example/"),
            allowlist=ALLOW,
        )
