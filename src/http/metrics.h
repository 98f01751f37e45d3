// Metrics: what GET /metrics answers, in the Prometheus text exposition format
// (version 0.0.4): the HTTP port's own counters (HttpStats) and the server's facts
// (net::ServerFacts, the ones INFO shows), one family per `# TYPE` line: counters,
// gauges, and histograms (commands per batch, records per fsync, fsync latency in
// seconds) as cumulative `_bucket{le=...}` samples with `_sum` and `_count`.
//
// HttpStats is kept by the HTTP connections on the event-loop thread; not
// thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "net/server_view.h"

namespace exactly::http {

struct HttpStats {
  // Requests answered 200, by route command ("claim", "idem begin") and outcome
  // word; a stored Idempotency-Key response counts under the outcome "replayed".
  std::map<std::pair<std::string_view, std::string_view>, uint64_t> requests;
  // Problem responses by HTTP status and RESP error code.
  std::map<std::pair<int, std::string>, uint64_t> errors;
  uint64_t connections = 0;  // open now
  uint64_t connections_total = 0;
};

// The text of GET /metrics.
std::string MetricsText(const net::ServerFacts& facts, const HttpStats& stats);

}  // namespace exactly::http
