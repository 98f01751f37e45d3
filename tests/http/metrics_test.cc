// GET /metrics's text: every line is a comment or a sample of the Prometheus
// text format, every family is typed before its samples, and the numbers are
// the ones given.
#include "http/metrics.h"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "base/histogram.h"

namespace exactly::http {
namespace {

// name{labels} -> value, checking the format on the way: a histogram's samples
// are its name with _bucket, _sum or _count.
std::map<std::string, double> Parse(const std::string& text) {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> typed;  // family -> type
  const std::regex type_line(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))");
  const std::regex help_line(R"(# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+)");
  const std::regex sample_line(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? ([0-9]+(\.[0-9]+)?(e-?[0-9]+)?))");
  const std::regex histogram_sample(R"((.*)_(bucket|sum|count))");
  std::istringstream lines(text);
  std::string line;
  std::smatch match;
  std::smatch parts;
  while (std::getline(lines, line)) {
    if (std::regex_match(line, match, type_line)) {
      EXPECT_TRUE(typed.emplace(match[1], match[2]).second) << "typed twice: " << line;
    } else if (std::regex_match(line, help_line)) {
    } else if (std::regex_match(line, match, sample_line)) {
      const std::string name = match[1];
      std::string family = name;
      if (std::regex_match(name, parts, histogram_sample) && typed.count(parts[1]) &&
          typed.at(parts[1]) == "histogram") {
        family = parts[1];
      }
      EXPECT_TRUE(typed.count(family)) << "sample before its TYPE: " << line;
      const std::string key = name + match[2].str();
      EXPECT_TRUE(samples.emplace(key, std::stod(match[5])).second) << "twice: " << line;
    } else {
      ADD_FAILURE() << "not Prometheus text: " << line;
    }
  }
  return samples;
}

TEST(MetricsTest, CountersAndFactsAsPrometheusText) {
  HttpStats stats;
  stats.requests[{"claim", "won"}] = 3;
  stats.requests[{"idem begin", "replayed"}] = 1;
  stats.errors[{400, "ERR"}] = 2;
  stats.connections = 1;
  stats.connections_total = 4;
  net::ServerFacts facts;
  facts.tables.claims = 3;
  facts.limits.claims_max = 50;
  facts.counters.commands = 9;
  facts.syncs = 5;
  facts.durable_lsn = Lsn{12};
  facts.counters.replies[static_cast<size_t>(core::CommandKind::kIdemBegin)]
                        [static_cast<size_t>(core::Outcome::kRun)] = 6;
  facts.counters
      .replies[static_cast<size_t>(core::CommandKind::kAccount)][net::kOutcomeColumns - 1] = 2;
  const std::map<std::string, double> samples = Parse(MetricsText(facts, stats));
  EXPECT_EQ(samples.at(R"(exactly_http_requests_total{command="claim",outcome="won"})"), 3u);
  EXPECT_EQ(samples.at(R"(exactly_http_requests_total{command="idem begin",outcome="replayed"})"),
            1u);
  EXPECT_EQ(samples.at(R"(exactly_http_errors_total{status="400",code="ERR"})"), 2u);
  EXPECT_EQ(samples.at("exactly_http_connections"), 1u);
  EXPECT_EQ(samples.at("exactly_http_connections_total"), 4u);
  EXPECT_EQ(samples.at(R"(exactly_table_records{table="claims"})"), 3u);
  EXPECT_EQ(samples.at(R"(exactly_table_records_max{table="claims"})"), 50u);
  EXPECT_EQ(samples.at("exactly_resp_commands_total"), 9u);
  EXPECT_EQ(samples.at("exactly_fsyncs_total"), 5u);
  EXPECT_EQ(samples.at("exactly_durable_lsn"), 12u);
  EXPECT_EQ(samples.at(R"(exactly_commands_total{command="idem_begin",outcome="run"})"), 6u);
  EXPECT_EQ(samples.at(R"(exactly_commands_total{command="account",outcome="error"})"), 2u);
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  HttpStats stats;
  stats.errors[{400, "a\"b\\c"}] = 1;
  const std::string text = MetricsText(net::ServerFacts{}, stats);
  EXPECT_NE(text.find(R"(code="a\"b\\c")"), std::string::npos);
  Parse(text);
}

TEST(MetricsTest, HistogramsAreCumulativeWithSumAndCount) {
  net::ServerFacts facts;
  base::Histogram batches(base::kPowerOfTwoBounds);
  for (uint64_t size : {1, 1, 3, 64, 100000}) batches.Observe(size);
  facts.batch_commands = batches.Read();
  // Bounds in ns, some of the journal's (storage::kSyncLatencyBoundsNs).
  static constexpr std::array<uint64_t, 4> kMoreBoundsNs = {50'000, 250'000, 500'000,
                                                            10'000'000'000};
  base::Histogram latency(kMoreBoundsNs);
  latency.Observe(40'000);          // 40 us: the first bucket, 50 us
  latency.Observe(300'000);         // 300 us: le 0.0005
  latency.Observe(20'000'000'000);  // 20 s: past every bound
  facts.sync_latency_ns = latency.Read();
  const std::map<std::string, double> samples = Parse(MetricsText(facts, HttpStats{}));
  EXPECT_EQ(samples.at(R"(exactly_batch_commands_bucket{le="1"})"), 2);
  EXPECT_EQ(samples.at(R"(exactly_batch_commands_bucket{le="2"})"), 2);
  EXPECT_EQ(samples.at(R"(exactly_batch_commands_bucket{le="4"})"), 3);
  EXPECT_EQ(samples.at(R"(exactly_batch_commands_bucket{le="64"})"), 4);
  EXPECT_EQ(samples.at(R"(exactly_batch_commands_bucket{le="65536"})"), 4);
  EXPECT_EQ(samples.at(R"(exactly_batch_commands_bucket{le="+Inf"})"), 5);
  EXPECT_EQ(samples.at("exactly_batch_commands_count"), 5);
  EXPECT_EQ(samples.at("exactly_batch_commands_sum"), 100069);
  EXPECT_EQ(samples.at(R"(exactly_fsync_duration_seconds_bucket{le="5e-05"})"), 1);
  EXPECT_EQ(samples.at(R"(exactly_fsync_duration_seconds_bucket{le="0.00025"})"), 1);
  EXPECT_EQ(samples.at(R"(exactly_fsync_duration_seconds_bucket{le="0.0005"})"), 2);
  EXPECT_EQ(samples.at(R"(exactly_fsync_duration_seconds_bucket{le="10"})"), 2);
  EXPECT_EQ(samples.at(R"(exactly_fsync_duration_seconds_bucket{le="+Inf"})"), 3);
  EXPECT_DOUBLE_EQ(samples.at("exactly_fsync_duration_seconds_sum"), 20.00034);
  // No journal (replicated mode): a histogram of the +Inf bucket alone, empty.
  EXPECT_EQ(samples.at(R"(exactly_fsync_records_bucket{le="+Inf"})"), 0);
  EXPECT_EQ(samples.at("exactly_fsync_records_count"), 0);
}

TEST(MetricsTest, DurableLsnLagIsAppliedMinusDurable) {
  net::ServerFacts facts;
  facts.applied_lsn = Lsn{12};
  facts.durable_lsn = Lsn{9};
  EXPECT_EQ(Parse(MetricsText(facts, HttpStats{})).at("exactly_durable_lsn_lag"), 3);
  facts.durable_lsn = Lsn{12};
  EXPECT_EQ(Parse(MetricsText(facts, HttpStats{})).at("exactly_durable_lsn_lag"), 0);
  // Replicated mode: the journal's durable LSN stands still, the raft log decides.
  facts.durable_lsn = Lsn{0};
  facts.replication.enabled = true;
  EXPECT_EQ(Parse(MetricsText(facts, HttpStats{})).at("exactly_durable_lsn_lag"), 0);
}

}  // namespace
}  // namespace exactly::http
