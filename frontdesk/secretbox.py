"""Tenant secrets at rest: hosted-model API keys and tool signing secrets.

    box = SecretBox.from_settings(settings)
    sealed = box.seal(tenant_id, "ai_api_key", "sk-...")      # text, safe to store in a record
    box.open(tenant_id, "ai_api_key", sealed)                   # -> "sk-...", or SecretError

AES-256-GCM (the `cryptography` package). Each data key is derived with HKDF-SHA256 from
one of the deployment's key secrets (FRONTDESK_DATA_KEYS, comma separated; empty = the
deployment secret) and named by a key id computed from it, which is stored beside the
ciphertext: the first key seals, every listed key opens, so a new key is rolled in by
putting it first and keeping the old one until every record was re-sealed. The tenant id
and the purpose are the associated data: a ciphertext copied into another tenant's record
(or into another field) does not open.

Format: `v1.<key id>.<base64url(nonce | ciphertext+tag)>`.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v1"
NONCE_BYTES = 12


class SecretError(Exception):
    """A sealed secret cannot be opened: unknown key id, wrong tenant or purpose, damaged."""


def _derive(secret: bytes) -> tuple[str, bytes]:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"frontdesk-secretbox-v1", info=b"frontdesk tenant secrets"
    ).derive(secret)
    kid = hashlib.sha256(b"kid:" + key).hexdigest()[:12]  # names the key without revealing it
    return kid, key


def _aad(tenant_id: str, purpose: str) -> bytes:
    if not tenant_id or not purpose:
        raise ValueError("a sealed secret needs its tenant id and purpose")
    return f"frontdesk/{VERSION}/{tenant_id}/{purpose}".encode()


class SecretBox:
    def __init__(self, secrets: list[bytes]):
        if not secrets or not all(secrets):
            raise ValueError("SecretBox needs at least one non-empty key secret")
        keys = [_derive(s) for s in secrets]
        self.current_kid = keys[0][0]
        self._keys = dict(keys)

    @classmethod
    def from_settings(cls, settings) -> SecretBox:
        listed = [s.strip().encode() for s in settings.data_keys.split(",") if s.strip()]
        return cls(listed or [settings.secret_bytes()])

    def seal(self, tenant_id: str, purpose: str, plaintext: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        data = AESGCM(self._keys[self.current_kid]).encrypt(nonce, plaintext.encode(), _aad(tenant_id, purpose))
        return f"{VERSION}.{self.current_kid}.{base64.urlsafe_b64encode(nonce + data).decode()}"

    def open(self, tenant_id: str, purpose: str, sealed: str) -> str:
        try:
            version, kid, blob = sealed.split(".", 2)
            raw = base64.urlsafe_b64decode(blob.encode())
        except (ValueError, AttributeError):
            raise SecretError("the stored secret is damaged") from None
        if version != VERSION:
            raise SecretError(f"the stored secret has an unknown format {version!r}")
        key = self._keys.get(kid)
        if key is None:
            raise SecretError(f"the stored secret was sealed with key {kid!r}, which this deployment does not have")
        try:
            return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(tenant_id, purpose)).decode()
        except (InvalidTag, ValueError):
            raise SecretError("the stored secret does not belong to this tenant or was altered") from None

    def needs_reseal(self, sealed: str) -> bool:
        """Sealed with an older key (rotation): re-seal on the next write."""
        return not sealed.startswith(f"{VERSION}.{self.current_kid}.")
