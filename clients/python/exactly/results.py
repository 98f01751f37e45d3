"""Typed results: the `Outcome` enum and one frozen dataclass per reply shape.

Every exactly reply is a list of named fields whose first field, `result`, is the
outcome word (RESP2: a flat field/value array; RESP3: a map). The parsers here
turn either form into a dataclass with typed fields:

- times (unix ms) are ``int``, or ``None`` where the server says ``-1`` (none);
- bounds are ``int``, or ``math.inf`` / ``-math.inf`` (a ``float``) for ``+inf`` / ``-inf``;
- amounts, balances and tokens are Python ints, exact up to int64 / uint64;
- owners and holders are ``str``, or ``None`` where the server sends an empty one.

Fields a reply does not carry are ``None`` (an `IFLOCK` refusal answers only
``result stale``; an element of a rolled-back group carries only its identifying
field).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Union

Bound = Union[int, float]
"""An account bound: an ``int``, or ``-math.inf`` / ``math.inf``."""


class Outcome(str, enum.Enum):
    """The outcome word of a reply (its `result` field); compares equal to the word."""

    # claims
    WON = "won"
    AGAIN = "again"
    HELD = "held"
    RELEASED = "released"
    NOT_HOLDER = "not_holder"
    FREE = "free"
    # ledger
    CREATED = "created"
    OK = "ok"
    INSUFFICIENT = "insufficient"
    OVER_MAX = "over_max"
    NO_ACCOUNT = "no_account"
    ID_CONFLICT = "id_conflict"
    PENDING = "pending"
    COMMITTED = "committed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    NO_TRANSFER = "no_transfer"
    # atomic groups
    EXECUTED = "executed"
    ROLLED_BACK = "rolled_back"
    SKIPPED = "skipped"
    # locks
    ACQUIRED = "acquired"
    REENTERED = "reentered"
    BUSY = "busy"
    RENEWED = "renewed"
    VALID = "valid"
    STALE = "stale"
    # idempotency keys
    RUN = "run"
    RUNNING = "running"
    DONE = "done"
    MISMATCH = "mismatch"
    # rate limits
    ALLOWED = "allowed"
    LIMITED = "limited"

    def __str__(self) -> str:
        return self.value


# Helpers that read one field of a reply.

def _text(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return value


def fields(reply: Any) -> Dict[str, Any]:
    """A reply (RESP2 flat list or RESP3 map) as a dict keyed by field name."""
    if isinstance(reply, Mapping):
        return {_text(k): v for k, v in reply.items()}
    if isinstance(reply, (list, tuple)):
        if len(reply) % 2:
            raise ValueError("not a field/value reply: %r" % (reply,))
        return {_text(k): v for k, v in zip(reply[::2], reply[1::2])}
    raise ValueError("not a field/value reply: %r" % (reply,))


def _int(value: Any) -> Optional[int]:
    if value is None:
        return None
    return int(_text(value))


def _time(value: Any) -> Optional[int]:
    """A unix-ms time; -1 (none) becomes None."""
    t = _int(value)
    return None if t is None or t == -1 else t


def _str(value: Any) -> Optional[str]:
    if value is None:
        return None
    return str(_text(value))


def _name(value: Any) -> Optional[str]:
    """An owner or holder: the empty string (nobody) becomes None."""
    s = _str(value)
    return s if s else None


def parse_bound(value: Any) -> Optional[Bound]:
    """``'-inf'``/``'+inf'`` as ``-math.inf``/``math.inf``, anything else as an int."""
    if value is None:
        return None
    value = _text(value)
    if value in ("-inf", "+inf", "inf"):
        return -math.inf if value == "-inf" else math.inf
    return int(value)


def format_bound(value: Bound) -> str:
    """A bound for the wire: an int, or ``-inf``/``+inf``."""
    if isinstance(value, float):
        if value == math.inf:
            return "+inf"
        if value == -math.inf:
            return "-inf"
        raise ValueError("a bound is an int or +-math.inf, got %r" % (value,))
    return str(int(value))


# The result types.

@dataclass(frozen=True)
class Result:
    """Fields common to every reply. ``failed`` is True for the refused command of a
    rolled-back group."""

    result: Outcome
    failed: bool = False

    @property
    def ok(self) -> bool:
        """True when the outcome is a success or a harmless repeat (not a refusal)."""
        return self.result in _SUCCESSES


_SUCCESSES = frozenset({
    Outcome.WON, Outcome.AGAIN, Outcome.RELEASED, Outcome.FREE, Outcome.CREATED, Outcome.OK,
    Outcome.PENDING, Outcome.COMMITTED, Outcome.CANCELLED, Outcome.EXECUTED,
    Outcome.ACQUIRED, Outcome.REENTERED, Outcome.RENEWED, Outcome.VALID, Outcome.RUN,
    Outcome.DONE, Outcome.ALLOWED,
})


@dataclass(frozen=True)
class ClaimResult(Result):
    """CLAIM: ``won`` | ``again`` | ``held`` (``owner`` is then the holder)."""

    key: Optional[str] = None
    owner: Optional[str] = None
    since: Optional[int] = None
    expires: Optional[int] = None
    window: Optional[int] = None


@dataclass(frozen=True)
class UnclaimResult(Result):
    """UNCLAIM: ``released`` | ``not_holder``."""

    key: Optional[str] = None


@dataclass(frozen=True)
class ClaimOfResult(Result):
    """CLAIMOF: ``held`` (by ``owner``) | ``free``."""

    owner: Optional[str] = None
    since: Optional[int] = None
    expires: Optional[int] = None


@dataclass(frozen=True)
class ClaimEvent:
    """One CLAIMLOG entry: ``event`` is won, released, expired or persisted."""

    event: str
    owner: Optional[str]
    at: Optional[int]
    expires: Optional[int]
    window: Optional[int]
    note: str


@dataclass(frozen=True)
class ClaimLogResult(Result):
    """CLAIMLOG: the newest events first."""

    entries: Tuple[ClaimEvent, ...] = ()


@dataclass(frozen=True)
class AccountResult(Result):
    """ACCOUNT: ``created`` | ``again``."""

    key: Optional[str] = None
    min: Optional[Bound] = None
    max: Optional[Bound] = None


@dataclass(frozen=True)
class TransferResult(Result):
    """TRANSFER, RESERVE, COMMIT, CANCEL: ``ok`` | ``again`` | ``insufficient`` | ...

    ``expires`` is when the id is forgotten (TRANSFER) or when the reservation times
    out (RESERVE)."""

    id: Optional[str] = None
    amount: Optional[int] = None
    timestamp: Optional[int] = None
    window: Optional[int] = None
    expires: Optional[int] = None


@dataclass(frozen=True)
class BalanceResult(Result):
    """BALANCE: ``ok`` | ``no_account``. ``reserved`` is held by pending reservations out
    of the account, ``incoming`` by pending reservations into it."""

    key: Optional[str] = None
    balance: Optional[int] = None
    reserved: Optional[int] = None
    min: Optional[Bound] = None
    max: Optional[Bound] = None
    incoming: Optional[int] = None


@dataclass(frozen=True)
class Movement:
    """One HISTORY entry; ``amount`` is signed as seen from the account."""

    id: str
    amount: int
    balance: int
    at: Optional[int]
    kind: str
    note: str


@dataclass(frozen=True)
class HistoryResult(Result):
    """HISTORY: the newest movements first."""

    key: Optional[str] = None
    entries: Tuple[Movement, ...] = ()


@dataclass(frozen=True)
class LockResult(Result):
    """LOCK, RENEW, UNLOCK, FENCE. ``token`` is the fencing token (``None`` when
    ``busy``); ``holder`` names the other owner when ``busy``."""

    name: Optional[str] = None
    token: Optional[int] = None
    depth: Optional[int] = None
    expires: Optional[int] = None
    holder: Optional[str] = None


@dataclass(frozen=True)
class IdemResult(Result):
    """IDEM BEGIN/END/ABORT: ``run`` (with ``token``) | ``running`` | ``done`` (with the
    stored ``response``) | ``mismatch`` | ``released`` | ``stale``."""

    key: Optional[str] = None
    token: Optional[int] = None
    response: Optional[str] = None


@dataclass(frozen=True)
class LimitResult(Result):
    """LIMIT: ``allowed`` | ``limited``; ``retry_after_ms`` is 0 when allowed."""

    key: Optional[str] = None
    remaining: Optional[int] = None
    retry_after_ms: Optional[int] = None
    reset_ms: Optional[int] = None

    @property
    def allowed(self) -> bool:
        return self.result is Outcome.ALLOWED


@dataclass(frozen=True)
class GroupResult:
    """EXEC of a transaction: ``executed`` (every command applied) or ``rolled_back``
    (none applied). ``results`` holds one typed result per queued command; in a
    rolled-back group the refused one has ``failed`` True, the ones before it answer
    ``rolled_back`` and the ones after it ``skipped``. ``error`` is set instead when the
    refused command's reply was an error."""

    executed: bool
    results: Tuple[Any, ...]
    error: Optional[Exception] = None

    @property
    def failed(self) -> Optional[Any]:
        """The refused command's result (or error), or None when executed."""
        if self.error is not None:
            return self.error
        for r in self.results:
            if getattr(r, "failed", False):
                return r
        return None


# Parsers: reply -> result. The name of the command's subject (key, id or name) is
# passed in, so results that the server answers without it (`stale`) still carry it.

Parser = Callable[[Any], Any]


def _base(f: Dict[str, Any]) -> Dict[str, Any]:
    return {"result": Outcome(_str(f["result"])), "failed": _int(f.get("failed")) == 1}


def claim_parser(key: str) -> Parser:
    def parse(reply: Any) -> ClaimResult:
        f = fields(reply)
        return ClaimResult(**_base(f), key=_str(f.get("key", key)), owner=_name(f.get("owner")),
                           since=_time(f.get("since")), expires=_time(f.get("expires")),
                           window=_time(f.get("window")))
    return parse


def unclaim_parser(key: str) -> Parser:
    def parse(reply: Any) -> UnclaimResult:
        f = fields(reply)
        return UnclaimResult(**_base(f), key=_str(f.get("key", key)))
    return parse


def claimof_parser(reply: Any) -> ClaimOfResult:
    f = fields(reply)
    return ClaimOfResult(**_base(f), owner=_name(f.get("owner")), since=_time(f.get("since")),
                         expires=_time(f.get("expires")))


def _entries(f: Dict[str, Any]) -> list:
    return [fields(e) for e in (f.get("entries") or [])]


def claimlog_parser(reply: Any) -> ClaimLogResult:
    f = fields(reply)
    entries = tuple(
        ClaimEvent(event=_str(e.get("event")), owner=_name(e.get("owner")), at=_time(e.get("at")),
                   expires=_time(e.get("expires")), window=_time(e.get("window")),
                   note=_str(e.get("note")) or "")
        for e in _entries(f))
    return ClaimLogResult(**_base(f), entries=entries)


def account_parser(key: str) -> Parser:
    def parse(reply: Any) -> AccountResult:
        f = fields(reply)
        return AccountResult(**_base(f), key=_str(f.get("key", key)), min=parse_bound(f.get("min")),
                             max=parse_bound(f.get("max")))
    return parse


def transfer_parser(transfer_id: str) -> Parser:
    def parse(reply: Any) -> TransferResult:
        f = fields(reply)
        return TransferResult(**_base(f), id=_str(f.get("id", transfer_id)),
                              amount=_int(f.get("amount")), timestamp=_time(f.get("timestamp")),
                              window=_time(f.get("window")), expires=_time(f.get("expires")))
    return parse


def balance_parser(key: str) -> Parser:
    def parse(reply: Any) -> BalanceResult:
        f = fields(reply)
        return BalanceResult(**_base(f), key=_str(f.get("key", key)),
                             balance=_int(f.get("balance")), reserved=_int(f.get("reserved")),
                             min=parse_bound(f.get("min")), max=parse_bound(f.get("max")),
                             incoming=_int(f.get("incoming")))
    return parse


def history_parser(key: str) -> Parser:
    def parse(reply: Any) -> HistoryResult:
        f = fields(reply)
        entries = tuple(
            Movement(id=_str(e.get("id")), amount=_int(e.get("amount")),
                     balance=_int(e.get("balance")), at=_time(e.get("at")),
                     kind=_str(e.get("kind")), note=_str(e.get("note")) or "")
            for e in _entries(f))
        return HistoryResult(**_base(f), key=_str(f.get("key", key)), entries=entries)
    return parse


def lock_parser(name: str) -> Parser:
    def parse(reply: Any) -> LockResult:
        f = fields(reply)
        token = _int(f.get("token"))
        return LockResult(**_base(f), name=_str(f.get("name", name)),
                          token=None if token == -1 else token, depth=_int(f.get("depth")),
                          expires=_time(f.get("expires")), holder=_name(f.get("holder")))
    return parse


def idem_parser(key: str) -> Parser:
    def parse(reply: Any) -> IdemResult:
        f = fields(reply)
        response = f.get("response")
        return IdemResult(**_base(f), key=_str(f.get("key", key)), token=_int(f.get("token")),
                          response=None if response is None else _str(response))
    return parse


def limit_parser(key: str) -> Parser:
    def parse(reply: Any) -> LimitResult:
        f = fields(reply)
        return LimitResult(**_base(f), key=_str(f.get("key", key)),
                           remaining=_int(f.get("remaining")),
                           retry_after_ms=_int(f.get("retry_after_ms")),
                           reset_ms=_int(f.get("reset_ms")))
    return parse
