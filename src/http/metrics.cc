// The Prometheus text of GET /metrics (see metrics.h).
#include "http/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>

namespace exactly::http {
namespace {

// A label value with `\`, `"` and newlines escaped, as the format asks.
std::string Label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// "IdemBegin" -> "idem_begin".
std::string SnakeName(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c >= 'A' && c <= 'Z') {
      if (!out.empty()) out += '_';
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += c;
    }
  }
  return out;
}

// `value / scale` in the fewest digits that read back the same ("0.00025"); an
// integer as itself.
std::string Number(uint64_t value, double scale) {
  if (scale == 1) return fmt::format("{}", value);
  return fmt::format("{}", static_cast<double>(value) / scale);
}

class Writer {
 public:
  // Starts a family: its HELP and TYPE lines.
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(text_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                   type);
  }
  void Sample(std::string_view name, uint64_t value, std::string_view labels = "") {
    fmt::format_to(std::back_inserter(text_), "{}{}{}{} {}\n", name, labels.empty() ? "" : "{",
                   labels, labels.empty() ? "" : "}", value);
  }
  // A family of one sample.
  void One(std::string_view name, std::string_view type, std::string_view help, uint64_t value) {
    Family(name, type, help);
    Sample(name, value);
  }
  // A histogram family: cumulative `_bucket{le=...}` samples, `_sum` and `_count`.
  // Bounds and the sum are divided by `scale` (1e9 turns nanoseconds into the
  // seconds Prometheus names its durations in).
  void Histogram(std::string_view name, std::string_view help,
                 const base::HistogramSnapshot& histogram, double scale = 1) {
    Family(name, "histogram", help);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < histogram.upper_bounds.size(); ++i) {
      cumulative += histogram.counts[i];
      fmt::format_to(std::back_inserter(text_), "{}_bucket{{le=\"{}\"}} {}\n", name,
                     Number(histogram.upper_bounds[i], scale), cumulative);
    }
    cumulative += histogram.counts[histogram.upper_bounds.size()];
    fmt::format_to(std::back_inserter(text_),
                   "{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, cumulative, name,
                   Number(histogram.sum, scale), name, cumulative);
  }
  std::string Take() { return std::move(text_); }

 private:
  std::string text_;
};

}  // namespace

std::string MetricsText(const net::ServerFacts& facts, const HttpStats& stats) {
  Writer out;
  out.Family("exactly_http_requests_total", "counter",
             "HTTP requests answered 200, by command and outcome.");
  for (const auto& [key, count] : stats.requests) {
    out.Sample("exactly_http_requests_total", count,
               fmt::format("command=\"{}\",outcome=\"{}\"", Label(key.first), Label(key.second)));
  }
  out.Family("exactly_http_errors_total", "counter",
             "HTTP requests answered with a problem, by status and RESP error code.");
  for (const auto& [key, count] : stats.errors) {
    out.Sample("exactly_http_errors_total", count,
               fmt::format("status=\"{}\",code=\"{}\"", key.first, Label(key.second)));
  }
  out.One("exactly_http_connections", "gauge", "HTTP connections open.", stats.connections);
  out.One("exactly_http_connections_total", "counter", "HTTP connections accepted.",
          stats.connections_total);

  const net::ServerCounters& counters = facts.counters;
  out.Family("exactly_commands_total", "counter",
             "Replies to clients' commands (RESP and HTTP) by command and outcome; "
             "outcome=\"error\" counts error replies from the engine.");
  for (size_t kind = 0; kind < net::kKindRows; ++kind) {
    // "kIdemBegin" -> "idem_begin"; a value outside the list has no replies.
    const std::string command =
        SnakeName(core::KindName(static_cast<core::CommandKind>(kind)).substr(1));
    for (size_t column = 0; column < net::kOutcomeColumns; ++column) {
      const uint64_t count = counters.replies[kind][column];
      if (count == 0) continue;
      const std::string_view outcome = column + 1 == net::kOutcomeColumns
                                           ? std::string_view("error")
                                           : core::OutcomeName(static_cast<core::Outcome>(column));
      out.Sample("exactly_commands_total", count,
                 fmt::format("command=\"{}\",outcome=\"{}\"", command, outcome));
    }
  }
  out.One("exactly_resp_commands_total", "counter", "RESP commands received.", counters.commands);
  out.One("exactly_resp_connections", "gauge", "RESP clients connected.", facts.connected_clients);
  out.One("exactly_resp_connections_total", "counter", "RESP connections accepted.",
          counters.connections_total);
  out.One("exactly_rejected_connections_total", "counter",
          "RESP connections refused (--maxclients, shutting down).", counters.rejected_connections);
  out.One("exactly_evicted_clients_total", "counter",
          "Clients (RESP or HTTP) closed for --maxmemory-clients.", counters.evicted_clients);
  out.One("exactly_oom_refusals_total", "counter", "Commands answered OOM.", counters.oom_refusals);
  out.One("exactly_parked_commands", "gauge", "Commands parked until woken (LOCK/IDEM WAIT).",
          facts.parked_clients);
  out.One("exactly_batches_total", "counter", "Engine batches run.", counters.batches);
  out.One("exactly_journal_records_total", "counter", "Journal records written.", counters.records);
  out.One("exactly_journal_record_bytes_total", "counter", "Journal record bytes written.",
          counters.record_bytes);
  out.One("exactly_fsyncs_total", "counter", "Journal fdatasync calls.", facts.syncs);
  out.One("exactly_fsync_records_total", "counter", "Journal records covered by a sync.",
          facts.synced_records);
  out.Histogram("exactly_batch_commands",
                "Commands per engine batch (clients' and the server's own); one batch is one "
                "journal record at most.",
                facts.batch_commands);
  out.Histogram("exactly_fsync_records",
                "Journal records covered by each fdatasync (the group commit's group size).",
                facts.records_per_sync);
  out.Histogram("exactly_fsync_duration_seconds",
                "Time of each journal sync: writing what was buffered, then fdatasync.",
                facts.sync_latency_ns, 1e9);
  out.One("exactly_applied_lsn", "gauge", "Highest LSN applied by the engine.",
          facts.applied_lsn.value);
  out.One("exactly_durable_lsn", "gauge", "Highest LSN the journal reported durable.",
          facts.durable_lsn.value);
  // Replicated mode has no journal of its own: the raft log's commit decides.
  const bool journaled = !facts.replication.enabled;
  out.One("exactly_durable_lsn_lag", "gauge",
          "Applied LSNs not yet durable: replies held for their sync (0 in replicated mode).",
          journaled && facts.applied_lsn.value > facts.durable_lsn.value
              ? facts.applied_lsn.value - facts.durable_lsn.value
              : 0);
  out.One("exactly_storage_failed", "gauge", "1 once the journal failed (writes stopped).",
          facts.storage_failed ? 1 : 0);
  out.One("exactly_snapshots_total", "counter", "Snapshots completed.", counters.snapshots);
  out.One("exactly_uptime_seconds", "gauge", "Seconds since the server started.",
          static_cast<uint64_t>(facts.uptime_s));
  out.One("exactly_memory_used_bytes", "gauge", "Heap in use (--maxmemory counts this).",
          facts.used_memory_bytes);
  out.One("exactly_memory_rss_bytes", "gauge", "Resident set size.", facts.rss_bytes);
  out.One("exactly_memory_max_bytes", "gauge", "--maxmemory (0: no bound).", facts.maxmemory_bytes);
  out.One("exactly_client_buffer_bytes", "gauge",
          "Bytes in clients' buffers (--maxmemory-clients counts these).",
          static_cast<uint64_t>(std::max<int64_t>(facts.client_buffer_bytes, 0)));
  out.One("exactly_client_buffer_max_bytes", "gauge", "--maxmemory-clients (0: no bound).",
          facts.maxmemory_clients_bytes);

  const core::EngineStats& tables = facts.tables;
  const core::EngineConfig& limits = facts.limits;
  const std::pair<std::string_view, std::pair<size_t, size_t>> table_rows[] = {
      {"claims", {tables.claims, limits.claims_max}},
      {"accounts", {tables.accounts, limits.accounts_max}},
      {"transfers", {tables.transfers, limits.transfers_max}},
      {"locks", {tables.locks, limits.locks_max}},
      {"waiters", {tables.waiters, limits.waiters_max}},
      {"idem_keys", {tables.idem_keys, limits.idem_keys_max}},
      {"limit_keys", {tables.limit_keys, limits.limit_keys_max}},
  };
  out.Family("exactly_table_records", "gauge", "Records in each table.");
  for (const auto& [table, sizes] : table_rows) {
    out.Sample("exactly_table_records", sizes.first, fmt::format("table=\"{}\"", table));
  }
  out.Family("exactly_table_records_max", "gauge", "The most records each table may hold.");
  for (const auto& [table, sizes] : table_rows) {
    out.Sample("exactly_table_records_max", sizes.second, fmt::format("table=\"{}\"", table));
  }
  out.One("exactly_pending_transfers", "gauge", "Reservations not yet committed or cancelled.",
          tables.pending);
  return out.Take();
}

}  // namespace exactly::http
