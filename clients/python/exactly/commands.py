"""One builder per exactly command: the arguments to send and the reply's parser.

The synchronous client, the asyncio client and transactions all run the same
builders, so a command's syntax is written once. Options are keyword arguments
named after the server's (``ttl_ms`` for ``TTL``, ``per``/``at``/``tz`` for a
calendar window); ``None`` means "not sent".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Tuple, Union

from . import results as r

LockRef = Union[Tuple[str, int], Any]
"""What ``iflock=`` takes: a ``(name, token)`` pair or a held `Lock`."""


@dataclass(frozen=True)
class Command:
    """The words to send and the function that turns the reply into a result."""

    args: Tuple[Any, ...]
    parse: r.Parser


def _window(args: List[Any], per: Optional[str], at: Optional[str], tz: Optional[str]) -> None:
    if per is not None:
        args += ["PER", per]
        if at is not None:
            args += ["AT", at]
        if tz is not None:
            args += ["TZ", tz]
    elif at is not None or tz is not None:
        raise ValueError("at= and tz= need per=")


def _iflock(args: List[Any], iflock: Optional[LockRef]) -> None:
    if iflock is None:
        return
    if isinstance(iflock, tuple):
        name, token = iflock
    else:
        name, token = iflock.name, iflock.token
    if token is None:
        raise ValueError("iflock= needs a held lock (it has no token)")
    args += ["IFLOCK", name, int(token)]


def _opt(args: List[Any], word: str, value: Any) -> None:
    if value is not None:
        args += [word, value]


# Claims.

def claim(key: str, owner: str, *, ttl_ms: Optional[int] = None, until_ms: Optional[int] = None,
          per: Optional[str] = None, at: Optional[str] = None, tz: Optional[str] = None,
          persist: bool = False, note: Optional[str] = None,
          iflock: Optional[LockRef] = None) -> Command:
    args: List[Any] = ["CLAIM", key, owner]
    _opt(args, "TTL", ttl_ms)
    _opt(args, "UNTIL", until_ms)
    _window(args, per, at, tz)
    if persist:
        args.append("PERSIST")
    _opt(args, "NOTE", note)
    _iflock(args, iflock)
    return Command(tuple(args), r.claim_parser(key))


def unclaim(key: str, owner: str, *, iflock: Optional[LockRef] = None) -> Command:
    args: List[Any] = ["UNCLAIM", key, owner]
    _iflock(args, iflock)
    return Command(tuple(args), r.unclaim_parser(key))


def claimof(key: str) -> Command:
    return Command(("CLAIMOF", key), r.claimof_parser)


def claimlog(key: str, *, count: Optional[int] = None) -> Command:
    args: List[Any] = ["CLAIMLOG", key]
    _opt(args, "COUNT", count)
    return Command(tuple(args), r.claimlog_parser)


# Ledger.

def account(key: str, *, min: Optional[r.Bound] = None,  # noqa: A002 - the server's words
            max: Optional[r.Bound] = None) -> Command:  # noqa: A002
    args: List[Any] = ["ACCOUNT", key]
    if min is not None:
        args += ["MIN", r.format_bound(min)]
    if max is not None:
        args += ["MAX", r.format_bound(max)]
    return Command(tuple(args), r.account_parser(key))


def transfer(transfer_id: str, source: str, destination: str, amount: int, *,
             per: Optional[str] = None, at: Optional[str] = None, tz: Optional[str] = None,
             note: Optional[str] = None, iflock: Optional[LockRef] = None) -> Command:
    args: List[Any] = ["TRANSFER", transfer_id, source, destination, int(amount)]
    _window(args, per, at, tz)
    _opt(args, "NOTE", note)
    _iflock(args, iflock)
    return Command(tuple(args), r.transfer_parser(transfer_id))


def reserve(transfer_id: str, source: str, destination: str, amount: int, *, timeout_ms: int,
            iflock: Optional[LockRef] = None) -> Command:
    args: List[Any] = ["RESERVE", transfer_id, source, destination, int(amount),
                       "TIMEOUT", int(timeout_ms)]
    _iflock(args, iflock)
    return Command(tuple(args), r.transfer_parser(transfer_id))


def commit(transfer_id: str, *, iflock: Optional[LockRef] = None) -> Command:
    args: List[Any] = ["COMMIT", transfer_id]
    _iflock(args, iflock)
    return Command(tuple(args), r.transfer_parser(transfer_id))


def cancel(transfer_id: str, *, iflock: Optional[LockRef] = None) -> Command:
    args: List[Any] = ["CANCEL", transfer_id]
    _iflock(args, iflock)
    return Command(tuple(args), r.transfer_parser(transfer_id))


def balance(key: str) -> Command:
    return Command(("BALANCE", key), r.balance_parser(key))


def history(key: str, *, count: Optional[int] = None) -> Command:
    args: List[Any] = ["HISTORY", key]
    _opt(args, "COUNT", count)
    return Command(tuple(args), r.history_parser(key))


# Locks.

def lock(name: str, owner: str, *, lease_ms: int, wait_ms: Optional[int] = None,
         request_id: Optional[str] = None) -> Command:
    args: List[Any] = ["LOCK", name, owner, "LEASE", int(lease_ms)]
    _opt(args, "WAIT", wait_ms)
    _opt(args, "ID", request_id)
    return Command(tuple(args), r.lock_parser(name))


def renew(name: str, token: int, *, lease_ms: int) -> Command:
    return Command(("RENEW", name, int(token), "LEASE", int(lease_ms)), r.lock_parser(name))


def unlock(name: str, token: int) -> Command:
    return Command(("UNLOCK", name, int(token)), r.lock_parser(name))


def fence(name: str, token: int) -> Command:
    return Command(("FENCE", name, int(token)), r.lock_parser(name))


# Idempotency keys.

def idem_begin(key: str, *, fingerprint: Optional[str] = None, lease_ms: Optional[int] = None,
               ttl_ms: Optional[int] = None, wait_ms: Optional[int] = None,
               iflock: Optional[LockRef] = None) -> Command:
    args: List[Any] = ["IDEM", "BEGIN", key]
    _opt(args, "FINGERPRINT", fingerprint)
    _opt(args, "LEASE", lease_ms)
    _opt(args, "TTL", ttl_ms)
    _opt(args, "WAIT", wait_ms)
    _iflock(args, iflock)
    return Command(tuple(args), r.idem_parser(key))


def idem_end(key: str, token: int, response: Union[str, bytes]) -> Command:
    return Command(("IDEM", "END", key, int(token), response), r.idem_parser(key))


def idem_abort(key: str, token: int) -> Command:
    return Command(("IDEM", "ABORT", key, int(token)), r.idem_parser(key))


# Rate limits.

def limit(key: str, *, per_ms: int, rate: Optional[int] = None, window: Optional[int] = None,
          burst: Optional[int] = None, cost: Optional[int] = None) -> Command:
    if (rate is None) == (window is None):
        raise ValueError("limit() takes exactly one of rate= (GCRA) and window= (fixed window)")
    if rate is not None:
        args: List[Any] = ["LIMIT", key, "RATE", int(rate), "PER", int(per_ms)]
        _opt(args, "BURST", burst)
    else:
        if burst is not None:
            raise ValueError("burst= goes with rate=, not window=")
        args = ["LIMIT", key, "WINDOW", int(window), "PER", int(per_ms)]
    _opt(args, "COST", cost)
    return Command(tuple(args), r.limit_parser(key))
