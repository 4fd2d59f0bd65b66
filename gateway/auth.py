"""Who is calling: credentials from metadata to a Principal, plus rate limits.

Accepted credentials (metadata `authorization: Bearer <credential>`):
- tenant API keys `fdk_…` (hash checked against the account store)
- operator tokens signed by this deployment (from AuthService.OperatorLogin)
- visitor tokens signed by this deployment (from AuthService.CreateVisitorSession)
- operator JWTs of an OIDC provider, when FRONTDESK_OIDC_* is configured
- the deployment's platform token, for tenant creation only

Which credential may call what is gateway.access's table; this module says who the
caller is. An operator's role is the one stored now, not the one in the token, and a
token issued before the operator's password or role changed is refused
(OperatorRecord.session_epoch): both take effect on every gateway within
_ACCOUNT_TTL_S.
"""

from __future__ import annotations

import dataclasses
import hmac
import time

from frontdesk import logs
from frontdesk.caller import Caller, Kind
from frontdesk.errors import PermissionDenied, ResourceExhausted, Unauthenticated
from frontdesk.settings import Settings
from frontdesk.stores.base import AccountStore, OperatorRecord
from gateway import credentials as cred
from gateway.access import PLATFORM, wrong_kind
from gateway.access import Rule as _Rule
from gateway.ratelimit import RateLimiter

log = logs.get("gateway.auth")

_CACHE_TTL_S = 30.0  # tenants (for OIDC tokens and allowed origins)
# operators and a tenant's allowed origins: a deleted operator, a new role, a changed
# password or a changed site list takes effect within this on every gateway (one
# account-store read per operator, or per tenant, per interval)
_ACCOUNT_TTL_S = 2.0
ORIGIN_KEY = "x-web-origin"  # the browser's Origin, set by the gRPC-web translator only


class Authenticator:
    def __init__(self, settings: Settings, store: AccountStore, signer: cred.TokenSigner):
        self.settings = settings
        self.store = store
        self.signer = signer
        self.oidc = (
            cred.OidcVerifier(
                settings.oidc_issuer,
                settings.oidc_audience,
                settings.oidc_jwks_url,
                settings.oidc_tenant_claim,
                settings.oidc_role_claim,
            )
            if settings.oidc_issuer
            else None
        )
        self.tenant_limits = RateLimiter(settings.tenant_rate, settings.tenant_burst)
        self.caller_limits = RateLimiter(settings.visitor_rate, settings.visitor_burst)
        # operators and API keys: the admin panel polls several views, integrations batch
        self.staff_limits = RateLimiter(settings.operator_rate, settings.operator_burst)
        self._cache: dict[str, tuple[float, cred.Principal | None]] = {}

    async def authenticate(self, metadata, kinds) -> Caller:
        """The caller of a request, if its credential is valid and of an allowed kind,
        within the rate limits; otherwise the matching ServiceError."""
        credential = _bearer(metadata)
        if not credential:
            raise Unauthenticated("missing credentials: send 'authorization: Bearer <api key or token>'")
        principal = await self._principal(credential)
        if principal.kind not in kinds:
            raise PermissionDenied(wrong_kind(principal.kind, _Rule(frozenset(kinds))))
        if principal.kind == Kind.VISITOR:
            await self._check_origin(principal.tenant_id, metadata)
        if principal.kind != PLATFORM:
            self._limit(principal)
        return Caller(
            tenant_id=principal.tenant_id,
            kind=principal.kind,
            subject=principal.subject,
            role=principal.role,
            name=principal.display_name,
        )

    async def _principal(self, credential: str) -> cred.Principal:
        if self.settings.platform_token and hmac.compare_digest(
            credential.encode(), self.settings.platform_token.encode()
        ):
            return cred.Principal(tenant_id="", kind=PLATFORM, subject=PLATFORM, role=PLATFORM)
        try:
            if credential.startswith(cred.API_KEY_PREFIX):
                return await self._api_key(credential)
            if not cred.looks_like_jwt(credential):
                raise cred.CredentialError("malformed credentials: expected an API key or a token")
            if self.oidc is not None and cred.unverified_issuer(credential) == self.settings.oidc_issuer:
                principal = self.oidc.verify(credential)
                if await self._cached(f"tenant:{principal.tenant_id}", self._tenant_exists, principal) is None:
                    raise cred.CredentialError("token names an unknown tenant")
                return principal
            principal = self.signer.verify(credential)
            if principal.kind == Kind.OPERATOR:
                record: OperatorRecord | None = await self._cached(
                    f"op:{principal.tenant_id}:{principal.subject}", self._operator, principal, _ACCOUNT_TTL_S
                )
                if record is None:
                    raise cred.CredentialError("operator no longer exists")
                if record.session_epoch != principal.session_epoch:
                    raise cred.CredentialError("this session has ended (password or role changed): sign in again")
                # the role stored now, not the one the token was issued with
                return dataclasses.replace(principal, role=record.role, display_name=record.display_name)
            return principal
        except cred.CredentialError as err:
            raise Unauthenticated(str(err)) from None

    async def _api_key(self, plaintext: str) -> cred.Principal:
        key_id, secret = cred.parse_api_key(plaintext)
        record = await self.store.get_api_key(key_id)
        if record is None or not cred.verify_api_key_secret(secret, record.secret_hash):
            raise cred.CredentialError("API key is not valid")
        if record.revoked_ms:
            raise cred.CredentialError("API key has been revoked")
        return cred.Principal(
            tenant_id=record.tenant_id, kind=Kind.API_KEY, subject=record.id, role="admin", display_name=record.name
        )

    async def _cached(self, key: str, load, principal: cred.Principal, ttl_s: float = _CACHE_TTL_S):
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit and now - hit[0] < ttl_s:
            return hit[1]
        value = await load(principal)
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[key] = (now, value)
        return value

    async def _tenant_exists(self, principal):
        return principal if await self.store.get_tenant(principal.tenant_id) else None

    async def _operator(self, principal):
        return await self.store.get_operator(principal.tenant_id, principal.subject)

    async def _tenant(self, principal):
        return await self.store.get_tenant(principal.tenant_id)

    async def _check_origin(self, tenant_id: str, metadata) -> None:
        """A tenant that lists allowed_origins has its widget work on those sites only: a
        browser call from another page's origin is refused (non-browser clients send none)."""
        origin = next((v for k, v in metadata or () if k == ORIGIN_KEY), "")
        if not origin:
            return
        probe = cred.Principal(tenant_id=tenant_id, kind=Kind.VISITOR, subject="", role="visitor")
        tenant = await self._cached(f"tenant-record:{tenant_id}", self._tenant, probe, _ACCOUNT_TTL_S)
        if tenant is not None and not origin_allowed(origin, tenant.allowed_origins):
            raise PermissionDenied(f"this site ({origin[:100]}) is not allowed to use this chat widget")

    def forget_operator(self, tenant_id: str, operator_id: str) -> None:
        """Drop the cached record at once (this gateway changed it)."""
        self._cache.pop(f"op:{tenant_id}:{operator_id}", None)

    def forget_tenant(self, tenant_id: str) -> None:
        self._cache.pop(f"tenant-record:{tenant_id}", None)
        self._cache.pop(f"tenant:{tenant_id}", None)

    def _limit(self, principal: cred.Principal) -> None:
        wait = max(
            self.tenant_limits.acquire(principal.tenant_id),
            (self.caller_limits if principal.kind == Kind.VISITOR else self.staff_limits).acquire(
                f"{principal.tenant_id}:{principal.kind}:{principal.subject}"
            ),
        )
        if wait > 0:
            raise ResourceExhausted(
                f"rate limit exceeded; retry in {wait:.1f} s", trailers=(("retry-after", f"{wait:.3f}"),)
            )


def _bearer(metadata) -> str:
    for key, value in metadata or ():
        if key == "authorization":
            scheme, _, rest = value.partition(" ")
            return rest.strip() if scheme.lower() == "bearer" else value.strip()
        if key == "x-api-key":
            return value.strip()
    return ""


def origin_allowed(origin: str, allowed: list[str]) -> bool:
    """An empty list allows every site; entries are origins (https://shop.example) or
    host patterns (*.example.com)."""
    if not allowed:
        return True
    origin = origin.strip().rstrip("/").lower()
    host = origin.split("://", 1)[-1].split(":", 1)[0]
    for entry in allowed:
        entry = entry.strip().rstrip("/").lower()
        if entry == "*" or entry == origin:
            return True
        if entry.startswith("*.") and (host.endswith(entry[1:]) or host == entry[2:]):
            return True
    return False
