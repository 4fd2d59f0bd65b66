"""The caller context the gateway hands to internal services.

The gateway authenticates the public credential and forwards who the caller is in
signed `x-frontdesk-caller` metadata. Internal services verify the signature and take
the tenant from it, never from a request field, so a request cannot name another
tenant and a forged header without the deployment secret is rejected.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import asdict, dataclass

import grpc

METADATA_KEY = "x-frontdesk-caller"
REQUEST_ID_KEY = "x-request-id"
_TTL_S = 300  # a forwarded context is only good for the call it rides on


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    kind: str  # visitor, api_key, operator, service
    subject: str  # visitor / key / operator id, or service name
    role: str  # visitor, admin, owner, agent, service
    name: str = ""

    @property
    def is_operator_side(self) -> bool:
        return self.kind in ("operator", "api_key", "service")


class CallerCodec:
    def __init__(self, secret: bytes):
        self._key = hashlib.sha256(b"frontdesk-caller:" + secret).digest()

    def encode(self, caller: Caller, now: float | None = None) -> str:
        body = dict(asdict(caller), exp=int((time.time() if now is None else now) + _TTL_S))
        raw = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode()
        sig = hmac.new(self._key, raw.encode(), hashlib.sha256).hexdigest()
        return f"{raw}.{sig}"

    def decode(self, value: str, now: float | None = None) -> Caller | None:
        raw, _, sig = value.partition(".")
        good = hmac.new(self._key, raw.encode(), hashlib.sha256).hexdigest()
        if not sig or not hmac.compare_digest(sig, good):
            return None
        try:
            body = json.loads(base64.urlsafe_b64decode(raw.encode()))
            if body.pop("exp") < (time.time() if now is None else now):
                return None
            return Caller(**body)
        except (ValueError, TypeError, KeyError):
            return None

    def metadata(self, caller: Caller, request_id: str = "") -> tuple[tuple[str, str], ...]:
        md = ((METADATA_KEY, self.encode(caller)),)
        return md + (((REQUEST_ID_KEY, request_id),) if request_id else ())

    async def require(self, context: grpc.aio.ServicerContext) -> Caller:
        """The verified caller of an internal RPC, or UNAUTHENTICATED."""
        for key, value in context.invocation_metadata() or ():
            if key == METADATA_KEY:
                caller = self.decode(value)
                if caller is not None:
                    return caller
                break
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, "internal call without a valid caller context")
        raise AssertionError("unreachable")
