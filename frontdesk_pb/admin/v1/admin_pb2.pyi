import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from frontdesk_pb.common.v1 import common_pb2 as _common_pb2
from frontdesk_pb.chat.v1 import chat_pb2 as _chat_pb2
from frontdesk_pb.events.v1 import events_pb2 as _events_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Tenant(_message.Message):
    __slots__ = ("id", "slug", "name", "widget_key", "created_at", "greeting", "allowed_origins", "auto_resolve_after_minutes")
    ID_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    WIDGET_KEY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    GREETING_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_ORIGINS_FIELD_NUMBER: _ClassVar[int]
    AUTO_RESOLVE_AFTER_MINUTES_FIELD_NUMBER: _ClassVar[int]
    id: str
    slug: str
    name: str
    widget_key: str
    created_at: _timestamp_pb2.Timestamp
    greeting: str
    allowed_origins: _containers.RepeatedScalarFieldContainer[str]
    auto_resolve_after_minutes: int
    def __init__(self, id: _Optional[str] = ..., slug: _Optional[str] = ..., name: _Optional[str] = ..., widget_key: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., greeting: _Optional[str] = ..., allowed_origins: _Optional[_Iterable[str]] = ..., auto_resolve_after_minutes: _Optional[int] = ...) -> None: ...

class CreateTenantRequest(_message.Message):
    __slots__ = ("slug", "name", "owner_email", "owner_password")
    SLUG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OWNER_EMAIL_FIELD_NUMBER: _ClassVar[int]
    OWNER_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    slug: str
    name: str
    owner_email: str
    owner_password: str
    def __init__(self, slug: _Optional[str] = ..., name: _Optional[str] = ..., owner_email: _Optional[str] = ..., owner_password: _Optional[str] = ...) -> None: ...

class CreateTenantResponse(_message.Message):
    __slots__ = ("tenant", "owner", "api_key", "identity_secret")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_SECRET_FIELD_NUMBER: _ClassVar[int]
    tenant: Tenant
    owner: Operator
    api_key: str
    identity_secret: str
    def __init__(self, tenant: _Optional[_Union[Tenant, _Mapping]] = ..., owner: _Optional[_Union[Operator, _Mapping]] = ..., api_key: _Optional[str] = ..., identity_secret: _Optional[str] = ...) -> None: ...

class GetTenantRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UpdateTenantRequest(_message.Message):
    __slots__ = ("name", "greeting", "allowed_origins", "rotate_widget_key", "auto_resolve_after_minutes")
    NAME_FIELD_NUMBER: _ClassVar[int]
    GREETING_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_ORIGINS_FIELD_NUMBER: _ClassVar[int]
    ROTATE_WIDGET_KEY_FIELD_NUMBER: _ClassVar[int]
    AUTO_RESOLVE_AFTER_MINUTES_FIELD_NUMBER: _ClassVar[int]
    name: str
    greeting: str
    allowed_origins: _containers.RepeatedScalarFieldContainer[str]
    rotate_widget_key: bool
    auto_resolve_after_minutes: int
    def __init__(self, name: _Optional[str] = ..., greeting: _Optional[str] = ..., allowed_origins: _Optional[_Iterable[str]] = ..., rotate_widget_key: _Optional[bool] = ..., auto_resolve_after_minutes: _Optional[int] = ...) -> None: ...

class ApiKey(_message.Message):
    __slots__ = ("id", "name", "created_at", "revoked_at", "last_used_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    created_at: _timestamp_pb2.Timestamp
    revoked_at: _timestamp_pb2.Timestamp
    last_used_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_used_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateApiKeyRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CreateApiKeyResponse(_message.Message):
    __slots__ = ("key", "plaintext")
    KEY_FIELD_NUMBER: _ClassVar[int]
    PLAINTEXT_FIELD_NUMBER: _ClassVar[int]
    key: ApiKey
    plaintext: str
    def __init__(self, key: _Optional[_Union[ApiKey, _Mapping]] = ..., plaintext: _Optional[str] = ...) -> None: ...

class ListApiKeysRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListApiKeysResponse(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[ApiKey]
    def __init__(self, keys: _Optional[_Iterable[_Union[ApiKey, _Mapping]]] = ...) -> None: ...

class RevokeApiKeyRequest(_message.Message):
    __slots__ = ("key_id",)
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    def __init__(self, key_id: _Optional[str] = ...) -> None: ...

class Operator(_message.Message):
    __slots__ = ("id", "email", "display_name", "role", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    email: str
    display_name: str
    role: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., email: _Optional[str] = ..., display_name: _Optional[str] = ..., role: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateOperatorRequest(_message.Message):
    __slots__ = ("email", "display_name", "role", "password")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    email: str
    display_name: str
    role: str
    password: str
    def __init__(self, email: _Optional[str] = ..., display_name: _Optional[str] = ..., role: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class ListOperatorsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListOperatorsResponse(_message.Message):
    __slots__ = ("operators",)
    OPERATORS_FIELD_NUMBER: _ClassVar[int]
    operators: _containers.RepeatedCompositeFieldContainer[Operator]
    def __init__(self, operators: _Optional[_Iterable[_Union[Operator, _Mapping]]] = ...) -> None: ...

class UpdateOperatorRequest(_message.Message):
    __slots__ = ("operator_id", "display_name", "role", "password", "current_password")
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    operator_id: str
    display_name: str
    role: str
    password: str
    current_password: str
    def __init__(self, operator_id: _Optional[str] = ..., display_name: _Optional[str] = ..., role: _Optional[str] = ..., password: _Optional[str] = ..., current_password: _Optional[str] = ...) -> None: ...

class DeleteOperatorRequest(_message.Message):
    __slots__ = ("operator_id",)
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    operator_id: str
    def __init__(self, operator_id: _Optional[str] = ...) -> None: ...

class DeleteOperatorResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListConversationsRequest(_message.Message):
    __slots__ = ("status", "visitor_id", "page_size", "page_token", "assignee", "label")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VISITOR_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    status: _common_pb2.ConversationStatus
    visitor_id: str
    page_size: int
    page_token: str
    assignee: str
    label: str
    def __init__(self, status: _Optional[_Union[_common_pb2.ConversationStatus, str]] = ..., visitor_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., assignee: _Optional[str] = ..., label: _Optional[str] = ...) -> None: ...

class ListConversationsResponse(_message.Message):
    __slots__ = ("conversations", "next_page_token")
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    conversations: _containers.RepeatedCompositeFieldContainer[_common_pb2.Conversation]
    next_page_token: str
    def __init__(self, conversations: _Optional[_Iterable[_Union[_common_pb2.Conversation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetConversationRequest(_message.Message):
    __slots__ = ("conversation_id",)
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    def __init__(self, conversation_id: _Optional[str] = ...) -> None: ...

class ListMessagesRequest(_message.Message):
    __slots__ = ("conversation_id", "page_size", "page_token")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    page_size: int
    page_token: str
    def __init__(self, conversation_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListMessagesResponse(_message.Message):
    __slots__ = ("messages", "next_page_token", "notes")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[_common_pb2.Message]
    next_page_token: str
    notes: _containers.RepeatedCompositeFieldContainer[Note]
    def __init__(self, messages: _Optional[_Iterable[_Union[_common_pb2.Message, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., notes: _Optional[_Iterable[_Union[Note, _Mapping]]] = ...) -> None: ...

class StreamConversationEventsRequest(_message.Message):
    __slots__ = ("conversation_id", "after_message_id")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    after_message_id: str
    def __init__(self, conversation_id: _Optional[str] = ..., after_message_id: _Optional[str] = ...) -> None: ...

class TakeOverRequest(_message.Message):
    __slots__ = ("conversation_id",)
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    def __init__(self, conversation_id: _Optional[str] = ...) -> None: ...

class SendAgentMessageRequest(_message.Message):
    __slots__ = ("conversation_id", "text", "client_message_id")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    text: str
    client_message_id: str
    def __init__(self, conversation_id: _Optional[str] = ..., text: _Optional[str] = ..., client_message_id: _Optional[str] = ...) -> None: ...

class ReleaseConversationRequest(_message.Message):
    __slots__ = ("conversation_id",)
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    def __init__(self, conversation_id: _Optional[str] = ...) -> None: ...

class CloseConversationRequest(_message.Message):
    __slots__ = ("conversation_id",)
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    def __init__(self, conversation_id: _Optional[str] = ...) -> None: ...

class AiSettings(_message.Message):
    __slots__ = ("backend", "model", "base_url", "has_api_key", "temperature", "max_tokens", "answer_threshold", "system_prompt", "enabled_tools", "tool_choice", "requests_per_minute")
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    HAS_API_KEY_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    ANSWER_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_PROMPT_FIELD_NUMBER: _ClassVar[int]
    ENABLED_TOOLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CHOICE_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    backend: str
    model: str
    base_url: str
    has_api_key: bool
    temperature: float
    max_tokens: int
    answer_threshold: float
    system_prompt: str
    enabled_tools: _containers.RepeatedScalarFieldContainer[str]
    tool_choice: str
    requests_per_minute: int
    def __init__(self, backend: _Optional[str] = ..., model: _Optional[str] = ..., base_url: _Optional[str] = ..., has_api_key: _Optional[bool] = ..., temperature: _Optional[float] = ..., max_tokens: _Optional[int] = ..., answer_threshold: _Optional[float] = ..., system_prompt: _Optional[str] = ..., enabled_tools: _Optional[_Iterable[str]] = ..., tool_choice: _Optional[str] = ..., requests_per_minute: _Optional[int] = ...) -> None: ...

class UpdateAiSettingsRequest(_message.Message):
    __slots__ = ("settings", "api_key", "clear_api_key")
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    CLEAR_API_KEY_FIELD_NUMBER: _ClassVar[int]
    settings: AiSettings
    api_key: str
    clear_api_key: bool
    def __init__(self, settings: _Optional[_Union[AiSettings, _Mapping]] = ..., api_key: _Optional[str] = ..., clear_api_key: _Optional[bool] = ...) -> None: ...

class GetAiSettingsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HttpTool(_message.Message):
    __slots__ = ("name", "description", "parameters_schema", "url", "method", "timeout_ms", "has_secret")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    HAS_SECRET_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    parameters_schema: str
    url: str
    method: str
    timeout_ms: int
    has_secret: bool
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., parameters_schema: _Optional[str] = ..., url: _Optional[str] = ..., method: _Optional[str] = ..., timeout_ms: _Optional[int] = ..., has_secret: _Optional[bool] = ...) -> None: ...

class CreateToolRequest(_message.Message):
    __slots__ = ("tool", "signing_secret")
    TOOL_FIELD_NUMBER: _ClassVar[int]
    SIGNING_SECRET_FIELD_NUMBER: _ClassVar[int]
    tool: HttpTool
    signing_secret: str
    def __init__(self, tool: _Optional[_Union[HttpTool, _Mapping]] = ..., signing_secret: _Optional[str] = ...) -> None: ...

class ListToolsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListToolsResponse(_message.Message):
    __slots__ = ("tools",)
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    tools: _containers.RepeatedCompositeFieldContainer[HttpTool]
    def __init__(self, tools: _Optional[_Iterable[_Union[HttpTool, _Mapping]]] = ...) -> None: ...

class DeleteToolRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteToolResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListToolCallsRequest(_message.Message):
    __slots__ = ("conversation_id", "page_size")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    page_size: int
    def __init__(self, conversation_id: _Optional[str] = ..., page_size: _Optional[int] = ...) -> None: ...

class ToolCallRecord(_message.Message):
    __slots__ = ("job_id", "call_id", "tool", "arguments", "ok", "error", "duration_ms", "started_at", "result_bytes", "result_preview")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    RESULT_BYTES_FIELD_NUMBER: _ClassVar[int]
    RESULT_PREVIEW_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    call_id: str
    tool: str
    arguments: str
    ok: bool
    error: str
    duration_ms: float
    started_at: _timestamp_pb2.Timestamp
    result_bytes: int
    result_preview: str
    def __init__(self, job_id: _Optional[str] = ..., call_id: _Optional[str] = ..., tool: _Optional[str] = ..., arguments: _Optional[str] = ..., ok: _Optional[bool] = ..., error: _Optional[str] = ..., duration_ms: _Optional[float] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., result_bytes: _Optional[int] = ..., result_preview: _Optional[str] = ...) -> None: ...

class ListToolCallsResponse(_message.Message):
    __slots__ = ("calls",)
    CALLS_FIELD_NUMBER: _ClassVar[int]
    calls: _containers.RepeatedCompositeFieldContainer[ToolCallRecord]
    def __init__(self, calls: _Optional[_Iterable[_Union[ToolCallRecord, _Mapping]]] = ...) -> None: ...

class GetSystemStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ServiceStatus(_message.Message):
    __slots__ = ("name", "address", "health", "detail")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    name: str
    address: str
    health: str
    detail: str
    def __init__(self, name: _Optional[str] = ..., address: _Optional[str] = ..., health: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class QueueStatus(_message.Message):
    __slots__ = ("stream", "consumer", "pending", "ack_pending", "redelivered", "workers")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    ACK_PENDING_FIELD_NUMBER: _ClassVar[int]
    REDELIVERED_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    stream: str
    consumer: str
    pending: int
    ack_pending: int
    redelivered: int
    workers: int
    def __init__(self, stream: _Optional[str] = ..., consumer: _Optional[str] = ..., pending: _Optional[int] = ..., ack_pending: _Optional[int] = ..., redelivered: _Optional[int] = ..., workers: _Optional[int] = ...) -> None: ...

class SystemStatus(_message.Message):
    __slots__ = ("services", "queues", "checked_at")
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    QUEUES_FIELD_NUMBER: _ClassVar[int]
    CHECKED_AT_FIELD_NUMBER: _ClassVar[int]
    services: _containers.RepeatedCompositeFieldContainer[ServiceStatus]
    queues: _containers.RepeatedCompositeFieldContainer[QueueStatus]
    checked_at: _timestamp_pb2.Timestamp
    def __init__(self, services: _Optional[_Iterable[_Union[ServiceStatus, _Mapping]]] = ..., queues: _Optional[_Iterable[_Union[QueueStatus, _Mapping]]] = ..., checked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CannedResponse(_message.Message):
    __slots__ = ("shortcut", "title", "text", "variables", "updated_at", "updated_by")
    SHORTCUT_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    shortcut: str
    title: str
    text: str
    variables: _containers.RepeatedScalarFieldContainer[str]
    updated_at: _timestamp_pb2.Timestamp
    updated_by: str
    def __init__(self, shortcut: _Optional[str] = ..., title: _Optional[str] = ..., text: _Optional[str] = ..., variables: _Optional[_Iterable[str]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_by: _Optional[str] = ...) -> None: ...

class ListCannedResponsesRequest(_message.Message):
    __slots__ = ("query",)
    QUERY_FIELD_NUMBER: _ClassVar[int]
    query: str
    def __init__(self, query: _Optional[str] = ...) -> None: ...

class ListCannedResponsesResponse(_message.Message):
    __slots__ = ("responses",)
    RESPONSES_FIELD_NUMBER: _ClassVar[int]
    responses: _containers.RepeatedCompositeFieldContainer[CannedResponse]
    def __init__(self, responses: _Optional[_Iterable[_Union[CannedResponse, _Mapping]]] = ...) -> None: ...

class SaveCannedResponseRequest(_message.Message):
    __slots__ = ("response",)
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    response: CannedResponse
    def __init__(self, response: _Optional[_Union[CannedResponse, _Mapping]] = ...) -> None: ...

class DeleteCannedResponseRequest(_message.Message):
    __slots__ = ("shortcut",)
    SHORTCUT_FIELD_NUMBER: _ClassVar[int]
    shortcut: str
    def __init__(self, shortcut: _Optional[str] = ...) -> None: ...

class DeleteCannedResponseResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AddNoteRequest(_message.Message):
    __slots__ = ("conversation_id", "text")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    text: str
    def __init__(self, conversation_id: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class Note(_message.Message):
    __slots__ = ("id", "conversation_id", "author_id", "author_name", "text", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_NAME_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    conversation_id: str
    author_id: str
    author_name: str
    text: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., conversation_id: _Optional[str] = ..., author_id: _Optional[str] = ..., author_name: _Optional[str] = ..., text: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StreamInboxRequest(_message.Message):
    __slots__ = ("after_cursor",)
    AFTER_CURSOR_FIELD_NUMBER: _ClassVar[int]
    after_cursor: int
    def __init__(self, after_cursor: _Optional[int] = ...) -> None: ...

class InboxEvent(_message.Message):
    __slots__ = ("cursor", "conversation_id", "at", "caught_up", "started", "handed_off", "customer_message", "assigned", "status_changed", "presence")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    HANDED_OFF_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_FIELD_NUMBER: _ClassVar[int]
    STATUS_CHANGED_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_FIELD_NUMBER: _ClassVar[int]
    cursor: int
    conversation_id: str
    at: _timestamp_pb2.Timestamp
    caught_up: InboxCaughtUp
    started: _events_pb2.ConversationStarted
    handed_off: _events_pb2.HandoffRequested
    customer_message: _events_pb2.MessageReceived
    assigned: _events_pb2.ConversationAssigned
    status_changed: _events_pb2.StatusChanged
    presence: _events_pb2.Presence
    def __init__(self, cursor: _Optional[int] = ..., conversation_id: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., caught_up: _Optional[_Union[InboxCaughtUp, _Mapping]] = ..., started: _Optional[_Union[_events_pb2.ConversationStarted, _Mapping]] = ..., handed_off: _Optional[_Union[_events_pb2.HandoffRequested, _Mapping]] = ..., customer_message: _Optional[_Union[_events_pb2.MessageReceived, _Mapping]] = ..., assigned: _Optional[_Union[_events_pb2.ConversationAssigned, _Mapping]] = ..., status_changed: _Optional[_Union[_events_pb2.StatusChanged, _Mapping]] = ..., presence: _Optional[_Union[_events_pb2.Presence, _Mapping]] = ...) -> None: ...

class InboxCaughtUp(_message.Message):
    __slots__ = ("reset",)
    RESET_FIELD_NUMBER: _ClassVar[int]
    reset: bool
    def __init__(self, reset: _Optional[bool] = ...) -> None: ...

class AssignConversationRequest(_message.Message):
    __slots__ = ("conversation_id", "operator_id")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    operator_id: str
    def __init__(self, conversation_id: _Optional[str] = ..., operator_id: _Optional[str] = ...) -> None: ...

class SetPresenceRequest(_message.Message):
    __slots__ = ("state", "capacity")
    STATE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    state: _events_pb2.PresenceState
    capacity: int
    def __init__(self, state: _Optional[_Union[_events_pb2.PresenceState, str]] = ..., capacity: _Optional[int] = ...) -> None: ...

class SummarizeConversationRequest(_message.Message):
    __slots__ = ("conversation_id", "write")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    WRITE_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    write: bool
    def __init__(self, conversation_id: _Optional[str] = ..., write: _Optional[bool] = ...) -> None: ...

class ConversationSummary(_message.Message):
    __slots__ = ("customer_wants", "customer_latest", "details", "ai_said", "handoff_reason", "handoff_explained", "customer_messages", "written_by", "brief", "brief_model", "brief_missing")
    CUSTOMER_WANTS_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_LATEST_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    AI_SAID_FIELD_NUMBER: _ClassVar[int]
    HANDOFF_REASON_FIELD_NUMBER: _ClassVar[int]
    HANDOFF_EXPLAINED_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    WRITTEN_BY_FIELD_NUMBER: _ClassVar[int]
    BRIEF_FIELD_NUMBER: _ClassVar[int]
    BRIEF_MODEL_FIELD_NUMBER: _ClassVar[int]
    BRIEF_MISSING_FIELD_NUMBER: _ClassVar[int]
    customer_wants: str
    customer_latest: str
    details: _containers.RepeatedScalarFieldContainer[str]
    ai_said: str
    handoff_reason: str
    handoff_explained: str
    customer_messages: int
    written_by: str
    brief: str
    brief_model: str
    brief_missing: str
    def __init__(self, customer_wants: _Optional[str] = ..., customer_latest: _Optional[str] = ..., details: _Optional[_Iterable[str]] = ..., ai_said: _Optional[str] = ..., handoff_reason: _Optional[str] = ..., handoff_explained: _Optional[str] = ..., customer_messages: _Optional[int] = ..., written_by: _Optional[str] = ..., brief: _Optional[str] = ..., brief_model: _Optional[str] = ..., brief_missing: _Optional[str] = ...) -> None: ...

class SuggestRepliesRequest(_message.Message):
    __slots__ = ("conversation_id",)
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    def __init__(self, conversation_id: _Optional[str] = ...) -> None: ...

class SuggestedReply(_message.Message):
    __slots__ = ("text", "source", "citations", "shortcut", "score")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CITATIONS_FIELD_NUMBER: _ClassVar[int]
    SHORTCUT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    text: str
    source: str
    citations: _containers.RepeatedCompositeFieldContainer[_common_pb2.Citation]
    shortcut: str
    score: float
    def __init__(self, text: _Optional[str] = ..., source: _Optional[str] = ..., citations: _Optional[_Iterable[_Union[_common_pb2.Citation, _Mapping]]] = ..., shortcut: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class SuggestRepliesResponse(_message.Message):
    __slots__ = ("replies", "message_id")
    REPLIES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    replies: _containers.RepeatedCompositeFieldContainer[SuggestedReply]
    message_id: str
    def __init__(self, replies: _Optional[_Iterable[_Union[SuggestedReply, _Mapping]]] = ..., message_id: _Optional[str] = ...) -> None: ...

class SetConversationStatusRequest(_message.Message):
    __slots__ = ("conversation_id", "status", "snooze_until")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SNOOZE_UNTIL_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    status: _common_pb2.ConversationStatus
    snooze_until: _timestamp_pb2.Timestamp
    def __init__(self, conversation_id: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.ConversationStatus, str]] = ..., snooze_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SetConversationLabelsRequest(_message.Message):
    __slots__ = ("conversation_id", "labels")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    labels: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, conversation_id: _Optional[str] = ..., labels: _Optional[_Iterable[str]] = ...) -> None: ...

class ListAuditLogRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("id", "at", "actor_kind", "actor_id", "actor_name", "actor_role", "method", "target", "outcome")
    class TargetEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_KIND_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_NAME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ROLE_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    id: str
    at: _timestamp_pb2.Timestamp
    actor_kind: str
    actor_id: str
    actor_name: str
    actor_role: str
    method: str
    target: _containers.ScalarMap[str, str]
    outcome: str
    def __init__(self, id: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor_kind: _Optional[str] = ..., actor_id: _Optional[str] = ..., actor_name: _Optional[str] = ..., actor_role: _Optional[str] = ..., method: _Optional[str] = ..., target: _Optional[_Mapping[str, str]] = ..., outcome: _Optional[str] = ...) -> None: ...

class ListAuditLogResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SearchConversationsRequest(_message.Message):
    __slots__ = ("query", "status", "assignee", "label", "page_size", "page_token")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    query: str
    status: _common_pb2.ConversationStatus
    assignee: str
    label: str
    page_size: int
    page_token: str
    def __init__(self, query: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.ConversationStatus, str]] = ..., assignee: _Optional[str] = ..., label: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class SearchHit(_message.Message):
    __slots__ = ("conversation", "message_id", "role", "snippet", "created_at")
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SNIPPET_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    conversation: _common_pb2.Conversation
    message_id: str
    role: _common_pb2.Role
    snippet: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, conversation: _Optional[_Union[_common_pb2.Conversation, _Mapping]] = ..., message_id: _Optional[str] = ..., role: _Optional[_Union[_common_pb2.Role, str]] = ..., snippet: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SearchConversationsResponse(_message.Message):
    __slots__ = ("hits", "next_page_token")
    HITS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[SearchHit]
    next_page_token: str
    def __init__(self, hits: _Optional[_Iterable[_Union[SearchHit, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ExportCustomerDataRequest(_message.Message):
    __slots__ = ("visitor_id",)
    VISITOR_ID_FIELD_NUMBER: _ClassVar[int]
    visitor_id: str
    def __init__(self, visitor_id: _Optional[str] = ...) -> None: ...

class EraseCustomerDataRequest(_message.Message):
    __slots__ = ("visitor_id",)
    VISITOR_ID_FIELD_NUMBER: _ClassVar[int]
    visitor_id: str
    def __init__(self, visitor_id: _Optional[str] = ...) -> None: ...

class EraseCustomerDataResponse(_message.Message):
    __slots__ = ("conversations", "messages", "files", "queued_items", "analytics_items", "erased_at")
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    QUEUED_ITEMS_FIELD_NUMBER: _ClassVar[int]
    ANALYTICS_ITEMS_FIELD_NUMBER: _ClassVar[int]
    ERASED_AT_FIELD_NUMBER: _ClassVar[int]
    conversations: int
    messages: int
    files: int
    queued_items: int
    analytics_items: int
    erased_at: _timestamp_pb2.Timestamp
    def __init__(self, conversations: _Optional[int] = ..., messages: _Optional[int] = ..., files: _Optional[int] = ..., queued_items: _Optional[int] = ..., analytics_items: _Optional[int] = ..., erased_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ExportChunk(_message.Message):
    __slots__ = ("data", "filename")
    DATA_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    filename: str
    def __init__(self, data: _Optional[bytes] = ..., filename: _Optional[str] = ...) -> None: ...
