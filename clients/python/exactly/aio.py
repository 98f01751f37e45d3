"""The asyncio twin of `exactly.Exactly`, over ``redis.asyncio``.

Same methods and results; each returns a coroutine:

    ex = AsyncExactly("redis://127.0.0.1:7379")
    r = await ex.claim("order:42:email", "worker-1", ttl_ms=60_000)
    async with ex.lock("invoice:7", lease_ms=30_000) as held:
        ...
    async with ex.transaction() as tx:
        tx.transfer("o-1", "wallet:alice", "shop", 900)
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any, List, Optional

import redis
import redis.asyncio as aredis

from . import commands as c
from .api import Commands
from .client import DEFAULT_URL, _LOCK_ATTEMPTS, new_request_id, parse_group
from .errors import ExactlyError, LockBusy, LockLost, from_response_error
from .results import GroupResult, LockResult, Outcome


def default_owner() -> str:
    """This host, process and asyncio task: nested ``async with ex.lock()`` blocks of
    one task re-enter; other tasks are other owners."""
    try:
        task = asyncio.current_task()
    except RuntimeError:
        task = None
    return "%s:%d:task-%x" % (socket.gethostname(), os.getpid(), id(task))


class AsyncExactly(Commands):
    """An asyncio client; see `exactly.Exactly` for the rules (URL, timeouts, results)."""

    def __init__(self, url: str = DEFAULT_URL, *, client: Optional[aredis.Redis] = None,
                 **redis_kwargs: Any):
        if client is None:
            redis_kwargs.setdefault("decode_responses", True)
            client = aredis.Redis.from_url(url, **redis_kwargs)
        self.redis = client

    async def close(self) -> None:
        close = getattr(self.redis, "aclose", None) or self.redis.close
        await close()

    async def __aenter__(self) -> "AsyncExactly":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    async def _run(self, command: c.Command) -> Any:
        try:
            reply = await self.redis.execute_command(*command.args)
        except redis.ResponseError as exc:
            raise from_response_error(exc) from exc
        return command.parse(reply)

    def _submit(self, command: c.Command) -> Any:
        return self._run(command)

    async def execute(self, *args: Any) -> Any:
        """Sends any command as it is and returns the raw reply."""
        try:
            return await self.redis.execute_command(*args)
        except redis.ResponseError as exc:
            raise from_response_error(exc) from exc

    def lock(self, name: str, *, lease_ms: int, owner: Optional[str] = None,
             wait_ms: Optional[int] = None) -> "AsyncLock":
        """An ``async with`` lock; see `exactly.Exactly.lock`."""
        return AsyncLock(self, name, owner or default_owner(), lease_ms, wait_ms)

    def transaction(self) -> "AsyncTransaction":
        """An ``async with`` MULTI/EXEC group; see `exactly.Exactly.transaction`."""
        return AsyncTransaction(self)


class AsyncLock:
    """A held lease on one lock name; see `exactly.client.Lock`."""

    def __init__(self, client: AsyncExactly, name: str, owner: str, lease_ms: int,
                 wait_ms: Optional[int]):
        self.client = client
        self.name = name
        self.owner = owner
        self.lease_ms = lease_ms
        self.wait_ms = wait_ms
        self.request_id = new_request_id()
        self.token: Optional[int] = None
        self.result: Optional[LockResult] = None

    async def acquire(self) -> LockResult:
        command = c.lock(self.name, self.owner, lease_ms=self.lease_ms, wait_ms=self.wait_ms,
                         request_id=self.request_id)
        for attempt in range(_LOCK_ATTEMPTS):
            try:
                result = await self.client._run(command)
                break
            except (redis.ConnectionError, redis.TimeoutError):
                if attempt == _LOCK_ATTEMPTS - 1:
                    raise
        if result.result not in (Outcome.ACQUIRED, Outcome.REENTERED):
            raise LockBusy(result)
        self.result = result
        self.token = result.token
        return result

    async def renew(self, lease_ms: Optional[int] = None) -> bool:
        result = await self.client.renew(self.name, self._held(),
                                         lease_ms=lease_ms or self.lease_ms)
        if result.result is Outcome.RENEWED:
            self.result = result
            return True
        return False

    async def valid(self) -> bool:
        return (await self.client.fence(self.name, self._held())).result is Outcome.VALID

    async def release(self) -> LockResult:
        result = await self.client.unlock(self.name, self._held())
        token, self.token = self.token, None
        if result.result is not Outcome.RELEASED:
            raise LockLost(self.name, token)
        return result

    def _held(self) -> int:
        if self.token is None:
            raise ExactlyError("ERR lock %r is not held" % (self.name,))
        return self.token

    async def __aenter__(self) -> "AsyncLock":
        await self.acquire()
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self.token is None:
            return
        try:
            await self.release()
        except LockLost:
            if exc_type is None:
                raise
        except (redis.ConnectionError, redis.TimeoutError):
            if exc_type is None:
                raise


class AsyncTransaction(Commands):
    """Queues commands for one MULTI/EXEC; ``await tx.execute()`` or ``async with``."""

    def __init__(self, client: AsyncExactly):
        self.client = client
        self.commands: List[c.Command] = []
        self.result: Optional[GroupResult] = None

    def _submit(self, command: c.Command) -> None:
        if self.result is not None:
            raise ExactlyError("ERR this transaction has already been executed")
        self.commands.append(command)

    async def execute(self) -> GroupResult:
        if not self.commands:
            self.result = GroupResult(executed=True, results=())
            return self.result
        async with self.client.redis.pipeline(transaction=True) as pipe:
            for command in self.commands:
                pipe.execute_command(*command.args)
            try:
                replies = await pipe.execute(raise_on_error=False)
            except redis.ResponseError as exc:
                raise from_response_error(exc) from exc
        self.result = parse_group(self.commands, replies)
        return self.result

    async def __aenter__(self) -> "AsyncTransaction":
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            await self.execute()
