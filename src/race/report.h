// The results of a race or load run and their three renderings: the one-screen
// summary, the JSON file (every request) and the self-contained HTML report (inline
// SVG latency histogram and per-request timeline; nothing fetched at view time).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "race/fire.h"
#include "race/histogram.h"
#include "race/judge.h"

namespace exactly::race {

struct RoundReport {
  int64_t round = 1;
  RoundRun run;
  RoundVerdict verdict;
};

struct RaceReport {
  std::string target;
  std::string mode;  // "last-byte", "naive", "h2 single-packet" or "load"
  int64_t requests_per_round = 0;
  std::vector<std::string> expectations;  // as written, with " per user" when so
  std::string observe;                    // what --observe reads (empty: no probe)
  std::string release_method;             // last-byte: "io_uring" or "send"
  std::vector<RoundReport> rounds;
  // --load only.
  double rate_per_s = 0;
  double duration_s = 0;
  double achieved_per_s = 0;
  int64_t load_sent = 0;
  Counts load_counts;
  // Filled by Tally (or directly by the load mode).
  Histogram latency;
  std::map<int, int64_t> statuses;  // status -> count; 0 is "no response"
  Verdict verdict = Verdict::kHeld;
  int64_t violated_rounds = 0;
  int64_t unknown_rounds = 0;
};

// Fills latency, statuses, verdict and the round counters from `rounds`.
void Tally(RaceReport& report);

// The exit code the verdict calls for: 0 held, 1 violated, 2 unknown.
int ExitCodeOf(const RaceReport& report);

std::string Summary(const RaceReport& report);
std::string ToJson(const RaceReport& report);
std::string ToHtml(const RaceReport& report);

// The timeline of one round as inline SVG: a row per request from its last byte's
// send to its response's end, coloured by outcome (shared with the audit report).
std::string TimelineSvg(const RoundReport& round);

// Helpers shared with tests.
std::string JsonEscape(std::string_view s);
std::string HtmlEscape(std::string_view s);
std::string FormatUs(int64_t us);

}  // namespace exactly::race
