#!/usr/bin/env python3.11
"""Standalone smoke test: real MinIO (tools/servers/s3/run.py) + the `minio`
Python client, pinned.

    python3.11 tools/servers/s3/smoke_test.py

Creates /tmp/s3venv (python3.11 -m venv; pip install minio==7.2.20) if it is
missing and re-runs itself inside it.  Builds MinIO on first use (minutes),
then: bucket, streamed multipart put of unknown length, stat, get + sha256,
presigned GET/PUT through urllib, prefix listing, removal, clean stop.
Exit status 0 on success.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

MINIO_PY = "7.2.20"
VENV = Path(os.environ.get("S3_SMOKE_VENV", "/tmp/s3venv"))
HERE = Path(__file__).resolve().parent


def _ensure_venv() -> None:
    """Re-exec inside VENV with minio==MINIO_PY installed."""
    py = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    t0 = time.monotonic()
    if not py.exists():
        subprocess.run(["python3.11", "-m", "venv", str(VENV)], check=True)
    have = subprocess.run(
        [str(py), "-c", "import minio; print(minio.__version__)"], capture_output=True, text=True
    ).stdout.strip()
    if have != MINIO_PY:
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", f"minio=={MINIO_PY}"], check=True
        )
    print(f"venv {VENV} ready (minio=={MINIO_PY}) in {time.monotonic() - t0:.2f}s", flush=True)
    os.execv(str(py), [str(py), str(Path(__file__).resolve()), *sys.argv[1:]])


class UnknownLengthStream:
    """Non-seekable reader with no len(): forces length=-1 multipart upload."""

    def __init__(self, total: int, seed: bytes = b"frontdesk") -> None:
        self.remaining = total
        self._block = hashlib.sha256(seed).digest() * 2048  # 64 KiB pattern
        self._n = 0
        self.sha = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        if size is None or size < 0 or size > self.remaining:
            size = self.remaining
        out = bytearray()
        while len(out) < size:
            # vary every block so parts are not identical
            self._n += 1
            chunk = hashlib.sha256(self._n.to_bytes(8, "big")).digest() + self._block
            out += chunk[: size - len(out)]
        self.remaining -= size
        b = bytes(out)
        self.sha.update(b)
        return b


def _rss_kib(pid: int) -> tuple[int, int]:
    cur = peak = 0
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                cur = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1])
    return cur, peak


def _pids_in_group(pgid: int) -> list[int]:
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.getpgid(int(d)) == pgid:
                    found.append(int(d))
            except OSError:
                pass
    return found


def main() -> int:
    _ensure_venv()
    import minio
    from minio import Minio
    from minio.error import S3Error

    sys.path.insert(0, str(HERE))
    import run as s3run

    assert minio.__version__ == MINIO_PY, minio.__version__
    timings: dict[str, float] = {}

    def step(name, fn, *a, **kw):
        t = time.monotonic()
        r = fn(*a, **kw)
        timings[name] = time.monotonic() - t
        return r

    binary = step("ensure_installed", s3run.ensure_installed)
    print(
        f"server binary: {binary} ({binary.stat().st_size / 2**20:.1f} MiB), "
        f"MinIO {s3run.VERSION} / {s3run.RELEASE_TAG}"
    )

    with tempfile.TemporaryDirectory(prefix="s3smoke-") as tmp:
        srv = step("start", s3run.start, Path(tmp) / "data")
        pid = srv.pid
        print(f"started {srv!r}")
        try:
            rss0, _ = _rss_kib(pid)
            client = Minio(
                srv.endpoint, access_key=srv.access_key, secret_key=srv.secret_key, secure=False, region=srv.region
            )
            bucket = "frontdesk-smoke"
            step("make_bucket", client.make_bucket, bucket)
            assert client.bucket_exists(bucket)

            size = 12 * 1024 * 1024 + 12345  # ~12 MiB, not part-aligned
            stream = UnknownLengthStream(size)
            key = "tenants/acme/uploads/big.bin"
            res = step(
                "put_object(12MiB, len=-1, part=5MiB)",
                client.put_object,
                bucket,
                key,
                stream,
                length=-1,
                part_size=5 * 1024 * 1024,
                content_type="application/octet-stream",
                metadata={"x-amz-meta-tenant": "acme"},
            )
            want = stream.sha.hexdigest()
            print(f"put: etag={res.etag} version={res.version_id}")

            st = step("stat_object", client.stat_object, bucket, key)
            assert st.size == size, (st.size, size)
            assert st.etag.endswith("-3"), f"expected 3-part multipart etag, got {st.etag}"
            assert st.metadata.get("x-amz-meta-tenant") == "acme", dict(st.metadata)
            assert st.content_type == "application/octet-stream"
            print(f"stat: size={st.size} etag={st.etag} type={st.content_type}")

            def get_sha() -> str:
                resp = client.get_object(bucket, key)
                try:
                    h = hashlib.sha256()
                    for chunk in resp.stream(1024 * 1024):
                        h.update(chunk)
                    return h.hexdigest()
                finally:
                    resp.close()
                    resp.release_conn()

            got = step("get_object+sha256", get_sha)
            assert got == want, (got, want)
            print(f"get: sha256 match {got[:16]}...")

            url = client.presigned_get_object(bucket, key, expires=timedelta(minutes=5))

            def fetch() -> str:
                with urllib.request.urlopen(url, timeout=30) as r:
                    assert r.status == 200
                    return hashlib.sha256(r.read()).hexdigest()

            assert step("presigned GET via urllib", fetch) == want
            print("presigned GET: sha256 match")
            bad = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
            try:
                urllib.request.urlopen(bad, timeout=10)
                raise AssertionError("tampered presigned URL was accepted")
            except urllib.error.HTTPError as e:
                assert e.code == 403, e.code
            print("presigned GET with tampered signature: 403 as expected")

            put_url = client.presigned_put_object(
                bucket, "tenants/acme/uploads/small.txt", expires=timedelta(minutes=5)
            )
            req = urllib.request.Request(put_url, data=b"hello frontdesk\n", method="PUT")
            with urllib.request.urlopen(req, timeout=10) as r:
                assert r.status == 200
            resp = client.get_object(bucket, "tenants/acme/uploads/small.txt")
            assert resp.read() == b"hello frontdesk\n"
            resp.close()
            resp.release_conn()
            print("presigned PUT via urllib: ok")

            for k in ("tenants/acme/notes/a.txt", "tenants/acme/notes/b.txt", "tenants/globex/notes/c.txt"):
                client.put_object(bucket, k, io.BytesIO(k.encode()), len(k))
            listed = step(
                "list_objects(prefix)",
                lambda: sorted(
                    o.object_name for o in client.list_objects(bucket, prefix="tenants/acme/", recursive=True)
                ),
            )
            assert listed == [
                "tenants/acme/notes/a.txt",
                "tenants/acme/notes/b.txt",
                "tenants/acme/uploads/big.bin",
                "tenants/acme/uploads/small.txt",
            ], listed
            top = sorted(o.object_name for o in client.list_objects(bucket, prefix="tenants/"))
            assert top == ["tenants/acme/", "tenants/globex/"], top
            print(f"list prefix tenants/acme/: {listed}")
            print(f"list prefix tenants/ (delimited): {top}")

            rss1, peak = _rss_kib(pid)

            def remove_all():
                names = [o.object_name for o in client.list_objects(bucket, recursive=True)]
                for n in names:
                    client.remove_object(bucket, n)
                client.remove_bucket(bucket)
                return len(names)

            n = step("remove objects+bucket", remove_all)
            try:
                client.stat_object(bucket, key)
                raise AssertionError("object still there after remove")
            except S3Error as e:
                assert e.code in ("NoSuchKey", "NoSuchBucket"), e.code
            assert not client.bucket_exists(bucket)
            print(f"removed {n} objects and the bucket")
        finally:
            rc = step("stop", srv.stop)
        assert srv.process.returncode is not None
        left = _pids_in_group(pid)
        assert not left, f"processes left in server's group: {left}"
        assert not os.path.exists(f"/proc/{pid}"), "server pid still exists"
        print(f"stopped: exit code {rc}, no process left in group {pid}")

    print(
        f"server RSS: {rss0 / 1024:.0f} MiB after start, {rss1 / 1024:.0f} MiB after "
        f"the 12 MiB upload/download, peak {peak / 1024:.0f} MiB"
    )
    print("timings:")
    for k, v in timings.items():
        print(f"  {k:<40} {v * 1000:9.1f} ms")
    print("smoke test: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
