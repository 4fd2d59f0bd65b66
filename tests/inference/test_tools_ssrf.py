"""Tests for inference.tools' SSRF defences: tenant HTTP tools never reach private, loopback,
link-local or metadata addresses (a recording transport and a fake resolver, no network).

Run: .venv/bin/python -m pytest tests/inference/test_tools_ssrf.py -q -p no:cacheprovider
"""

from __future__ import annotations

import httpx
import pytest

from inference.tools import Allowlist, HttpTool
from tests.inference import tools_fakes
from tests.inference.tools_fakes import ORDER_SCHEMA, make

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

job = tools_fakes.job  # the shared fixtures: bound here so that pytest finds them


# -- SSRF: tenant tools never reach private, loopback, link-local or metadata addresses ----------


class Recorder(httpx.AsyncBaseTransport):
    """Records where a request would go (the address connected to, the Host, the TLS name)."""

    def __init__(self):
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        # a stream, as a network response is (the tool reads it bounded)
        return httpx.Response(
            200, headers={"content-type": "application/json"}, stream=httpx.ByteStream(b'{"ok": true}')
        )


def resolving_to(*addresses: str):
    calls: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return list(addresses)

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.10",
        "172.16.5.4",
        "169.254.169.254",
        "100.64.0.1",
        "::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
    ],
)
async def test_a_host_that_resolves_to_a_private_address_is_refused(job, address):
    recorder = Recorder()
    tool = make("https://eu.acme.example/tool", transport=recorder, resolver=resolving_to("93.184.216.34", address))
    result = await tool.run(job.ctx(), {"order": "A-1"})
    assert not result.ok and "non-public address" in result.content, result.content
    assert recorder.sent == []  # nothing was sent anywhere


async def test_a_public_host_is_called_at_the_checked_address_under_its_own_name(job):
    recorder = Recorder()
    resolver = resolving_to("93.184.216.34")
    tool = make("https://eu.acme.example/tool", transport=recorder, resolver=resolver)
    assert (await tool.run(job.ctx(), {"order": "A-1"})).ok
    assert (await tool.run(job.ctx(), {"order": "A-2"})).ok
    assert resolver.calls == ["eu.acme.example", "eu.acme.example"]  # resolved on every call (DNS rebinding)
    sent = recorder.sent[0]
    assert sent.url.host == "93.184.216.34" and sent.headers["host"] == "eu.acme.example"
    assert sent.extensions["sni_hostname"] == "eu.acme.example"


async def test_an_address_literal_on_a_host_pattern_is_refused(job):
    allow = Allowlist(["169.254.169.254"])  # a pattern does not make the metadata service reachable
    tool = HttpTool(
        "meta", "x", ORDER_SCHEMA, url="https://169.254.169.254/latest", allowlist=allow, transport=Recorder()
    )
    result = await tool.run(job.ctx(), {"order": "A-1"})
    assert not result.ok and "non-public" in result.content


async def test_a_url_prefix_entry_may_name_a_private_endpoint(job):
    recorder = Recorder()
    tool = make("http://127.0.0.1:9/hook", transport=recorder)  # the operator wrote this endpoint down
    assert (await tool.run(job.ctx(), {"order": "A-1"})).ok and recorder.sent


async def test_a_redirect_to_the_metadata_service_is_not_followed(job):
    class Redirecting(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request):
            return httpx.Response(302, headers={"location": "http://169.254.169.254/latest/meta-data/"})

    tool = make("https://eu.acme.example/tool", transport=Redirecting(), resolver=resolving_to("93.184.216.34"))
    result = await tool.run(job.ctx(), {"order": "A-1"})
    assert not result.ok and "redirect" in result.content
