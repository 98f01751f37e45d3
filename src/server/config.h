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
};

}  // namespace exactly::server
