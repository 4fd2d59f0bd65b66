"""The generated TypeScript client (web/) against the real mesh through the gateway's
gRPC-web translator: `npm --prefix web test` (node --test, connect-web's gRPC-web transport
on Node's fetch) with FRONTDESK_WEB_URL and FRONTDESK_WIDGET_KEY. Also checks that the
committed TypeScript in web/src/gen is what ../protos generates.

Node and npm are required: without them these tests fail, they never skip. web/node_modules
is installed with `npm ci` when it is missing or older than web/package-lock.json."""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from frontdesk import settings as fd_settings
from gateway.grpcweb import start_grpc_web
from tests.conftest import ROOT

WEB = ROOT / "web"


def _npm() -> str:
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        pytest.fail("node and npm are needed for the web client tests (Node 20+): apt-get install nodejs npm")
    return npm


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("NODE_OPTIONS", None)
    env["NO_COLOR"] = "1"
    env["npm_config_update_notifier"] = "false"
    return env


def ensure_node_modules() -> str:
    """`npm ci` once per lockfile (under a lock: test runs may overlap), else the cached install."""
    npm = _npm()
    stamp = WEB / "node_modules" / ".package-lock.json"  # written by npm ci
    lock_path = (
        Path(tempfile.gettempdir()) / f"frontdesk-npm-ci-{hashlib.sha1(str(WEB).encode()).hexdigest()[:12]}.lock"
    )
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stamp.exists() or stamp.stat().st_mtime < (WEB / "package-lock.json").stat().st_mtime:
            done = subprocess.run(
                [npm, "--prefix", str(WEB), "ci", "--no-audit", "--no-fund"],
                capture_output=True,
                text=True,
                timeout=600,
                env=_env(),
            )
            if done.returncode != 0:
                pytest.fail(f"npm ci failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return npm


def test_generated_typescript_is_current():
    npm = ensure_node_modules()
    done = subprocess.run(
        [npm, "--prefix", str(WEB), "run", "check-gen"], capture_output=True, text=True, timeout=300, env=_env()
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.timeout(600)
async def test_typescript_client_over_grpc_web(mesh):
    npm = await asyncio.to_thread(ensure_node_modules)
    server = await start_grpc_web(fd_settings.load(env={}), mesh.gateway, None, host="127.0.0.1", port=0)
    try:
        env = {**_env(), "FRONTDESK_WEB_URL": server.url, "FRONTDESK_WIDGET_KEY": mesh.demo["widget_key"]}
        process = await asyncio.create_subprocess_exec(
            npm,
            "--prefix",
            str(WEB),
            "test",
            env=env,
            cwd=str(WEB),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            out, _ = await asyncio.wait_for(process.communicate(), 300)
        except TimeoutError:
            process.kill()
            out, _ = await process.communicate()
            pytest.fail("npm test did not finish in 300 s:\n" + out.decode(errors="replace")[-6000:])
        output = out.decode(errors="replace")
        print(output)  # shown with -rP, and on failure
        assert process.returncode == 0, output[-8000:]
        assert "# pass 2" in output and "# fail 0" in output, output[-8000:]
        assert server.counters["streams"] >= 2 and server.counters["calls"] >= 5  # it went through the translator
    finally:
        await server.stop()
