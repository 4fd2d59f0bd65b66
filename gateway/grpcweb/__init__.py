"""gRPC-web for browsers, served by the gateway process itself.

In production Envoy's grpc_web filter sits in front of the gateway (deploy/). The embedded
default has no Envoy, so the gateway runs this small HTTP/1.1 server beside its gRPC port:

    browser --gRPC-web (HTTP/1.1)--> this translator --gRPC (HTTP/2, loopback)--> gateway/servicer.py

Each gRPC-web call becomes one real gRPC call on the gateway's own port through a local
channel with raw-bytes methods (no decoding here), so it passes through exactly the same
servicers, authentication, rate limits and error mapping as a native gRPC call. The
translator only reframes: request headers become metadata, `grpc-timeout` becomes the
call's deadline, response messages are written frame by frame as they arrive (a
server-streaming call such as ChatService.StreamEvents is never buffered), and the status
and trailing metadata (`retry-after`, `x-frontdesk-error`, ...) end the body as the
gRPC-web trailers frame. A browser that goes away cancels the upstream call.

Both wire formats are served: `application/grpc-web(+proto)` (what @connectrpc/connect-web's
createGrpcWebTransport and grpc-web's binary mode send) and `application/grpc-web-text(+proto)`
(base64; grpc-web's default mode). In text mode each response frame is base64-encoded on its
own (padded), so a streamed frame is decodable the moment it arrives.

Only unary and server-streaming methods of the services the gateway serves are reachable;
client-streaming and bidi cannot work over gRPC-web and answer UNIMPLEMENTED. Other GET
paths serve the built web pages (web/dist) when there are any.

HTTP server: aiohttp (pinned by the project). It writes each chunk to the socket at once,
cancels a handler when its client disconnects (`handler_cancellation=True`), and serves
files with sendfile, ETags and ranges.

Where each part lives: protocol.py (the wire format), server.py (the translator), pages.py
(the built web pages and their security headers).
"""

from gateway.grpcweb.pages import ADMIN_CSP, PAGE_CSP, page_headers
from gateway.grpcweb.protocol import (
    CORS_ALLOW_HEADERS,
    CORS_EXPOSE_HEADERS,
    ProtocolError,
    parse_timeout,
    request_metadata,
    trailers_frame,
)
from gateway.grpcweb.server import MAX_REQUEST_BYTES, SERVED, GrpcWebServer, local_target, start_grpc_web

__all__ = [
    "ADMIN_CSP",
    "CORS_ALLOW_HEADERS",
    "CORS_EXPOSE_HEADERS",
    "MAX_REQUEST_BYTES",
    "PAGE_CSP",
    "SERVED",
    "GrpcWebServer",
    "ProtocolError",
    "local_target",
    "page_headers",
    "parse_timeout",
    "request_metadata",
    "start_grpc_web",
    "trailers_frame",
]
