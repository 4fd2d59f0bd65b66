"""Who is calling: credentials from metadata to a Principal, plus rate limits.

Accepted credentials (metadata `authorization: Bearer <credential>`):
- tenant API keys `fdk_…` (hash checked against the account store)
- operator tokens signed by this deployment (from AuthService.OperatorLogin)
- visitor tokens signed by this deployment (from AuthService.CreateVisitorSession)
- operator JWTs of an OIDC provider, when FRONTDESK_OIDC_* is configured
- the deployment's platform token, for tenant creation only
"""

from __future__ import annotations

import hmac
import time

from frontdesk import logs
from frontdesk.caller import Caller
from frontdesk.errors import PermissionDenied, ResourceExhausted, Unauthenticated
from frontdesk.settings import Settings
from frontdesk.stores.base import AccountStore
from gateway import credentials as cred
from gateway.ratelimit import RateLimiter

log = logs.get("gateway.auth")

PLATFORM = "platform"
_CACHE_TTL_S = 30.0  # revocations and deleted operators take effect within this


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

    async def authenticate(self, metadata, *, kinds: set[str]) -> Caller:
        """The caller of a request, if its credential is valid and of an allowed kind,
        within the rate limits; otherwise the matching ServiceError."""
        credential = _bearer(metadata)
        if not credential:
            raise Unauthenticated("missing credentials: send 'authorization: Bearer <api key or token>'")
        principal = await self._principal(credential)
        if principal.kind not in kinds:
            raise PermissionDenied(_wrong_kind(principal.kind, kinds))
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
            if principal.kind == "operator":
                # a deleted operator's token stops working (within the cache time)
                if (
                    await self._cached(
                        f"op:{principal.tenant_id}:{principal.subject}", self._operator_exists, principal
                    )
                    is None
                ):
                    raise cred.CredentialError("operator no longer exists")
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
            tenant_id=record.tenant_id, kind="api_key", subject=record.id, role="admin", display_name=record.name
        )

    async def _cached(self, key: str, load, principal: cred.Principal):
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit and now - hit[0] < _CACHE_TTL_S:
            return hit[1]
        value = await load(principal)
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[key] = (now, value)
        return value

    async def _tenant_exists(self, principal):
        return principal if await self.store.get_tenant(principal.tenant_id) else None

    async def _operator_exists(self, principal):
        return principal if await self.store.get_operator(principal.tenant_id, principal.subject) else None

    def _limit(self, principal: cred.Principal) -> None:
        wait = max(
            self.tenant_limits.acquire(principal.tenant_id),
            (self.caller_limits if principal.kind == "visitor" else self.staff_limits).acquire(
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


def _wrong_kind(kind: str, allowed: set[str]) -> str:
    if allowed == {PLATFORM}:
        return "only the platform operator of this deployment may do this"
    if "visitor" in allowed and kind == "operator":
        return "this API is for customers; operators use AdminService"
    if "operator" in allowed:
        return "this API is for operators and API keys"
    return "these credentials cannot call this API"


def require_role(caller: Caller, *roles: str) -> None:
    if caller.role not in roles:
        raise PermissionDenied(f"needs the {' or '.join(roles)} role")
