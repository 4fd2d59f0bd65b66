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

class Overview(_message.Message):
    __slots__ = ("questions", "ai_answered", "handed_off", "human_resolved", "accuracy", "satisfaction", "first_token_p50_ms", "first_token_p99_ms", "reply_p50_ms", "reply_p99_ms", "sentiment", "prompt_tokens", "completion_tokens")
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
    def __init__(self, questions: _Optional[int] = ..., ai_answered: _Optional[int] = ..., handed_off: _Optional[int] = ..., human_resolved: _Optional[int] = ..., accuracy: _Optional[float] = ..., satisfaction: _Optional[float] = ..., first_token_p50_ms: _Optional[float] = ..., first_token_p99_ms: _Optional[float] = ..., reply_p50_ms: _Optional[float] = ..., reply_p99_ms: _Optional[float] = ..., sentiment: _Optional[float] = ..., prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ...) -> None: ...

class DailyStat(_message.Message):
    __slots__ = ("day", "questions", "ai_answered", "handed_off", "helpful", "not_helpful", "ratings", "rating_sum")
    DAY_FIELD_NUMBER: _ClassVar[int]
    QUESTIONS_FIELD_NUMBER: _ClassVar[int]
    AI_ANSWERED_FIELD_NUMBER: _ClassVar[int]
    HANDED_OFF_FIELD_NUMBER: _ClassVar[int]
    HELPFUL_FIELD_NUMBER: _ClassVar[int]
    NOT_HELPFUL_FIELD_NUMBER: _ClassVar[int]
    RATINGS_FIELD_NUMBER: _ClassVar[int]
    RATING_SUM_FIELD_NUMBER: _ClassVar[int]
    day: str
    questions: int
    ai_answered: int
    handed_off: int
    helpful: int
    not_helpful: int
    ratings: int
    rating_sum: float
    def __init__(self, day: _Optional[str] = ..., questions: _Optional[int] = ..., ai_answered: _Optional[int] = ..., handed_off: _Optional[int] = ..., helpful: _Optional[int] = ..., not_helpful: _Optional[int] = ..., ratings: _Optional[int] = ..., rating_sum: _Optional[float] = ...) -> None: ...

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
