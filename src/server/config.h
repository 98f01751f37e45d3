// ServeConfig: everything `exactly serve` can be told, with its defaults.
#pragma once

#include <cstdint>
#include <string>

#include "core/limits.h"
#include "net/connection_limits.h"
#include "storage/group_commit.h"

namespace exactly::server {

struct ServeConfig {
  std::string dir = "data";
  std::string bind = "127.0.0.1";
  uint16_t port = 7379;
  storage::FsyncMode fsync = storage::FsyncMode::kAlways;
  std::string requirepass;  // empty: no AUTH needed
  size_t clients_max = net::kClientsMaxDefault;
  int64_t idle_timeout_s = 0;  // 0: never close idle clients
  int64_t id_retention_ms = core::kIdRetentionMsDefault;
  // A snapshot starts by itself once this many journal bytes were written since
  // the last one (0: only on SNAPSHOT).
  uint64_t snapshot_every_bytes = 256ull * 1024 * 1024;
  // Past this much heap in use, commands that may add records are refused with
  // -OOM (0: no bound). Defaults to half the machine's memory: a snapshot's fork
  // may need up to as much again while pages are copied on write.
  uint64_t maxmemory_bytes = 0;
  // Input and output buffers of all clients together; past it the clients with
  // the largest buffers are disconnected (0: no bound).
  uint64_t maxmemory_clients_bytes = net::kClientBuffersBytesMaxDefault;
  // Started on a non-loopback address with no password, only loopback clients are
  // served.
  bool protected_mode = true;
  // The wall clock may be behind the journal's last timestamp (a clock set back,
  // a restore onto another machine): time then stands still in the engine until
  // the clock catches up. By more than this the server refuses to start, unless
  // allow_clock_behind is set.
  int64_t max_clock_behind_ms = 60'000;
  bool allow_clock_behind = false;
};

}  // namespace exactly::server
