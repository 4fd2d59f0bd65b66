"""Behavioural tests for gateway.credentials.

OIDC tests serve a real JWKS document from a local HTTP server so the
PyJWKClient fetch/caching path is exercised end to end.
"""

import base64
import hashlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.credentials import (
    API_KEY_PREFIX,
    WIDGET_KEY_PREFIX,
    CredentialError,
    OidcVerifier,
    Principal,
    TokenSigner,
    hash_api_key_secret,
    hash_password,
    identity_hmac,
    looks_like_jwt,
    new_api_key,
    new_widget_key,
    parse_api_key,
    password_needs_rehash,
    unverified_issuer,
    verify_api_key_secret,
    verify_identity_hmac,
    verify_password,
)

pytestmark = pytest.mark.unit

SECRET = "s" * 32
OTHER_SECRET = "t" * 32


# --- API keys -------------------------------------------------------------------


def test_api_key_roundtrip():
    key_id, plaintext, secret_hash = new_api_key()

    parsed_id, secret = parse_api_key(plaintext)

    assert parsed_id == key_id
    assert plaintext == f"{API_KEY_PREFIX}{key_id}_{secret}"
    assert len(key_id) == 12 and key_id == key_id.lower()
    assert len(secret) >= 43  # >= 32 bytes of randomness, however encoded
    assert secret not in secret_hash
    assert verify_api_key_secret(secret, secret_hash)


def test_api_keys_are_unique():
    keys = [new_api_key() for _ in range(50)]
    assert len({k[0] for k in keys}) == 50
    assert len({k[1] for k in keys}) == 50


def test_api_key_wrong_secret_is_rejected():
    _, plaintext, secret_hash = new_api_key()
    _, other_plaintext, _ = new_api_key()
    _, other_secret = parse_api_key(other_plaintext)

    assert not verify_api_key_secret(other_secret, secret_hash)
    assert not verify_api_key_secret(parse_api_key(plaintext)[1], "not-a-hash-é")


def test_hash_api_key_secret_is_deterministic_sha256():
    assert hash_api_key_secret("abc") == hashlib.sha256(b"abc").hexdigest()


# Fixed, not freshly generated: a random key id may be all digits, and then the
# upper-cased variant below is the same valid key (CI once drew 758839015295).
_VALID_ID = "a1b2c3d4e5f6"
_VALID_SECRET = "0f" * 32
_VALID_KEY = f"{API_KEY_PREFIX}{_VALID_ID}_{_VALID_SECRET}"


def test_the_malformed_cases_below_start_from_a_valid_key():
    assert parse_api_key(_VALID_KEY) == (_VALID_ID, _VALID_SECRET)


@pytest.mark.parametrize(
    "plaintext",
    [
        "",
        "fdk_",
        "fdk__",
        f"sk_{_VALID_ID}_{_VALID_SECRET}",  # wrong prefix
        f"{_VALID_ID}_{_VALID_SECRET}",  # no prefix
        f"fdk_{_VALID_ID}",  # missing secret
        f"fdk_{_VALID_ID}_",  # empty secret
        f"fdk__{_VALID_SECRET}",  # missing key id
        f"fdk_{_VALID_ID}{_VALID_SECRET}",  # missing separator
        f"fdk_{_VALID_ID}_{_VALID_SECRET}x",  # trailing garbage
        f"fdk_{_VALID_ID}_{_VALID_SECRET}_extra",  # extra part
        f"{_VALID_KEY}\n",
        f" {_VALID_KEY}",
        f"fdk_{_VALID_ID}_{_VALID_SECRET[:-2]}",  # truncated secret
        f"fdk_{_VALID_ID.upper()}_{_VALID_SECRET}",
        f"fdk_{_VALID_ID}_{_VALID_SECRET.upper()}",
        f"FDK_{_VALID_ID}_{_VALID_SECRET}",
    ],
)
def test_malformed_api_keys_are_rejected(plaintext):
    with pytest.raises(CredentialError) as exc:
        parse_api_key(plaintext)
    assert str(exc.value) == "malformed API key"


# --- widget keys ------------------------------------------------------------------


def test_widget_keys_are_prefixed_unique_and_not_api_keys():
    keys = {new_widget_key() for _ in range(50)}
    assert len(keys) == 50
    for key in keys:
        assert key.startswith(WIDGET_KEY_PREFIX)
        with pytest.raises(CredentialError):
            parse_api_key(key)


# --- passwords ----------------------------------------------------------------------


def test_password_roundtrip_and_wrong_password():
    stored = hash_password("correct horse")

    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert verify_password(stored, "correct horse")
    assert not verify_password(stored, "correct horsE")
    assert not password_needs_rehash(stored)


@pytest.mark.parametrize("password", ["", "1234567"])
def test_short_password_is_rejected(password):
    with pytest.raises(CredentialError, match="at least 8"):
        hash_password(password)


def test_eight_character_password_is_accepted():
    assert verify_password(hash_password("12345678"), "12345678")


@pytest.mark.parametrize("stored", ["", "plaintext", "$argon2id$v=19$garbage"])
def test_verify_password_with_invalid_hash_returns_false(stored):
    assert not verify_password(stored, "whatever123")


def test_weak_parameter_hash_still_verifies_but_needs_rehash():
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("legacy-password")

    assert verify_password(weak, "legacy-password")
    assert password_needs_rehash(weak)
    assert password_needs_rehash("not a hash")


# --- identity HMAC --------------------------------------------------------------------

# RFC 4231 test case 2: an independent check that this is plain HMAC-SHA256.
RFC4231_KEY = "Jefe"
RFC4231_DATA = "what do ya want for nothing?"
RFC4231_MAC = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


def test_identity_hmac_matches_rfc4231_vector():
    assert identity_hmac(RFC4231_KEY, RFC4231_DATA) == RFC4231_MAC


def test_verify_identity_hmac_good():
    assert verify_identity_hmac(RFC4231_KEY, RFC4231_DATA, RFC4231_MAC)
    assert verify_identity_hmac(RFC4231_KEY, RFC4231_DATA, RFC4231_MAC.upper())


def test_verify_identity_hmac_bad():
    assert not verify_identity_hmac(RFC4231_KEY, "someone-else", RFC4231_MAC)
    assert not verify_identity_hmac("other-secret", RFC4231_DATA, RFC4231_MAC)
    flipped = ("0" if RFC4231_MAC[0] != "0" else "1") + RFC4231_MAC[1:]
    assert not verify_identity_hmac(RFC4231_KEY, RFC4231_DATA, flipped)


@pytest.mark.parametrize(
    "provided",
    ["", "zz" * 32, RFC4231_MAC[:-1], RFC4231_MAC + "0", " " + RFC4231_MAC, None],
)
def test_verify_identity_hmac_malformed(provided):
    assert not verify_identity_hmac(RFC4231_KEY, RFC4231_DATA, provided)


def test_empty_identity_secret_never_verifies():
    with pytest.raises(ValueError):
        identity_hmac("", "user-1")
    forged = hashlib.sha256(b"").hexdigest()
    assert not verify_identity_hmac("", "user-1", forged)


# --- our tokens ---------------------------------------------------------------------------


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def signer(clock):
    return TokenSigner(SECRET, clock=clock)


def _payload(token: str) -> dict:
    segment = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_operator_token_roundtrip(signer):
    token = signer.issue_operator_token("t1", "op-7", "admin", display_name="Ada")

    assert signer.verify(token) == Principal(
        tenant_id="t1", kind="operator", subject="op-7", role="admin", display_name="Ada"
    )


@pytest.mark.parametrize("verified", [True, False])
def test_visitor_token_roundtrip(signer, verified):
    token = signer.issue_visitor_token("t1", "v-42", verified_identity=verified)

    assert signer.verify(token) == Principal(
        tenant_id="t1", kind="visitor", subject="v-42", role="visitor", verified_identity=verified
    )


def test_token_expires_on_injected_clock(signer, clock):
    token = signer.issue_operator_token("t1", "op-7", "agent", ttl_s=60)

    clock.now += 59
    assert signer.verify(token).subject == "op-7"
    clock.now += 1
    with pytest.raises(CredentialError, match="^token expired$"):
        signer.verify(token)


def test_visitor_token_default_ttl_is_30_days(signer, clock):
    token = signer.issue_visitor_token("t1", "v-1", verified_identity=False)

    clock.now += 30 * 24 * 3600 - 1
    signer.verify(token)
    clock.now += 1
    with pytest.raises(CredentialError, match="expired"):
        signer.verify(token)


def test_token_issued_in_the_future_is_rejected(clock):
    future = TokenSigner(SECRET, clock=FakeClock(clock.now + 3600))
    token = future.issue_operator_token("t1", "op-7", "agent")

    with pytest.raises(CredentialError, match="not yet valid"):
        TokenSigner(SECRET, clock=clock).verify(token)


def test_tampered_payload_is_rejected(signer):
    token = signer.issue_operator_token("t1", "op-7", "agent")
    header, _, signature = token.split(".")
    escalated = {**_payload(token), "role": "owner", "tid": "t2"}

    with pytest.raises(CredentialError, match="^invalid token$"):
        signer.verify(f"{header}.{_b64(escalated)}.{signature}")


def test_tampered_signature_is_rejected(signer):
    token = signer.issue_operator_token("t1", "op-7", "agent")
    head, sig = token.rsplit(".", 1)
    bad_sig = ("A" if sig[0] != "A" else "B") + sig[1:]

    with pytest.raises(CredentialError, match="^invalid token$"):
        signer.verify(f"{head}.{bad_sig}")


def test_token_from_another_secret_is_rejected(signer, clock):
    token = TokenSigner(OTHER_SECRET, clock=clock).issue_operator_token("t1", "op-7", "owner")

    with pytest.raises(CredentialError, match="^invalid token$"):
        signer.verify(token)


def test_token_from_another_issuer_is_rejected(signer, clock):
    token = TokenSigner(SECRET, issuer="someone-else", clock=clock).issue_operator_token("t1", "op-7", "owner")

    with pytest.raises(CredentialError, match="^invalid token$"):
        signer.verify(token)


def test_visitor_token_cannot_pass_as_operator(signer, clock):
    # Even a validly signed visitor token carrying a 'role' claim stays a visitor.
    claims = {
        **_payload(signer.issue_visitor_token("t1", "v-1", verified_identity=True)),
        "role": "owner",
    }
    forged = jwt.encode(claims, SECRET, algorithm="HS256")

    principal = signer.verify(forged)

    assert principal.kind == "visitor"
    assert principal.role == "visitor"


@pytest.mark.parametrize(
    "changes",
    [
        {"typ": "admin"},  # unknown token type
        {"typ": "operator", "role": "superuser"},  # operator with an invalid role
        {"typ": "operator", "role": ["owner"]},
        {"tid": None},  # missing tenant
        {"exp": "never"},
    ],
)
def test_signed_token_with_bad_claims_is_rejected(signer, changes):
    claims = {**_payload(signer.issue_operator_token("t1", "op-7", "agent")), **changes}
    claims = {k: v for k, v in claims.items() if v is not None}

    with pytest.raises(CredentialError, match="^invalid token$"):
        signer.verify(jwt.encode(claims, SECRET, algorithm="HS256"))


def test_unsigned_token_is_rejected(signer):
    claims = _payload(signer.issue_operator_token("t1", "op-7", "owner"))
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."

    with pytest.raises(CredentialError, match="^invalid token$"):
        signer.verify(unsigned)


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", _VALID_KEY])
def test_garbage_token_is_rejected(signer, token):
    with pytest.raises(CredentialError, match="^invalid token$"):
        signer.verify(token)


def test_signer_requires_32_byte_secret():
    with pytest.raises(ValueError):
        TokenSigner("x" * 31)
    TokenSigner(b"\x00" * 32)  # bytes of the minimum length are fine


def test_operator_token_requires_known_role(signer):
    with pytest.raises(ValueError):
        signer.issue_operator_token("t1", "op-7", "visitor")


# --- OIDC -----------------------------------------------------------------------------

ISSUER = "https://idp.example.test/realms/frontdesk"
AUDIENCE = "frontdesk-console"


def _rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_jwk(private_key, kid: str, alg: str) -> dict:
    algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS256" else jwt.algorithms.ECAlgorithm
    jwk = algorithm.to_jwk(private_key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


@pytest.fixture(scope="module")
def idp_keys():
    return {"rsa": _rsa_key(), "ec": ec.generate_private_key(ec.SECP256R1()), "stranger": _rsa_key()}


@pytest.fixture(scope="module")
def jwks_server(idp_keys):
    document = json.dumps(
        {"keys": [_public_jwk(idp_keys["rsa"], "rsa-1", "RS256"), _public_jwk(idp_keys["ec"], "ec-1", "ES256")]}
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.server.hits += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args):  # keep pytest output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.hits = 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def verifier(jwks_server):
    return OidcVerifier(ISSUER, AUDIENCE, f"http://127.0.0.1:{jwks_server.server_port}/jwks")


def _idp_token(key, kid="rsa-1", alg="RS256", **overrides):
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-123",
        "iat": now,
        "exp": now + 300,
        "name": "Grace",
        "frontdesk_tenant": "t1",
        "frontdesk_role": "admin",
        **overrides,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def test_oidc_good_token(verifier, idp_keys):
    assert verifier.verify(_idp_token(idp_keys["rsa"])) == Principal(
        tenant_id="t1", kind="operator", subject="oidc:user-123", role="admin", display_name="Grace"
    )


def test_oidc_es256_token(verifier, idp_keys):
    principal = verifier.verify(_idp_token(idp_keys["ec"], kid="ec-1", alg="ES256"))
    assert principal.subject == "oidc:user-123"


def test_oidc_role_defaults_to_agent(verifier, idp_keys):
    assert verifier.verify(_idp_token(idp_keys["rsa"], frontdesk_role=None)).role == "agent"


@pytest.mark.parametrize("role", ["superuser", "visitor", ["admin"]])
def test_oidc_invalid_role_is_rejected(verifier, idp_keys, role):
    with pytest.raises(CredentialError, match="frontdesk_role"):
        verifier.verify(_idp_token(idp_keys["rsa"], frontdesk_role=role))


def test_oidc_custom_claim_names(jwks_server, idp_keys):
    verifier = OidcVerifier(
        ISSUER,
        AUDIENCE,
        f"http://127.0.0.1:{jwks_server.server_port}/jwks",
        tenant_claim="custom:tenant",
        role_claim="custom:role",
    )
    token = _idp_token(idp_keys["rsa"], **{"custom:tenant": "t9", "custom:role": "owner"})

    principal = verifier.verify(token)

    assert (principal.tenant_id, principal.role) == ("t9", "owner")


def test_oidc_wrong_audience(verifier, idp_keys):
    with pytest.raises(CredentialError, match="audience"):
        verifier.verify(_idp_token(idp_keys["rsa"], aud="another-app"))


def test_oidc_wrong_issuer(verifier, idp_keys):
    with pytest.raises(CredentialError, match="issuer"):
        verifier.verify(_idp_token(idp_keys["rsa"], iss="https://evil.example.test"))


def test_oidc_expired(verifier, idp_keys):
    now = int(time.time())
    with pytest.raises(CredentialError, match="^token expired$"):
        verifier.verify(_idp_token(idp_keys["rsa"], iat=now - 7200, exp=now - 3600))


def test_oidc_unknown_kid(verifier, idp_keys):
    with pytest.raises(CredentialError, match="signing key is not known"):
        verifier.verify(_idp_token(idp_keys["stranger"], kid="rotated-away"))


def test_oidc_bad_signature(verifier, idp_keys):
    with pytest.raises(CredentialError, match="signature"):
        verifier.verify(_idp_token(idp_keys["stranger"], kid="rsa-1"))


def test_oidc_symmetric_algorithm_is_rejected(verifier):
    # Classic key-confusion attempt: HS256 with a kid that exists in the JWKS.
    token = jwt.encode({"iss": ISSUER, "aud": AUDIENCE}, SECRET, algorithm="HS256", headers={"kid": "rsa-1"})
    with pytest.raises(CredentialError, match="^invalid token$"):
        verifier.verify(token)


def test_oidc_missing_tenant_claim(verifier, idp_keys):
    with pytest.raises(CredentialError, match="frontdesk_tenant"):
        verifier.verify(_idp_token(idp_keys["rsa"], frontdesk_tenant=None))


def test_oidc_garbage_token(verifier):
    with pytest.raises(CredentialError, match="^invalid token$"):
        verifier.verify("not-a-jwt")


def test_oidc_jwks_is_cached(jwks_server, verifier, idp_keys):
    hits_before = jwks_server.hits

    for _ in range(3):
        verifier.verify(_idp_token(idp_keys["rsa"]))

    assert jwks_server.hits - hits_before == 1


def test_oidc_jwks_server_down(idp_keys):
    with socket.socket() as s:  # grab a free port, then close it so nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    verifier = OidcVerifier(ISSUER, AUDIENCE, f"http://127.0.0.1:{port}/jwks")

    with pytest.raises(CredentialError, match="^identity provider unavailable$"):
        verifier.verify(_idp_token(idp_keys["rsa"]))


# --- routing helpers ---------------------------------------------------------------------


def test_looks_like_jwt(signer):
    assert looks_like_jwt(signer.issue_operator_token("t1", "op-7", "agent"))
    for not_jwt in ["", _VALID_KEY, "a.b", "a.b.", "a.b.c.d", "a.b.c d", "a.b.c=", new_widget_key()]:
        assert not looks_like_jwt(not_jwt), not_jwt


def test_unverified_issuer_routes_tokens(signer, idp_keys):
    assert unverified_issuer(signer.issue_visitor_token("t1", "v-1", False)) == "frontdesk"
    assert unverified_issuer(_idp_token(idp_keys["rsa"])) == ISSUER
    assert unverified_issuer(jwt.encode({"sub": "x"}, SECRET, algorithm="HS256")) is None
    # PyJWT refuses to encode a non-string 'iss', so build that token by hand.
    assert unverified_issuer(f"{_b64({'alg': 'HS256'})}.{_b64({'iss': 42})}.c2ln") is None
    assert unverified_issuer("garbage") is None
    assert unverified_issuer(_VALID_KEY) is None
