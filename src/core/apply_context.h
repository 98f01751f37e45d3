// ApplyContext and Effect: what every table's command handler receives and
// reports, so claims, ledger and group stay independent of the engine.
#pragma once

#include <cstdint>

#include "base/units.h"

namespace exactly::core {

struct EngineConfig;
class ExpiryQueue;
class UndoLog;

struct ApplyContext {
  int64_t now_ms = 0;  // the batch's effective timestamp
  Lsn lsn;             // the batch's LSN (stamped on every record a command changes)
  const EngineConfig* config = nullptr;
  ExpiryQueue* expiry = nullptr;
  // Non-null inside a MULTI group: every record is saved here before it changes.
  UndoLog* undo = nullptr;
  // False on replay: a logged command was accepted once and must apply again even
  // if the table maxima have been lowered since.
  bool enforce_limits = true;
};

// What a command did besides its reply.
struct Effect {
  bool changed = false;  // durable state changed: the command goes to the journal
  Lsn observed;          // the last LSN that changed what the command looked at
};

}  // namespace exactly::core
