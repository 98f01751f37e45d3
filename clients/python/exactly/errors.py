"""Exceptions. Business outcomes are results, not exceptions: a lost claim is a
`ClaimResult` with ``Outcome.HELD``. These are raised only for error replies
(malformed or refused commands) and by the helpers that promise something
(``lock()`` raises `LockBusy` when it could not take the lock)."""

from __future__ import annotations

from typing import Any


class ExactlyError(Exception):
    """An error reply from the server (``-ERR ...``, ``-IOERR ...``); ``code`` is its
    first word."""

    def __init__(self, message: str):
        super().__init__(message)
        first = message.split(" ", 1)[0]
        self.code = first if first in _CODES else "ERR"


# Error codes the server answers besides ERR (redis-py strips a leading ERR itself).
_CODES = frozenset({"ERR", "NOAUTH", "WRONGPASS", "NOPERM", "NOPROTO", "IOERR", "EXECABORT",
                    "OOM", "MOVED", "TRYAGAIN", "BUSY", "STALE", "RUNNING", "MISMATCH"})


class LockBusy(ExactlyError):
    """``lock()`` could not take the lock within its wait; ``result`` is the LOCK
    result (its ``holder`` names the owner that has it)."""

    def __init__(self, result: Any):
        super().__init__("BUSY lock %r is held by %r" % (result.name, result.holder))
        self.result = result


class LockLost(ExactlyError):
    """The lock's lease ended before ``lock()`` released it: another owner may have
    held it meanwhile, so work done under it was not protected (use its fencing
    token with the resource to be sure)."""

    def __init__(self, name: str, token: int):
        super().__init__("STALE lock %r token %d was lost before release" % (name, token))
        self.name = name
        self.token = token


class IdempotencyConflict(ExactlyError):
    """``IDEM BEGIN`` answered ``running`` (another request with the key is still being
    executed after the wait ran out) or ``mismatch`` (the key was used for another
    request); ``result`` is the IDEM result."""

    def __init__(self, result: Any):
        super().__init__("%s idempotency key %r" % (str(result.result).upper(), result.key))
        self.result = result


def from_response_error(exc: Exception) -> ExactlyError:
    """A redis-py ResponseError as an ExactlyError (its text keeps the code)."""
    message = str(exc)
    err = ExactlyError(message)
    err.__cause__ = exc
    return err
