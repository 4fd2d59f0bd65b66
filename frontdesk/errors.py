"""Domain errors and their gRPC status, in one place.

Service code raises these; the `rpc` decorator turns them into the canonical status
with a message a person understands. Anything unexpected is logged with the request
id and answered INTERNAL without a stack trace.
"""

from __future__ import annotations

import functools
import inspect
import uuid

import grpc

from frontdesk import logs
from frontdesk.stores.base import ConversationGone, StoreUnavailable

log = logs.get("frontdesk.errors")


class ServiceError(Exception):
    code = grpc.StatusCode.INTERNAL

    def __init__(self, message: str, trailers: tuple[tuple[str, str], ...] = ()):
        super().__init__(message)
        self.message = message
        self.trailers = trailers


class InvalidArgument(ServiceError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(ServiceError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(ServiceError):
    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(ServiceError):
    code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(ServiceError):
    code = grpc.StatusCode.UNAUTHENTICATED


class FailedPrecondition(ServiceError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class ResourceExhausted(ServiceError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(ServiceError):
    code = grpc.StatusCode.UNAVAILABLE


OUR_ERROR = "x-frontdesk-error"  # trailer marking a status written by our own code for people
_TRANSPORT_MESSAGES = {
    grpc.StatusCode.UNAVAILABLE: "a frontdesk service is temporarily unavailable; please retry",
    grpc.StatusCode.DEADLINE_EXCEEDED: "a frontdesk service took too long to answer; please retry",
    grpc.StatusCode.UNIMPLEMENTED: "this operation is not available yet",
}


async def _pass_through(context, err: grpc.aio.AioRpcError):
    """A downstream status reaches the caller unchanged when our code wrote it; a
    transport failure (connection refused, deadline) gets a plain message instead."""
    trailers = err.trailing_metadata() or ()
    ours = any(key == OUR_ERROR for key, _ in trailers)
    if ours:
        context.set_trailing_metadata(tuple((k, v) for k, v in trailers if k in (OUR_ERROR, "retry-after")))
        await context.abort(err.code(), status_text(err.details() or ""))
    log.warning("downstream.failed", code=err.code().name, details=err.details())
    await context.abort(
        err.code() if err.code() in _TRANSPORT_MESSAGES else grpc.StatusCode.INTERNAL,
        _TRANSPORT_MESSAGES.get(err.code(), "internal error; it has been logged"),
    )


def _request_id(context) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == "x-request-id":
            return value
    return uuid.uuid4().hex[:12]


# a status message travels in a trailer (16 KB at most, shared with the others): a message
# that quotes the caller's input is cut, and control characters are dropped
MAX_STATUS_MESSAGE = 500


def status_text(message: str) -> str:
    text = "".join(c if c.isprintable() else " " for c in message)
    return text if len(text) <= MAX_STATUS_MESSAGE else text[: MAX_STATUS_MESSAGE - 1] + "…"


async def _abort(context, err: Exception):
    if isinstance(err, ServiceError):
        context.set_trailing_metadata((*err.trailers, (OUR_ERROR, "1")))
        await context.abort(err.code, status_text(err.message))
    if isinstance(err, ConversationGone):  # erased while the call was under way
        await context.abort(grpc.StatusCode.NOT_FOUND, "conversation not found")
    if isinstance(err, StoreUnavailable):
        log.warning("store.unavailable", error=str(err))
        await context.abort(
            grpc.StatusCode.UNAVAILABLE, "storage is temporarily unavailable; nothing was changed, please retry"
        )
    if isinstance(err, grpc.aio.AioRpcError):
        await _pass_through(context, err)
    rid = _request_id(context)
    log.error("rpc.internal_error", request_id=rid, exc_info=err)
    await context.abort(grpc.StatusCode.INTERNAL, f"internal error (request id {rid}); it has been logged")


async def abort_with(context, err: Exception):
    """End the call with err's status (a ServiceError's code and message; anything else
    INTERNAL with a request id), as every servicer does through @rpc."""
    await _abort(context, err)


def rpc(method):
    """Decorate a servicer method (unary or server-streaming) with error mapping."""
    if inspect.isasyncgenfunction(method):

        @functools.wraps(method)
        async def stream_wrapper(self, request, context):
            try:
                async for item in method(self, request, context):
                    yield item
            except grpc.aio.AbortError:
                raise
            except Exception as err:  # noqa: BLE001 - the boundary: never leak a trace
                await _abort(context, err)

        return stream_wrapper

    @functools.wraps(method)
    async def unary_wrapper(self, request, context):
        try:
            return await method(self, request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as err:  # noqa: BLE001 - the boundary: never leak a trace
            await _abort(context, err)

    return unary_wrapper
