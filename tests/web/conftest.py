"""The real-browser harness: the running mesh with the built web pages, and a way to run a
Playwright script (web/e2e/*.ts, Node + playwright-core driving Debian's Chromium) against it.

Fixtures (session scoped, shared by the widget and admin tests):

- ``web_site`` -> ``WebSite``: a real mesh (``start_mesh``: nats-server, every service,
  the default knowledge answer policy over the demo FAQ) whose gateway serves gRPC-web and
  web/dist on ``site.base_url``; ``site.demo_url`` / ``site.admin_url`` are the pages,
  ``site.widget_key`` and ``site.tenant`` / ``site.operator_email`` / ``site.operator_password``
  the demo tenant's credentials; ``site.mesh`` the ``Mesh`` (``mesh.channel()`` for gRPC checks).
- ``run_e2e(script, *, env=None, timeout=300) -> dict``: runs ``node --import tsx web/e2e/<script>``
  with the site's URLs and credentials in its environment (``FRONTDESK_WEB_URL``,
  ``FRONTDESK_DEMO_URL``, ``FRONTDESK_ADMIN_URL``, ``FRONTDESK_WIDGET_KEY``, ``FRONTDESK_TENANT``,
  ``FRONTDESK_OPERATOR_EMAIL``, ``FRONTDESK_OPERATOR_PASSWORD``, ``FRONTDESK_SCREENSHOTS``) plus
  ``env``; returns the JSON object the script printed last on stdout (web/e2e/lib.ts ``run``)
  and fails the test, with the script's output, when it exits non-zero.

Screenshots go to a temporary directory; with ``FRONTDESK_UPDATE_SCREENSHOTS=1`` (``make
screenshots``) they replace docs/screenshots/*.png.

The pages are built first (``npm run build``) when web/dist is older than the web sources,
so ``pytest tests/web`` works on its own; ``make test`` builds them already. Node, npm and
/usr/bin/chromium are required: without them the tests fail, they never skip.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, Mesh, start_mesh

WEB = ROOT / "web"
DIST = WEB / "dist"
BUILD_STAMP = DIST / ".built"
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
# what the pages are built from (the Makefile's WEB_SOURCES say the same)
BUILD_INPUTS = ("src", "demo", "admin", "package.json", "package-lock.json", "tsconfig.json",
                "vite.widget.config.ts", "vite.admin.config.ts")


def node_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("NODE_OPTIONS", None)
    env["NO_COLOR"] = "1"
    env["npm_config_update_notifier"] = "false"
    return env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        pytest.fail(f"{name} is needed for the browser tests (Node 20+): apt-get install nodejs npm")
    return path


def _newest_input_mtime() -> float:
    newest = 0.0
    for name in BUILD_INPUTS:
        path = WEB / name
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
        elif path.is_dir():
            for f in path.rglob("*"):
                if f.is_file():
                    newest = max(newest, f.stat().st_mtime)
    return newest


def ensure_web_build() -> None:
    """`npm ci` when node_modules is stale, `npm run build` when web/dist is: once, under a lock
    (test runs and `make` may overlap)."""
    npm = _tool("npm")
    _tool("node")
    lock_path = Path(tempfile.gettempdir()) / f"frontdesk-web-build-{hashlib.sha1(str(WEB).encode()).hexdigest()[:12]}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        installed = WEB / "node_modules" / ".package-lock.json"
        if not installed.exists() or installed.stat().st_mtime < (WEB / "package-lock.json").stat().st_mtime:
            done = subprocess.run([npm, "--prefix", str(WEB), "ci", "--no-audit", "--no-fund"], capture_output=True,
                                  text=True, timeout=600, env=node_env())
            if done.returncode != 0:
                pytest.fail(f"npm ci failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
        if BUILD_STAMP.exists() and BUILD_STAMP.stat().st_mtime >= _newest_input_mtime():
            return
        done = subprocess.run([npm, "--prefix", str(WEB), "run", "build"], capture_output=True, text=True, timeout=600,
                              env=node_env())
        if done.returncode != 0:
            pytest.fail(f"npm run build failed ({done.returncode}):\n{done.stdout[-6000:]}\n{done.stderr[-6000:]}")


@dataclass
class WebSite:
    mesh: Mesh
    base_url: str
    widget_key: str
    tenant: str
    operator_email: str
    operator_password: str

    @property
    def demo_url(self) -> str:
        """The demo shop page; the widget key comes in the address (make run prints this URL)."""
        return f"{self.base_url}/demo/?key={self.widget_key}"

    @property
    def admin_url(self) -> str:
        return f"{self.base_url}/admin/"

    def env(self) -> dict[str, str]:
        return {
            "FRONTDESK_WEB_URL": self.base_url,
            "FRONTDESK_DEMO_URL": self.demo_url,
            "FRONTDESK_ADMIN_URL": self.admin_url,
            "FRONTDESK_WIDGET_KEY": self.widget_key,
            "FRONTDESK_TENANT": self.tenant,
            "FRONTDESK_OPERATOR_EMAIL": self.operator_email,
            "FRONTDESK_OPERATOR_PASSWORD": self.operator_password,
        }


@pytest.fixture(scope="session")
def web_site(tmp_path_factory):
    """The mesh with the built pages, answering from the demo FAQ (knowledge policy)."""
    ensure_web_build()
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is needed for the browser tests: apt-get install chromium")
    mesh = start_mesh(tmp_path_factory.mktemp("web") / "data", answer_policy="knowledge")
    demo = mesh.demo
    site = WebSite(mesh=mesh, base_url=f"http://127.0.0.1:{mesh.ports['web']}", widget_key=demo["widget_key"],
                   tenant=demo["slug"], operator_email=demo["owner_email"], operator_password=demo["owner_password"])
    yield site
    mesh.stop()


@pytest.fixture
def run_e2e(web_site, tmp_path):
    """run_e2e("widget.ts", env={...}) -> the script's JSON result (see the module docstring)."""
    node = _tool("node")

    def run(script: str, *, env: dict[str, str] | None = None, timeout: float = 300) -> dict:
        shots = SCREENSHOTS if os.environ.get("FRONTDESK_UPDATE_SCREENSHOTS") == "1" else tmp_path / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        full_env = {**node_env(), **web_site.env(), "FRONTDESK_SCREENSHOTS": str(shots), **(env or {})}
        try:
            done = subprocess.run([node, "--import", "tsx", str(Path("e2e") / script)], cwd=WEB, env=full_env,
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as err:
            pytest.fail(f"{script} did not finish in {timeout} s:\n{(err.stdout or '')[-6000:]}\n{(err.stderr or '')[-6000:]}")
        output = f"--- stdout\n{done.stdout[-8000:]}\n--- stderr\n{done.stderr[-8000:]}"
        print(output)  # shown with -rP, and on failure
        if done.returncode != 0:
            pytest.fail(f"{script} failed ({done.returncode}):\n{output}")
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if not lines:
            pytest.fail(f"{script} printed no JSON result:\n{output}")
        return json.loads(lines[-1])

    return run
