#!/usr/bin/env python3.11
"""Build (once, cached) and run a real MinIO server for tests.

Stdlib only.  MinIO is compiled from source fetched through the Go module
proxy (the machine's configured GOPROXY; nothing else is contacted), the
binary is cached under ``~/.cache/frontdesk/servers/minio-<version>/`` and
the Go module/build caches under ``~/.cache/frontdesk/go/`` so later builds
(other versions, a fresh clone on the same machine) reuse them.

Building and caching the binary is in minio_build.py, next to this file;
this file runs the server, and stays the one entry point: it loads
minio_build.py by path and re-exports its public names.

Library use::

    from tools.servers.s3 import run as s3run      # or importlib by path
    srv = s3run.start(tmp_path / "s3")              # builds on first use
    try:
        client = Minio(srv.endpoint, access_key=srv.access_key,
                       secret_key=srv.secret_key, secure=False)
        ...
    finally:
        srv.stop()

Manual use::

    python tools/servers/s3/run.py --data /tmp/s3data --port 9000
    python tools/servers/s3/run.py --build-only

Environment overrides:
    FRONTDESK_CACHE_DIR   cache root (default ``$XDG_CACHE_HOME/frontdesk``
                          or ``~/.cache/frontdesk``)
    FRONTDESK_S3_BINARY   use this minio binary instead of building one
    FRONTDESK_GO          path of the ``go`` tool (default: ``go`` on PATH)
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import ModuleType


def _load_sibling(stem: str) -> ModuleType:
    """tools/servers/s3/<stem>.py, loaded once per process.  tools/ is not a
    package and the tests load this file by path, so a plain import would not
    find its neighbour."""
    name = f"frontdesk_tools_s3_{stem}"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().with_name(f"{stem}.py"))
        assert spec is not None and spec.loader is not None, stem
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return module


minio_build = _load_sibling("minio_build")
# What we build and the build itself (see minio_build.py), under their old names.
NAME = minio_build.NAME
MODULE = minio_build.MODULE
VERSION = minio_build.VERSION
SHORT_COMMIT = minio_build.SHORT_COMMIT
VERSION_TIME = minio_build.VERSION_TIME
RELEASE_TAG = minio_build.RELEASE_TAG
MIN_GO = minio_build.MIN_GO
S3ServerError = minio_build.S3ServerError
cache_root = minio_build.cache_root
default_install_dir = minio_build.default_install_dir
ensure_installed = minio_build.ensure_installed
read_tail = minio_build.read_tail
set_pdeathsig = minio_build.set_pdeathsig

DEFAULT_ACCESS_KEY = "frontdesk"
DEFAULT_SECRET_KEY = "frontdesk-secret-key"
DEFAULT_REGION = "us-east-1"


# --------------------------------------------------------------------------
# Run
# --------------------------------------------------------------------------
_live: set[S3Server] = set()
_live_lock = threading.Lock()


@atexit.register
def _stop_all() -> None:
    with _live_lock:
        servers = list(_live)
    for s in servers:
        with contextlib.suppress(Exception):
            s.stop()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3Server:
    """A running MinIO process.  Use ``stop()`` (or ``with``) to end it."""

    def __init__(
        self,
        *,
        process: subprocess.Popen,
        port: int,
        access_key: str,
        secret_key: str,
        data_dir: Path,
        log_path: Path,
        binary: Path,
        keep_log: bool,
        log_fh,
    ) -> None:
        self.process = process
        self.pid = process.pid
        self.host = "127.0.0.1"
        self.port = port
        self.endpoint = f"{self.host}:{port}"
        self.url = f"http://{self.endpoint}"
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = DEFAULT_REGION
        self.data_dir = data_dir
        self.log_path = log_path
        self.binary = binary
        self._keep_log = keep_log
        self._log_fh = log_fh
        self._stopped = False

    def __repr__(self) -> str:
        return f"<S3Server minio {self.endpoint} pid={self.pid} data={self.data_dir}>"

    def __enter__(self) -> S3Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def log_tail(self, lines: int = 40) -> str:
        return read_tail(self.log_path, lines)

    def _leader_exited(self, timeout: float) -> bool:
        """Wait for the process to exit WITHOUT reaping it, so its process
        group id cannot be reused before we have swept the group."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                r = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:  # already reaped elsewhere
                return True
            if r is not None:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM the server's process group, wait up to ``timeout`` s, then
        SIGKILL.  Idempotent.  Returns the exit code."""
        if self._stopped:
            return self.process.returncode
        self._stopped = True
        try:
            if self.process.returncode is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, signal.SIGTERM)
                if not self._leader_exited(timeout):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(self.pid, signal.SIGKILL)
                    self._leader_exited(5.0)
                # Sweep anything left in the group while the (unreaped)
                # leader still pins the pgid, then reap.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, signal.SIGKILL)
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        finally:
            with _live_lock:
                _live.discard(self)
            with contextlib.suppress(Exception):
                self._log_fh.close()
            if not self._keep_log:
                with contextlib.suppress(OSError):
                    self.log_path.unlink()
                with contextlib.suppress(OSError):
                    self.log_path.parent.rmdir()
        return self.process.returncode


def _wait_ready(srv: S3Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    url = f"{srv.url}/minio/health/ready"
    last = "no answer yet"
    while True:
        if srv.process.poll() is not None:
            raise S3ServerError(
                f"minio exited with code {srv.process.returncode} during start-up "
                f"({srv.endpoint}, data {srv.data_dir}); log {srv.log_path}, tail:\n"
                f"{srv.log_tail()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
                last = f"HTTP {r.status}"
        except urllib.error.HTTPError as e:
            last = f"HTTP {e.code}"
        except (urllib.error.URLError, OSError) as e:
            last = str(getattr(e, "reason", e))
        if time.monotonic() >= deadline:
            raise S3ServerError(
                f"minio at {srv.endpoint} not ready after {timeout:.0f}s "
                f"(last: {last}); log {srv.log_path}, tail:\n{srv.log_tail()}"
            )
        time.sleep(0.05)


def start(
    data_dir: str | os.PathLike,
    port: int = 0,
    access_key: str = DEFAULT_ACCESS_KEY,
    secret_key: str = DEFAULT_SECRET_KEY,
    *,
    cache_dir=None,
    timeout: float = 60.0,
    log_path: str | os.PathLike | None = None,
    memlimit: str | None = "512MiB",
    extra_env: dict[str, str] | None = None,
    die_with_parent: bool = True,
) -> S3Server:
    """Start a single-node single-drive MinIO on 127.0.0.1 serving ``data_dir``.

    ``port=0`` picks a free port.  Returns once ``/minio/health/ready``
    answers 200, else raises :class:`S3ServerError` with the log tail (and
    leaves no process behind).  ``die_with_parent`` makes the kernel kill the
    server if the calling *thread* exits - call from the main thread (as a
    pytest fixture does) or pass ``False``.  ``memlimit`` is a soft Go heap
    limit (GOMEMLIMIT via MINIO_MEMLIMIT); ``None`` leaves it unset.
    """
    if len(access_key) < 3:
        raise ValueError("MinIO needs access_key of at least 3 characters")
    if len(secret_key) < 8:
        raise ValueError("MinIO needs secret_key of at least 8 characters")
    binary = ensure_installed(cache_dir)
    data = Path(data_dir).expanduser().resolve()
    data.mkdir(parents=True, exist_ok=True)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINIO_", "_MINIO", "GOMEMLIMIT", "GOGC"))}
    env.update(
        MINIO_ROOT_USER=access_key,
        MINIO_ROOT_PASSWORD=secret_key,
        MINIO_BROWSER="off",  # no web console, no second port
        MINIO_UPDATE="off",  # no update checks (no network here)
        MINIO_CI_CD="1",  # small buffer pool, no root-drive refusal
        MINIO_REGION=DEFAULT_REGION,
    )
    if memlimit:
        env["MINIO_MEMLIMIT"] = memlimit
    if extra_env:
        env.update(extra_env)

    attempts = 3 if port == 0 else 1
    for attempt in range(attempts):
        p = port or _free_port()
        if log_path is None:
            log = Path(tempfile.mkdtemp(prefix="frontdesk-minio-")) / "minio.log"
            keep = False
        else:
            log = Path(log_path)
            log.parent.mkdir(parents=True, exist_ok=True)
            keep = True
        fh = open(log, "ab")
        cmd = [str(binary), "server", "--address", f"127.0.0.1:{p}", str(data)]
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=set_pdeathsig if die_with_parent else None,
        )
        srv = S3Server(
            process=proc,
            port=p,
            access_key=access_key,
            secret_key=secret_key,
            data_dir=data,
            log_path=log,
            binary=binary,
            keep_log=keep,
            log_fh=fh,
        )
        with _live_lock:
            _live.add(srv)
        try:
            _wait_ready(srv, timeout)
            return srv
        except S3ServerError as e:
            in_use = "already in use" in str(e).lower() or "address in use" in str(e).lower()
            srv._keep_log = True  # keep it for the error message
            srv.stop()
            if in_use and attempt + 1 < attempts:
                continue
            raise
        except BaseException:
            srv.stop()
            raise
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=f"Run MinIO ({VERSION}) for frontdesk dev/tests.")
    ap.add_argument("--data", help="data directory (created if missing)")
    ap.add_argument("--port", type=int, default=9000, help="port on 127.0.0.1 (0 = free port)")
    ap.add_argument("--access-key", default=DEFAULT_ACCESS_KEY)
    ap.add_argument("--secret-key", default=DEFAULT_SECRET_KEY)
    ap.add_argument("--cache-dir", help=f"install dir (default {default_install_dir()})")
    ap.add_argument("--build-only", action="store_true", help="build/cache and print the binary path")
    args = ap.parse_args(argv)

    def on_term(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)

    t0 = time.monotonic()
    try:
        binary = ensure_installed(args.cache_dir)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if args.build_only:
        print(binary)
        print(f"ensure_installed: {time.monotonic() - t0:.2f}s", file=sys.stderr)
        return 0
    if not args.data:
        ap.error("--data is required unless --build-only")

    t1 = time.monotonic()
    data = Path(args.data).expanduser().resolve()
    try:
        srv = start(
            data,
            port=args.port,
            access_key=args.access_key,
            secret_key=args.secret_key,
            cache_dir=args.cache_dir,
            log_path=data.parent / f"{data.name}.minio.log",
        )
    except KeyboardInterrupt:
        return 130
    except S3ServerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(
        f"MinIO {VERSION} ready in {time.monotonic() - t1:.2f}s  pid {srv.pid}\n"
        f"  endpoint   {srv.endpoint}   (http, region {srv.region})\n"
        f"  access key {srv.access_key}\n  secret key {srv.secret_key}\n"
        f"  data       {srv.data_dir}\n  log        {srv.log_path}\n"
        f"Ctrl-C to stop.",
        flush=True,
    )
    try:
        while srv.process.poll() is None:
            time.sleep(0.5)
        print(f"minio exited with {srv.process.returncode}; log tail:\n{srv.log_tail()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopping...", file=sys.stderr)
        return 0
    finally:
        srv.stop()


if __name__ == "__main__":
    sys.exit(main())
