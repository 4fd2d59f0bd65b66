"""Storage behind interfaces: the log store (conversations, messages, feedback), the
account store (tenants, API keys, operators) and the blob store (uploads). The
embedded default uses SQLite and a local directory; Scylla and MinIO implement the
same interfaces for distributed deployments."""

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
)

__all__ = ["AccountStore", "ApiKeyRecord", "BlobStore", "Conflict", "LogStore", "OperatorRecord", "OutboxEntry", "StoreUnavailable",
           "TenantRecord", "open_account_store", "open_blob_store", "open_log_store"]


def open_log_store(settings):
    if settings.log_store == "embedded":
        from frontdesk.stores.sqlite import SqliteLogStore

        return SqliteLogStore(settings.data_dir / "logs.db")
    raise SystemExit(f"unknown log store {settings.log_store!r} (known: embedded)")


def open_account_store(settings):
    if settings.log_store == "embedded":
        from frontdesk.stores.sqlite import SqliteAccountStore

        return SqliteAccountStore(settings.data_dir / "accounts.db")
    raise SystemExit(f"unknown log store {settings.log_store!r} (known: embedded)")


def open_blob_store(settings):
    if settings.blob_store == "embedded":
        from frontdesk.stores.localblob import LocalBlobStore

        return LocalBlobStore(settings.data_dir / "blobs")
    if settings.blob_store == "minio":
        from frontdesk.stores.s3blob import MinioBlobStore

        return MinioBlobStore(settings.minio_endpoint, settings.minio_access_key, settings.minio_secret_key,
                              settings.minio_bucket, secure=settings.minio_secure)
    raise SystemExit(f"unknown blob store {settings.blob_store!r} (known: embedded, minio)")
