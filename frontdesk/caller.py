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
from collections.abc import Collection
from dataclasses import asdict, dataclass
from enum import StrEnum

import grpc

from frontdesk.errors import PermissionDenied

METADATA_KEY = "x-frontdesk-caller"
REQUEST_ID_KEY = "x-request-id"
_TTL_S = 300  # a forwarded context is only good for the call it rides on


class Kind(StrEnum):
    """Who is calling: the one list of caller kinds (a StrEnum, so it equals its wire string)."""

    VISITOR = "visitor"  # a customer in the widget (or a customer of the tenant's own app)
    OPERATOR = "operator"  # a person of the tenant's team, signed in
    API_KEY = "api_key"  # the tenant's own systems
    SERVICE = "service"  # one of our services, acting for the tenant


OPERATOR_SIDE = frozenset({Kind.OPERATOR, Kind.API_KEY, Kind.SERVICE})


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    kind: str  # a Kind
    subject: str  # visitor / key / operator id, or service name
    role: str  # visitor, admin, owner, agent, service
    name: str = ""

    @property
    def is_operator_side(self) -> bool:
        return self.kind in OPERATOR_SIDE


def require_operator(caller: Caller, refusal: str, roles: Collection[str] = ()) -> Caller:
    """The caller, when it is on the tenant's side (an operator, an API key or one of our
    services) and, if `roles` are given, holds one of them; else PERMISSION_DENIED saying
    `refusal`. Every internal servicer checks its callers through this."""
    if not caller.is_operator_side:
        raise PermissionDenied(refusal)
    if roles and caller.role not in roles:
        raise PermissionDenied(f"needs the {' or '.join(r for r in roles if r != 'service')} role")
    return caller


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

    async def require_operator(
        self, context: grpc.aio.ServicerContext, refusal: str, roles: Collection[str] = ()
    ) -> Caller:
        """The verified caller, checked by `require_operator`."""
        return require_operator(await self.require(context), refusal, roles)
