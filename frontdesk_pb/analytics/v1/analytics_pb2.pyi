import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DateRange(_message.Message):
    __slots__ = ("from_day", "to_day")
    FROM_DAY_FIELD_NUMBER: _ClassVar[int]
    TO_DAY_FIELD_NUMBER: _ClassVar[int]
    from_day: str
    to_day: str
    def __init__(self, from_day: _Optional[str] = ..., to_day: _Optional[str] = ...) -> None: ...

class GetOverviewRequest(_message.Message):
    __slots__ = ("range",)
    RANGE_FIELD_NUMBER: _ClassVar[int]
    range: DateRange
    def __init__(self, range: _Optional[_Union[DateRange, _Mapping]] = ...) -> None: ...

class LatencyStat(_message.Message):
    __slots__ = ("count", "p50_ms", "p90_ms", "p99_ms")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    P50_MS_FIELD_NUMBER: _ClassVar[int]
    P90_MS_FIELD_NUMBER: _ClassVar[int]
    P99_MS_FIELD_NUMBER: _ClassVar[int]
    count: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    def __init__(self, count: _Optional[int] = ..., p50_ms: _Optional[float] = ..., p90_ms: _Optional[float] = ..., p99_ms: _Optional[float] = ...) -> None: ...

class CountByName(_message.Message):
    __slots__ = ("name", "count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    count: int
    def __init__(self, name: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class BackendStat(_message.Message):
    __slots__ = ("backend", "model", "replies", "prompt_tokens", "completion_tokens", "priced", "cost_usd", "input_usd_per_1m", "output_usd_per_1m")
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REPLIES_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    PRICED_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    INPUT_USD_PER_1M_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_USD_PER_1M_FIELD_NUMBER: _ClassVar[int]
    backend: str
    model: str
    replies: int
    prompt_tokens: int
    completion_tokens: int
    priced: bool
    cost_usd: float
    input_usd_per_1m: float
    output_usd_per_1m: float
    def __init__(self, backend: _Optional[str] = ..., model: _Optional[str] = ..., replies: _Optional[int] = ..., prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., priced: _Optional[bool] = ..., cost_usd: _Optional[float] = ..., input_usd_per_1m: _Optional[float] = ..., output_usd_per_1m: _Optional[float] = ...) -> None: ...

class ToolStat(_message.Message):
    __slots__ = ("tool", "calls", "errors", "mean_ms")
    TOOL_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    MEAN_MS_FIELD_NUMBER: _ClassVar[int]
    tool: str
    calls: int
    errors: int
    mean_ms: float
    def __init__(self, tool: _Optional[str] = ..., calls: _Optional[int] = ..., errors: _Optional[int] = ..., mean_ms: _Optional[float] = ...) -> None: ...

class Overview(_message.Message):
    __slots__ = ("questions", "ai_answered", "handed_off", "human_resolved", "accuracy", "satisfaction", "first_token_p50_ms", "first_token_p99_ms", "reply_p50_ms", "reply_p99_ms", "sentiment", "prompt_tokens", "completion_tokens", "from_day", "to_day", "helpful", "not_helpful", "ratings", "rating_counts", "ai_resolved", "closed", "jobs_failed", "first_token", "reply", "queue_wait", "handoff_reasons", "backends", "tools", "positive_messages", "neutral_messages", "negative_messages", "channels", "cost_usd", "unpriced_replies", "first_response", "resolution", "satisfaction_ai", "satisfaction_team", "ratings_ai", "ratings_team", "operators")
    QUESTIONS_FIELD_NUMBER: _ClassVar[int]
    AI_ANSWERED_FIELD_NUMBER: _ClassVar[int]
    HANDED_OFF_FIELD_NUMBER: _ClassVar[int]
    HUMAN_RESOLVED_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    SATISFACTION_FIELD_NUMBER: _ClassVar[int]
    FIRST_TOKEN_P50_MS_FIELD_NUMBER: _ClassVar[int]
    FIRST_TOKEN_P99_MS_FIELD_NUMBER: _ClassVar[int]
    REPLY_P50_MS_FIELD_NUMBER: _ClassVar[int]
    REPLY_P99_MS_FIELD_NUMBER: _ClassVar[int]
    SENTIMENT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    FROM_DAY_FIELD_NUMBER: _ClassVar[int]
    TO_DAY_FIELD_NUMBER: _ClassVar[int]
    HELPFUL_FIELD_NUMBER: _ClassVar[int]
    NOT_HELPFUL_FIELD_NUMBER: _ClassVar[int]
    RATINGS_FIELD_NUMBER: _ClassVar[int]
    RATING_COUNTS_FIELD_NUMBER: _ClassVar[int]
    AI_RESOLVED_FIELD_NUMBER: _ClassVar[int]
    CLOSED_FIELD_NUMBER: _ClassVar[int]
    JOBS_FAILED_FIELD_NUMBER: _ClassVar[int]
    FIRST_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    QUEUE_WAIT_FIELD_NUMBER: _ClassVar[int]
    HANDOFF_REASONS_FIELD_NUMBER: _ClassVar[int]
    BACKENDS_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    POSITIVE_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    NEUTRAL_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    UNPRICED_REPLIES_FIELD_NUMBER: _ClassVar[int]
    FIRST_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    SATISFACTION_AI_FIELD_NUMBER: _ClassVar[int]
    SATISFACTION_TEAM_FIELD_NUMBER: _ClassVar[int]
    RATINGS_AI_FIELD_NUMBER: _ClassVar[int]
    RATINGS_TEAM_FIELD_NUMBER: _ClassVar[int]
    OPERATORS_FIELD_NUMBER: _ClassVar[int]
    questions: int
    ai_answered: int
    handed_off: int
    human_resolved: int
    accuracy: float
    satisfaction: float
    first_token_p50_ms: float
    first_token_p99_ms: float
    reply_p50_ms: float
    reply_p99_ms: float
    sentiment: float
    prompt_tokens: int
    completion_tokens: int
    from_day: str
    to_day: str
    helpful: int
    not_helpful: int
    ratings: int
    rating_counts: _containers.RepeatedScalarFieldContainer[int]
    ai_resolved: int
    closed: int
    jobs_failed: int
    first_token: LatencyStat
    reply: LatencyStat
    queue_wait: LatencyStat
    handoff_reasons: _containers.RepeatedCompositeFieldContainer[CountByName]
    backends: _containers.RepeatedCompositeFieldContainer[BackendStat]
    tools: _containers.RepeatedCompositeFieldContainer[ToolStat]
    positive_messages: int
    neutral_messages: int
    negative_messages: int
    channels: _containers.RepeatedCompositeFieldContainer[CountByName]
    cost_usd: float
    unpriced_replies: int
    first_response: LatencyStat
    resolution: LatencyStat
    satisfaction_ai: float
    satisfaction_team: float
    ratings_ai: int
    ratings_team: int
    operators: _containers.RepeatedCompositeFieldContainer[OperatorStat]
    def __init__(self, questions: _Optional[int] = ..., ai_answered: _Optional[int] = ..., handed_off: _Optional[int] = ..., human_resolved: _Optional[int] = ..., accuracy: _Optional[float] = ..., satisfaction: _Optional[float] = ..., first_token_p50_ms: _Optional[float] = ..., first_token_p99_ms: _Optional[float] = ..., reply_p50_ms: _Optional[float] = ..., reply_p99_ms: _Optional[float] = ..., sentiment: _Optional[float] = ..., prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., from_day: _Optional[str] = ..., to_day: _Optional[str] = ..., helpful: _Optional[int] = ..., not_helpful: _Optional[int] = ..., ratings: _Optional[int] = ..., rating_counts: _Optional[_Iterable[int]] = ..., ai_resolved: _Optional[int] = ..., closed: _Optional[int] = ..., jobs_failed: _Optional[int] = ..., first_token: _Optional[_Union[LatencyStat, _Mapping]] = ..., reply: _Optional[_Union[LatencyStat, _Mapping]] = ..., queue_wait: _Optional[_Union[LatencyStat, _Mapping]] = ..., handoff_reasons: _Optional[_Iterable[_Union[CountByName, _Mapping]]] = ..., backends: _Optional[_Iterable[_Union[BackendStat, _Mapping]]] = ..., tools: _Optional[_Iterable[_Union[ToolStat, _Mapping]]] = ..., positive_messages: _Optional[int] = ..., neutral_messages: _Optional[int] = ..., negative_messages: _Optional[int] = ..., channels: _Optional[_Iterable[_Union[CountByName, _Mapping]]] = ..., cost_usd: _Optional[float] = ..., unpriced_replies: _Optional[int] = ..., first_response: _Optional[_Union[LatencyStat, _Mapping]] = ..., resolution: _Optional[_Union[LatencyStat, _Mapping]] = ..., satisfaction_ai: _Optional[float] = ..., satisfaction_team: _Optional[float] = ..., ratings_ai: _Optional[int] = ..., ratings_team: _Optional[int] = ..., operators: _Optional[_Iterable[_Union[OperatorStat, _Mapping]]] = ...) -> None: ...

class OperatorStat(_message.Message):
    __slots__ = ("operator_id", "first_responses", "mean_first_response_ms", "resolved", "mean_resolution_ms")
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_RESPONSES_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIRST_RESPONSE_MS_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_FIELD_NUMBER: _ClassVar[int]
    MEAN_RESOLUTION_MS_FIELD_NUMBER: _ClassVar[int]
    operator_id: str
    first_responses: int
    mean_first_response_ms: float
    resolved: int
    mean_resolution_ms: float
    def __init__(self, operator_id: _Optional[str] = ..., first_responses: _Optional[int] = ..., mean_first_response_ms: _Optional[float] = ..., resolved: _Optional[int] = ..., mean_resolution_ms: _Optional[float] = ...) -> None: ...

class DailyStat(_message.Message):
    __slots__ = ("day", "questions", "ai_answered", "handed_off", "helpful", "not_helpful", "ratings", "rating_sum", "hour", "human_resolved", "ai_resolved", "sentiment", "first_token_p50_ms", "reply_p50_ms", "reply_p99_ms", "prompt_tokens", "completion_tokens", "jobs_failed")
    DAY_FIELD_NUMBER: _ClassVar[int]
    QUESTIONS_FIELD_NUMBER: _ClassVar[int]
    AI_ANSWERED_FIELD_NUMBER: _ClassVar[int]
    HANDED_OFF_FIELD_NUMBER: _ClassVar[int]
    HELPFUL_FIELD_NUMBER: _ClassVar[int]
    NOT_HELPFUL_FIELD_NUMBER: _ClassVar[int]
    RATINGS_FIELD_NUMBER: _ClassVar[int]
    RATING_SUM_FIELD_NUMBER: _ClassVar[int]
    HOUR_FIELD_NUMBER: _ClassVar[int]
    HUMAN_RESOLVED_FIELD_NUMBER: _ClassVar[int]
    AI_RESOLVED_FIELD_NUMBER: _ClassVar[int]
    SENTIMENT_FIELD_NUMBER: _ClassVar[int]
    FIRST_TOKEN_P50_MS_FIELD_NUMBER: _ClassVar[int]
    REPLY_P50_MS_FIELD_NUMBER: _ClassVar[int]
    REPLY_P99_MS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    JOBS_FAILED_FIELD_NUMBER: _ClassVar[int]
    day: str
    questions: int
    ai_answered: int
    handed_off: int
    helpful: int
    not_helpful: int
    ratings: int
    rating_sum: float
    hour: str
    human_resolved: int
    ai_resolved: int
    sentiment: float
    first_token_p50_ms: float
    reply_p50_ms: float
    reply_p99_ms: float
    prompt_tokens: int
    completion_tokens: int
    jobs_failed: int
    def __init__(self, day: _Optional[str] = ..., questions: _Optional[int] = ..., ai_answered: _Optional[int] = ..., handed_off: _Optional[int] = ..., helpful: _Optional[int] = ..., not_helpful: _Optional[int] = ..., ratings: _Optional[int] = ..., rating_sum: _Optional[float] = ..., hour: _Optional[str] = ..., human_resolved: _Optional[int] = ..., ai_resolved: _Optional[int] = ..., sentiment: _Optional[float] = ..., first_token_p50_ms: _Optional[float] = ..., reply_p50_ms: _Optional[float] = ..., reply_p99_ms: _Optional[float] = ..., prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., jobs_failed: _Optional[int] = ...) -> None: ...

class GetDailyStatsRequest(_message.Message):
    __slots__ = ("range",)
    RANGE_FIELD_NUMBER: _ClassVar[int]
    range: DateRange
    def __init__(self, range: _Optional[_Union[DateRange, _Mapping]] = ...) -> None: ...

class GetDailyStatsResponse(_message.Message):
    __slots__ = ("days",)
    DAYS_FIELD_NUMBER: _ClassVar[int]
    days: _containers.RepeatedCompositeFieldContainer[DailyStat]
    def __init__(self, days: _Optional[_Iterable[_Union[DailyStat, _Mapping]]] = ...) -> None: ...

class GetHourlyStatsRequest(_message.Message):
    __slots__ = ("range",)
    RANGE_FIELD_NUMBER: _ClassVar[int]
    range: DateRange
    def __init__(self, range: _Optional[_Union[DateRange, _Mapping]] = ...) -> None: ...

class GetHourlyStatsResponse(_message.Message):
    __slots__ = ("hours",)
    HOURS_FIELD_NUMBER: _ClassVar[int]
    hours: _containers.RepeatedCompositeFieldContainer[DailyStat]
    def __init__(self, hours: _Optional[_Iterable[_Union[DailyStat, _Mapping]]] = ...) -> None: ...

class GetTopUnansweredRequest(_message.Message):
    __slots__ = ("range", "limit")
    RANGE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    range: DateRange
    limit: int
    def __init__(self, range: _Optional[_Union[DateRange, _Mapping]] = ..., limit: _Optional[int] = ...) -> None: ...

class UnansweredQuestion(_message.Message):
    __slots__ = ("question", "count")
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    question: str
    count: int
    def __init__(self, question: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class GetTopUnansweredResponse(_message.Message):
    __slots__ = ("questions",)
    QUESTIONS_FIELD_NUMBER: _ClassVar[int]
    questions: _containers.RepeatedCompositeFieldContainer[UnansweredQuestion]
    def __init__(self, questions: _Optional[_Iterable[_Union[UnansweredQuestion, _Mapping]]] = ...) -> None: ...

class GetSentimentRequest(_message.Message):
    __slots__ = ("range", "limit")
    RANGE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    range: DateRange
    limit: int
    def __init__(self, range: _Optional[_Union[DateRange, _Mapping]] = ..., limit: _Optional[int] = ...) -> None: ...

class NegativeMessage(_message.Message):
    __slots__ = ("conversation_id", "message_id", "compound")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    COMPOUND_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    message_id: str
    compound: float
    def __init__(self, conversation_id: _Optional[str] = ..., message_id: _Optional[str] = ..., compound: _Optional[float] = ...) -> None: ...

class SentimentReport(_message.Message):
    __slots__ = ("messages", "mean_compound", "positive", "neutral", "negative", "most_negative", "analyser")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    MEAN_COMPOUND_FIELD_NUMBER: _ClassVar[int]
    POSITIVE_FIELD_NUMBER: _ClassVar[int]
    NEUTRAL_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_FIELD_NUMBER: _ClassVar[int]
    MOST_NEGATIVE_FIELD_NUMBER: _ClassVar[int]
    ANALYSER_FIELD_NUMBER: _ClassVar[int]
    messages: int
    mean_compound: float
    positive: int
    neutral: int
    negative: int
    most_negative: _containers.RepeatedCompositeFieldContainer[NegativeMessage]
    analyser: str
    def __init__(self, messages: _Optional[int] = ..., mean_compound: _Optional[float] = ..., positive: _Optional[int] = ..., neutral: _Optional[int] = ..., negative: _Optional[int] = ..., most_negative: _Optional[_Iterable[_Union[NegativeMessage, _Mapping]]] = ..., analyser: _Optional[str] = ...) -> None: ...

class BackfillRequest(_message.Message):
    __slots__ = ("from_logs", "range")
    FROM_LOGS_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    from_logs: bool
    range: DateRange
    def __init__(self, from_logs: _Optional[bool] = ..., range: _Optional[_Union[DateRange, _Mapping]] = ...) -> None: ...

class BackfillResponse(_message.Message):
    __slots__ = ("scanned", "applied", "duplicates", "skipped", "conversations")
    SCANNED_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    scanned: int
    applied: int
    duplicates: int
    skipped: int
    conversations: int
    def __init__(self, scanned: _Optional[int] = ..., applied: _Optional[int] = ..., duplicates: _Optional[int] = ..., skipped: _Optional[int] = ..., conversations: _Optional[int] = ...) -> None: ...

class ConversationSentiment(_message.Message):
    __slots__ = ("conversation_id", "messages", "mean_compound", "min_compound", "updated_at", "label")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    MEAN_COMPOUND_FIELD_NUMBER: _ClassVar[int]
    MIN_COMPOUND_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    messages: int
    mean_compound: float
    min_compound: float
    updated_at: _timestamp_pb2.Timestamp
    label: str
    def __init__(self, conversation_id: _Optional[str] = ..., messages: _Optional[int] = ..., mean_compound: _Optional[float] = ..., min_compound: _Optional[float] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., label: _Optional[str] = ...) -> None: ...

class ListConversationSentimentRequest(_message.Message):
    __slots__ = ("range", "page_size", "page_token")
    RANGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    range: DateRange
    page_size: int
    page_token: str
    def __init__(self, range: _Optional[_Union[DateRange, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListConversationSentimentResponse(_message.Message):
    __slots__ = ("conversations", "next_page_token", "total", "analyser")
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    ANALYSER_FIELD_NUMBER: _ClassVar[int]
    conversations: _containers.RepeatedCompositeFieldContainer[ConversationSentiment]
    next_page_token: str
    total: int
    analyser: str
    def __init__(self, conversations: _Optional[_Iterable[_Union[ConversationSentiment, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total: _Optional[int] = ..., analyser: _Optional[str] = ...) -> None: ...

class GetConversationSentimentRequest(_message.Message):
    __slots__ = ("conversation_ids",)
    CONVERSATION_IDS_FIELD_NUMBER: _ClassVar[int]
    conversation_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, conversation_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetConversationSentimentResponse(_message.Message):
    __slots__ = ("conversations",)
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    conversations: _containers.RepeatedCompositeFieldContainer[ConversationSentiment]
    def __init__(self, conversations: _Optional[_Iterable[_Union[ConversationSentiment, _Mapping]]] = ...) -> None: ...
