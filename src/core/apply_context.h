// ApplyContext and Effect: what every table's command handler receives and
// reports, so claims, ledger, locks, idempotency keys, limits and group stay
// independent of the engine.
#pragma once

#include <cstdint>
#include <vector>

#include "base/units.h"
#include "core/engine.h"

namespace exactly::core {

class ExpiryQueue;
class UndoLog;

// Counters that only grow, shared by the tables that hand out numbers. Saved in
// snapshots and reproduced by replay, so numbers are never reused across restarts.
struct Counters {
  uint64_t last_token = 0;   // fencing tokens of locks and IDEM runners
  uint64_t last_waiter = 0;  // ids of parked commands (BatchOutput::parked)
};

struct ApplyContext {
  int64_t now_ms = 0;  // the batch's effective timestamp
  Lsn lsn;             // the batch's LSN (stamped on every record a command changes)
  const EngineConfig* config = nullptr;
  ExpiryQueue* expiry = nullptr;
  Counters* counters = nullptr;
  // Answers to parked commands produced while applying (never null while applying).
  std::vector<BatchOutput::Wake>* wakes = nullptr;
  // Parked commands in all tables before this command (for EngineConfig::waiters_max).
  size_t waiters_now = 0;
  // Non-null inside a MULTI group: every record is saved here before it changes.
  UndoLog* undo = nullptr;
  // False on replay: a logged command was accepted once and must apply again even
  // if the table maxima have been lowered since.
  bool enforce_limits = true;
  // False on replay: nobody reads the answers, so a handler may answer with its
  // outcome alone (a group's rollback reads that) instead of building every field.
  // The state a command leaves must not depend on it.
  bool replies = true;
};

// What a command did besides its reply.
struct Effect {
  bool changed = false;  // durable state changed: the command goes to the journal
  Lsn observed;          // the last LSN that changed what the command looked at
  uint64_t parked = 0;   // non-zero: the command waits as this waiter; no reply yet
};

}  // namespace exactly::core
