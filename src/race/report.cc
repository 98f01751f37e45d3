// Summary, JSON and HTML renderings of a race or load run.
#include "race/report.h"

#include <algorithm>
#include <cmath>

#include "fmt/format.h"

namespace exactly::race {
namespace {

constexpr size_t kBodyExcerpt = 200;
constexpr size_t kTimelineRowsMax = 400;

std::string Excerpt(const std::string& body) {
  std::string out = body.substr(0, kBodyExcerpt);
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (body.size() > kBodyExcerpt) out += "...";
  return out;
}

int64_t Median(std::vector<int64_t> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string ProbeValue(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "?"; }

// "before -> after" for one round, with the failure when a probe had no value.
std::string ProbeLine(const RoundReport& r) {
  const Probes& p = r.verdict.probes;
  std::string out = fmt::format("{} -> {}", ProbeValue(p.before), ProbeValue(p.after));
  if (p.before && p.after) out += fmt::format(" ({:+d})", *p.after - *p.before);
  if (!r.verdict.probe_error.empty()) out += " [" + r.verdict.probe_error + "]";
  return out;
}

std::string JsonOptional(const std::optional<int64_t>& v) {
  return v ? std::to_string(*v) : "null";
}

std::string StatusName(int status) { return status == 0 ? "none" : std::to_string(status); }

// The round the timeline shows: the first violated one, else the last.
const RoundReport* ShownRound(const RaceReport& report) {
  if (report.rounds.empty()) return nullptr;
  for (const RoundReport& r : report.rounds) {
    if (r.verdict.verdict == Verdict::kViolated) return &r;
  }
  return &report.rounds.back();
}

std::string HistogramSvg(const Histogram& h) {
  const int width = 1100;
  const int height = 260;
  const int left = 60;
  const int bottom = 40;
  std::string svg =
      fmt::format("<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{}' class='chart'>",
                  width, height);
  if (h.count() == 0) return svg + "<text x='20' y='40'>no responses</text></svg>";
  // Log-spaced display bins from the smallest to the largest value.
  const double lo = std::log10(std::max<int64_t>(1, h.min()));
  const double hi = std::log10(std::max<int64_t>(2, h.max() + 1));
  const int bins = 48;
  std::vector<int64_t> counts(bins, 0);
  for (const Histogram::Bucket& b : h.Buckets()) {
    const double x = std::log10(std::max<int64_t>(1, b.low_us));
    int bin = hi > lo ? static_cast<int>((x - lo) / (hi - lo) * bins) : 0;
    bin = std::clamp(bin, 0, bins - 1);
    counts[static_cast<size_t>(bin)] += b.count;
  }
  const int64_t peak = *std::max_element(counts.begin(), counts.end());
  const double bar_w = static_cast<double>(width - left - 20) / bins;
  const int plot_h = height - bottom - 20;
  for (int k = 0; k < bins; ++k) {
    if (counts[static_cast<size_t>(k)] == 0) continue;
    const double bh = static_cast<double>(counts[static_cast<size_t>(k)]) / peak * plot_h;
    const double low = std::pow(10.0, lo + (hi - lo) * k / bins);
    const double high = std::pow(10.0, lo + (hi - lo) * (k + 1) / bins);
    svg += fmt::format(
        "<rect x='{:.1f}' y='{:.1f}' width='{:.1f}' height='{:.1f}' fill='#4878d0'>"
        "<title>{} .. {}: {}</title></rect>",
        left + k * bar_w, height - bottom - bh, std::max(1.0, bar_w - 1), bh,
        FormatUs(static_cast<int64_t>(low)), FormatUs(static_cast<int64_t>(high)),
        counts[static_cast<size_t>(k)]);
  }
  svg += fmt::format("<line x1='{}' y1='{}' x2='{}' y2='{}' stroke='#333'/>", left, height - bottom,
                     width - 20, height - bottom);
  for (int t = 0; t <= 4; ++t) {
    const double v = std::pow(10.0, lo + (hi - lo) * t / 4);
    svg += fmt::format("<text x='{:.1f}' y='{}' font-size='12' text-anchor='{}'>{}</text>",
                       left + (width - left - 20) * t / 4.0, height - bottom + 16,
                       t == 4 ? "end" : "middle", FormatUs(static_cast<int64_t>(v)));
  }
  svg += fmt::format("<text x='{}' y='{}' font-size='12'>count (peak {})</text>", 4, 14, peak);
  svg += fmt::format(
      "<text x='{}' y='{}' font-size='12' text-anchor='middle'>latency (log scale)</text>",
      left + (width - left) / 2, height - 6);
  return svg + "</svg>";
}

}  // namespace

std::string FormatUs(int64_t us) {
  if (us < 0) return "-";
  if (us < 1000) return fmt::format("{} µs", us);
  if (us < 1000000) return fmt::format("{:.2f} ms", static_cast<double>(us) / 1000.0);
  return fmt::format("{:.2f} s", static_cast<double>(us) / 1e6);
}

std::string TimelineSvg(const RoundReport& round) {
  const std::vector<RequestResult>& reqs = round.run.requests;
  const size_t rows = std::min(reqs.size(), kTimelineRowsMax);
  const int width = 1100;
  const int left = 110;
  const int row_h = rows > 100 ? 4 : 14;
  const int top = 20;
  const int height = top + static_cast<int>(rows) * row_h + 40;
  int64_t t_min = 0;
  int64_t t_max = 1;
  for (size_t k = 0; k < rows; ++k) {
    if (reqs[k].start_us >= 0) t_min = std::min(t_min, reqs[k].start_us);
    t_max = std::max({t_max, reqs[k].start_us, reqs[k].end_us});
  }
  const double span = static_cast<double>(t_max - t_min);
  auto x = [&](int64_t t) {
    return left + (static_cast<double>(t - t_min) / span) * (width - left - 20);
  };
  std::string svg =
      fmt::format("<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{}' class='chart'>",
                  width, height);
  for (size_t k = 0; k < rows; ++k) {
    const RequestResult& r = reqs[k];
    const int y = top + static_cast<int>(k) * row_h + row_h / 2;
    const char* color = !r.error.empty() ? "#999999" : (r.success ? "#2e9d4a" : "#d0483c");
    if (row_h >= 10) {
      svg += fmt::format("<text x='4' y='{}' font-size='11'>#{} {}</text>", y + 4, r.index,
                         HtmlEscape(r.user.substr(0, 12)));
    }
    if (r.start_us < 0) continue;
    const int64_t end = r.end_us >= 0 ? r.end_us : t_max;
    svg += fmt::format(
        "<line x1='{:.1f}' y1='{}' x2='{:.1f}' y2='{}' stroke='{}' stroke-width='{}'>"
        "<title>#{} {} start {} end {} status {} {}</title></line>",
        x(r.start_us), y, std::max(x(end), x(r.start_us) + 1.5), y, color, std::max(2, row_h - 4),
        r.index, HtmlEscape(r.user), FormatUs(r.start_us), r.end_us >= 0 ? FormatUs(r.end_us) : "-",
        StatusName(r.status), HtmlEscape(r.error.empty() ? Excerpt(r.body) : r.error));
    svg += fmt::format("<circle cx='{:.1f}' cy='{}' r='{}' fill='#222'/>", x(r.start_us), y,
                       row_h >= 10 ? 2.5 : 1.0);
  }
  const int axis_y = top + static_cast<int>(rows) * row_h + 8;
  svg += fmt::format("<line x1='{}' y1='{}' x2='{}' y2='{}' stroke='#333'/>", left, axis_y,
                     width - 20, axis_y);
  for (int t = 0; t <= 5; ++t) {
    const int64_t v = t_min + static_cast<int64_t>(span * t / 5);
    svg += fmt::format("<text x='{:.1f}' y='{}' font-size='12' text-anchor='middle'>{}</text>",
                       x(v), axis_y + 16, FormatUs(v));
  }
  return svg + "</svg>";
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void Tally(RaceReport& report) {
  if (report.mode == "load") return;
  report.verdict = Verdict::kHeld;
  report.violated_rounds = 0;
  report.unknown_rounds = 0;
  for (const RoundReport& round : report.rounds) {
    for (const RequestResult& r : round.run.requests) {
      ++report.statuses[r.error.empty() ? r.status : 0];
      if (r.start_us >= 0 && r.end_us >= 0) report.latency.Record(r.end_us - r.start_us);
    }
    report.verdict = Worst(report.verdict, round.verdict.verdict);
    if (round.verdict.verdict == Verdict::kViolated) ++report.violated_rounds;
    if (round.verdict.verdict == Verdict::kUnknown) ++report.unknown_rounds;
  }
}

int ExitCodeOf(const RaceReport& report) {
  switch (report.verdict) {
    case Verdict::kHeld:
      return 0;
    case Verdict::kViolated:
      return 1;
    case Verdict::kUnknown:
      return 2;
  }
  return 2;
}

std::string Summary(const RaceReport& report) {
  std::string out;
  const Histogram& h = report.latency;
  if (report.mode == "load") {
    out += fmt::format("exactly race --load  {}\n", report.target);
    out +=
        fmt::format("rate      {:.0f}/s asked, {:.0f}/s done over {:.1f} s ({} sent)\n",
                    report.rate_per_s, report.achieved_per_s, report.duration_s, report.load_sent);
    out += fmt::format("outcomes  success {}  failure {}  error {}\n", report.load_counts.success,
                       report.load_counts.failure, report.load_counts.error);
    if (!report.observe.empty() && !report.rounds.empty()) {
      out += fmt::format("observe   {}\n          before -> after {}\n", report.observe,
                         ProbeLine(report.rounds.front()));
    }
    out += "latency   (from each request's intended send time: coordinated omission corrected)\n";
  } else {
    out += fmt::format("exactly race  {}  ({}, {} requests x {} round{})\n", report.target,
                       report.mode, report.requests_per_round, report.rounds.size(),
                       report.rounds.size() == 1 ? "" : "s");
    std::vector<int64_t> spreads;
    int64_t spread_max = 0;
    for (const RoundReport& r : report.rounds) {
      spreads.push_back(r.run.release_spread_us);
      spread_max = std::max(spread_max, r.run.release_spread_us);
    }
    out +=
        fmt::format("release   spread median {}, max {} ({})\n", FormatUs(Median(spreads)),
                    FormatUs(spread_max),
                    report.mode == "h2 single-packet"     ? "the one write of all final frames"
                    : report.mode == "naive"              ? "first to last complete send"
                    : report.release_method == "io_uring" ? "all last bytes in one io_uring submit"
                                                          : "first to last last-byte send");
    const int64_t held =
        static_cast<int64_t>(report.rounds.size()) - report.violated_rounds - report.unknown_rounds;
    out += fmt::format("rounds    {} violated, {} unknown, {} held\n", report.violated_rounds,
                       report.unknown_rounds, held);
    if (!report.observe.empty()) {
      out += fmt::format("observe   {}\n", report.observe);
      constexpr size_t kShownRounds = 12;
      for (size_t k = 0; k < report.rounds.size(); ++k) {
        const RoundReport& r = report.rounds[k];
        // Every failed probe is shown; of the rest, the first rounds only.
        if (k >= kShownRounds && r.verdict.probe_error.empty()) continue;
        out += fmt::format("  round {:<3} before -> after {}, {} successes\n", r.round,
                           ProbeLine(r), r.verdict.counts.success);
      }
      if (report.rounds.size() > kShownRounds) {
        out += fmt::format("  ({} more rounds in --json)\n", report.rounds.size() - kShownRounds);
      }
    }
    if (!report.expectations.empty()) out += "expect\n";
    for (size_t e = 0; e < report.expectations.size(); ++e) {
      int64_t violated = 0;
      const ExpectationResult* shown = nullptr;
      for (const RoundReport& r : report.rounds) {
        if (e >= r.verdict.results.size()) continue;
        const ExpectationResult& res = r.verdict.results[e];
        if (res.verdict == Verdict::kViolated) {
          if (violated++ == 0) shown = &res;
        } else if (shown == nullptr || shown->verdict == Verdict::kHeld) {
          if (res.verdict == Verdict::kUnknown || shown == nullptr) shown = &res;
        }
      }
      const int64_t k = static_cast<int64_t>(report.rounds.size());
      std::string verdict;
      if (violated > 0) {
        verdict = fmt::format("VIOLATED in {}/{} rounds", violated, k);
      } else if (shown != nullptr && shown->verdict == Verdict::kUnknown) {
        verdict = fmt::format("unknown in some of {} rounds", k);
      } else {
        verdict = fmt::format("held in {}/{} rounds", k, k);
      }
      out += fmt::format("  {:<28} {:<26} {}\n", report.expectations[e], verdict,
                         shown ? shown->observed : "");
    }
    if (report.rounds.size() > 1) {
      std::string per_round = "  per round:";
      for (const RoundReport& r : report.rounds) {
        per_round += fmt::format(" {}", r.verdict.counts.success);
      }
      out += per_round + " successes\n";
    }
    out += "latency   (last byte sent to response complete)\n";
  }
  out +=
      fmt::format("          p50 {}  p90 {}  p99 {}  max {}  (n={})\n", FormatUs(h.ValueAt(50)),
                  FormatUs(h.ValueAt(90)), FormatUs(h.ValueAt(99)), FormatUs(h.max()), h.count());
  std::string statuses = "status   ";
  for (const auto& [status, count] : report.statuses) {
    statuses += fmt::format(" {} x{}", StatusName(status), count);
  }
  out += statuses + "\n";
  out += fmt::format("result    {} (exit {})\n",
                     report.verdict == Verdict::kHeld       ? "held"
                     : report.verdict == Verdict::kViolated ? "VIOLATED"
                                                            : "UNKNOWN: some outcomes unknown",
                     ExitCodeOf(report));
  return out;
}

std::string ToJson(const RaceReport& report) {
  const Histogram& h = report.latency;
  std::string out = "{\n";
  out += fmt::format("  \"target\": \"{}\",\n  \"mode\": \"{}\",\n", JsonEscape(report.target),
                     report.mode);
  out += fmt::format("  \"requests_per_round\": {},\n", report.requests_per_round);
  if (!report.release_method.empty()) {
    out += fmt::format("  \"release\": \"{}\",\n", report.release_method);
  }
  if (!report.observe.empty()) {
    out += fmt::format("  \"observe\": \"{}\",\n", JsonEscape(report.observe));
  }
  out += fmt::format("  \"result\": \"{}\",\n  \"exit_code\": {},\n",
                     report.verdict == Verdict::kViolated ? "violated"
                     : report.verdict == Verdict::kHeld   ? "held"
                                                          : "unknown",
                     ExitCodeOf(report));
  out += fmt::format("  \"violated_rounds\": {},\n  \"unknown_rounds\": {},\n",
                     report.violated_rounds, report.unknown_rounds);
  out += fmt::format(
      "  \"latency_us\": {{\"count\": {}, \"min\": {}, \"p50\": {}, \"p90\": {}, \"p99\": {}, "
      "\"p999\": {}, \"max\": {}, \"mean\": {:.1f}}},\n",
      h.count(), h.min(), h.ValueAt(50), h.ValueAt(90), h.ValueAt(99), h.ValueAt(99.9), h.max(),
      h.Mean());
  out += "  \"statuses\": {";
  bool first = true;
  for (const auto& [status, count] : report.statuses) {
    out += fmt::format("{}\"{}\": {}", first ? "" : ", ", StatusName(status), count);
    first = false;
  }
  out += "},\n";
  if (report.mode == "load") {
    out += fmt::format(
        "  \"load\": {{\"rate_per_s\": {:.1f}, \"duration_s\": {:.2f}, \"achieved_per_s\": {:.1f}, "
        "\"sent\": {}, \"success\": {}, \"failure\": {}, \"error\": {}}},\n",
        report.rate_per_s, report.duration_s, report.achieved_per_s, report.load_sent,
        report.load_counts.success, report.load_counts.failure, report.load_counts.error);
  }
  out += "  \"rounds\": [";
  for (size_t k = 0; k < report.rounds.size(); ++k) {
    const RoundReport& r = report.rounds[k];
    out += fmt::format(
        "{}\n    {{\"round\": {}, \"release_spread_us\": {}, \"verdict\": \"{}\", "
        "\"success\": {}, \"failure\": {}, \"error\": {},\n     ",
        k == 0 ? "" : ",", r.round, r.run.release_spread_us,
        r.verdict.verdict == Verdict::kViolated ? "violated"
        : r.verdict.verdict == Verdict::kHeld   ? "held"
                                                : "unknown",
        r.verdict.counts.success, r.verdict.counts.failure, r.verdict.counts.error);
    if (!report.observe.empty()) {
      out += fmt::format("\"before\": {}, \"after\": {}, \"probe_error\": \"{}\",\n     ",
                         JsonOptional(r.verdict.probes.before),
                         JsonOptional(r.verdict.probes.after), JsonEscape(r.verdict.probe_error));
    }
    out += "\"expectations\": [";
    for (size_t e = 0; e < r.verdict.results.size(); ++e) {
      const ExpectationResult& res = r.verdict.results[e];
      out += fmt::format("{}{{\"expect\": \"{}\", \"verdict\": \"{}\", \"observed\": \"{}\"}}",
                         e == 0 ? "" : ", ", JsonEscape(res.text),
                         res.verdict == Verdict::kViolated ? "violated"
                         : res.verdict == Verdict::kHeld   ? "held"
                                                           : "unknown",
                         JsonEscape(res.observed));
    }
    out += "],\n     \"requests\": [";
    for (size_t q = 0; q < r.run.requests.size(); ++q) {
      const RequestResult& rq = r.run.requests[q];
      out += fmt::format(
          "{}\n      {{\"i\": {}, \"user\": \"{}\", \"start_us\": {}, \"end_us\": {}, "
          "\"status\": {}, \"success\": {}, \"body\": \"{}\", \"error\": \"{}\"}}",
          q == 0 ? "" : ",", rq.index, JsonEscape(rq.user), rq.start_us, rq.end_us, rq.status,
          rq.success ? "true" : "false", JsonEscape(Excerpt(rq.body)), JsonEscape(rq.error));
    }
    out += "]}";
  }
  out += "\n  ]\n}\n";
  return out;
}

std::string ToHtml(const RaceReport& report) {
  std::string out =
      "<!doctype html><html><head><meta charset='utf-8'><title>exactly race report</title>"
      "<style>body{font-family:sans-serif;margin:20px;color:#222}h1{font-size:20px}"
      "h2{font-size:16px;margin-top:24px}pre{background:#f4f4f4;padding:10px;font-size:13px}"
      "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px}"
      ".violated{color:#c0392b;font-weight:bold}.held{color:#2e7d32}.chart{background:#fafafa;"
      "border:1px solid #ddd}.key span{display:inline-block;width:14px;height:8px;margin:0 4px "
      "0 12px}</style></head><body>";
  out += fmt::format("<h1>exactly race: {}</h1>", HtmlEscape(report.target));
  out += fmt::format("<pre>{}</pre>", HtmlEscape(Summary(report)));
  out += "<h2>Latency histogram</h2>";
  out += HistogramSvg(report.latency);
  if (const RoundReport* shown = ShownRound(report)) {
    out += fmt::format(
        "<h2>Timeline of round {} ({}; release spread {})</h2>"
        "<div class='key'><span style='background:#2e9d4a'></span>success"
        "<span style='background:#d0483c'></span>failure"
        "<span style='background:#999'></span>no response &nbsp; dot: last byte sent; bar: until "
        "the response was complete</div>",
        shown->round, VerdictName(shown->verdict.verdict), FormatUs(shown->run.release_spread_us));
    out += TimelineSvg(*shown);
  }
  const bool probed = !report.observe.empty();
  if (report.rounds.size() > 1 || probed) {
    out += "<h2>Rounds</h2>";
    if (probed) out += fmt::format("<p>observe: {}</p>", HtmlEscape(report.observe));
    out +=
        "<table><tr><th>round</th><th>verdict</th><th>success</th>"
        "<th>failure</th><th>error</th><th>release spread</th>";
    if (probed) out += "<th>before</th><th>after</th><th>change</th><th>probe</th>";
    out += "</tr>";
    for (const RoundReport& r : report.rounds) {
      const bool bad = r.verdict.verdict == Verdict::kViolated;
      out += fmt::format(
          "<tr><td>{}</td><td class='{}'>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
          r.round, bad ? "violated" : "held", VerdictName(r.verdict.verdict),
          r.verdict.counts.success, r.verdict.counts.failure, r.verdict.counts.error,
          FormatUs(r.run.release_spread_us));
      if (probed) {
        const Probes& p = r.verdict.probes;
        out +=
            fmt::format("<td>{}</td><td>{}</td><td>{}</td><td>{}</td>", ProbeValue(p.before),
                        ProbeValue(p.after),
                        p.before && p.after ? fmt::format("{:+d}", *p.after - *p.before) : "?",
                        r.verdict.probe_error.empty() ? "read" : HtmlEscape(r.verdict.probe_error));
      }
      out += "</tr>";
    }
    out += "</table>";
  }
  out += "</body></html>\n";
  return out;
}

}  // namespace exactly::race
