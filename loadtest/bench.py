"""`make bench`: the mesh with the instant echo backend under locust load, then the open
event streams one gateway holds; prints one JSON line.

Figures: messages answered per second end to end at saturation (locust customers send
back to back); the latency the mesh adds from send to the first streamed token (p50/p99;
the echo backend's own first token is immediate, so nothing is subtracted) with N
concurrent conversations each sending a message every --pacing seconds, measured by the
asyncio client of loadtest/latency.py; whether 100 operators' inbox streams on one gateway
each receive every event of a 50 msg/s load (loadtest/inbox.py); how many concurrent
event streams one gateway process held, with its memory; and the conversation search on a
tenant with 100,000 messages (loadtest/search.py, embedded store).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadtest.mesh import start_mesh  # noqa: E402


def phase(module: str, *argument_groups: list[str], env: dict | None = None, timeout: int = 600) -> dict:
    """Run `python -m module` with the arguments; its last stdout line as JSON, or its error."""
    done = subprocess.run(
        [sys.executable, "-m", module, *(a for group in argument_groups for a in group)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        return {"error": done.stderr[-500:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def run_locust(env: dict, users: int, seconds: int, out: Path) -> dict:
    gateway = f"127.0.0.1:{env['FRONTDESK_GATEWAY_PORT']}"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(ROOT / "loadtest" / "locustfile.py"),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            f"{seconds}s",
            "--host",
            gateway,
            "--csv",
            str(out),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rows = {row["Name"]: row for row in csv.DictReader(open(f"{out}_stats.csv"))}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=50, help="concurrent conversations")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--streams", type=int, default=10_000)
    parser.add_argument("--inboxes", type=int, default=100, help="operators' inbox streams in the inbox phase")
    parser.add_argument("--inbox-rate", type=float, default=50.0, help="customer messages per second meanwhile")
    parser.add_argument("--search-messages", type=int, default=100_000, help="messages of the searched tenant")
    parser.add_argument(
        "--pacing", type=float, default=1.0, help="seconds between a customer's messages in the latency phase"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        mesh, env = start_mesh(tmp / "data")
        try:
            rows = run_locust(env, args.users, args.seconds, tmp / "throughput")
            reply, send = rows["reply"], rows["SendMessage"]
            runtime = json.loads((tmp / "data" / "runtime.json").read_text())
            widget = json.loads((tmp / "data" / "demo.json").read_text())["widget_key"]
            latency = json.loads(
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "loadtest.latency",
                        "--gateway",
                        runtime["gateway"],
                        "--widget-key",
                        widget,
                        "-n",
                        str(args.users),
                        "--seconds",
                        str(args.seconds),
                        "--pacing",
                        str(args.pacing),
                    ],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=600,
                    check=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            demo = json.loads((tmp / "data" / "demo.json").read_text())
            inbox_result = phase(
                "loadtest.inbox",
                ["--gateway", runtime["gateway"], "--widget-key", widget, "--tenant", demo["slug"]],
                ["--email", demo["owner_email"], "--password", demo["owner_password"], "-n", str(args.inboxes)],
                ["--rate", str(args.inbox_rate), "--seconds", str(args.seconds)],
                env=env,
            )
            stream_result = phase(
                "loadtest.streams",
                ["--gateway", runtime["gateway"], "--widget-key", widget, "-n", str(args.streams)],
                env=env,
            )
            stream_result["gateway_rss_mb"] = rss_mb(runtime["pids"]["gateway"])
            stream_result["conversation_rss_mb"] = rss_mb(runtime["pids"]["conversation"])
        finally:
            mesh.terminate()
            mesh.wait(timeout=60)
    # SearchConversations' store query on a tenant with 100,000 messages (embedded store; add
    # --cql to `python -m loadtest.search` for the CQL store, which takes minutes to fill)
    search_result = phase("loadtest.search", ["--messages", str(args.search_messages)], timeout=900)
    result = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "backend": "echo",
        "concurrent_conversations": args.users,
        "seconds": args.seconds,
        "answered_per_s": float(reply["Requests/s"]),
        "answered": int(reply["Request Count"]),
        "failures": int(reply["Failure Count"]) + int(send["Failure Count"]) + latency["errors"],
        "saturated_reply_ms_p50": float(reply["50%"]),
        "saturated_reply_ms_p99": float(reply["99%"]),
        "first_token_added_ms_p50": latency["first_token_ms_p50"],
        "first_token_added_ms_p99": latency["first_token_ms_p99"],
        "latency_phase": latency,
        "inboxes": inbox_result,
        "open_streams": stream_result,
        "search": search_result,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
