"""The `frontdesk` command: run the mesh or one service, check it, ask it.

frontdesk run                 the whole mesh (embedded default), until Ctrl-C
frontdesk gateway|conversation|inference|speech|analytics   one service (distributed deployments)
frontdesk analytics backfill --tenant SLUG
                              count a tenant's events still in the EVENTS stream that analytics missed
frontdesk analytics backfill --tenant SLUG --from-logs [--from DAY] [--to DAY]
                              rebuild them from the stored conversations instead (after a long outage)
frontdesk status              health of every service; exit 0 only when all serve
frontdesk ask "question"      ask as the demo tenant's customer; the reply streams to stdout
frontdesk kb import FILE      load FAQ (JSONL, CSV) or a document (Markdown, HTML, PDF, text)
                              into a tenant's knowledge base (embedded default)
frontdesk eval --kb KB.jsonl --cases CASES.jsonl
                              run cases through the production answer policy; prints metrics
frontdesk config              every setting, its variable and default
frontdesk model list|fetch NAME
                              the CPU models; fetch downloads one and checks its SHA-256
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import grpc

from frontdesk import grpcutil, logs
from frontdesk import settings as settings_mod


def _runtime(settings) -> dict:
    path = settings.data_dir / "runtime.json"
    if not path.exists():
        raise SystemExit(f"no running frontdesk found ({path} is missing); start it with `make run`")
    return json.loads(path.read_text())


async def _status(settings, as_json: bool) -> int:
    runtime = _runtime(settings)
    names = list(runtime["services"])
    results = await asyncio.gather(*(grpcutil.check_health(runtime["services"][n]) for n in names))
    rows = dict(zip(names, results, strict=False))
    host, _, port = runtime["nats"][0].removeprefix("nats://").rpartition(":")
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 2)
        writer.close()
        rows["nats"] = "SERVING"
    except (TimeoutError, OSError):
        rows["nats"] = "UNREACHABLE"
    if as_json:
        print(json.dumps(rows))
    else:
        for name, state in rows.items():
            address = runtime["services"].get(name) or runtime["nats"][0]
            print(f"{name:<14}{state:<13}{address}")
    return 0 if all(v == "SERVING" for v in rows.values()) else 1


AUDIO_TYPES = {
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".webm": "audio/webm",
}


async def _ask(settings, question: str, timeout_s: float, audio: Path | None = None) -> int:
    from frontdesk_pb.auth.v1 import auth_pb2, auth_pb2_grpc
    from frontdesk_pb.chat.v1 import chat_pb2, chat_pb2_grpc
    from frontdesk_pb.speech.v1 import speech_pb2, speech_pb2_grpc

    runtime = _runtime(settings)
    demo = json.loads((settings.data_dir / "demo.json").read_text())
    async with grpc.aio.insecure_channel(runtime["gateway"], options=grpcutil.CHANNEL_OPTIONS) as channel:
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        chat = chat_pb2_grpc.ChatServiceStub(channel)
        try:
            session = await auth.CreateVisitorSession(
                auth_pb2.CreateVisitorSessionRequest(widget_key=demo["widget_key"]), timeout=10
            )
            md = (("authorization", f"Bearer {session.token}"),)
            conv = (
                await chat.StartConversation(chat_pb2.StartConversationRequest(), metadata=md, timeout=10)
            ).conversation
            events = chat.StreamEvents(
                chat_pb2.StreamEventsRequest(conversation_id=conv.id), metadata=md, timeout=timeout_s
            )
            await events.read()  # the status snapshot: the stream is live before the question goes out
            asked_id = ""
            if audio is None:
                asked_id = (
                    await chat.SendMessage(
                        chat_pb2.SendMessageRequest(conversation_id=conv.id, text=question), metadata=md, timeout=10
                    )
                ).message.id
            else:
                speech = speech_pb2_grpc.SpeechServiceStub(channel)
                header = speech_pb2.AudioHeader(
                    conversation_id=conv.id, filename=audio.name, content_type=AUDIO_TYPES.get(audio.suffix.lower(), "")
                )
                await speech.SubmitAudio(
                    speech_pb2.SubmitAudioRequest(header=header, data=await asyncio.to_thread(audio.read_bytes)),
                    metadata=md,
                    timeout=60,
                )
            streamed = False
            while (event := await events.read()) is not grpc.aio.EOF:
                kind = event.WhichOneof("kind")
                if kind == "transcription" and event.transcription.state == "failed":
                    print(f"could not transcribe: {event.transcription.text or 'no speech heard'}", file=sys.stderr)
                    return 1
                if kind == "message" and event.message.voice and not asked_id:
                    asked_id = event.message.id
                    print(f"(heard: {event.message.text})")
                    continue
                if kind == "token" and event.token.in_reply_to == asked_id:
                    sys.stdout.write(event.token.text)
                    sys.stdout.flush()
                    streamed = True
                elif kind == "message" and asked_id and event.message.in_reply_to == asked_id:
                    if not streamed:
                        sys.stdout.write(event.message.text)
                    sys.stdout.write("\n")
                    for number, cited in enumerate(event.message.citations, start=1):
                        print(f"  [{number}] {cited.title}" + (f" {cited.url}" if cited.url else ""))
                    return 0
                elif kind == "handoff":
                    print(f"\n[handed to a person: {event.handoff.notice}]")
                    return 0
        except grpc.aio.AioRpcError as err:
            if err.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                print(f"\nno reply within {timeout_s:.0f} s", file=sys.stderr)
            else:
                print(f"\nerror: {err.code().name}: {err.details()}", file=sys.stderr)
            return 1
    print("\nthe event stream ended without a reply", file=sys.stderr)
    return 1


def _kb_import(settings, path: Path, slug: str) -> int:
    """Queue the file as an ingestion job of the tenant (stored in the blob store, run by
    any inference worker: the mesh must be running) and follow it with a progress bar;
    malformed lines are reported by number and the rest is imported."""
    from frontdesk import bus, stores
    from inference.ingestion import DONE, FAILED, MAX_FILE_BYTES, IngestionJobs, check_upload
    from inference.knowledge import KnowledgeError

    if not path.is_file():
        raise SystemExit(f"{path}: no such file")
    data = path.read_bytes()
    if not data:
        raise SystemExit(f"{path}: the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise SystemExit(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    try:
        check_upload(path.name, "", data)
    except KnowledgeError as err:
        raise SystemExit(f"{path}: {err}") from None

    async def run() -> int:
        tenant = await stores.tenant_by_slug(settings, slug)
        if tenant is None:
            raise SystemExit(f"no tenant with slug {slug!r}")
        blobs = stores.open_blob_store(settings)
        await blobs.start()
        try:
            nc = await bus.connect(settings, "cli")
        except Exception as err:  # noqa: BLE001
            raise SystemExit(f"cannot reach NATS ({err}); start the platform first (frontdesk run)") from None
        try:
            js = nc.jetstream()
            await bus.ensure_streams(js, settings)
            jobs = IngestionJobs(blobs)
            record = await jobs.submit(js, tenant.id, path.name, "", data)
            tty = sys.stderr.isatty()
            while record.state not in (DONE, FAILED):
                await asyncio.sleep(0.3)
                record = await jobs.get(tenant.id, record.id) or record
                if tty and record.total:
                    filled = int(30 * record.done / record.total)
                    sys.stderr.write(
                        f"\r[{'#' * filled}{'.' * (30 - filled)}] {record.done}/{record.total} {record.state}"
                    )
            if tty:
                sys.stderr.write("\n")
        finally:
            await nc.drain()
            await blobs.close()
        for line, error in record.errors:
            print(f"{path}:{line}: {error}", file=sys.stderr)
        if record.rejected > len(record.errors):
            print(f"{path}: ... {record.rejected - len(record.errors)} more lines rejected", file=sys.stderr)
        if record.state == FAILED:
            print(f"{path}: {record.error}", file=sys.stderr)
            return 1
        print(
            f"imported {record.done} FAQ entries and document chunks from {path.name} "
            f"(job {record.id}, knowledge base version {record.version}); {record.rejected} lines rejected"
        )
        return 0 if record.done or not record.rejected else 1

    return asyncio.run(run())


def _eval(kb_path: Path, cases_path: Path, as_json: bool) -> int:
    from inference.knowledge import evaluate

    for p in (kb_path, cases_path):
        if not p.is_file():
            raise SystemExit(f"{p}: no such file")
    with open(kb_path, "rb") as kb_lines, open(cases_path, "rb") as case_lines:
        report = evaluate(kb_lines, case_lines)
    if as_json:
        print(json.dumps(report))
        return 0

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x * 100:5.1f}%"

    print(
        f"{report['cases']} cases: {pct(report['answered_right'])} answered right, "
        f"{pct(report['answered_wrong'])} answered wrong, {pct(report['handed_off'])} handed off"
    )
    print(f"{'category':<16}{'cases':>6}{'right':>9}{'wrong':>9}{'handed off':>12}")
    for category, f in report["by_category"].items():
        print(
            f"{category:<16}{f['cases']:>6}{pct(f['answered_right']):>9}{pct(f['answered_wrong']):>9}"
            f"{pct(f['handed_off']):>12}"
        )
    for key in ("p50_ms", "p99_ms", "kb_entries", "kb_errors", "case_errors", "total_seconds"):
        print(f"{key:<16}{report[key]}")
    return 0


def _model(action: str, name: str) -> int:
    """`model list`, or `model fetch NAME`: one sentence and exit status 1 when it fails."""
    from inference import models

    if action == "list":
        for spec in models.MODELS.values():
            try:
                where = str(models.installed_path(spec.name))
            except models.ModelUnavailable as exc:
                where = str(exc)
            print(f"{spec.name:<14} writes={spec.writes!s:<5} tools={spec.tools!s:<5} {spec.licence}\n{'':14} {where}")
        return 0
    try:
        print(models.fetch(name or models.DEFAULT_MODEL))
    except models.ModelUnavailable as exc:
        print(f"frontdesk: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """The command; a process that cannot start as configured says why in one line and exits 1."""
    try:
        return _command(argv)
    except settings_mod.StartupError as err:
        print(f"frontdesk: {err}", file=sys.stderr)
        return 1


def _command(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="frontdesk", description="AI customer-support platform: a gRPC service mesh.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the whole mesh (embedded default) until Ctrl-C")
    run.add_argument("--backend", help="model backend (llamacpp or echo); default from FRONTDESK_BACKEND")
    for name in ("gateway", "conversation", "inference", "speech"):
        sub.add_parser(name, help=f"run the {name} service")
    analytics = sub.add_parser("analytics", help="run the analytics service, or `analytics backfill`")
    analytics.add_argument("action", nargs="?", choices=("serve", "backfill"), default="serve")
    analytics.add_argument("--tenant", default="demo", help="backfill: the tenant's slug (default: demo)")
    analytics.add_argument(
        "--from-logs",
        action="store_true",
        help="backfill: rebuild the events from the stored conversations, not the EVENTS stream",
    )
    analytics.add_argument(
        "--from", dest="from_day", default="", help="--from-logs: first day, YYYY-MM-DD (default: 29 days before --to)"
    )
    analytics.add_argument("--to", dest="to_day", default="", help="--from-logs: last day, YYYY-MM-DD (default: today)")
    status = sub.add_parser("status", help="health of every service of the running mesh")
    status.add_argument("--json", action="store_true")
    ask = sub.add_parser("ask", help="ask the running mesh as the demo tenant's customer")
    ask.add_argument("question", nargs="?", default="", help="the question (or use --audio)")
    ask.add_argument("--audio", type=Path, help="ask with a recording instead (WAV, MP3, Ogg/Opus, WebM)")
    ask.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the reply")
    kb = sub.add_parser("kb", help="the knowledge base of a tenant")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)
    kb_import = kb_sub.add_parser("import", help="import FAQ (JSONL, CSV) or a document (Markdown, HTML, PDF, text)")
    kb_import.add_argument("file", type=Path)
    kb_import.add_argument("--tenant", default="demo", help="the tenant's slug (default: demo)")
    evaluation = sub.add_parser("eval", help="evaluate the answer policy on a knowledge base and test cases")
    evaluation.add_argument("--kb", type=Path, required=True, help="KB.jsonl")
    evaluation.add_argument("--cases", type=Path, required=True, help="CASES.jsonl")
    evaluation.add_argument("--json", action="store_true", help="one JSON object")
    config = sub.add_parser("config", help="print every setting with its environment variable and default")
    config.add_argument("--markdown", action="store_true")
    model = sub.add_parser("model", help="the CPU models: `model fetch NAME` downloads and verifies one")
    model.add_argument("action", choices=("fetch", "list"))
    model.add_argument("name", nargs="?", default="")
    args = parser.parse_args(argv)

    overrides = {}
    if getattr(args, "backend", None):
        overrides["backend"] = args.backend
    settings = settings_mod.load(**overrides)

    if args.command == "config":
        print(settings_mod.markdown_table())
        return 0
    if args.command == "model":
        return _model(args.action, args.name)
    if args.command == "status":
        return asyncio.run(_status(settings, args.json))
    if args.command == "ask":
        if bool(args.question) == bool(args.audio):
            parser.error("ask takes a question or --audio FILE")
        if args.audio and not args.audio.is_file():
            raise SystemExit(f"{args.audio}: no such file")
        return asyncio.run(_ask(settings, args.question, args.timeout, args.audio))
    if args.command == "kb":
        return _kb_import(settings, args.file, args.tenant)
    if args.command == "eval":
        return _eval(args.kb, args.cases, args.json)
    if args.command == "analytics" and args.action == "backfill":
        from analytics.rebuild import run_backfill

        try:
            tally = asyncio.run(run_backfill(settings, args.tenant, args.from_logs, args.from_day, args.to_day))
        except ValueError as err:
            print(f"frontdesk: {err}", file=sys.stderr)
            return 1
        source = f" rebuilt from {tally.conversations} conversations" if args.from_logs else ""
        print(
            f"scanned {tally.scanned} events{source}: {tally.applied} counted now, {tally.duplicates} already "
            f"counted, {tally.skipped} skipped"
        )
        return 0

    logs.setup(settings.log_level, settings.log_format)
    if args.command == "run":
        from launcher.supervisor import Supervisor

        return asyncio.run(Supervisor(settings).run())
    if args.command == "gateway":
        from gateway.server import serve
    elif args.command == "conversation":
        from conversation.server import serve
    elif args.command == "analytics":
        from analytics.server import serve
    elif args.command == "speech":
        from speech.server import serve
    else:
        from inference.server import serve
    from frontdesk import tracing

    tracing.setup(args.command, settings)
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
