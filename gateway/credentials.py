"""Credential primitives for the gateway: API keys, widget keys, operator
passwords, visitor identity HMACs, our own signed tokens and OIDC tokens.

Pure Python and transport-agnostic on purpose: the gRPC interceptors call
into this module and translate CredentialError into UNAUTHENTICATED, so
every CredentialError message must be safe to show to the caller.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from frontdesk.caller import Kind


class CredentialError(Exception):
    """Authentication failed. The message is returned to the caller, so it
    must be human-readable and must never contain secrets or token contents."""


@dataclass(frozen=True)
class Principal:
    """Who is calling, as established by one of the verifiers below."""

    tenant_id: str
    kind: str  # a frontdesk.caller.Kind: api_key, operator or visitor
    subject: str  # api key id / operator id / visitor id
    role: str  # "owner" | "admin" | "agent" for operators, "admin" for api keys, "visitor" for visitors
    verified_identity: bool = False  # visitor whose external identity was HMAC-verified
    display_name: str = ""
    session_epoch: int = 0  # operators: the OperatorRecord.session_epoch the token was issued in


OPERATOR_ROLES = frozenset({"owner", "admin", "agent"})


def _is_operator_role(value: object) -> bool:
    # isinstance first: claims may hold lists (e.g. Keycloak roles), which are unhashable.
    return isinstance(value, str) and value in OPERATOR_ROLES


# --- tenant API keys ---------------------------------------------------------
# The secret carries 256 bits of randomness, so a slow password hash would add
# latency to every request without adding security; SHA-256 is sufficient.

API_KEY_PREFIX = "fdk_"
_KEY_ID_BYTES = 6  # 12 hex chars
_API_SECRET_BYTES = 32
# Hex for both parts: no '_' can appear inside them, so the format is
# unambiguous and parsing is a single strict match.
_API_KEY_RE = re.compile(rf"{API_KEY_PREFIX}([0-9a-f]{{{2 * _KEY_ID_BYTES}}})_([0-9a-f]{{{2 * _API_SECRET_BYTES}}})")


def new_api_key() -> tuple[str, str, str]:
    """Returns (key_id, plaintext_key, secret_hash).

    The plaintext is shown to the tenant once; only key_id and secret_hash are
    stored, so a database leak does not leak usable keys.
    """
    key_id = secrets.token_hex(_KEY_ID_BYTES)
    secret = secrets.token_hex(_API_SECRET_BYTES)
    return key_id, f"{API_KEY_PREFIX}{key_id}_{secret}", hash_api_key_secret(secret)


def parse_api_key(plaintext: str) -> tuple[str, str]:
    """Split 'fdk_<key_id>_<secret>' into (key_id, secret)."""
    match = _API_KEY_RE.fullmatch(plaintext) if isinstance(plaintext, str) else None
    if match is None:
        raise CredentialError("malformed API key")
    return match.group(1), match.group(2)


def hash_api_key_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def verify_api_key_secret(secret: str, stored_hash: str) -> bool:
    # compare_digest on bytes: constant time, and no TypeError on non-ASCII input.
    return hmac.compare_digest(hash_api_key_secret(secret).encode("ascii"), stored_hash.encode("utf-8"))


# --- widget keys ---------------------------------------------------------------

WIDGET_KEY_PREFIX = "wk_"


def new_widget_key() -> str:
    """Public identifier embedded in a tenant's website; not a secret, but
    random so tenants' widgets cannot be enumerated."""
    return WIDGET_KEY_PREFIX + secrets.token_hex(12)


# --- operator passwords --------------------------------------------------------

MIN_PASSWORD_LENGTH = 8
# argon2-cffi defaults are argon2id with RFC 9106 "low memory" parameters;
# password_needs_rehash() picks up future changes to those defaults.
_password_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise CredentialError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    return _password_hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """False for a wrong password or a corrupt hash; callers only need yes/no."""
    try:
        return _password_hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(stored_hash: str) -> bool:
    """True when the hash uses outdated parameters (or cannot be parsed), so
    the caller should re-hash the password it has just verified."""
    try:
        return _password_hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


# --- visitor identity verification --------------------------------------------
# The tenant's backend computes HMAC-SHA256(identity_secret, external_id) and
# hands it to the widget; a matching HMAC proves the visitor is that user.

_HEX_SHA256_RE = re.compile(r"[0-9a-fA-F]{64}")


def identity_hmac(identity_secret: str, external_id: str) -> str:
    if not identity_secret:
        # An empty key would make the "proof" computable by anyone.
        raise ValueError("identity_secret must not be empty")
    return hmac.new(identity_secret.encode("utf-8"), external_id.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_identity_hmac(identity_secret: str, external_id: str, provided_hex: str) -> bool:
    """Constant-time check; False (never an exception) for malformed input or
    a tenant without an identity secret."""
    if not identity_secret or not isinstance(provided_hex, str):
        return False
    if not _HEX_SHA256_RE.fullmatch(provided_hex):
        return False
    expected = identity_hmac(identity_secret, external_id)
    return hmac.compare_digest(expected, provided_hex.lower())


# --- our own signed tokens (HS256) ------------------------------------------------

_TOKEN_ALGORITHM = "HS256"
_MIN_SIGNING_SECRET_BYTES = 32  # RFC 7518 §3.2: HS256 key at least as long as the hash
_CLOCK_SKEW_S = 30  # tolerated for 'iat' only, between gateway replicas
_VERIFIED_CACHE = 50_000  # tokens whose signature was checked (about 15 MB at most)
_TYP_OPERATOR = "operator"
_TYP_VISITOR = "visitor"


def _int_claim(claims: dict[str, Any], name: str) -> int:
    value = claims.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class TokenSigner:
    """Issues and verifies short-lived tokens for operators and visitors.

    Expiry is checked against the injected clock rather than by PyJWT (which
    always uses the wall clock), so tests can move time without sleeping.
    """

    def __init__(
        self,
        secret: str | bytes,
        issuer: str = "frontdesk",
        clock: Callable[[], float] = time.time,
    ):
        key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
        if len(key) < _MIN_SIGNING_SECRET_BYTES:
            raise ValueError(f"token signing secret must be at least {_MIN_SIGNING_SECRET_BYTES} bytes")
        self._key = key
        self._issuer = issuer
        self._clock = clock
        # token -> (exp, principal): a client sends the same token on every call, and a
        # verified signature stays verified; only the expiry is checked again
        self._verified: OrderedDict[str, tuple[int, Principal]] = OrderedDict()

    def issue_operator_token(
        self,
        tenant_id: str,
        operator_id: str,
        role: str,
        ttl_s: int = 8 * 3600,
        display_name: str = "",
        session_epoch: int = 0,
    ) -> str:
        if not _is_operator_role(role):
            raise ValueError(f"unknown operator role: {role!r}")
        extra = {"role": role, "name": display_name, "sep": int(session_epoch)}
        return self._issue(_TYP_OPERATOR, tenant_id, operator_id, ttl_s, extra)

    def issue_visitor_token(
        self,
        tenant_id: str,
        visitor_id: str,
        verified_identity: bool,
        ttl_s: int = 30 * 24 * 3600,
    ) -> str:
        return self._issue(_TYP_VISITOR, tenant_id, visitor_id, ttl_s, {"vid": bool(verified_identity)})

    def _issue(self, typ: str, tenant_id: str, subject: str, ttl_s: int, extra: dict[str, Any]) -> str:
        if not tenant_id or not subject:
            raise ValueError("tenant_id and subject must not be empty")
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        now = int(self._clock())
        claims = {
            "iss": self._issuer,
            "sub": subject,
            "tid": tenant_id,
            "typ": typ,
            "iat": now,
            "exp": now + ttl_s,
            **extra,
        }
        return jwt.encode(claims, self._key, algorithm=_TOKEN_ALGORITHM)

    def verify(self, token: str) -> Principal:
        hit = self._verified.get(token)
        if hit is not None:
            if hit[0] <= self._clock():
                del self._verified[token]
                raise CredentialError("token expired")
            return hit[1]
        principal, exp = self._verify(token)
        self._verified[token] = (exp, principal)
        if len(self._verified) > _VERIFIED_CACHE:
            self._verified.popitem(last=False)
        return principal

    def _verify(self, token: str) -> tuple[Principal, int]:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_TOKEN_ALGORITHM],  # pinned: never trust the header's 'alg'
                issuer=self._issuer,
                options={
                    "require": ["iss", "sub", "tid", "typ", "iat", "exp"],
                    # Time claims are checked below against the injected clock.
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidTokenError as e:
            raise CredentialError("invalid token") from e

        now = self._clock()
        exp, iat = claims["exp"], claims["iat"]
        if not isinstance(exp, int) or not isinstance(iat, int):
            raise CredentialError("invalid token")
        if exp <= now:
            raise CredentialError("token expired")
        if iat > now + _CLOCK_SKEW_S:
            raise CredentialError("token not yet valid")

        tenant_id, subject = claims["tid"], claims["sub"]
        if claims["typ"] == _TYP_OPERATOR:
            role = claims.get("role")
            if not _is_operator_role(role):
                raise CredentialError("invalid token")
            return Principal(
                tenant_id=tenant_id,
                kind=Kind.OPERATOR,
                subject=subject,
                role=str(role),
                display_name=str(claims.get("name", "")),
                session_epoch=_int_claim(claims, "sep"),
            ), exp
        if claims["typ"] == _TYP_VISITOR:
            # Role is fixed here, not read from claims: a visitor token can
            # never carry operator privileges.
            return Principal(
                tenant_id=tenant_id,
                kind=Kind.VISITOR,
                subject=subject,
                role="visitor",
                verified_identity=claims.get("vid") is True,
            ), exp
        raise CredentialError("invalid token")


# --- operator tokens from an external OIDC provider --------------------------------

_OIDC_LEEWAY_S = 30  # the provider's clock is not ours
_JWKS_TIMEOUT_S = 5.0  # a hung IdP must not stall request handling for PyJWT's default 30 s


class OidcVerifier:
    """Verifies operator JWTs issued by an OIDC provider (Cognito, Keycloak,
    Auth0) against the provider's JWKS. The tenant and role come from custom
    claims the tenant configures in its provider."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        jwks_url: str,
        tenant_claim: str = "frontdesk_tenant",
        role_claim: str = "frontdesk_role",
        algorithms=("RS256", "ES256"),
        cache_ttl_s: int = 300,
    ):
        self._issuer = issuer
        self._audience = audience
        self._tenant_claim = tenant_claim
        self._role_claim = role_claim
        # Asymmetric algorithms only: accepting HS* would let anyone who knows
        # the public key forge tokens.
        self._algorithms = list(algorithms)
        # PyJWKClient caches the key set for cache_ttl_s and refetches early
        # (rate-limited) when it sees an unknown kid, which covers key rotation.
        self._jwks = jwt.PyJWKClient(jwks_url, lifespan=cache_ttl_s, timeout=_JWKS_TIMEOUT_S)

    def verify(self, token: str) -> Principal:
        try:
            signing_key = self._jwks.get_signing_key_from_jwt(token)
        except (jwt.PyJWKClientConnectionError, jwt.PyJWKSetError, ValueError) as e:
            # Unreachable endpoint or a JWKS we cannot parse (JSONDecodeError
            # is a ValueError): the caller is not at fault.
            raise CredentialError("identity provider unavailable") from e
        except jwt.PyJWKClientError as e:
            raise CredentialError("token signing key is not known to the identity provider") from e
        except jwt.InvalidTokenError as e:
            raise CredentialError("invalid token") from e

        try:
            claims = jwt.decode(
                token,
                signing_key,
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                leeway=_OIDC_LEEWAY_S,
                options={"require": ["iss", "aud", "sub", "exp"]},
            )
        except jwt.ExpiredSignatureError as e:
            raise CredentialError("token expired") from e
        except jwt.InvalidAudienceError as e:
            raise CredentialError("token was issued for a different audience") from e
        except jwt.InvalidIssuerError as e:
            raise CredentialError("token was issued by an unexpected issuer") from e
        except jwt.InvalidSignatureError as e:
            raise CredentialError("token signature is invalid") from e
        except jwt.InvalidTokenError as e:
            raise CredentialError("invalid token") from e

        tenant_id = claims.get(self._tenant_claim)
        if not isinstance(tenant_id, str) or not tenant_id:
            raise CredentialError(f"token has no '{self._tenant_claim}' claim")
        role = claims.get(self._role_claim, "agent")
        if not _is_operator_role(role):
            raise CredentialError(f"token '{self._role_claim}' claim must be one of owner, admin, agent")
        return Principal(
            tenant_id=tenant_id,
            kind=Kind.OPERATOR,
            subject="oidc:" + str(claims["sub"]),
            role=role,
            display_name=str(claims.get("name") or claims.get("email") or ""),
        )


# --- routing helpers ------------------------------------------------------------------

_JWT_RE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def looks_like_jwt(token: str) -> bool:
    """Three non-empty base64url segments (unsigned 'alg: none' tokens, with
    an empty third segment, are deliberately not JWTs to us)."""
    return isinstance(token, str) and _JWT_RE.fullmatch(token) is not None


def unverified_issuer(token: str) -> str | None:
    """Peek at 'iss' WITHOUT verifying, only to pick which verifier to use;
    the chosen verifier then checks the signature and the issuer itself."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    iss = claims.get("iss")
    return iss if isinstance(iss, str) else None
