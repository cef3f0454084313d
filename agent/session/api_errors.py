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
"""

from __future__ import annotations

_TRANSIENT_STATUS = {408, 409, 429}


class InfrastructureError(Exception):
    """The API could not serve the session; the message is the API's. No record."""


def api_errors() -> tuple[type[BaseException], ...]:
    """What a policy's request raises when the API fails (empty without the SDK)."""
    try:
        import anthropic
        import httpx2
    except ImportError:  # offline policies run without the SDK
        return ()
    # a stream cut mid-response raises the HTTP library's own error, not the SDK's
    return (anthropic.APIStatusError, anthropic.APIConnectionError, httpx2.TransportError)


def kind(error: BaseException) -> str:
    status = getattr(error, "status_code", None)
    if status == 400 and "prompt is too long" in str(error).lower():
        return "context"
    if status is None or status in _TRANSIENT_STATUS or status >= 500:
        return "transient"
    return "fatal"
