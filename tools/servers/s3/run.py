#!/usr/bin/env python3.11
"""Build (once, cached) and run a real MinIO server for tests.

Stdlib only.  MinIO is compiled from source fetched through the Go module
proxy (the machine's configured GOPROXY; nothing else is contacted), the
binary is cached under ``~/.cache/frontdesk/servers/minio-<version>/`` and
the Go module/build caches under ``~/.cache/frontdesk/go/`` so later builds
(other versions, a fresh clone on the same machine) reuse them.

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
import ctypes
import fcntl
import json
import os
import re
import shutil
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

# --------------------------------------------------------------------------
# What we build.  The module proxy has no semver tags for MinIO (its
# RELEASE.* git tags are not valid module versions and this proxy refuses
# queries it has not cached), so we pin the pseudo-version of the newest
# commit it serves.  go.mod of this commit has no replace directives; it
# needs go >= 1.24.
# --------------------------------------------------------------------------
NAME = "minio"
MODULE = "github.com/minio/minio"
VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"
_PSEUDO = re.match(r"v0\.0\.0-(\d{14})-([0-9a-f]{12})$", VERSION)
assert _PSEUDO, VERSION
_TS, SHORT_COMMIT = _PSEUDO.group(1), _PSEUDO.group(2)
# Same shapes MinIO's buildscripts/gen-ldflags.go produces for a dev build.
VERSION_TIME = f"{_TS[0:4]}-{_TS[4:6]}-{_TS[6:8]}T{_TS[8:10]}:{_TS[10:12]}:{_TS[12:14]}Z"
RELEASE_TAG = "DEVELOPMENT." + VERSION_TIME.replace(":", "-")
MIN_GO = (1, 24)

DEFAULT_ACCESS_KEY = "frontdesk"
DEFAULT_SECRET_KEY = "frontdesk-secret-key"
DEFAULT_REGION = "us-east-1"

_STAMP = "installed.json"


class S3ServerError(RuntimeError):
    """Build or start-up of the S3 server failed."""


# --------------------------------------------------------------------------
# Build / cache
# --------------------------------------------------------------------------
def cache_root() -> Path:
    env = os.environ.get("FRONTDESK_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "frontdesk"


def default_install_dir() -> Path:
    return cache_root() / "servers" / f"{NAME}-{VERSION}"


def _go_tool() -> str:
    go = os.environ.get("FRONTDESK_GO") or shutil.which("go")
    if not go:
        for cand in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go"):
            if os.access(cand, os.X_OK):
                go = cand
                break
    if not go:
        raise S3ServerError(
            "the 'go' tool was not found (PATH or FRONTDESK_GO); Go >= "
            f"{MIN_GO[0]}.{MIN_GO[1]} is needed to build MinIO"
        )
    return go


def _go_env(go_cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GOPATH=str(go_cache / "path"),
        GOMODCACHE=str(go_cache / "mod"),
        GOCACHE=str(go_cache / "build"),
        GOTOOLCHAIN="local",  # never download a toolchain; go.mod asks 1.24.x
        GOWORK="off",
        CGO_ENABLED="0",  # static binary, like MinIO's own release builds
        GO111MODULE="on",
    )
    # GOPROXY / GOSUMDB / GOFLAGS: inherited from the machine, untouched.
    return env


def _check_go_version(go: str, env: dict[str, str]) -> str:
    out = subprocess.run([go, "env", "GOVERSION"], env=env, capture_output=True, text=True, check=False).stdout.strip()
    m = re.match(r"go(\d+)\.(\d+)", out)
    if not m or (int(m.group(1)), int(m.group(2))) < MIN_GO:
        raise S3ServerError(f"{go} reports {out or '?'}; MinIO {VERSION} needs go >= {MIN_GO[0]}.{MIN_GO[1]}")
    return out


def _tail(path: Path, lines: int = 40) -> str:
    try:
        data = path.read_bytes()[-32768:].decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    return "\n".join(data.splitlines()[-lines:])


def _run_logged(cmd: list[str], *, cwd: Path | None, env: dict[str, str], log: Path, what: str) -> str:
    with open(log, "ab") as fh:
        fh.write(f"\n$ {' '.join(cmd)}\n".encode())
        fh.flush()
        # Own process group + parent-death signal: an interrupted build
        # (Ctrl-C, SIGTERM, killed test runner) leaves no go/compile behind.
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=fh,
            start_new_session=True,
            preexec_fn=_pdeathsig,
        )
        try:
            out, _ = proc.communicate()
        except BaseException:
            _kill_group(proc, grace=10.0)
            raise
        fh.write(out[-4096:])
    if proc.returncode != 0:
        raise S3ServerError(f"{what} failed (exit {proc.returncode}); log {log}:\n{_tail(log)}")
    return out.decode()


def _kill_group(proc: subprocess.Popen, grace: float) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _rmtree(path: Path) -> None:
    def onerror(func, p, _exc):
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(p), 0o755)
            os.chmod(p, 0o755)
            func(p)

    if path.exists():
        shutil.rmtree(path, onerror=onerror)


def _installed_ok(install_dir: Path) -> Path | None:
    binary = install_dir / "bin" / NAME
    stamp = install_dir / _STAMP
    if not (binary.is_file() and os.access(binary, os.X_OK) and stamp.is_file()):
        return None
    try:
        meta = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return None
    if meta.get("module") != MODULE or meta.get("version") != VERSION:
        return None
    return binary


def ensure_installed(cache_dir: str | os.PathLike | None = None, *, quiet: bool = False) -> Path:
    """Return the path of a MinIO binary, building it on first use.

    ``cache_dir`` is the install dir (``bin/minio`` + ``installed.json`` go
    there); default ``~/.cache/frontdesk/servers/minio-<version>/``.  The Go
    caches (GOPATH, GOMODCACHE, GOCACHE) always live in ``<cache root>/go``
    (``~/.cache/frontdesk/go`` unless FRONTDESK_CACHE_DIR is set), so a
    rebuild into another dir only recompiles nothing and downloads nothing.
    Safe to call concurrently (file lock); a no-op costing a couple of
    stat() calls once built.
    """
    override = os.environ.get("FRONTDESK_S3_BINARY")
    if override:
        p = Path(override).expanduser()
        if not (p.is_file() and os.access(p, os.X_OK)):
            raise S3ServerError(f"FRONTDESK_S3_BINARY={override} is not an executable file")
        return p

    install_dir = default_install_dir() if cache_dir is None else Path(cache_dir).expanduser()
    go_cache = cache_root() / "go"  # shared, content-addressed, concurrency-safe

    found = _installed_ok(install_dir)
    if found:
        return found

    install_dir.mkdir(parents=True, exist_ok=True)
    with open(install_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building
        found = _installed_ok(install_dir)
        if found:
            return found
        return _build(install_dir, go_cache, quiet=quiet)


def _build(install_dir: Path, go_cache: Path, *, quiet: bool) -> Path:
    def say(msg: str) -> None:
        if not quiet:
            print(f"[s3/run.py] {msg}", file=sys.stderr, flush=True)

    go = _go_tool()
    env = _go_env(go_cache)
    go_version = _check_go_version(go, env)
    log = install_dir / "build.log"
    log.write_text(f"building {MODULE}@{VERSION} with {go_version}\n")
    t0 = time.monotonic()

    say(f"building {MODULE}@{VERSION} with {go_version} (first time only; several minutes on 2 cores); log: {log}")
    info = json.loads(
        _run_logged(
            [go, "mod", "download", "-json", f"{MODULE}@{VERSION}"],
            cwd=install_dir,
            env=env,
            log=log,
            what="go mod download",
        )
    )
    if info.get("Error"):
        raise S3ServerError(f"go mod download: {info['Error']}")
    mod_dir = Path(info["Dir"])

    # The module cache is read-only; build in a writable copy so the go
    # command can use the module's own go.mod/go.sum (and any replaces).
    src = install_dir / "src"
    _rmtree(src)
    shutil.copytree(mod_dir, src, copy_function=shutil.copyfile)
    for root, dirs, _files in os.walk(src):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o755)
    os.chmod(src, 0o755)

    ldflags = " ".join(
        [
            "-s",
            "-w",
            f"-X github.com/minio/minio/cmd.Version={VERSION_TIME}",
            f"-X github.com/minio/minio/cmd.CopyrightYear={VERSION_TIME[:4]}",
            f"-X github.com/minio/minio/cmd.ReleaseTag={RELEASE_TAG}",
            f"-X github.com/minio/minio/cmd.CommitID={SHORT_COMMIT}",
            f"-X github.com/minio/minio/cmd.ShortCommitID={SHORT_COMMIT}",
        ]
    )
    (install_dir / "bin").mkdir(exist_ok=True)
    tmp_bin = install_dir / "bin" / f".{NAME}.tmp{os.getpid()}"
    # Same flags as MinIO's Makefile 'build' target.
    try:
        _run_logged(
            [
                go,
                "build",
                "-tags",
                "kqueue",
                "-trimpath",
                "-buildvcs=false",
                "-ldflags",
                ldflags,
                "-o",
                str(tmp_bin),
                ".",
            ],
            cwd=src,
            env=env,
            log=log,
            what="go build",
        )
        binary = install_dir / "bin" / NAME
        os.replace(tmp_bin, binary)
    finally:
        with contextlib.suppress(OSError):
            tmp_bin.unlink()
    _rmtree(src)
    secs = round(time.monotonic() - t0, 1)
    meta = {
        "module": MODULE,
        "version": VERSION,
        "release_tag": RELEASE_TAG,
        "go": go_version,
        "build_seconds": secs,
        "binary_bytes": binary.stat().st_size,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    tmp_stamp = install_dir / f".{_STAMP}.tmp"
    tmp_stamp.write_text(json.dumps(meta, indent=2) + "\n")
    os.replace(tmp_stamp, install_dir / _STAMP)
    say(f"built {binary} in {secs}s ({meta['binary_bytes'] / 2**20:.1f} MiB)")
    return binary


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


def _pdeathsig() -> None:
    # Child side, after fork: ask the kernel to SIGKILL us if the parent dies
    # (covers a test runner that is itself SIGKILLed).  Best effort.
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


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
        return _tail(self.log_path, lines)

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
            preexec_fn=_pdeathsig if die_with_parent else None,
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
