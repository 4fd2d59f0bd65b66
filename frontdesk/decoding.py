"""Requests that are not valid protobuf end with INVALID_ARGUMENT and a plain message.

gRPC decodes a request before any of our code runs; when protobuf's parser raises (a length
past the end, invalid UTF-8 in a string field, random bytes), grpc-python answers UNKNOWN
with the exception's text, internals included. This interceptor, on every server, swaps in
a decoder that turns a decoding failure into a marker, and a behaviour that answers the
marker with INVALID_ARGUMENT before the servicer sees it (for client streams: at the
message that failed)."""

from __future__ import annotations

import grpc
from google.protobuf.message import DecodeError


class Malformed:
    """What the decoder hands on instead of a message it could not parse."""

    def __init__(self, message_type: str):
        self.message_type = message_type

    @property
    def text(self) -> str:
        return f"the request is not a valid {self.message_type} message (malformed protobuf bytes)"


def _safe(deserializer):
    if deserializer is None:
        return None
    name = getattr(getattr(deserializer, "__self__", None), "DESCRIPTOR", None)
    type_name = name.full_name if name is not None else "protobuf"

    def decode(data: bytes):
        try:
            return deserializer(data)
        except (DecodeError, UnicodeDecodeError, ValueError, RecursionError):
            return Malformed(type_name)

    return decode


async def _refuse(context, malformed: Malformed):
    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, malformed.text)


async def _checked(request_iterator, context):
    async for item in request_iterator:
        if isinstance(item, Malformed):
            await _refuse(context, item)
        yield item


class DecodingInterceptor(grpc.aio.ServerInterceptor):
    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None or handler.request_deserializer is None:
            return handler
        safe = _safe(handler.request_deserializer)
        if handler.unary_unary is not None:
            inner = handler.unary_unary

            async def unary_unary(request, context):
                if isinstance(request, Malformed):
                    await _refuse(context, request)
                return await inner(request, context)

            return handler._replace(request_deserializer=safe, unary_unary=unary_unary)
        if handler.unary_stream is not None:
            inner_stream = handler.unary_stream

            async def unary_stream(request, context):
                if isinstance(request, Malformed):
                    await _refuse(context, request)
                result = inner_stream(request, context)
                if hasattr(result, "__aiter__"):
                    async for item in result:
                        yield item
                else:
                    await result

            return handler._replace(request_deserializer=safe, unary_stream=unary_stream)
        if handler.stream_unary is not None:
            inner_client = handler.stream_unary

            async def stream_unary(request_iterator, context):
                return await inner_client(_checked(request_iterator, context), context)

            return handler._replace(request_deserializer=safe, stream_unary=stream_unary)
        inner_bidi = handler.stream_stream

        async def stream_stream(request_iterator, context):
            async for item in inner_bidi(_checked(request_iterator, context), context):
                yield item

        return handler._replace(request_deserializer=safe, stream_stream=stream_stream)
