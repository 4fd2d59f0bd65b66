import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from frontdesk_pb.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PresenceState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRESENCE_STATE_UNSPECIFIED: _ClassVar[PresenceState]
    PRESENCE_STATE_ONLINE: _ClassVar[PresenceState]
    PRESENCE_STATE_AWAY: _ClassVar[PresenceState]
    PRESENCE_STATE_OFFLINE: _ClassVar[PresenceState]
PRESENCE_STATE_UNSPECIFIED: PresenceState
PRESENCE_STATE_ONLINE: PresenceState
PRESENCE_STATE_AWAY: PresenceState
PRESENCE_STATE_OFFLINE: PresenceState

class Typing(_message.Message):
    __slots__ = ("role", "active")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    role: _common_pb2.Role
    active: bool
    def __init__(self, role: _Optional[_Union[_common_pb2.Role, str]] = ..., active: _Optional[bool] = ...) -> None: ...

class TokenDelta(_message.Message):
    __slots__ = ("reply_id", "in_reply_to", "text", "index")
    REPLY_ID_FIELD_NUMBER: _ClassVar[int]
    IN_REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    reply_id: str
    in_reply_to: str
    text: str
    index: int
    def __init__(self, reply_id: _Optional[str] = ..., in_reply_to: _Optional[str] = ..., text: _Optional[str] = ..., index: _Optional[int] = ...) -> None: ...

class Handoff(_message.Message):
    __slots__ = ("reason", "notice")
    REASON_FIELD_NUMBER: _ClassVar[int]
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    reason: str
    notice: str
    def __init__(self, reason: _Optional[str] = ..., notice: _Optional[str] = ...) -> None: ...

class AgentJoined(_message.Message):
    __slots__ = ("operator_id", "display_name")
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    operator_id: str
    display_name: str
    def __init__(self, operator_id: _Optional[str] = ..., display_name: _Optional[str] = ...) -> None: ...

class StatusChanged(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: _common_pb2.ConversationStatus
    def __init__(self, status: _Optional[_Union[_common_pb2.ConversationStatus, str]] = ...) -> None: ...

class TranscriptionProgress(_message.Message):
    __slots__ = ("audio_id", "state", "text", "language")
    AUDIO_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    audio_id: str
    state: str
    text: str
    language: str
    def __init__(self, audio_id: _Optional[str] = ..., state: _Optional[str] = ..., text: _Optional[str] = ..., language: _Optional[str] = ...) -> None: ...

class ErrorNotice(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ConversationEvent(_message.Message):
    __slots__ = ("conversation_id", "at", "typing", "token", "message", "handoff", "agent_joined", "status_changed", "transcription", "error")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    TYPING_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    HANDOFF_FIELD_NUMBER: _ClassVar[int]
    AGENT_JOINED_FIELD_NUMBER: _ClassVar[int]
    STATUS_CHANGED_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    at: _timestamp_pb2.Timestamp
    typing: Typing
    token: TokenDelta
    message: _common_pb2.Message
    handoff: Handoff
    agent_joined: AgentJoined
    status_changed: StatusChanged
    transcription: TranscriptionProgress
    error: ErrorNotice
    def __init__(self, conversation_id: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., typing: _Optional[_Union[Typing, _Mapping]] = ..., token: _Optional[_Union[TokenDelta, _Mapping]] = ..., message: _Optional[_Union[_common_pb2.Message, _Mapping]] = ..., handoff: _Optional[_Union[Handoff, _Mapping]] = ..., agent_joined: _Optional[_Union[AgentJoined, _Mapping]] = ..., status_changed: _Optional[_Union[StatusChanged, _Mapping]] = ..., transcription: _Optional[_Union[TranscriptionProgress, _Mapping]] = ..., error: _Optional[_Union[ErrorNotice, _Mapping]] = ...) -> None: ...

class MessageReceived(_message.Message):
    __slots__ = ("message_id", "role", "channel", "length", "text")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    role: _common_pb2.Role
    channel: _common_pb2.Channel
    length: int
    text: str
    def __init__(self, message_id: _Optional[str] = ..., role: _Optional[_Union[_common_pb2.Role, str]] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ..., length: _Optional[int] = ..., text: _Optional[str] = ...) -> None: ...

class ReplyCompleted(_message.Message):
    __slots__ = ("reply_id", "in_reply_to", "backend", "model", "queue_wait_ms", "first_token_ms", "total_ms", "prompt_tokens", "completion_tokens", "cited_ids", "answered", "question")
    REPLY_ID_FIELD_NUMBER: _ClassVar[int]
    IN_REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    QUEUE_WAIT_MS_FIELD_NUMBER: _ClassVar[int]
    FIRST_TOKEN_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CITED_IDS_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    reply_id: str
    in_reply_to: str
    backend: str
    model: str
    queue_wait_ms: float
    first_token_ms: float
    total_ms: float
    prompt_tokens: int
    completion_tokens: int
    cited_ids: _containers.RepeatedScalarFieldContainer[str]
    answered: bool
    question: str
    def __init__(self, reply_id: _Optional[str] = ..., in_reply_to: _Optional[str] = ..., backend: _Optional[str] = ..., model: _Optional[str] = ..., queue_wait_ms: _Optional[float] = ..., first_token_ms: _Optional[float] = ..., total_ms: _Optional[float] = ..., prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., cited_ids: _Optional[_Iterable[str]] = ..., answered: _Optional[bool] = ..., question: _Optional[str] = ...) -> None: ...

class HandoffRequested(_message.Message):
    __slots__ = ("reason", "question")
    REASON_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    reason: str
    question: str
    def __init__(self, reason: _Optional[str] = ..., question: _Optional[str] = ...) -> None: ...

class FeedbackGiven(_message.Message):
    __slots__ = ("message_id", "helpful")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    HELPFUL_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    helpful: bool
    def __init__(self, message_id: _Optional[str] = ..., helpful: _Optional[bool] = ...) -> None: ...

class ConversationRated(_message.Message):
    __slots__ = ("score", "comment", "by_the_team")
    SCORE_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    BY_THE_TEAM_FIELD_NUMBER: _ClassVar[int]
    score: int
    comment: str
    by_the_team: bool
    def __init__(self, score: _Optional[int] = ..., comment: _Optional[str] = ..., by_the_team: _Optional[bool] = ...) -> None: ...

class FirstResponse(_message.Message):
    __slots__ = ("operator_id", "message_id", "wait_ms")
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    WAIT_MS_FIELD_NUMBER: _ClassVar[int]
    operator_id: str
    message_id: str
    wait_ms: float
    def __init__(self, operator_id: _Optional[str] = ..., message_id: _Optional[str] = ..., wait_ms: _Optional[float] = ...) -> None: ...

class ToolCalled(_message.Message):
    __slots__ = ("tool", "ok", "duration_ms", "error")
    TOOL_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    tool: str
    ok: bool
    duration_ms: float
    error: str
    def __init__(self, tool: _Optional[str] = ..., ok: _Optional[bool] = ..., duration_ms: _Optional[float] = ..., error: _Optional[str] = ...) -> None: ...

class ConversationClosed(_message.Message):
    __slots__ = ("previous_status", "operator_id", "resolution_ms")
    PREVIOUS_STATUS_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_MS_FIELD_NUMBER: _ClassVar[int]
    previous_status: _common_pb2.ConversationStatus
    operator_id: str
    resolution_ms: float
    def __init__(self, previous_status: _Optional[_Union[_common_pb2.ConversationStatus, str]] = ..., operator_id: _Optional[str] = ..., resolution_ms: _Optional[float] = ...) -> None: ...

class ConversationStarted(_message.Message):
    __slots__ = ("channel",)
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    channel: _common_pb2.Channel
    def __init__(self, channel: _Optional[_Union[_common_pb2.Channel, str]] = ...) -> None: ...

class ConversationAssigned(_message.Message):
    __slots__ = ("operator_id", "display_name", "by_operator_id")
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    BY_OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    operator_id: str
    display_name: str
    by_operator_id: str
    def __init__(self, operator_id: _Optional[str] = ..., display_name: _Optional[str] = ..., by_operator_id: _Optional[str] = ...) -> None: ...

class Presence(_message.Message):
    __slots__ = ("operator_id", "display_name", "state", "capacity", "seen_at")
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    SEEN_AT_FIELD_NUMBER: _ClassVar[int]
    operator_id: str
    display_name: str
    state: PresenceState
    capacity: int
    seen_at: _timestamp_pb2.Timestamp
    def __init__(self, operator_id: _Optional[str] = ..., display_name: _Optional[str] = ..., state: _Optional[_Union[PresenceState, str]] = ..., capacity: _Optional[int] = ..., seen_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class JobFailed(_message.Message):
    __slots__ = ("job_id", "deliveries", "error")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    deliveries: int
    error: str
    def __init__(self, job_id: _Optional[str] = ..., deliveries: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class DomainEvent(_message.Message):
    __slots__ = ("event_id", "tenant_id", "conversation_id", "occurred_at", "message_received", "reply_completed", "handoff_requested", "feedback_given", "conversation_rated", "tool_called", "job_failed", "conversation_closed", "conversation_started", "status_changed", "conversation_assigned", "presence_changed", "first_response")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    REPLY_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    HANDOFF_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_GIVEN_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_RATED_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLED_FIELD_NUMBER: _ClassVar[int]
    JOB_FAILED_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_CLOSED_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_STARTED_FIELD_NUMBER: _ClassVar[int]
    STATUS_CHANGED_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ASSIGNED_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_CHANGED_FIELD_NUMBER: _ClassVar[int]
    FIRST_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    tenant_id: str
    conversation_id: str
    occurred_at: _timestamp_pb2.Timestamp
    message_received: MessageReceived
    reply_completed: ReplyCompleted
    handoff_requested: HandoffRequested
    feedback_given: FeedbackGiven
    conversation_rated: ConversationRated
    tool_called: ToolCalled
    job_failed: JobFailed
    conversation_closed: ConversationClosed
    conversation_started: ConversationStarted
    status_changed: StatusChanged
    conversation_assigned: ConversationAssigned
    presence_changed: Presence
    first_response: FirstResponse
    def __init__(self, event_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., conversation_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., message_received: _Optional[_Union[MessageReceived, _Mapping]] = ..., reply_completed: _Optional[_Union[ReplyCompleted, _Mapping]] = ..., handoff_requested: _Optional[_Union[HandoffRequested, _Mapping]] = ..., feedback_given: _Optional[_Union[FeedbackGiven, _Mapping]] = ..., conversation_rated: _Optional[_Union[ConversationRated, _Mapping]] = ..., tool_called: _Optional[_Union[ToolCalled, _Mapping]] = ..., job_failed: _Optional[_Union[JobFailed, _Mapping]] = ..., conversation_closed: _Optional[_Union[ConversationClosed, _Mapping]] = ..., conversation_started: _Optional[_Union[ConversationStarted, _Mapping]] = ..., status_changed: _Optional[_Union[StatusChanged, _Mapping]] = ..., conversation_assigned: _Optional[_Union[ConversationAssigned, _Mapping]] = ..., presence_changed: _Optional[_Union[Presence, _Mapping]] = ..., first_response: _Optional[_Union[FirstResponse, _Mapping]] = ...) -> None: ...
