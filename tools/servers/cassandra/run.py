#!/usr/bin/env python3
"""Obtain and run a throwaway single-node Apache Cassandra for tests.

Production uses ScyllaDB; tests use Apache Cassandra 5.0 (same CQL protocol),
fetched from Maven Central with Maven and started directly with ``java`` --
no Docker, no tarball download.  Standard library only.

    from tools.servers.cassandra.run import start      # or load by path
    srv = start("/tmp/some-data-dir")                  # port=0: free ports
    ...  Cluster([srv.host], port=srv.port) ...
    srv.stop()

Manual use::

    python tools/servers/cassandra/run.py --data /tmp/cass --port 9042
    python tools/servers/cassandra/run.py --install-only

Environment overrides: FRONTDESK_CASSANDRA_VERSION, FRONTDESK_CASSANDRA_CACHE
(cache dir), JAVA_HOME (java to use), MVN (maven executable).
"""

from __future__ import annotations

import argparse
import atexit
import ctypes
import fcntl
import hashlib
import os
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

CASSANDRA_VERSION = os.environ.get("FRONTDESK_CASSANDRA_VERSION", "5.0.9")
DEFAULT_HEAP = "512M"  # -Xmx
DEFAULT_HEAP_MIN = "64M"  # -Xms: the heap grows only when a test needs it
MAIN_CLASS = "org.apache.cassandra.service.CassandraDaemon"

HERE = Path(__file__).resolve().parent
POM = HERE / "pom.xml"
YAML_TEMPLATE = HERE / "cassandra.yaml.in"
JVM_OPTIONS = HERE / "jvm.options"

_STAMP = ".frontdesk-installed"

LOGBACK_XML = """<configuration scan="false" debug="false">
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level [%thread] %logger{20} - %msg%n</pattern></encoder>
  </appender>
  <logger name="org.apache.cassandra" level="INFO"/>
  <logger name="io.netty" level="WARN"/>
  <logger name="com.datastax" level="WARN"/>
  <root level="INFO"><appender-ref ref="STDOUT"/></root>
</configuration>
"""


class CassandraError(RuntimeError):
    """Install or start failure; the message carries the relevant log tail."""


# --------------------------------------------------------------------------
# install
# --------------------------------------------------------------------------


def default_cache_dir(version: str = CASSANDRA_VERSION) -> Path:
    env = os.environ.get("FRONTDESK_CASSANDRA_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "frontdesk" / "servers" / f"cassandra-{version}"


def _install_key(version: str) -> str:
    h = hashlib.sha256()
    h.update(version.encode())
    h.update(POM.read_bytes())
    return h.hexdigest()


def _tail(text: str | bytes, lines: int = 40) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _mvn() -> str:
    mvn = os.environ.get("MVN") or shutil.which("mvn")
    if not mvn:
        raise CassandraError("Maven ('mvn') not found on PATH; install maven or set MVN")
    return mvn


def ensure_installed(
    cache_dir: str | os.PathLike | None = None, version: str = CASSANDRA_VERSION, *, verbose: bool = False
) -> Path:
    """Return the directory holding the Cassandra server jars, fetching them once.

    Jars go to ``<cache_dir>/lib``, Maven's local repository to
    ``<cache_dir>/m2`` (so a re-install never needs the network again).
    Safe to call concurrently from several processes (file lock); a no-op
    costing a few stat() calls when already installed.
    """
    cache = Path(cache_dir).expanduser() if cache_dir else default_cache_dir(version)
    lib = cache / "lib"
    key = _install_key(version)
    stamp = lib / _STAMP
    if stamp.is_file() and stamp.read_text().strip() == key:
        return lib

    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.is_file() and stamp.read_text().strip() == key:
            return lib  # another process finished it while we waited
        tmp = cache / f"lib.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        m2 = cache / "m2"
        base = [
            _mvn(),
            "-q",
            "-B",
            "-f",
            str(POM),
            f"-Dcassandra.version={version}",
            f"-Dmaven.repo.local={m2}",
            "dependency:copy-dependencies",
            f"-DoutputDirectory={tmp}",
            "-DincludeScope=runtime",
        ]
        attempts = [base]
        if m2.is_dir():  # try the local repository alone first: no network
            attempts.insert(0, base[:1] + ["-o"] + base[1:])
        t0 = time.monotonic()
        proc = None
        for cmd in attempts:
            proc = subprocess.run(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=str(HERE)
            )
            if proc.returncode == 0:
                break
            shutil.rmtree(tmp, ignore_errors=True)
        assert proc is not None
        if proc.returncode != 0:
            raise CassandraError(
                f"maven failed (exit {proc.returncode}) fetching cassandra-all {version}:\n"
                f"  {' '.join(base)}\n{_tail(proc.stdout or b'')}"
            )
        if not any(tmp.glob("cassandra-all-*.jar")):
            raise CassandraError(f"maven succeeded but no cassandra-all jar in {tmp}")
        (tmp / _STAMP).write_text(key + "\n")
        if lib.exists():
            shutil.rmtree(lib)
        os.replace(tmp, lib)
        if verbose:
            print(f"installed cassandra {version} jars in {lib} ({time.monotonic() - t0:.1f}s)", file=sys.stderr)
        return lib


# --------------------------------------------------------------------------
# start / stop
# --------------------------------------------------------------------------


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def _size_bytes(size: str) -> int:
    units = {"k": 2**10, "m": 2**20, "g": 2**30}
    size = size.strip().lower()
    if size[-1:] in units:
        return int(size[:-1]) * units[size[-1]]
    return int(size)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def cql_ping(host: str, port: int, timeout: float = 1.0) -> bool:
    """True if a CQL server answers an OPTIONS request (protocol v4) on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            # header: version, flags, stream, opcode OPTIONS(0x05), body length 0
            s.sendall(struct.pack(">BBhBI", 0x04, 0, 0, 0x05, 0))
            version, _flags, _stream, opcode, length = struct.unpack(">BBhBI", _recv_exact(s, 9))
            return bool(version & 0x80) and opcode == 0x06  # response, SUPPORTED
    except (OSError, ConnectionError, struct.error):
        return False


def _java() -> str:
    jh = os.environ.get("JAVA_HOME")
    if jh and (Path(jh) / "bin" / "java").exists():
        return str(Path(jh) / "bin" / "java")
    java = shutil.which("java")
    if not java:
        raise CassandraError("java not found (need Java 11 or 17); set JAVA_HOME")
    return java


def _read_jvm_options() -> list[str]:
    opts = []
    for line in JVM_OPTIONS.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            if line.startswith("--") and " " in line:  # "--add-opens x" -> "--add-opens=x"
                line = "=".join(part.strip() for part in line.split(None, 1))
            opts.append(line)
    return opts


_PR_SET_PDEATHSIG = 1
_PR_CAPBSET_DROP = 24
_CAP_IPC_LOCK = 14
_MEMLOCK_LIMIT = 64 * 1024


try:
    _LIBC = ctypes.CDLL(None, use_errno=True)  # loaded here, not in the forked child
except OSError:
    _LIBC = None


def _child_setup(die_with_parent: bool):
    """preexec_fn: runs in the child between fork and exec; only raw syscalls."""

    def setup() -> None:
        libc = _LIBC
        if libc is None:
            return
        if die_with_parent:
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        # Cassandra mlockall()s the JVM at start; as root (CAP_IPC_LOCK) that
        # pins the whole heap in RAM (~900 MB RSS for a 512M heap).  Drop the
        # capability and cap RLIMIT_MEMLOCK so it fails harmlessly (a WARN).
        try:
            resource.setrlimit(resource.RLIMIT_MEMLOCK, (_MEMLOCK_LIMIT, _MEMLOCK_LIMIT))
        except (ValueError, OSError):
            pass
        libc.prctl(_PR_CAPBSET_DROP, _CAP_IPC_LOCK, 0, 0, 0)  # EPERM when not root: fine

    return setup


_live: set[CassandraServer] = set()
_live_lock = threading.Lock()


@atexit.register
def _stop_all() -> None:
    with _live_lock:
        servers = list(_live)
    for s in servers:
        s.stop()


class CassandraServer:
    """A running Cassandra process.  Use .host/.port for clients, .stop() to end it."""

    def __init__(
        self,
        process: subprocess.Popen,
        host: str,
        port: int,
        storage_port: int,
        data_dir: Path,
        log_path: Path,
        log_file,
    ) -> None:
        self.process = process
        self.host = host
        self.port = port
        self.storage_port = storage_port
        self.data_dir = data_dir
        self.log_path = log_path
        self._log_file = log_file
        self.started_at = time.monotonic()
        self.startup_seconds: float | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def contact_point(self) -> str:
        return f"{self.host}:{self.port}"

    def log_tail(self, lines: int = 60) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 64 * 1024))
                return _tail(f.read(), lines)
        except OSError as e:
            return f"(no log: {e})"

    def log_errors(self, max_errors: int = 3, context: int = 12) -> str:
        """The first ERROR entries of the server log, each with a few following lines."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        out: list[str] = []
        found = 0
        for i, line in enumerate(lines):
            if " ERROR " in line or line.startswith(("Error:", "Exception in thread")):
                out += lines[i : i + context] + ["  ..."]
                found += 1
                if found >= max_errors:
                    break
        return "\n".join(out)

    def _failure_report(self) -> str:
        errors = self.log_errors()
        report = f"log {self.log_path}"
        if errors:
            report += f"\n---- errors ----\n{errors}"
        return report + f"\n---- last lines ----\n{self.log_tail(40)}"

    def rss_bytes(self) -> int | None:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    def is_running(self) -> bool:
        return self.process.poll() is None

    def wait_ready(self, timeout: float) -> None:
        deadline = self.started_at + timeout
        while True:
            if self.process.poll() is not None:
                raise CassandraError(
                    f"cassandra exited with code {self.process.returncode} before CQL "
                    f"was ready on {self.contact_point}; {self._failure_report()}"
                )
            if cql_ping(self.host, self.port, timeout=1.0):
                self.startup_seconds = time.monotonic() - self.started_at
                return
            if time.monotonic() > deadline:
                report = self._failure_report()
                self.stop()
                raise CassandraError(
                    f"cassandra did not answer CQL on {self.contact_point} within {timeout:.0f}s (stopped it); {report}"
                )
            time.sleep(0.2)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, wait up to `timeout`, then SIGKILL.  Idempotent.  Returns exit code."""
        p = self.process
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            except ProcessLookupError:
                pass
        try:
            self._log_file.close()
        except OSError:  # closing a log file at shutdown; nothing to do about it
            pass
        with _live_lock:
            _live.discard(self)
        return p.returncode

    def __enter__(self) -> CassandraServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<CassandraServer {self.contact_point} pid={self.pid} data={self.data_dir} running={self.is_running()}>"


def _render_yaml(data_dir: Path, host: str, port: int, storage_port: int, cluster_name: str) -> str:
    text = YAML_TEMPLATE.read_text()
    for k, v in {
        "DATA_DIR": str(data_dir),
        "HOST": host,
        "NATIVE_PORT": str(port),
        "STORAGE_PORT": str(storage_port),
        "CLUSTER_NAME": cluster_name,
    }.items():
        text = text.replace("{{" + k + "}}", v)
    if "{{" in text:
        raise CassandraError("unfilled placeholder in cassandra.yaml.in")
    return text


def start(
    data_dir: str | os.PathLike,
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    storage_port: int = 0,
    heap: str = DEFAULT_HEAP,
    heap_min: str = DEFAULT_HEAP_MIN,
    timeout: float = 180.0,
    cache_dir: str | os.PathLike | None = None,
    version: str = CASSANDRA_VERSION,
    cluster_name: str = "frontdesk-test",
    extra_jvm_args: list[str] | None = None,
    die_with_parent: bool = True,
    wait: bool = True,
) -> CassandraServer:
    """Start Cassandra with its files under `data_dir`; return once CQL answers.

    port / storage_port 0 pick free ports.  `heap` is -Xmx, `heap_min` -Xms.  The server
    log is ``<data_dir>/logs/cassandra.log``; on failure the exception
    message includes its tail.  `die_with_parent` makes the kernel kill the
    server if the thread that called start() dies (PR_SET_PDEATHSIG) -- call
    start() from a long-lived thread (e.g. the main thread) or pass False.
    """
    if _size_bytes(heap_min) > _size_bytes(heap):
        heap_min = heap
    for what, explicit in (("CQL port", port), ("storage port", storage_port)):
        if explicit and not _port_free(host, explicit):
            raise CassandraError(f"{what} {host}:{explicit} is already in use")
    lib = ensure_installed(cache_dir, version)
    data_dir = Path(data_dir).expanduser().resolve()
    conf_dir, log_dir = data_dir / "conf", data_dir / "logs"
    triggers_dir = data_dir / "triggers"
    for d in (data_dir, conf_dir, log_dir, triggers_dir):
        d.mkdir(parents=True, exist_ok=True)

    auto_ports = port == 0 or storage_port == 0
    attempts = 3 if auto_ports else 1
    last_err: CassandraError | None = None
    for _ in range(attempts):
        p = port or _free_port(host)
        sp = storage_port or _free_port(host)
        while sp == p:
            sp = _free_port(host)
        yaml_path = conf_dir / "cassandra.yaml"
        yaml_path.write_text(_render_yaml(data_dir, host, p, sp, cluster_name))
        logback = conf_dir / "logback.xml"
        logback.write_text(LOGBACK_XML)

        jamm = sorted(lib.glob("jamm-*.jar"))
        args = [_java(), f"-Xms{heap_min}", f"-Xmx{heap}"]
        if jamm:
            args.append(f"-javaagent:{jamm[0]}")
        args += _read_jvm_options()
        args += [
            f"-XX:ErrorFile={log_dir}/hs_err_%p.log",
            f"-Dcassandra.config={yaml_path.as_uri()}",
            "-Dcassandra-foreground=yes",
            f"-Dcassandra.storagedir={data_dir}",
            f"-Dcassandra.logdir={log_dir}",
            f"-Dcassandra.triggers_dir={triggers_dir}",
            f"-Dlogback.configurationFile={logback}",
            "-cp",
            os.pathsep.join(str(j) for j in sorted(lib.glob("*.jar"))),
        ]
        args += list(extra_jvm_args or [])
        args.append(MAIN_CLASS)

        log_path = log_dir / "cassandra.log"
        (log_dir / "cmdline.txt").write_text(" \\\n  ".join(args) + "\n")
        log_file = open(log_path, "ab")
        log_file.write(
            f"==== {time.strftime('%H:%M:%S')} frontdesk run.py: starting cassandra "
            f"{version}, CQL {host}:{p}, storage {sp} (command: "
            f"{log_dir / 'cmdline.txt'})\n".encode()
        )
        log_file.flush()
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=str(data_dir),
            start_new_session=True,
            preexec_fn=_child_setup(die_with_parent),
        )
        server = CassandraServer(proc, host, p, sp, data_dir, log_path, log_file)
        with _live_lock:
            _live.add(server)
        if not wait:
            return server
        try:
            server.wait_ready(timeout)
            return server
        except CassandraError as e:
            server.stop()
            last_err = e
            if auto_ports and any(
                m in str(e)
                for m in ("Address already in use", "BindException", "Failed to bind", "in use by another process")
            ):
                continue  # lost a port race: pick new ports
            raise
    assert last_err is not None
    raise last_err


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="data directory (default: a new temp dir)")
    ap.add_argument("--port", type=int, default=9042, help="CQL port (0 = free port)")
    ap.add_argument("--storage-port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--heap", default=DEFAULT_HEAP, help="max heap (-Xmx)")
    ap.add_argument("--heap-min", default=DEFAULT_HEAP_MIN, help="initial heap (-Xms)")
    ap.add_argument("--cache", help=f"cache dir (default {default_cache_dir()})")
    ap.add_argument("--timeout", type=float, default=180.0)
    ap.add_argument("--install-only", action="store_true", help="fetch the jars and exit")
    ns = ap.parse_args(argv)

    t0 = time.monotonic()
    lib = ensure_installed(ns.cache, verbose=True)
    print(f"jars: {lib} ({time.monotonic() - t0:.2f}s)", flush=True)
    if ns.install_only:
        return 0
    data = ns.data or tempfile.mkdtemp(prefix="frontdesk-cassandra-")
    srv = start(
        data,
        ns.port,
        host=ns.host,
        storage_port=ns.storage_port,
        heap=ns.heap,
        heap_min=ns.heap_min,
        timeout=ns.timeout,
        cache_dir=ns.cache,
    )
    print(
        f"cassandra {CASSANDRA_VERSION} CQL ready on {srv.contact_point} "
        f"(pid {srv.pid}, {srv.startup_seconds:.1f}s); data {srv.data_dir}; "
        f"log {srv.log_path}. Ctrl-C to stop.",
        flush=True,
    )

    def _term(_sig, _frm):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)
    try:
        while srv.process.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        # ignore repeated Ctrl-C / SIGTERM while the server shuts down
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        t1 = time.monotonic()
        rc = srv.stop()
        print(f"stopped (exit {rc}, {time.monotonic() - t1:.1f}s)", flush=True)
        return 0
    print(f"cassandra exited with {srv.process.returncode}; log tail:\n{srv.log_tail()}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
