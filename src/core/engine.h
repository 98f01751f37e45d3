// Engine: the whole state machine. The only way in is ApplyBatch (and Replay,
// which is ApplyBatch for a batch read back from the journal).
//
// Pure and deterministic: no I/O, no clock, no threads. Time enters only as the
// batch timestamp, which the journal records, so replaying the journal rebuilds
// the same state, expiries included. Not thread-safe: one thread owns an Engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/units.h"
#include "core/command.h"
#include "core/limits.h"
#include "core/reply.h"
#include "core/table_scan.h"

namespace exactly::core {

struct EngineConfig {
  int64_t id_retention_ms = kIdRetentionMsDefault;
  size_t claims_max = kClaimsMaxDefault;
  size_t accounts_max = kAccountsMaxDefault;
  size_t transfers_max = kTransfersMaxDefault;
  size_t locks_max = kLocksMaxDefault;
  size_t waiters_max = kWaitersMaxDefault;  // parked LOCK and IDEM commands together
  size_t idem_keys_max = kIdemKeysMaxDefault;
  size_t limit_keys_max = kLimitKeysMaxDefault;
};

// Sizes of the tables, for INFO.
struct EngineStats {
  size_t claims = 0;
  size_t accounts = 0;
  size_t transfers = 0;   // remembered ids, pending reservations included
  size_t pending = 0;     // reservations not yet committed, cancelled or timed out
  size_t locks = 0;       // locks held
  size_t waiters = 0;     // parked LOCK and IDEM BEGIN commands
  size_t idem_keys = 0;   // live idempotency keys (running or done)
  size_t limit_keys = 0;  // rate-limit keys with state
};

struct BatchOutput {
  // One reply per command, in order.
  std::vector<Reply> replies;
  // The reply to command i may leave only once wait_lsn[i] is durable: the batch's
  // own LSN for a command that changed state, the LSN that last changed what a
  // read (or a repeat answered `again`) observed otherwise, Lsn{0} for nothing.
  std::vector<Lsn> wait_lsn;
  // Journal payload of the batch (timestamp and resolved state-changing commands);
  // empty when no command changed state, and then the batch LSN is not used.
  // A batch whose only change is timer-driven (a lock granted to the next waiter
  // when a lease ended) still has a record: the grant goes through the log.
  std::string record;
  // parked[i] != 0: command i waits on the server (LOCK ... WAIT, IDEM BEGIN ... WAIT);
  // replies[i] is empty and its answer arrives later as a Wake with this waiter id.
  std::vector<uint64_t> parked;
  // Answers to commands parked in earlier batches, produced by this batch (granted,
  // done, or their WAIT ran out). Each may leave once `wait_lsn` is durable.
  struct Wake {
    uint64_t waiter = 0;
    Reply reply;
    Lsn wait_lsn;
  };
  std::vector<Wake> wakes;
};

class Engine {
 public:
  explicit Engine(EngineConfig config = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Applies `commands` in order as batch `lsn` at `now`, resolving their relative
  // times first (so the caller's Commands are modified). `lsn` must be greater than
  // every LSN applied before; `now` earlier than the last batch is raised to it,
  // so time never runs backwards inside the engine. Clears and fills `out`.
  void ApplyBatch(std::span<Command> commands, TimestampMs now, Lsn lsn, BatchOutput* out);

  // Re-applies a journal record produced by ApplyBatch for batch `lsn`, through
  // the same expiry and command handlers, so it leaves the state the live batch
  // left. Nobody reads a replay's answers: the handlers build only their outcomes
  // (ApplyContext::replies), and the record is decoded into memory reused from
  // one record to the next. Corruption if the payload cannot be decoded.
  base::Status Replay(Lsn lsn, std::string_view record);

  // The whole state as bytes (core/state_codec), and back. LoadState replaces the
  // current state; Corruption if the bytes cannot be decoded.
  std::string SaveState() const;
  base::Status LoadState(std::string_view bytes);

  // The earliest time at which the engine has timer-driven work (a lease ending
  // with waiters queued, a WAIT running out); kNoTimeMs for none. The server runs
  // a batch (possibly with no commands) at that time so waiters are answered.
  int64_t NextWakeMs() const;

  // A page of one table (core/table_scan.h), as of the last batch's timestamp.
  // Reads only; the caller runs it between batches, on the engine's thread.
  ScanPage Scan(const ScanRequest& request) const;

  Lsn applied_lsn() const;
  TimestampMs last_timestamp() const;
  EngineStats stats() const;
  const EngineConfig& config() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
  EngineConfig config_;
};

}  // namespace exactly::core
