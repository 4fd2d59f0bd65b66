"""Build (once, cached) the MinIO server binary the tests run: fetched as source through the
Go module proxy and compiled with the local ``go`` tool. Also the small process helpers the
build and the server share (a log's tail, the parent-death signal).

Used through run.py (its entry point, which loads this file by path and re-exports its
public names); see run.py's docstring for the environment overrides.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
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


def read_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file (the build's or the server's)."""
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
            preexec_fn=set_pdeathsig,
        )
        try:
            out, _ = proc.communicate()
        except BaseException:
            _kill_group(proc, grace=10.0)
            raise
        fh.write(out[-4096:])
    if proc.returncode != 0:
        raise S3ServerError(f"{what} failed (exit {proc.returncode}); log {log}:\n{read_tail(log)}")
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


def set_pdeathsig() -> None:
    """``preexec_fn`` for the build's and the server's processes."""
    # Child side, after fork: ask the kernel to SIGKILL us if the parent dies
    # (covers a test runner that is itself SIGKILLed).  Best effort.
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


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
