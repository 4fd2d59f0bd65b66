"""Canned responses: the rules of a tenant's saved replies, which AdminService serves from the
account store. A shortcut is what an operator types ("/refund"); the text may name variables
the admin panel fills in when the reply is inserted ({customer_name}, {agent_name},
{company_name}); a misspelt variable is refused when the response is saved, not sent to a
customer as "{custmer_name}"."""

from __future__ import annotations

import re

from frontdesk.clock import ts_from_ms
from frontdesk.errors import InvalidArgument
from frontdesk.stores.base import CannedResponseRecord
from frontdesk_pb.admin.v1 import admin_pb2

SHORTCUT = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
VARIABLES = ("customer_name", "agent_name", "company_name")
MAX_TEXT_CHARS = 10_000
MAX_TITLE_CHARS = 200
MAX_PER_TENANT = 500
_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")  # other braces are plain text


def shortcut_of(raw: str) -> str:
    """The stored form of a shortcut as typed: without its leading "/", lower case."""
    shortcut = raw.strip().removeprefix("/").lower()
    if not SHORTCUT.fullmatch(shortcut):
        raise InvalidArgument(
            f"shortcut {raw[:40]!r} must be 1 to 32 letters, digits, '-' or '_' (like /refund), starting with a letter or digit"
        )
    return shortcut


def variables_in(text: str) -> list[str]:
    """The variables the text uses, in order of first use; INVALID_ARGUMENT for an unknown one."""
    used = list(dict.fromkeys(_VARIABLE.findall(text)))
    unknown = [v for v in used if v not in VARIABLES]
    if unknown:
        raise InvalidArgument(
            f"unknown variable {{{unknown[0][:40]}}} in the text; the variables are "
            + ", ".join(f"{{{v}}}" for v in VARIABLES)
        )
    return used


def checked(tenant_id: str, response: admin_pb2.CannedResponse, updated_by: str, now_ms: int) -> CannedResponseRecord:
    """The record to store for a SaveCannedResponse, or INVALID_ARGUMENT saying what is wrong."""
    shortcut = shortcut_of(response.shortcut)
    text = response.text.strip()
    if not text:
        raise InvalidArgument("text is required")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidArgument(f"text is {len(text)} characters; the limit is {MAX_TEXT_CHARS}")
    title = response.title.strip()
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidArgument(f"title is {len(title)} characters; the limit is {MAX_TITLE_CHARS}")
    variables_in(text)
    return CannedResponseRecord(
        tenant_id=tenant_id, shortcut=shortcut, title=title, text=text, updated_ms=now_ms, updated_by=updated_by
    )


def matches(record: CannedResponseRecord, query: str) -> bool:
    """Whether the shortcut or the title starts with what the operator typed so far."""
    q = query.strip().removeprefix("/").lower()
    return not q or record.shortcut.startswith(q) or record.title.lower().startswith(q)


def to_pb(record: CannedResponseRecord) -> admin_pb2.CannedResponse:
    return admin_pb2.CannedResponse(
        shortcut=record.shortcut,
        title=record.title,
        text=record.text,
        variables=list(dict.fromkeys(_VARIABLE.findall(record.text))),
        updated_at=ts_from_ms(record.updated_ms),
        updated_by=record.updated_by,
    )
