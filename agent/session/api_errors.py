"""What an API failure means for a session. The SDK has already retried 429s and 5xxs by
the time one reaches the loop; what is left is one of three kinds:

    transient  408, 409, 429, 5xx, the network: the loop waits and asks again, a few times
    context    400 "prompt is too long": the conversation outgrew the model's window; the
               loop compacts it (context.py) and asks again, once
    fatal      every other status (a bad key 401, no access 403, no such model 404, a
               request the API rejects 400/413/422): asking again cannot help

A session that stops on a transient error that outlived the loop's tries, or on a fatal
one, ends in InfrastructureError: the failure is the setup's, not the model's, so it writes
no record, and `--resume` continues it once the cause is fixed.

Two layers retry a transient failure. The SDK's own (`max_retries`, agent/policies/claude.py)
comes first: attempts within one request, backing off 0.5 s doubling to 8 s, or as long as
the API's `retry-after` says. What outlives it is this module's: the loop asks again on the
next turn, after waiting API_PAUSE_S times the failures so far, for an outage longer than
the SDK's backoff spans (an overloaded API answers 529 for minutes). The SDK's settings
cannot express these waits, a count that depends on the failure, or a line on the user's
terminal, so `retry` states each wait (its reason, seconds, and the try it leads to) for the
transcript and the terminal. A refused connection to a base URL of the user's own
(ANTHROPIC_BASE_URL: a proxy, a local gateway) most likely means nothing listens there, a
setup error: it gets one retry, in case the service was restarting; the API's own host
refusing is a fault of the network between, worth every try.
"""

from __future__ import annotations

import importlib

_TRANSIENT_STATUS = {408, 409, 429}
_STATUS_WORDS = {408: "request timeout", 409: "conflict", 429: "rate limited",
                 529: "API overloaded"}
MAX_API_FAILURES = 3  # consecutive turns that failed after the SDK's retries, then stop
OWN_URL_REFUSED_TRIES = 2  # a refused connection to a base URL of the user's own: one retry
API_PAUSE_S = 30.0  # the wait before the n-th retry is n times this
API_HOST = "api.anthropic.com"  # the SDK's base URL when ANTHROPIC_BASE_URL names none


class InfrastructureError(Exception):
    """The API could not serve the session; the message is the API's. No record."""


class PolicyAPIError(Exception):
    """An API failure that a policy's own runtime reports, with the provider's HTTP status
    (None: no answer): the Inspect policy's, when Inspect's model call fails."""

    def __init__(self, message: str, status_code: int | None):
        super().__init__(message)
        self.status_code = status_code


def api_errors() -> tuple[type[BaseException], ...]:
    """What a policy's request raises when the API fails."""
    try:
        import anthropic
        import httpx2
    except ImportError:  # offline policies run without the SDK
        return (PolicyAPIError,)
    # a stream cut mid-response raises the HTTP library's own error, not the SDK's
    return (PolicyAPIError, anthropic.APIStatusError, anthropic.APIConnectionError,
            httpx2.TransportError)


def kind(error: BaseException) -> str:
    status = getattr(error, "status_code", None)
    if status == 400 and "prompt is too long" in str(error).lower():
        return "context"
    if status is None or status in _TRANSIENT_STATUS or status >= 500:
        return "transient"
    return "fatal"


def retry(error: BaseException, failures: int) -> dict | None:
    """The wait before asking again after `failures` consecutive turns failed, the last with
    `error`: {"reason", "wait_s", "attempt", "tries"} (the try it leads to, of how many);
    None when asking again cannot help or the tries are spent."""
    most = tries(error)
    if kind(error) != "transient" or failures >= most:
        return None
    return {"reason": retry_reason(error), "wait_s": API_PAUSE_S * failures,
            "attempt": failures + 1, "tries": most}


def tries(error: BaseException) -> int:
    """How many turns in a row may fail this way before the session stops."""
    if _refused(error) and _host(error).split(":")[0] != API_HOST:
        return OWN_URL_REFUSED_TRIES
    return MAX_API_FAILURES


def retry_reason(error: BaseException) -> str:
    """What a retry waits out, in a few words: "API overloaded (529)", "connection refused
    by localhost:8080"."""
    status = getattr(error, "status_code", None)
    if status is not None:
        return f"{_STATUS_WORDS.get(status, 'API server error')} ({status})"
    if _refused(error):
        return f"connection refused by {_host(error)}"
    if any(type(e).__name__.endswith("Timeout") or "timed out" in str(e) for e in _chain(error)):
        return f"request to {_host(error)} timed out"
    return f"connection to {_host(error)} failed"


def unanswered(error: BaseException) -> bool:
    """Whether `error` (or a cause of it) is a request that got no answer: a connection
    refused, reset or timed out, as the operating system, httpx (under the provider SDKs
    that Inspect drives) or httpx2 (under this SDK) report it."""
    transport = tuple(t for t in (_transport_error("httpx"), _transport_error("httpx2")) if t)
    return any(isinstance(e, (ConnectionError, TimeoutError, *transport))
               or type(e).__name__ in ("APIConnectionError", "APITimeoutError")
               for e in _chain(error))


def _transport_error(module: str) -> type | None:
    """The HTTP library's transport error, or None where it is not installed."""
    try:
        return importlib.import_module(module).TransportError
    except (ImportError, AttributeError):
        return None


def _chain(error: BaseException):
    """The error and its causes: the SDK's error, httpx2's, the operating system's."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _refused(error: BaseException) -> bool:
    return any(isinstance(e, ConnectionRefusedError) for e in _chain(error))


def _host(error: BaseException) -> str:
    """host[:port] the failed request went to, from the first error in the chain that
    names its request (a policy's PolicyAPIError names none, its cause does); "the API"
    when none does."""
    for e in _chain(error):
        try:
            url = e.request.url
        except (AttributeError, RuntimeError):  # httpx2 raises RuntimeError for an unset one
            continue
        return url.host if url.port is None else f"{url.host}:{url.port}"
    return "the API"
