"""The synchronous client: `Exactly`, its `Lock` context manager and `Transaction`."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from typing import Any, Callable, List, Optional

import redis

from . import commands as c
from .api import Commands
from .errors import ExactlyError, LockBusy, LockLost, from_response_error
from .results import GroupResult, LockResult, Outcome

DEFAULT_URL = "redis://127.0.0.1:7379"

# Attempts of one LOCK when the connection fails mid-call: the resend carries the
# same ID, so the server answers the first reply instead of granting again.
_LOCK_ATTEMPTS = 3


def default_owner() -> str:
    """This host, process and thread: an owner that nested lock() calls of one thread
    share (so they re-enter) and that no other thread or process has."""
    return "%s:%d:%d" % (socket.gethostname(), os.getpid(), threading.get_ident())


def new_request_id() -> str:
    return uuid.uuid4().hex


def parse_group(commands: List[c.Command], replies: List[Any]) -> GroupResult:
    """EXEC's replies (one per queued command, errors as exception instances) as a
    `GroupResult` of typed results."""
    parsed: List[Any] = []
    error: Optional[Exception] = None
    for command, reply in zip(commands, replies):
        if isinstance(reply, Exception):
            e = from_response_error(reply)
            error = error or e
            parsed.append(e)
        else:
            parsed.append(command.parse(reply))
    executed = error is None and not any(getattr(p, "failed", False) for p in parsed) and not any(
        getattr(p, "result", None) in (Outcome.ROLLED_BACK, Outcome.SKIPPED) for p in parsed)
    return GroupResult(executed=executed, results=tuple(parsed), error=error)


class Exactly(Commands):
    """A client for one exactly server, over a redis-py connection pool.

    ``Exactly("redis://127.0.0.1:7379")`` takes any redis-py URL (``rediss://`` for
    TLS, ``redis://:password@host``); extra keyword arguments go to
    ``redis.Redis.from_url``. Or pass an existing ``redis.Redis`` as ``client=``
    (it must decode responses). Thread-safe like redis-py: one instance per
    process is enough.

    Every method returns a frozen dataclass whose ``result`` is an `Outcome`;
    business refusals (``held``, ``insufficient``, ``busy``) are results, error
    replies raise `ExactlyError`. The default read timeout is none, so a
    ``LOCK ... WAIT`` or ``IDEM BEGIN ... WAIT`` parked on the server is not cut
    short; if you set ``socket_timeout``, make it longer than every wait you use.
    """

    def __init__(self, url: str = DEFAULT_URL, *, client: Optional[redis.Redis] = None,
                 **redis_kwargs: Any):
        if client is None:
            redis_kwargs.setdefault("decode_responses", True)
            client = redis.Redis.from_url(url, **redis_kwargs)
        self.redis = client

    def close(self) -> None:
        self.redis.close()

    def __enter__(self) -> "Exactly":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def ping(self) -> bool:
        return bool(self.redis.ping())

    def _submit(self, command: c.Command) -> Any:
        try:
            reply = self.redis.execute_command(*command.args)
        except redis.ResponseError as exc:
            raise from_response_error(exc) from exc
        return command.parse(reply)

    def execute(self, *args: Any) -> Any:
        """Sends any command as it is and returns the raw reply (an escape hatch)."""
        try:
            return self.redis.execute_command(*args)
        except redis.ResponseError as exc:
            raise from_response_error(exc) from exc

    def lock(self, name: str, *, lease_ms: int, owner: Optional[str] = None,
             wait_ms: Optional[int] = None) -> "Lock":
        """A `Lock` context manager on lock ``name``:

            with ex.lock("invoice:7", lease_ms=30_000, wait_ms=5_000) as held:
                db.execute("UPDATE invoice SET ..., fence = %s WHERE id = 7 AND fence < %s",
                           (held.token, held.token))

        It always sends an ``ID``, so a resend after a broken connection answers the
        first grant instead of re-entering; raises `LockBusy` if the lock stays busy
        for ``wait_ms``; always unlocks on exit, also when the block raises. The
        owner defaults to this host, process and thread, so nested ``with`` blocks
        of one thread re-enter."""
        return Lock(self, name, owner or default_owner(), lease_ms, wait_ms)

    def transaction(self) -> "Transaction":
        """A MULTI/EXEC group, all or none:

            with ex.transaction() as tx:
                tx.transfer("o-1", "wallet:alice", "shop", 900)
                tx.claim("order:1:ship", "warehouse-3")
            if not tx.result.executed: print(tx.result.failed)

        Methods on ``tx`` queue and return None; ``tx.result`` (a `GroupResult`) is
        there after the block. If any command is refused the group rolls back."""
        return Transaction(self)

    def idempotent(self, key: Optional[Callable[[Any], Optional[str]]] = None, **options: Any):
        """A decorator for Flask and Django views: one execution per idempotency key,
        every repeat answered with the stored response. See `exactly.web.idempotent`."""
        from .web import idempotent
        return idempotent(self, key=key, **options)


class Lock:
    """A held lease on one lock name; made by `Exactly.lock`.

    ``token`` is the fencing token once acquired: hand it to what you protect
    (``IFLOCK`` on exactly's own commands via ``iflock=held``, or a ``fence`` column
    with ``WHERE fence < :token`` in SQL)."""

    def __init__(self, client: Exactly, name: str, owner: str, lease_ms: int,
                 wait_ms: Optional[int]):
        self.client = client
        self.name = name
        self.owner = owner
        self.lease_ms = lease_ms
        self.wait_ms = wait_ms
        self.request_id = new_request_id()
        self.token: Optional[int] = None
        self.result: Optional[LockResult] = None

    @property
    def expires(self) -> Optional[int]:
        return self.result.expires if self.result else None

    def acquire(self) -> LockResult:
        """Takes the lock (raises `LockBusy` when busy). Connection failures are retried
        with the same request id, which the server deduplicates."""
        command = c.lock(self.name, self.owner, lease_ms=self.lease_ms, wait_ms=self.wait_ms,
                         request_id=self.request_id)
        for attempt in range(_LOCK_ATTEMPTS):
            try:
                result = self.client._submit(command)
                break
            except (redis.ConnectionError, redis.TimeoutError):
                if attempt == _LOCK_ATTEMPTS - 1:
                    raise
        if result.result not in (Outcome.ACQUIRED, Outcome.REENTERED):
            raise LockBusy(result)
        self.result = result
        self.token = result.token
        return result

    def renew(self, lease_ms: Optional[int] = None) -> bool:
        """Extends the lease to now + ``lease_ms`` (default: the lock's lease); False
        when the token no longer holds the lock."""
        result = self.client.renew(self.name, self._held(), lease_ms=lease_ms or self.lease_ms)
        if result.result is Outcome.RENEWED:
            self.result = result
            return True
        return False

    def valid(self) -> bool:
        """FENCE: True while the token still holds the lock."""
        return self.client.fence(self.name, self._held()).result is Outcome.VALID

    def release(self) -> LockResult:
        """UNLOCK one level; raises `LockLost` if the lease had already ended."""
        result = self.client.unlock(self.name, self._held())
        token, self.token = self.token, None
        if result.result is not Outcome.RELEASED:
            raise LockLost(self.name, token)
        return result

    def _held(self) -> int:
        if self.token is None:
            raise ExactlyError("ERR lock %r is not held" % (self.name,))
        return self.token

    def __enter__(self) -> "Lock":
        self.acquire()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self.token is None:
            return
        try:
            self.release()
        except LockLost:
            if exc_type is None:
                raise
        except (redis.ConnectionError, redis.TimeoutError):
            # The lease ends by itself; never hide the block's own exception.
            if exc_type is None:
                raise


class Transaction(Commands):
    """Queues commands for one MULTI/EXEC; see `Exactly.transaction`."""

    def __init__(self, client: Exactly):
        self.client = client
        self.commands: List[c.Command] = []
        self.result: Optional[GroupResult] = None

    def _submit(self, command: c.Command) -> None:
        if self.result is not None:
            raise ExactlyError("ERR this transaction has already been executed")
        self.commands.append(command)

    def execute(self) -> GroupResult:
        """Sends MULTI, the queued commands and EXEC; returns the `GroupResult`."""
        if not self.commands:
            self.result = GroupResult(executed=True, results=())
            return self.result
        with self.client.redis.pipeline(transaction=True) as pipe:
            for command in self.commands:
                pipe.execute_command(*command.args)
            try:
                replies = pipe.execute(raise_on_error=False)
            except redis.ResponseError as exc:
                raise from_response_error(exc) from exc
        self.result = parse_group(self.commands, replies)
        return self.result

    def __enter__(self) -> "Transaction":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.execute()
