// What a person is told when a call fails: a short sentence for each gRPC status, never a
// stack trace or a blank screen. Shared by the widget and the admin panel.

import { Code, ConnectError } from "@connectrpc/connect";

/** True when the call failed because it was aborted by us (AbortController), not by the server. */
export function isAbort(err: unknown): boolean {
  if (err instanceof DOMException && err.name === "AbortError") return true;
  return err instanceof ConnectError && err.code === Code.Canceled;
}

/** The gRPC status of any error (Unknown for non-gRPC errors). */
export function codeOf(err: unknown): Code {
  return ConnectError.from(err).code;
}

/**
 * A human sentence for an error. Messages the gateway wrote for people (INVALID_ARGUMENT,
 * FAILED_PRECONDITION, NOT_FOUND, ...) are shown as they are; transport and server failures get
 * a plain explanation.
 */
export function humanError(err: unknown): string {
  const e = ConnectError.from(err);
  const said = e.rawMessage.trim();
  if (isNetworkFailure(e)) return UNREACHABLE;
  switch (e.code) {
    case Code.InvalidArgument:
    case Code.FailedPrecondition:
    case Code.OutOfRange:
    case Code.AlreadyExists:
      return said ? capitalize(said) : "That could not be accepted.";
    case Code.NotFound:
      return said ? capitalize(said) : "That no longer exists.";
    case Code.PermissionDenied:
      return "You are not allowed to do that.";
    case Code.Unauthenticated:
      return "Your session has expired. Please sign in again.";
    case Code.ResourceExhausted:
      return "Too many requests right now. Please wait a moment and try again.";
    case Code.DeadlineExceeded:
      return "The server took too long to answer. Please try again.";
    case Code.Unavailable:
    case Code.Canceled:
    case Code.Aborted:
      return UNREACHABLE;
    default:
      return "Something went wrong on our side. Please try again in a moment.";
  }
}

const UNREACHABLE = "We could not reach the server. Check your connection; we will keep trying.";

/** fetch() itself failed (offline, refused, reset): connect reports it as UNKNOWN with the TypeError as cause. */
function isNetworkFailure(e: ConnectError): boolean {
  if (e.code !== Code.Unknown) return false;
  return e.cause instanceof TypeError || /failed to fetch|networkerror|load failed|network error/i.test(e.rawMessage);
}

function capitalize(text: string): string {
  const s = text.length > 300 ? `${text.slice(0, 300)}…` : text;
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Reconnect delay for the n-th consecutive failure: 0.5 s doubling to 15 s, with ±25% jitter. */
export function backoffMs(attempt: number): number {
  const base = Math.min(15_000, 500 * 2 ** Math.min(attempt, 10));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}
