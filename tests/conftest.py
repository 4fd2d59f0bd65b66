"""Shared fixtures. End-to-end tests run the real mesh: `frontdesk run` as a
subprocess with a real nats-server, real service processes and a temporary data dir."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

ROOT = Path(__file__).resolve().parent.parent


def service_port() -> int:
    """A free port for a service a test starts (below the ephemeral range, as the launcher
    picks them: launcher.supervisor.free_port)."""
    from launcher.supervisor import free_port

    return free_port()


PLATFORM_TOKEN = "platform-token-for-tests-0123456789abcdef"


@dataclass
class Mesh:
    data_dir: Path
    env: dict
    process: subprocess.Popen
    gateway: str
    output: list[str]

    @property
    def demo(self) -> dict:
        return json.loads((self.data_dir / "demo.json").read_text())

    def channel(self) -> grpc.aio.Channel:
        return grpc.aio.insecure_channel(self.gateway)

    def cli(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "launcher", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_mesh(
    data_dir: Path, backend: str = "echo", ports: dict | None = None, timeout_s: float = 240, **extra
) -> Mesh:
    """Start `frontdesk run` and wait for its `frontdesk ready` line."""
    ports = ports or {
        name: service_port() for name in ("gateway", "conversation", "inference", "speech", "analytics", "nats", "web")
    }
    env = dict(os.environ)
    env.update(
        {
            "FRONTDESK_DATA_DIR": str(data_dir),
            "FRONTDESK_BACKEND": backend,
            "FRONTDESK_GATEWAY_PORT": str(ports["gateway"]),
            "FRONTDESK_CONVERSATION_PORT": str(ports["conversation"]),
            "FRONTDESK_INFERENCE_PORT": str(ports["inference"]),
            "FRONTDESK_SPEECH_PORT": str(ports.get("speech") or service_port()),
            "FRONTDESK_ANALYTICS_PORT": str(ports.get("analytics") or service_port()),
            "FRONTDESK_NATS_PORT": str(ports["nats"]),
            "FRONTDESK_WEB_PORT": str(ports.get("web") or service_port()),
            "FRONTDESK_PLATFORM_TOKEN": PLATFORM_TOKEN,
            "FRONTDESK_LOG_FORMAT": "text",
            "FRONTDESK_METRICS_BASE_PORT": "0",
            # the pipeline tests check the echo backend's replies; the knowledge tests ask for the policy
            "FRONTDESK_ANSWER_POLICY": "none",
            # every test client is one address (loopback): the per-address session limit is
            # tested where a test asks for it (tests/e2e/test_roles.py)
            "FRONTDESK_SESSION_RATE_PER_ADDRESS": "100000",
            "FRONTDESK_SESSION_BURST_PER_ADDRESS": "100000",
            "FRONTDESK_SESSION_RATE_PER_WIDGET": "100000",
            "FRONTDESK_SESSION_BURST_PER_WIDGET": "100000",
            **{f"FRONTDESK_{k.upper()}": str(v) for k, v in extra.items()},
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "launcher", "run"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    deadline = time.monotonic() + timeout_s
    for line in process.stdout:
        output.append(line.rstrip())
        if "frontdesk ready" in line:
            break
        if time.monotonic() > deadline:
            break
    else:
        process.wait()
    if process.poll() is not None or not output or "frontdesk ready" not in output[-1]:
        process.kill()
        logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted((data_dir / "logs").glob("*.log")))
        pytest.fail("mesh did not start:\n" + "\n".join(output) + "\n" + logs)
    mesh = Mesh(data_dir=data_dir, env=env, process=process, gateway=f"127.0.0.1:{ports['gateway']}", output=output)
    mesh.ports = ports
    return mesh


@pytest.fixture(scope="session")
def mesh(tmp_path_factory):
    """One mesh (echo backend) shared by the end-to-end tests of a session."""
    m = start_mesh(tmp_path_factory.mktemp("mesh"))
    yield m
    m.stop()


@dataclass
class NatsServer:
    url: str
    port: int
    process: subprocess.Popen


@pytest.fixture
def nats_server(tmp_path):
    """A real nats-server with JetStream, for tests below the whole mesh."""
    from launcher.supervisor import nats_server_binary

    port = service_port()
    process = subprocess.Popen(
        [str(nats_server_binary()), "-js", "-sd", str(tmp_path / "nats"), "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import socket

    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    yield NatsServer(url=f"nats://127.0.0.1:{port}", port=port, process=process)
    process.terminate()
    process.wait(timeout=10)
