"""What an audit record keeps of a request (gateway/audit.py): identifying fields, never
secrets or text; and which RPCs are audited."""

from __future__ import annotations

import pytest

from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.common.v1 import common_pb2 as common
from gateway.audit import AUDITED, target_of

pytestmark = pytest.mark.unit


def test_ids_roles_and_names_are_kept_and_secrets_and_text_never():
    assert target_of(
        admin_pb2.CreateOperatorRequest(
            email="a@b.example", role="agent", password="hunter2 hunter2", display_name="Al"
        )
    ) == {"email": "a@b.example", "role": "agent"}
    settings = admin_pb2.UpdateAiSettingsRequest(
        settings=admin_pb2.AiSettings(backend="openai", model="gpt", system_prompt="secret voice"), api_key="sk-1"
    )
    assert target_of(settings) == {"settings.backend": "openai", "settings.model": "gpt"}
    note = admin_pb2.AddNoteRequest(conversation_id="c_1", text="private")
    assert target_of(note) == {"conversation_id": "c_1"}
    status = admin_pb2.SetConversationStatusRequest(conversation_id="c_1", status=common.CONVERSATION_STATUS_CLOSED)
    assert target_of(status) == {"conversation_id": "c_1", "status": "CONVERSATION_STATUS_CLOSED"}
    labels = admin_pb2.SetConversationLabelsRequest(conversation_id="c_1", labels=["vip", "x" * 300])
    assert target_of(labels)["labels"].startswith("vip, xxx") and len(target_of(labels)["labels"]) == 200


def test_changes_are_audited_and_reads_are_not():
    assert "/frontdesk.admin.v1.AdminService/UpdateOperator" in AUDITED
    assert "/frontdesk.knowledge.v1.KnowledgeService/ImportFile" in AUDITED
    assert "/frontdesk.admin.v1.AdminService/TakeOver" in AUDITED
    for read in ("ListAuditLog", "GetTenant", "StreamInbox", "SuggestReplies", "ListMessages"):
        assert f"/frontdesk.admin.v1.AdminService/{read}" not in AUDITED
    assert "/frontdesk.admin.v1.AdminService/CreateTenant" not in AUDITED  # the platform's
