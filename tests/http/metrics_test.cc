// GET /metrics's text: every line is a comment or a sample of the Prometheus
// text format, every family is typed before its samples, and the numbers are
// the ones given.
#include "http/metrics.h"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace exactly::http {
namespace {

// name{labels} -> value, checking the format on the way.
std::map<std::string, uint64_t> Parse(const std::string& text) {
  std::map<std::string, uint64_t> samples;
  std::set<std::string> typed;
  const std::regex type_line(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge))");
  const std::regex help_line(R"(# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+)");
  const std::regex sample_line(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? ([0-9]+))");
  std::istringstream lines(text);
  std::string line;
  std::smatch match;
  while (std::getline(lines, line)) {
    if (std::regex_match(line, match, type_line)) {
      EXPECT_TRUE(typed.insert(match[1]).second) << "typed twice: " << line;
    } else if (std::regex_match(line, help_line)) {
    } else if (std::regex_match(line, match, sample_line)) {
      EXPECT_TRUE(typed.count(match[1])) << "sample before its TYPE: " << line;
      const std::string key = match[1].str() + match[2].str();
      EXPECT_TRUE(samples.emplace(key, std::stoull(match[5])).second) << "twice: " << line;
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
  const std::map<std::string, uint64_t> samples = Parse(MetricsText(facts, stats));
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

}  // namespace
}  // namespace exactly::http
