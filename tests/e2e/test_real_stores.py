"""The whole mesh on the production stores: conversations and accounts in a real CQL
server (Cassandra, standing in for Scylla), uploads in a real MinIO; started by the
supervisor as `make run STORE=real` does."""

from __future__ import annotations

import json

import grpc
import pytest

from frontdesk_pb.chat.v1 import chat_pb2
from tests.conftest import start_mesh
from tests.e2e.helpers import Client


@pytest.fixture(scope="module")
def real_mesh(tmp_path_factory):
    mesh = start_mesh(
        tmp_path_factory.mktemp("real") / "data", log_store="scylla", blob_store="minio", local_servers=1, timeout_s=900
    )
    yield mesh
    mesh.stop()


async def test_chat_history_and_attachments_on_real_servers(real_mesh):
    async with real_mesh.channel() as ch:
        c = Client(ch)
        _, md = await c.visitor(real_mesh.demo["widget_key"])
        conv = await c.start(md)
        sent, deltas, reply = await c.ask(md, conv, "Is my data in Cassandra?")
        assert deltas and reply.text == "You said: Is my data in Cassandra?"
        att = await c.chat.UploadAttachment(
            chat_pb2.UploadAttachmentRequest(
                conversation_id=conv, filename="note.txt", content_type="text/plain", data=b"kept in MinIO"
            ),
            metadata=md,
        )
        got = await c.chat.GetAttachment(
            chat_pb2.GetAttachmentRequest(conversation_id=conv, attachment_id=att.id), metadata=md
        )
        assert got.data == b"kept in MinIO" and got.download_url.startswith("http://127.0.0.1:")
        history = await c.chat.ListMessages(chat_pb2.ListMessagesRequest(conversation_id=conv), metadata=md)
        assert [m.id for m in history.messages] == [sent.id, reply.id]
    assert not (real_mesh.data_dir / "logs.db").exists(), "nothing went to the embedded store"
    assert (real_mesh.data_dir / "cassandra").is_dir() and (real_mesh.data_dir / "minio").is_dir()


async def test_a_customers_export_reads_cassandra_and_minio(real_mesh):
    from tests.e2e.test_data_rights import export

    async with real_mesh.channel() as ch:
        c = Client(ch)
        visitor, md = await c.visitor(real_mesh.demo["widget_key"])
        conv = await c.start(md)
        await c.ask(md, conv, "Please export what you keep about me")
        att = await c.chat.UploadAttachment(
            chat_pb2.UploadAttachmentRequest(
                conversation_id=conv, filename="id.txt", content_type="text/plain", data=b"my file in MinIO"
            ),
            metadata=md,
        )
        await c.chat.SendMessage(
            chat_pb2.SendMessageRequest(conversation_id=conv, text="with a file", attachment_ids=[att.id]), metadata=md
        )
        owner = await c.operator(
            real_mesh.demo["slug"], real_mesh.demo["owner_email"], real_mesh.demo["owner_password"]
        )
        _, archive = await export(c, owner, visitor)
        assert archive.read(f"conversations/{conv}/attachments/{att.id}-id.txt") == b"my file in MinIO"
        said = archive.read(f"conversations/{conv}/messages.jsonl").decode()
        assert "Please export what you keep about me" in said and "with a file" in said


async def test_a_customers_erasure_leaves_nothing_in_cassandra_or_minio(real_mesh):
    """Every table of the keyspace and every object in the bucket, read after the erasure: none
    names the customer or their conversation, or holds their words or file (deleted rows are
    tombstones, unreadable at once and gone from disk at compaction after gc_grace_seconds)."""
    from cassandra.cluster import Cluster
    from minio import Minio

    from frontdesk_pb.admin.v1 import admin_pb2

    async with real_mesh.channel() as ch:
        c = Client(ch)
        visitor, md = await c.visitor(real_mesh.demo["widget_key"], name="Erin Erased")
        conv = await c.start(md)
        await c.ask(md, conv, "please forget quuxcassandra about me")
        att = await c.chat.UploadAttachment(
            chat_pb2.UploadAttachmentRequest(
                conversation_id=conv, filename="me.txt", content_type="text/plain", data=b"quuxminio file"
            ),
            metadata=md,
        )
        await c.chat.SendMessage(
            chat_pb2.SendMessageRequest(conversation_id=conv, text="my file", attachment_ids=[att.id]), metadata=md
        )
        owner = await c.operator(
            real_mesh.demo["slug"], real_mesh.demo["owner_email"], real_mesh.demo["owner_password"]
        )
        done = await c.admin.EraseCustomerData(admin_pb2.EraseCustomerDataRequest(visitor_id=visitor), metadata=owner)
        assert done.conversations == 1 and done.messages >= 3 and done.files == 1

    runtime = json.loads((real_mesh.data_dir / "runtime.json").read_text())["local_servers"]
    host, port = runtime["cql"].rsplit(":", 1)
    cluster = Cluster([host], port=int(port))
    try:
        session = cluster.connect()
        tables = [
            r.table_name
            for r in session.execute("SELECT table_name FROM system_schema.tables WHERE keyspace_name = 'frontdesk'")
        ]
        assert "messages" in tables and "message_terms" in tables
        rows = {t: "\n".join(repr(r) for r in session.execute(f"SELECT * FROM frontdesk.{t}")) for t in tables}
    finally:
        cluster.shutdown()
    for table, content in rows.items():
        words = ("quuxcassandra", "Erin Erased", "my file")
        # the audit log keeps who erased which customer id (its point), nothing else of theirs
        for trace in words if table == "audit_log" else (visitor, conv, att.id, *words):
            assert trace not in content, f"{table}: {trace}"
    keys = json.loads((real_mesh.data_dir / "minio-credentials.json").read_text())
    s3 = Minio(runtime["s3"], access_key=keys["access_key"], secret_key=keys["secret_key"], secure=False)
    names = [o.object_name for o in s3.list_objects("frontdesk", recursive=True)]
    assert not [n for n in names if conv in n]


async def test_another_tenant_cannot_read_on_real_servers(real_mesh):
    async with real_mesh.channel() as ch:
        c = Client(ch)
        _, md = await c.visitor(real_mesh.demo["widget_key"])
        conv = await c.start(md)
        _, stranger = await c.visitor(real_mesh.demo["widget_key"])
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await c.chat.ListMessages(chat_pb2.ListMessagesRequest(conversation_id=conv), metadata=stranger)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_store_that_is_down_answers_unavailable_and_acknowledges_nothing(real_mesh):
    """Runs last in this module: it kills the module's Cassandra."""
    import json
    import os
    import signal

    async with real_mesh.channel() as ch:
        c = Client(ch)
        _, md = await c.visitor(real_mesh.demo["widget_key"])
        conv = await c.start(md)
        pid = json.loads((real_mesh.data_dir / "runtime.json").read_text())["pids"]["cassandra"]
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await c.chat.SendMessage(
                chat_pb2.SendMessageRequest(conversation_id=conv, text="are you there?"), metadata=md, timeout=30
            )
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "retry" in info.value.details() and "Traceback" not in info.value.details()
