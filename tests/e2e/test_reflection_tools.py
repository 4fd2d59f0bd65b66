"""The tools people point at a gRPC service, against the running mesh with server
reflection alone (no .proto files given): grpcurl describes every service and every
method of every server, and ghz load-tests SendMessage by its `Service/Method` name.
Both are real builds from the Go module proxy (tools/grpctools, cached)."""

from __future__ import annotations

import json
import subprocess

import pytest

from frontdesk_pb.chat.v1 import chat_pb2
from tests import gotools
from tests.e2e.helpers import Client

SERVERS = ("gateway", "conversation", "inference", "speech", "analytics")


@pytest.fixture(scope="module")
def grpcurl():
    return gotools.tool("grpctools", "grpcurl")


@pytest.fixture(scope="module")
def ghz():
    return gotools.tool("grpctools", "ghz")


def _run(*args, timeout: float = 60) -> str:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args[1:]} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.mark.parametrize("server", SERVERS)
def test_grpcurl_describes_every_method_of_every_server(mesh, grpcurl, server):
    target = f"127.0.0.1:{mesh.ports[server]}"
    services = _run(grpcurl, "-plaintext", target, "list").split()
    assert "grpc.health.v1.Health" in services and "grpc.reflection.v1alpha.ServerReflection" in services
    ours = [s for s in services if s.startswith("frontdesk.")]
    assert ours, services
    for service in [*ours, "grpc.health.v1.Health"]:
        methods = _run(grpcurl, "-plaintext", target, "list", service).split()
        assert methods, service
        for method in methods:
            described = _run(grpcurl, "-plaintext", target, "describe", method)
            assert f"{method} is a method:" in described, described
            assert f"rpc {method.rsplit('.', 1)[1]} (" in described, described


def test_an_unknown_method_is_reported_not_found(mesh, grpcurl):
    result = subprocess.run(
        [str(grpcurl), "-plaintext", mesh.gateway, "describe", "frontdesk.chat.v1.ChatService.NoSuchMethod"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "not found" in result.stderr.lower(), result.stderr


def test_grpcurl_invokes_a_method_by_reflection(mesh, grpcurl):
    out = _run(
        grpcurl,
        "-plaintext",
        "-d",
        json.dumps({"widget_key": mesh.demo["widget_key"]}),
        mesh.gateway,
        "frontdesk.auth.v1.AuthService/CreateVisitorSession",
    )
    session = json.loads(out)
    assert session["token"] and session["visitor_id"].startswith("v_") and session["tenant_name"], session


async def test_ghz_load_tests_send_message_by_reflection(mesh, ghz):
    async with mesh.channel() as ch:
        c = Client(ch)
        _, md = await c.visitor(mesh.demo["widget_key"])
        conv = await c.start(md)
        # within the visitor's burst allowance, so every call must succeed
        report = json.loads(
            _run(
                ghz,
                "--insecure",
                "--call",
                "frontdesk.chat.v1.ChatService/SendMessage",
                "-m",
                json.dumps(dict(md)),
                "-d",
                json.dumps({"conversation_id": conv, "text": "hello from ghz"}),
                "-n",
                "12",
                "-c",
                "3",
                "--format",
                "json",
                mesh.gateway,
                timeout=120,
            )
        )
        assert report["count"] == 12 and report["statusCodeDistribution"] == {"OK": 12}, report.get("errorDistribution")
        listed = await c.chat.ListMessages(
            chat_pb2.ListMessagesRequest(conversation_id=conv, page_size=100), metadata=md, timeout=10
        )
        assert sum(m.text == "hello from ghz" for m in listed.messages) == 12
