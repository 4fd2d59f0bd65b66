"""Storage behind interfaces: the log store (conversations, messages, feedback), the
account store (tenants, API keys, operators) and the blob store (uploads). The
embedded default uses SQLite and a local directory; Scylla and MinIO implement the
same interfaces for distributed deployments."""

from frontdesk.settings import StartupError
from frontdesk.stores.base import (
    AccountStore,
    ApiKeyRecord,
    BlobStore,
    Conflict,
    LogStore,
    OperatorRecord,
    OutboxEntry,
    StoreUnavailable,
    TenantRecord,
    ToolCallEntry,
    ToolRecord,
)

__all__ = [
    "AccountStore",
    "ApiKeyRecord",
    "BlobStore",
    "Conflict",
    "LogStore",
    "OperatorRecord",
    "OutboxEntry",
    "StoreUnavailable",
    "TenantRecord",
    "ToolCallEntry",
    "ToolRecord",
    "open_account_store",
    "open_blob_store",
    "open_log_store",
]


def cql_options(settings) -> dict:
    replication: dict[str, str | int] | None = None
    if settings.scylla_replication:
        replication = {"class": "NetworkTopologyStrategy"}
        for part in settings.scylla_replication.split(","):
            dc, _, factor = part.partition(":")
            replication[dc.strip()] = int(factor)
    return {
        "contact_points": [p.strip() for p in settings.scylla_contact_points.split(",") if p.strip()],
        "keyspace": settings.scylla_keyspace,
        "replication": replication,
        "consistency": settings.scylla_consistency,
        "username": settings.scylla_username,
        "password": settings.scylla_password,
    }


def open_log_store(settings):
    if settings.log_store == "embedded":
        from frontdesk.stores.sqlite import SqliteLogStore

        return SqliteLogStore(settings.data_dir / "logs.db")
    if settings.log_store == "scylla":
        from frontdesk.stores.cql import CqlLogStore

        return CqlLogStore(**cql_options(settings))
    raise StartupError(f"unknown log store {settings.log_store!r} (known: embedded, scylla)")


def open_account_store(settings):
    if settings.log_store == "embedded":
        from frontdesk.stores.sqlite import SqliteAccountStore

        return SqliteAccountStore(settings.data_dir / "accounts.db")
    if settings.log_store == "scylla":
        from frontdesk.stores.cql import CqlAccountStore

        return CqlAccountStore(**cql_options(settings))
    raise StartupError(f"unknown log store {settings.log_store!r} (known: embedded, scylla)")


async def tenant_by_slug(settings, slug: str):
    """The tenant with this slug, or None: for command-line tools that name a tenant."""
    accounts = open_account_store(settings)
    try:
        return await accounts.find_tenant(slug=slug)
    finally:
        await accounts.close()


def open_blob_store(settings):
    if settings.blob_store == "embedded":
        from frontdesk.stores.localblob import LocalBlobStore

        return LocalBlobStore(settings.data_dir / "blobs")
    if settings.blob_store == "minio":
        from frontdesk.stores.s3blob import MinioBlobStore

        return MinioBlobStore(
            settings.minio_endpoint,
            settings.minio_access_key,
            settings.minio_secret_key,
            settings.minio_bucket,
            secure=settings.minio_secure,
        )
    raise StartupError(f"unknown blob store {settings.blob_store!r} (known: embedded, minio)")
