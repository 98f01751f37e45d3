"""The command methods, written once for every way of running them.

`Commands` turns each method call into a `commands.Command` and hands it to
``self._submit``: the synchronous client runs it and returns the typed result,
the asyncio client returns a coroutine of it, and a transaction queues it.
"""

from __future__ import annotations

from typing import Any, Optional, Union

from . import commands as c
from .results import Bound


class Commands:
    """One method per exactly command; see docs/commands.md for each command's rules."""

    def _submit(self, command: c.Command) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    # Claims.

    def claim(self, key: str, owner: str, *, ttl_ms: Optional[int] = None,
              until_ms: Optional[int] = None, per: Optional[str] = None, at: Optional[str] = None,
              tz: Optional[str] = None, persist: bool = False, note: Optional[str] = None,
              iflock: Optional[c.LockRef] = None) -> Any:
        """CLAIM: the first owner wins. Returns a `ClaimResult`: ``won``, ``again`` (you
        hold it already) or ``held`` (``owner`` is the holder). ``per='day', at='08:00',
        tz='+08:00'`` makes it once per calendar window; ``persist=True`` by the holder
        removes the expiry."""
        return self._submit(c.claim(key, owner, ttl_ms=ttl_ms, until_ms=until_ms, per=per, at=at,
                                    tz=tz, persist=persist, note=note, iflock=iflock))

    def unclaim(self, key: str, owner: str, *, iflock: Optional[c.LockRef] = None) -> Any:
        """UNCLAIM: ``released`` or ``not_holder`` (an `UnclaimResult`)."""
        return self._submit(c.unclaim(key, owner, iflock=iflock))

    def claimof(self, key: str) -> Any:
        """CLAIMOF: who holds ``key`` now: ``held`` (with ``owner``) or ``free``."""
        return self._submit(c.claimof(key))

    def claimlog(self, key: str, *, count: Optional[int] = None) -> Any:
        """CLAIMLOG: the key's newest events first (a `ClaimLogResult`)."""
        return self._submit(c.claimlog(key, count=count))

    # Ledger.

    def account(self, key: str, *, min: Optional[Bound] = None,  # noqa: A002
                max: Optional[Bound] = None) -> Any:  # noqa: A002
        """ACCOUNT: create an account whose balance stays within ``min``..``max`` (ints,
        or ``-math.inf``/``math.inf``; the server's default is 0..+inf). ``created`` or
        ``again``; other bounds than the first are an `ExactlyError`."""
        return self._submit(c.account(key, min=min, max=max))

    def transfer(self, transfer_id: str, source: str, destination: str, amount: int, *,
                 per: Optional[str] = None, at: Optional[str] = None, tz: Optional[str] = None,
                 note: Optional[str] = None, iflock: Optional[c.LockRef] = None) -> Any:
        """TRANSFER ``amount`` (a positive int, minor units) once per ``transfer_id``:
        ``ok``, ``again`` (already done), ``insufficient``, ``over_max``, ``no_account``,
        ``id_conflict``. The first outcome of an id is final."""
        return self._submit(c.transfer(transfer_id, source, destination, amount, per=per, at=at,
                                       tz=tz, note=note, iflock=iflock))

    def reserve(self, transfer_id: str, source: str, destination: str, amount: int, *,
                timeout_ms: int, iflock: Optional[c.LockRef] = None) -> Any:
        """RESERVE: hold ``amount`` against both bounds until `commit`, `cancel` or the
        timeout: ``pending``, ``again`` or a refusal of `transfer`."""
        return self._submit(c.reserve(transfer_id, source, destination, amount,
                                      timeout_ms=timeout_ms, iflock=iflock))

    def commit(self, transfer_id: str, *, iflock: Optional[c.LockRef] = None) -> Any:
        """COMMIT a reservation: ``committed``, ``again``, ``timed_out``, ``no_transfer``."""
        return self._submit(c.commit(transfer_id, iflock=iflock))

    def cancel(self, transfer_id: str, *, iflock: Optional[c.LockRef] = None) -> Any:
        """CANCEL a reservation: ``cancelled``, ``again``, ``timed_out``, ``no_transfer``."""
        return self._submit(c.cancel(transfer_id, iflock=iflock))

    def balance(self, key: str) -> Any:
        """BALANCE: ``ok`` with balance, reserved, incoming and bounds, or ``no_account``."""
        return self._submit(c.balance(key))

    def history(self, key: str, *, count: Optional[int] = None) -> Any:
        """HISTORY: the account's newest movements first (a `HistoryResult`)."""
        return self._submit(c.history(key, count=count))

    # Locks (see also lock(), the context manager that uses these).

    def acquire(self, name: str, owner: str, *, lease_ms: int, wait_ms: Optional[int] = None,
                request_id: Optional[str] = None) -> Any:
        """LOCK: ``acquired`` (a new fencing token), ``reentered`` (same owner: depth + 1)
        or ``busy`` (``holder`` has it). ``wait_ms`` parks the call on the server in FIFO
        order; the connection's read timeout must then be longer than the wait.
        ``request_id`` makes a resend answer the first reply instead of re-entering."""
        return self._submit(c.lock(name, owner, lease_ms=lease_ms, wait_ms=wait_ms,
                                   request_id=request_id))

    def renew(self, name: str, token: int, *, lease_ms: int) -> Any:
        """RENEW: ``renewed`` (expires = now + lease) or ``stale``."""
        return self._submit(c.renew(name, token, lease_ms=lease_ms))

    def unlock(self, name: str, token: int) -> Any:
        """UNLOCK one level: ``released`` (``depth`` left; free at 0) or ``stale``."""
        return self._submit(c.unlock(name, token))

    def fence(self, name: str, token: int) -> Any:
        """FENCE: ``valid`` if ``token`` still holds the lock now, else ``stale``."""
        return self._submit(c.fence(name, token))

    # Idempotency keys (see also idempotent(), the view decorator).

    def idem_begin(self, key: str, *, fingerprint: Optional[str] = None,
                   lease_ms: Optional[int] = None, ttl_ms: Optional[int] = None,
                   wait_ms: Optional[int] = None, iflock: Optional[c.LockRef] = None) -> Any:
        """IDEM BEGIN: ``run`` (you execute, with ``token``), ``running``, ``done`` (with
        the stored ``response``) or ``mismatch`` (another fingerprint)."""
        return self._submit(c.idem_begin(key, fingerprint=fingerprint, lease_ms=lease_ms,
                                         ttl_ms=ttl_ms, wait_ms=wait_ms, iflock=iflock))

    def idem_end(self, key: str, token: int, response: Union[str, bytes]) -> Any:
        """IDEM END: store ``response`` (``done``) or ``stale`` if ``token`` lost the key."""
        return self._submit(c.idem_end(key, token, response))

    def idem_abort(self, key: str, token: int) -> Any:
        """IDEM ABORT: ``released`` (the next request runs) or ``stale``."""
        return self._submit(c.idem_abort(key, token))

    # Rate limits.

    def limit(self, key: str, *, per_ms: int, rate: Optional[int] = None,
              window: Optional[int] = None, burst: Optional[int] = None,
              cost: Optional[int] = None) -> Any:
        """LIMIT: ``rate=n, per_ms=ms`` is a GCRA bucket (``burst`` tokens, refilled at n
        per ms); ``window=n, per_ms=ms`` a fixed window from the key's first request.
        Returns a `LimitResult`: ``allowed`` or ``limited`` with ``retry_after_ms``."""
        return self._submit(c.limit(key, per_ms=per_ms, rate=rate, window=window, burst=burst,
                                    cost=cost))
