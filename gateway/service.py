"""The gateway's domain core: tenants and their credentials (creation, API keys, operators,
sign-in).

The gateway owns the account store; every other service learns the tenant from the
caller context the gateway signs."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import time

from frontdesk import ids, logs
from frontdesk.caller import Caller, Kind
from frontdesk.clock import now_ms
from frontdesk.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from frontdesk.stores.base import AccountStore, ApiKeyRecord, Conflict, OperatorRecord, TenantRecord
from gateway import credentials as cred
from gateway.abuse import LoginThrottle, SessionMinting
from gateway.audit import sign_in_record
from gateway.auth import origin_allowed

log = logs.get("gateway.service")

_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]\Z")
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\Z")
LOGIN_FAILED = "email or password is not correct"


def _check_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL_RE.match(email):
        raise InvalidArgument("email is not a valid address")
    return email


def _check_role(role: str) -> str:
    if role not in cred.OPERATOR_ROLES:
        raise InvalidArgument("role must be owner, admin or agent")
    return role


def _hash_password(password: str) -> str:
    try:
        return cred.hash_password(password)
    except cred.CredentialError as err:
        raise InvalidArgument(str(err)) from None


# Argon2 takes tens of milliseconds of CPU by design: it runs in threads, at most this many
# at once per gateway, so a burst of sign-ins queues here instead of stalling every
# tenant's calls on the event loop.
PASSWORD_WORKERS = 2
# verified when the account does not exist, so an unknown email costs the same time as a
# wrong password (emails cannot be told apart by response time)
_DUMMY_HASH = cred.hash_password(secrets.token_urlsafe(16))


class Accounts:
    def __init__(
        self,
        store: AccountStore,
        signer: cred.TokenSigner,
        *,
        minting: SessionMinting | None = None,
        throttle: LoginThrottle | None = None,
    ):
        self.store = store
        self.signer = signer
        self.minting = minting or SessionMinting(0.5, 20, 20.0, 200)
        self.throttle = throttle or LoginThrottle()
        self._password_slots = asyncio.Semaphore(PASSWORD_WORKERS)
        self.on_operator_changed = lambda tenant_id, operator_id: None  # the gateway drops its cache

    async def _hash(self, password: str) -> str:
        async with self._password_slots:
            return await asyncio.to_thread(_hash_password, password)

    async def _password_matches(self, stored_hash: str, password: str) -> bool:
        async with self._password_slots:
            return await asyncio.to_thread(cred.verify_password, stored_hash, password)

    # -- tenants -------------------------------------------------------------------

    async def create_tenant(self, slug: str, name: str, owner_email: str, owner_password: str):
        """A new tenant with its owner, a first API key and an identity secret."""
        if not _SLUG_RE.match(slug):
            raise InvalidArgument("slug must be 3-40 characters of a-z, 0-9 and '-'")
        if not name.strip() or len(name) > 200:
            raise InvalidArgument("name must be 1-200 characters")
        email = _check_email(owner_email)
        password_hash = await self._hash(owner_password)
        tenant = TenantRecord(
            id=ids.new_id("tenant"),
            slug=slug,
            name=name.strip(),
            widget_key=cred.new_widget_key(),
            identity_secret=secrets.token_hex(32),
            created_ms=now_ms(),
        )
        try:
            await self.store.create_tenant(tenant)
        except Conflict:
            raise AlreadyExists(f"a tenant with slug {slug!r} already exists") from None
        owner = OperatorRecord(
            id=ids.new_id("operator"),
            tenant_id=tenant.id,
            email=email,
            display_name=name.strip(),
            role="owner",
            password_hash=password_hash,
            created_ms=now_ms(),
        )
        await self.store.create_operator(owner)
        key, plaintext = await self.create_api_key(tenant.id, "default")
        log.info("tenant.created", tenant=tenant.id, slug=slug)
        return tenant, owner, plaintext

    async def tenant(self, tenant_id: str) -> TenantRecord:
        tenant = await self.store.get_tenant(tenant_id)
        if tenant is None:
            raise NotFound("tenant not found")
        return tenant

    # -- API keys ------------------------------------------------------------------

    async def create_api_key(self, tenant_id: str, name: str) -> tuple[ApiKeyRecord, str]:
        if len(name) > 100:
            raise InvalidArgument("name must be at most 100 characters")
        key_id, plaintext, secret_hash = cred.new_api_key()
        record = ApiKeyRecord(
            id=key_id,
            tenant_id=tenant_id,
            name=name.strip() or "unnamed",
            secret_hash=secret_hash,
            created_ms=now_ms(),
        )
        await self.store.create_api_key(record)
        return record, plaintext

    async def revoke_api_key(self, tenant_id: str, key_id: str) -> ApiKeyRecord:
        key = await self.store.revoke_api_key(tenant_id, key_id, now_ms())
        if key is None:
            raise NotFound("API key not found")
        return key

    # -- operators -----------------------------------------------------------------

    async def create_operator(
        self, tenant_id: str, email: str, display_name: str, role: str, password: str
    ) -> OperatorRecord:
        op = OperatorRecord(
            id=ids.new_id("operator"),
            tenant_id=tenant_id,
            email=_check_email(email),
            display_name=display_name.strip()[:200] or email,
            role=_check_role(role),
            password_hash=await self._hash(password),
            created_ms=now_ms(),
        )
        try:
            await self.store.create_operator(op)
        except Conflict:
            raise AlreadyExists("an operator with this email already exists") from None
        return op

    async def operator(self, tenant_id: str, operator_id: str) -> OperatorRecord:
        op = await self.store.get_operator(tenant_id, operator_id)
        if op is None:
            raise NotFound("operator not found")
        return op

    async def update_operator(
        self,
        caller: Caller,
        operator_id: str,
        *,
        display_name: str = "",
        role: str = "",
        password: str = "",
        current_password: str = "",
    ) -> OperatorRecord:
        """An operator edits their own name and password (the password only with the current
        one: a stolen session cannot lock its owner out); owners edit anyone's, and only
        owners change roles (never their own: another owner does that). A new password or
        role ends that operator's sessions (session_epoch), on every gateway."""
        op = await self.operator(caller.tenant_id, operator_id)
        own = caller.kind == Kind.OPERATOR and caller.subject == op.id
        if not own and caller.role != "owner":
            raise PermissionDenied("only an owner may change another operator")
        ends_sessions = False
        if role and role != op.role:
            _check_role(role)
            if own:
                raise PermissionDenied("operators cannot change their own role; another owner can")
            if op.role == "owner":
                await self._keep_an_owner(caller.tenant_id, op.id)
            op.role, ends_sessions = role, True
        if display_name:
            op.display_name = display_name.strip()[:200]
        if password:
            if own and not await self._password_matches(op.password_hash, current_password):
                raise PermissionDenied("current_password is not correct")
            op.password_hash = await self._hash(password)
            ends_sessions = True
        if ends_sessions:
            op.session_epoch += 1
        await self.store.update_operator(op)
        self.on_operator_changed(caller.tenant_id, op.id)
        log.info(
            "operator.updated", tenant=caller.tenant_id, operator=op.id, by=caller.subject, sessions_ended=ends_sessions
        )
        return op

    async def delete_operator(self, tenant_id: str, operator_id: str) -> None:
        op = await self.operator(tenant_id, operator_id)
        if op.role == "owner":
            await self._keep_an_owner(tenant_id, op.id)
        await self.store.delete_operator(tenant_id, operator_id)
        self.on_operator_changed(tenant_id, operator_id)

    async def _keep_an_owner(self, tenant_id: str, leaving_id: str) -> None:
        owners = [o for o in await self.store.list_operators(tenant_id) if o.role == "owner" and o.id != leaving_id]
        if not owners:
            raise FailedPrecondition("a tenant must keep at least one owner")

    # -- sign-in -------------------------------------------------------------------

    async def operator_login(
        self, slug: str, email: str, password: str, address: str = ""
    ) -> tuple[str, OperatorRecord, int]:
        """Same answer, and about the same time, for an unknown tenant, an unknown email and
        a wrong password; repeated failures for an account or from an address back off."""
        account = self.throttle.account_key(slug, email)
        self.throttle.check(account, address)
        tenant = await self.store.find_tenant(slug=slug.strip().lower()) if slug.strip() else None
        op = await self.store.find_operator_by_email(tenant.id, email.strip()) if tenant else None
        matches = await self._password_matches(op.password_hash if op else _DUMMY_HASH, password)
        if op is None or tenant is None or not matches:
            self.throttle.failed(account, address)
            log.info("operator.login_failed", tenant=tenant.id if tenant else "", address=address)
            await self._audit_sign_in(tenant, op, email, address, "UNAUTHENTICATED")
            raise Unauthenticated(LOGIN_FAILED)
        self.throttle.succeeded(account)
        await self._audit_sign_in(tenant, op, email, address, "ok")
        if cred.password_needs_rehash(op.password_hash):
            op.password_hash = await self._hash(password)
            await self.store.update_operator(op)
        ttl = 8 * 3600
        token = self.signer.issue_operator_token(
            tenant.id, op.id, op.role, ttl_s=ttl, display_name=op.display_name, session_epoch=op.session_epoch
        )
        return token, op, int(time.time()) + ttl

    async def _audit_sign_in(
        self, tenant: TenantRecord | None, op: OperatorRecord | None, email: str, address: str, outcome: str
    ) -> None:
        """A sign-in to a tenant, in its audit log (who tried, from where, and whether it worked).
        Best effort, like every audit write: a failed write does not fail the sign-in."""
        if tenant is None:
            return  # no tenant to file it under
        record = sign_in_record(tenant.id, op, email, address, outcome)
        try:
            await self.store.append_audit(record)
        except Exception as err:  # noqa: BLE001 - the sign-in stands; the log line keeps it
            log.error("audit.write_failed", tenant=tenant.id, method=record.method, error=str(err))

    async def visitor_session(
        self,
        widget_key: str,
        previous_token: str,
        external_id: str,
        identity_hash: str,
        *,
        address: str = "",
        origin: str = "",
    ):
        """(token, visitor_id, verified, expires_at, tenant) for a widget visitor. Limited per
        client address and per widget key; refused from a site the tenant does not allow."""
        self.minting.admit(widget_key.strip()[:64], address)
        tenant = await self.store.find_tenant(widget_key=widget_key.strip()) if widget_key.strip() else None
        if tenant is None:
            raise Unauthenticated("unknown widget key")
        if origin and not origin_allowed(origin, tenant.allowed_origins):
            raise PermissionDenied(f"this site ({origin[:100]}) is not allowed to use this chat widget")
        verified = False
        visitor_id = ""
        if external_id:
            if not cred.verify_identity_hmac(tenant.identity_secret, external_id, identity_hash):
                raise Unauthenticated("customer identity could not be verified (identity_hash does not match)")
            # the same customer gets the same visitor id (and history) on every device
            digest = hashlib.sha256(f"{tenant.id}:{external_id}".encode()).hexdigest()[:26]
            visitor_id, verified = f"vi_{digest}", True
        elif previous_token:
            try:
                previous = self.signer.verify(previous_token)
                if previous.kind == Kind.VISITOR and previous.tenant_id == tenant.id and not previous.verified_identity:
                    visitor_id = previous.subject
            except cred.CredentialError:
                pass  # an expired or foreign token just starts a new anonymous visitor
        visitor_id = visitor_id or ids.new_id("visitor")
        ttl = 30 * 24 * 3600
        token = self.signer.issue_visitor_token(tenant.id, visitor_id, verified, ttl_s=ttl)
        return token, visitor_id, verified, int(time.time()) + ttl, tenant
