"""exactly: a typed Python client for the exactly server.

    from exactly import Exactly, Outcome

    ex = Exactly("redis://127.0.0.1:7379")
    r = ex.claim("order:42:email", "worker-1", ttl_ms=60_000)
    if r.result is Outcome.WON: send_email()

`Exactly` (synchronous, over redis-py) and `exactly.aio.AsyncExactly` (asyncio,
over redis.asyncio) have one method per command, each returning a frozen
dataclass from `exactly.results`; `Exactly.lock()` is a fenced lock context
manager, `Exactly.transaction()` a MULTI/EXEC group, `Exactly.idempotent()` a
Flask/Django view decorator. Works with redis-py 4.3 (Debian 12) and 5.
"""

from .client import Exactly, Lock, Transaction
from .errors import ExactlyError, IdempotencyConflict, LockBusy, LockLost
from .results import (AccountResult, BalanceResult, Bound, ClaimEvent, ClaimLogResult,
                      ClaimOfResult, ClaimResult, GroupResult, HistoryResult, IdemResult,
                      LimitResult, LockResult, Movement, Outcome, Result, TransferResult,
                      UnclaimResult)

__version__ = "0.1.0"

__all__ = [
    "Exactly", "Lock", "Transaction", "ExactlyError", "IdempotencyConflict", "LockBusy",
    "LockLost", "AccountResult", "BalanceResult", "Bound", "ClaimEvent", "ClaimLogResult",
    "ClaimOfResult", "ClaimResult", "GroupResult", "HistoryResult", "IdemResult", "LimitResult",
    "LockResult", "Movement", "Outcome", "Result", "TransferResult", "UnclaimResult",
]
