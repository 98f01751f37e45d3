// The whole engine state as bytes, for snapshots (storage/ frames and checksums
// them; this is the meaning inside).
//
// Canonical: tables are written in key order, so two engines in the same state
// produce identical bytes whatever the order their records were inserted in
// (replay-determinism tests compare these bytes). The expiry queue is not saved;
// DecodeState rebuilds it from the tables.
//
// Format (version 1), integers as in byte_codec.h:
//   u8 version | u64 applied_lsn | i64 last_timestamp_ms
//   u64 n | n claim slots:  key, u8 live, owner, i64 since, expires, window,
//           keep_log_until, forget, u64 lsn, u64 m | m log entries:
//           u8 event, i64 at, expires, window, owner, note
//   u64 n | n accounts:     key, min (u8 inf, i64), max (u8 inf, i64), i64 balance,
//           reserved_out, reserved_in, u64 lsn, u64 m | m history entries:
//           u8 kind, i64 amount, balance, at, id, note
//   u64 n | n transfers:    id, u8 reserve, u8 status, i64 amount, timestamp,
//           window, expires, forget, resolved, u64 lsn, from, to
//   (version 2 adds, after the transfers:)
//   u64 last_token | u64 last_waiter
//   u64 n | n locks:        name, owner, u64 token, i64 depth, expires, u64 lsn,
//           u64 m | m waiters: u64 waiter, owner, request_id, i64 lease, deadline,
//           remember_until
//   u64 n | n lock ids:     key (locks.h LockIdKey), u8 outcome, u64 token, i64 depth,
//           expires, holder, i64 forget, u64 waiter, u64 lsn
//   u64 n | n idem keys:    key, u8 state, fingerprint, u64 token, i64 lease_end, ttl,
//           forget, response, u64 lsn, u64 m | m waiters: u64 waiter, i64 lease,
//           ttl, deadline
//   u64 n | n limit keys:   key, u8 window, i64 tat_ms, tat_frac, rate_n,
//           window_start, count, forget
//   Version 1 (no such sections) still decodes, with empty tables and counters.
//   Version 3 writes each claim slot as `key, value` where value is the claim
//   table's record bytes (claims.cc), loaded without decoding into fields; versions
//   1 and 2 (the slot's fields as above) still decode.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "core/engine_state.h"

namespace exactly::core {

inline constexpr uint8_t kStateVersion = 3;

std::string EncodeState(const EngineState& state);

// Fills `state` (which must be empty) from `bytes` and schedules its expiries.
// Corruption if the bytes are malformed or break an invariant.
base::Status DecodeState(std::string_view bytes, EngineState* state);

}  // namespace exactly::core
