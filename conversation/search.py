"""SearchConversations: words across the tenant's messages (the index is the log store's,
frontdesk/stores/search.py says how words are cut), with the conversation list's filters."""

from __future__ import annotations

from conversation.service import Status, assignee_of, label_of
from frontdesk.caller import Caller
from frontdesk.errors import InvalidArgument
from frontdesk.stores.base import LogStore
from frontdesk.stores.search import query_terms, snippet
from frontdesk_pb.admin.v1 import admin_pb2


async def search(store: LogStore, caller: Caller, request) -> admin_pb2.SearchConversationsResponse:
    """SearchConversations: the tenant's messages holding every word of the query."""
    try:
        terms = query_terms(request.query)
    except ValueError as err:
        raise InvalidArgument(str(err)) from None
    if request.status and request.status not in Status.values():
        raise InvalidArgument("unknown status")
    if request.page_size < 0:
        raise InvalidArgument("page_size must not be negative")
    try:
        hits, token = await store.search_messages(
            caller.tenant_id,
            terms,
            status=request.status,
            assignee=assignee_of(caller, request.assignee),
            label=label_of(request.label) if request.label else "",
            limit=min(request.page_size or 20, 100),
            page_token=request.page_token,
        )
    except ValueError as err:
        raise InvalidArgument(str(err)) from None
    return admin_pb2.SearchConversationsResponse(
        hits=[
            admin_pb2.SearchHit(
                conversation=conv,
                message_id=message.id,
                role=message.role,
                snippet=snippet(message.text, terms),
                created_at=message.created_at,
            )
            for conv, message in hits
        ],
        next_page_token=token,
    )
