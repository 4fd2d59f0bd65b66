"""The access table (gateway/access.py) and the abuse controls (gateway/abuse.py), without a mesh."""

from __future__ import annotations

import asyncio
import threading

import pytest

from frontdesk.caller import Caller
from frontdesk.errors import PermissionDenied, ResourceExhausted, Unauthenticated
from frontdesk.stores.base import OperatorRecord, TenantRecord
from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.analytics.v1 import analytics_pb2
from frontdesk_pb.auth.v1 import auth_pb2
from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.knowledge.v1 import knowledge_pb2
from frontdesk_pb.speech.v1 import speech_pb2
from gateway import access, credentials
from gateway import service as accounts
from gateway.abuse import FREE_FAILURES, LoginThrottle, SessionMinting, client_address
from gateway.auth import origin_allowed

pytestmark = pytest.mark.unit

PUBLIC_FILES = (chat_pb2, auth_pb2, admin_pb2, knowledge_pb2, speech_pb2, analytics_pb2)


def public_methods() -> list[str]:
    return [
        f"/{service.full_name}/{method.name}"
        for module in PUBLIC_FILES
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    ]


def test_every_public_rpc_has_exactly_one_rule():
    methods = public_methods()
    assert len(methods) >= 58  # the public API as of this table; more is fine, fewer means a service was missed
    missing = [m for m in methods if m not in access.RULES]
    assert not missing, f"RPCs without an access rule (they would be refused): {missing}"
    assert not set(access.RULES) - set(methods), "rules for RPCs that do not exist"


def test_only_sign_in_and_session_creation_need_no_credentials():
    public = sorted(m for m, rule in access.RULES.items() if rule is access.PUBLIC)
    assert public == [
        "/frontdesk.auth.v1.AuthService/CreateVisitorSession",
        "/frontdesk.auth.v1.AuthService/OperatorLogin",
    ]


def caller(kind: str, role: str) -> Caller:
    return Caller(tenant_id="t1", kind=kind, subject="s1", role=role)


@pytest.mark.parametrize(
    ("rule", "allowed", "refused"),
    [
        (access.AGENT, ["agent", "admin", "owner", "api"], []),
        (access.ADMIN, ["admin", "owner", "api"], ["agent"]),
        (access.OWNER, ["owner"], ["agent", "admin", "api"]),
    ],
)
def test_roles_rank_owner_over_admin_over_agent_and_keys_never_own(rule, allowed, refused):
    def who(name):
        return caller("api_key", "admin") if name == "api" else caller("operator", name)

    for name in allowed:
        access.check(who(name), rule)
    for name in refused:
        with pytest.raises(PermissionDenied):
            access.check(who(name), rule)


def test_visitors_and_staff_stay_on_their_side():
    with pytest.raises(PermissionDenied, match="operators"):
        access.check(caller("visitor", "visitor"), access.AGENT)
    with pytest.raises(PermissionDenied, match="customers"):
        access.check(caller("operator", "owner"), access.CUSTOMER)
    with pytest.raises(PermissionDenied, match="platform"):
        access.check(caller("operator", "owner"), access.PLATFORM_ONLY)


def test_operator_management_and_the_audit_log_belong_to_owners():
    owner_only = {m.rsplit("/", 1)[1] for m, r in access.RULES.items() if r is access.OWNER}
    assert owner_only == {
        "CreateApiKey",
        "ListApiKeys",
        "RevokeApiKey",
        "CreateOperator",
        "DeleteOperator",
        "ListAuditLog",
    }
    assert access.RULES["/frontdesk.admin.v1.AdminService/UpdateOperator"].kinds == {"operator"}


# -- sign-in throttling -----------------------------------------------------------------


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_login_failures_back_off_exponentially_and_success_resets():
    clock = Clock()
    t = LoginThrottle(clock=clock)
    key = t.account_key("Shop", " Ann@Shop.example ")
    assert key == t.account_key("shop", "ann@shop.example")
    for _ in range(FREE_FAILURES):
        t.check(key, "10.0.0.1")
        t.failed(key, "10.0.0.1")
    t.check(key, "10.0.0.1")  # the free failures are used up, but nothing is locked yet
    t.failed(key, "10.0.0.1")
    with pytest.raises(ResourceExhausted) as locked:
        t.check(key, "10.0.0.2")  # the account is locked, whatever the address
    assert dict(locked.value.trailers)["retry-after"] == "2.000"
    clock.now += 2.01
    t.check(key, "10.0.0.1")
    t.failed(key, "10.0.0.1")
    with pytest.raises(ResourceExhausted) as locked:
        t.check(key, "10.0.0.1")
    assert dict(locked.value.trailers)["retry-after"] == "4.000"  # doubled
    clock.now += 4.01
    t.succeeded(key)
    t.check(key, "10.0.0.1")


def test_an_address_spraying_many_accounts_is_locked():
    t = LoginThrottle(clock=Clock())
    for i in range(25):
        t.failed(t.account_key("shop", f"user{i}@shop.example"), "10.9.9.9")
    with pytest.raises(ResourceExhausted):
        t.check(t.account_key("shop", "someone-new@shop.example"), "10.9.9.9")
    t.check(t.account_key("shop", "someone-new@shop.example"), "10.0.0.1")


def test_session_minting_is_limited_per_address_and_per_widget():
    m = SessionMinting(per_address_rate=0.001, per_address_burst=3, per_widget_rate=0.001, per_widget_burst=5)
    for _ in range(3):
        m.admit("wk_a", "1.1.1.1")
    with pytest.raises(ResourceExhausted):
        m.admit("wk_a", "1.1.1.1")
    m.admit("wk_a", "2.2.2.2")  # another address: the widget still has room
    with pytest.raises(ResourceExhausted):
        m.admit("wk_a", "3.3.3.3")  # the widget's allowance is spent (5 in all)
    m.admit("wk_b", "3.3.3.3")


class FakeContext:
    def __init__(self, peer: str, metadata=()):
        self._peer, self._md = peer, metadata

    def peer(self):
        return self._peer

    def invocation_metadata(self):
        return self._md


def test_client_address_trusts_forwarded_for_only_from_a_trusted_proxy():
    trusted = frozenset({"127.0.0.1", "::1"})
    forwarded = (("x-forwarded-for", "203.0.113.9"),)
    assert client_address(FakeContext("ipv4:127.0.0.1:5123", forwarded), trusted) == "203.0.113.9"
    assert client_address(FakeContext("ipv6:[::1]:5123", forwarded), trusted) == "203.0.113.9"
    assert client_address(FakeContext("ipv4:198.51.100.7:5123", forwarded), trusted) == "198.51.100.7"
    assert client_address(FakeContext("ipv4:127.0.0.1:5123"), trusted) == "127.0.0.1"


def test_origin_patterns():
    assert origin_allowed("https://evil.example", [])  # no list: every site
    assert origin_allowed("https://shop.example/", ["https://shop.example"])
    assert origin_allowed("https://a.cdn.example", ["*.cdn.example"])
    assert not origin_allowed("https://cdn.example.evil.example", ["*.cdn.example"])
    assert not origin_allowed("http://shop.example", ["https://shop.example"])


# -- sign-in timing: an unknown account costs one password check too ---------------------


class OneTenantStore:
    def __init__(self, password_hash: str):
        self.tenant = TenantRecord(
            id="t1", slug="shop", name="Shop", widget_key="wk_x", identity_secret="s", created_ms=0
        )
        self.op = OperatorRecord("op1", "t1", "ann@shop.example", "Ann", "agent", password_hash, 0)

    async def find_tenant(self, slug="", widget_key=""):
        return self.tenant if slug == "shop" else None

    async def find_operator_by_email(self, tenant_id, email):
        return self.op if email == self.op.email else None


def test_unknown_accounts_cost_a_password_check_like_known_ones(monkeypatch):
    checked: list[str] = []
    real = credentials.verify_password
    monkeypatch.setattr(credentials, "verify_password", lambda h, p: checked.append(h) or real(h, p))
    store = OneTenantStore(credentials.hash_password("right password"))
    acc = accounts.Accounts(store, credentials.TokenSigner("k" * 32))  # type: ignore[arg-type]

    async def attempts():
        for slug, email in (
            ("shop", "nobody@shop.example"),
            ("no-such-shop", "ann@shop.example"),
            ("shop", "ann@shop.example"),
        ):
            with pytest.raises(Unauthenticated):
                await acc.operator_login(slug, email, "wrong password")
        token, op, _ = await acc.operator_login("shop", "ann@shop.example", "right password")
        return token, op

    token, op = asyncio.run(attempts())
    assert len(checked) == 4  # every attempt verified a hash, known account or not
    assert checked[:2] == [accounts._DUMMY_HASH] * 2
    assert op.id == "op1" and credentials.TokenSigner("k" * 32).verify(token).session_epoch == 0


def test_password_checks_run_off_the_event_loop_two_at_a_time(monkeypatch):
    """Argon2 is slow on purpose: thirty sign-ins at once must not stop the gateway's loop
    (every tenant's calls wait on it), and at most two hashes run at a time."""
    real = credentials.verify_password
    threads: set[int] = set()
    running, most = [0], [0]
    lock = threading.Lock()

    def recording(stored, password):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        threads.add(threading.get_ident())
        try:
            return real(stored, password)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(credentials, "verify_password", recording)
    acc = accounts.Accounts(
        OneTenantStore(credentials.hash_password("right password")),  # type: ignore[arg-type]
        credentials.TokenSigner("k" * 32),
    )

    async def logins():
        loop_thread = threading.get_ident()
        ticks = 0

        async def heartbeat():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        beat = asyncio.create_task(heartbeat())
        results = await asyncio.gather(
            *(acc.operator_login("shop", "ann@shop.example", "right password") for _ in range(30)),
            return_exceptions=True,
        )
        beat.cancel()
        return loop_thread, ticks, results

    loop_thread, ticks, results = asyncio.run(logins())
    assert all(isinstance(r, tuple) for r in results), results[:3]
    assert threads and loop_thread not in threads  # never hashed on the loop
    assert most[0] <= accounts.PASSWORD_WORKERS
    assert ticks > 30  # the loop kept turning while the hashes ran


def test_tokens_carry_the_session_epoch():
    signer = credentials.TokenSigner("k" * 32)
    token = signer.issue_operator_token("t1", "op1", "admin", session_epoch=7)
    assert signer.verify(token).session_epoch == 7
