"""make soak: the whole mesh under load while processes are killed and a NATS node is lost.

    python loadtest/soak.py [--minutes 3] [--users 12] [--pacing 3] [--kills 6]

What it does:
1. starts a 3-node NATS cluster on localhost (nats-server from the same wheel `frontdesk run`
   uses; JetStream streams with 3 replicas), then `frontdesk run` on it (the echo backend:
   every customer message gets exactly one AI reply, so what is measured is the platform,
   not a model);
2. runs locust customers (loadtest/soak_customers.py) for the given minutes: each sends a
   message every few seconds and retries a failed send with the same client message id;
3. meanwhile kill -9s a service process (gateway, conversation, inference, speech,
   analytics; each at least once) at even intervals, at least five times in all, and lets
   the supervisor restart it; and kill -9s one NATS node a third of the way in, starting it
   again two thirds of the way in;
4. then waits for the replies to catch up and reads every conversation from the stores.

It prints one JSON line: `accepted` (sends the mesh acknowledged), `answered` (of those, with
an AI reply stored), `lost` (acknowledged but not stored, or never answered), `duplicated`
(a customer message stored twice, or answered twice), `kills`, `nats_node_lost`, and how
many sends were refused outright. Exit status 1 unless lost and duplicated are 0 with at
least five kills and the node loss.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from frontdesk_pb.admin.v1 import admin_pb2, admin_pb2_grpc  # noqa: E402
from frontdesk_pb.auth.v1 import auth_pb2, auth_pb2_grpc  # noqa: E402
from frontdesk_pb.common.v1 import common_pb2 as common  # noqa: E402
from launcher.supervisor import free_port, nats_server_binary  # noqa: E402
from loadtest.mesh import start_mesh  # noqa: E402

SERVICES = ("gateway", "conversation", "inference", "speech", "analytics")
CATCH_UP_S = 240.0  # after the load: the longest the replies may take to be stored


class NatsNode:
    def __init__(self, name: str, root: Path, client: int, route: int, routes: list[int]):
        self.name, self.client = name, client
        self.args = [
            str(nats_server_binary()),
            "-js",
            "-sd",
            str(root / name),
            "-a",
            "127.0.0.1",
            "-p",
            str(client),
            "-n",
            name,
            "--cluster_name",
            "soak",
            "--cluster",
            f"nats://127.0.0.1:{route}",
            "--routes",
            ",".join(f"nats://127.0.0.1:{r}" for r in routes if r != route),
        ]
        self.log = root / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.args, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)  # noqa: SIM115

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


def cluster(root: Path) -> list[NatsNode]:
    root.mkdir(parents=True, exist_ok=True)
    routes = [free_port() for _ in range(3)]
    nodes = [NatsNode(f"n{i + 1}", root, free_port(), routes[i], routes) for i in range(3)]
    for node in nodes:
        node.start()
    return nodes


async def _quiet(_err: Exception) -> None:
    return None


async def cluster_ready(nodes: list[NatsNode], timeout_s: float = 60) -> None:
    """Until JetStream answers on the cluster (a meta leader is elected)."""
    import nats

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            nc = await nats.connect(
                [f"nats://127.0.0.1:{n.client}" for n in nodes],
                connect_timeout=2,
                allow_reconnect=False,
                error_cb=_quiet,  # a node still starting is expected here
            )
            try:
                await nc.jetstream().account_info()
                return
            finally:
                await nc.close()
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


def pids(data_dir: Path) -> dict[str, int]:
    return json.loads((data_dir / "runtime.json").read_text())["pids"]


async def until_restarted(data_dir: Path, service: str, old_pid: int, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pid = pids(data_dir).get(service)
        if pid and pid != old_pid:
            return
        await asyncio.sleep(0.2)
    raise SystemExit(f"{service} was not restarted within {timeout_s:.0f} s")


async def chaos(data_dir: Path, nodes: list[NatsNode], seconds: float, kills_wanted: int) -> dict:
    """Kill -9 a service at even intervals (each service at least once), and one NATS node."""
    order = random.sample(SERVICES, len(SERVICES))
    order += random.choices(SERVICES, k=max(kills_wanted - len(order), 0))
    step = seconds / (len(order) + 1)
    started = time.monotonic()
    killed: Counter = Counter()
    node = random.choice(nodes)
    node_lost = node_back = False
    for i, service in enumerate(order, start=1):
        while time.monotonic() - started < i * step:
            elapsed = time.monotonic() - started
            if not node_lost and elapsed > seconds / 3:
                node.kill()
                node_lost = True
                print(f"soak: NATS node {node.name} killed", file=sys.stderr)
            if node_lost and not node_back and elapsed > 2 * seconds / 3:
                node.start()
                node_back = True
                print(f"soak: NATS node {node.name} started again", file=sys.stderr)
            await asyncio.sleep(0.2)
        pid = pids(data_dir)[service]
        os.kill(pid, signal.SIGKILL)
        killed[service] += 1
        print(f"soak: killed {service} (pid {pid})", file=sys.stderr)
        await until_restarted(data_dir, service, pid)
    if not node_back:
        node.start()
    return {"kills": sum(killed.values()), "killed": dict(killed), "nats_node_lost": node_lost}


def run_locust(host: str, widget_key: str, users: int, pacing: float, seconds: float, log: Path):
    env = {
        **os.environ,
        "FRONTDESK_SOAK_LOG": str(log),
        "FRONTDESK_WIDGET_KEY": widget_key,
        "FRONTDESK_LOAD_PACING_S": str(pacing),
        "PYTHONPATH": str(ROOT),
    }
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "loadtest" / "soak_customers.py"),
        "--headless",
        "--only-summary",
        "-u",
        str(users),
        "-r",
        str(max(users // 5, 1)),
        "-t",
        f"{int(seconds)}s",
        "--stop-timeout",
        "150",  # a customer retrying through a restart finishes its send
        "--host",
        host,
    ]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


async def stored(gateway: str, demo: dict, conversations: set[str]) -> dict[str, list[common.Message]]:
    async with grpc.aio.insecure_channel(gateway) as ch:
        auth, admin = auth_pb2_grpc.AuthServiceStub(ch), admin_pb2_grpc.AdminServiceStub(ch)
        login = await auth.OperatorLogin(
            auth_pb2.OperatorLoginRequest(
                tenant=demo["slug"], email=demo["owner_email"], password=demo["owner_password"]
            ),
            timeout=30,
        )
        md = (("authorization", f"Bearer {login.token}"),)
        out: dict[str, list[common.Message]] = {}
        for conversation_id in sorted(conversations):
            messages: list[common.Message] = []
            token = ""
            while True:
                page = await admin.ListMessages(
                    admin_pb2.ListMessagesRequest(conversation_id=conversation_id, page_size=100, page_token=token),
                    metadata=md,
                    timeout=30,
                )
                messages += page.messages
                token = page.next_page_token
                if not token:
                    break
            out[conversation_id] = messages
        return out


def tally(records: list[dict], messages: dict[str, list[common.Message]]) -> dict:
    accepted = [r for r in records if "message_id" in r]
    by_client: Counter = Counter()
    replies: Counter = Counter()
    for conversation in messages.values():
        for m in conversation:
            if m.role == common.ROLE_CUSTOMER and m.client_message_id:
                by_client[m.client_message_id] += 1
            elif m.role == common.ROLE_AI and m.in_reply_to:
                replies[m.in_reply_to] += 1
    answered = sum(1 for r in accepted if replies[r["message_id"]] >= 1)
    lost = sum(1 for r in accepted if by_client[r["client_id"]] == 0 or replies[r["message_id"]] == 0)
    duplicated = sum(1 for n in by_client.values() if n > 1) + sum(1 for n in replies.values() if n > 1)
    return {
        "accepted": len(accepted),
        "answered": answered,
        "lost": lost,
        "duplicated": duplicated,
        "refused": len(records) - len(accepted),
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--users", type=int, default=12)
    parser.add_argument("--pacing", type=float, default=3.0, help="seconds between one customer's messages")
    parser.add_argument("--kills", type=int, default=6)
    args = parser.parse_args()
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory(prefix="frontdesk-soak-") as tmp:
        root = Path(tmp)
        nodes = cluster(root / "nats")
        mesh = None
        try:
            await cluster_ready(nodes)
            mesh, env = start_mesh(
                root / "data",
                nats_url=",".join(f"nats://127.0.0.1:{n.client}" for n in nodes),
                stream_replicas="3",
            )
            demo = json.loads((root / "data" / "demo.json").read_text())
            gateway = f"127.0.0.1:{env['FRONTDESK_GATEWAY_PORT']}"
            log = root / "sent.jsonl"
            load = run_locust(gateway, demo["widget_key"], args.users, args.pacing, seconds, log)
            chaos_result = await chaos(root / "data", nodes, seconds, args.kills)
            _, errors = await asyncio.to_thread(load.communicate)
            records = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
            conversations = {r["conversation"] for r in records}
            deadline = time.monotonic() + CATCH_UP_S
            while True:  # the replies catch up with what was accepted
                result = tally(records, await stored(gateway, demo, conversations))
                if result["lost"] == 0 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(2)
            result.update(chaos_result, minutes=args.minutes, users=args.users)
            print(json.dumps(result))
            if not records:
                print(f"soak: locust sent nothing:\n{errors[-3000:]}", file=sys.stderr)
            ok = result["lost"] == 0 and result["duplicated"] == 0 and result["kills"] >= 5 and result["accepted"] > 0
            return 0 if ok and result["nats_node_lost"] else 1
        finally:
            if mesh is not None and mesh.poll() is None:
                mesh.send_signal(signal.SIGINT)
                try:
                    mesh.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    mesh.kill()
            for node in nodes:
                node.kill()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
