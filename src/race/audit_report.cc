// The three renderings of `exactly race audit`: the ranked terminal table, the JSON
// file and the self-contained HTML report with one section per endpoint.
#include <map>

#include "fmt/format.h"
#include "race/audit.h"
#include "race/report.h"

namespace exactly::race {
namespace {

constexpr size_t kUrlShown = 56;
constexpr size_t kBodyShown = 300;

std::string Cut(std::string_view s, size_t n) {
  std::string out(s.substr(0, n));
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return s.size() > n ? out + "..." : out;
}

std::string Optional(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "?"; }

std::string CopiesText(const EndpointResult& e) {
  const Counts& c = e.verdict.counts;
  std::string out = fmt::format("{} ok, {} refused", c.success, c.failure);
  if (c.error > 0) out += fmt::format(", {} no answer", c.error);
  return out;
}

std::string LoneText(const EndpointResult& e) {
  if (!e.lone_sent || !e.lone.error.empty()) return "none";
  return fmt::format("{} {}", e.lone.status, e.lone_success ? "ok" : "refused");
}

std::string ProbeText(const EndpointResult& e) {
  if (e.observe.empty()) return "-";
  const Probes& p = e.verdict.probes;
  return fmt::format("{} -> {}", Optional(p.before), Optional(p.after));
}

std::string Statuses(const RoundRun& run) {
  std::map<int, int64_t> counts;
  for (const RequestResult& r : run.requests) ++counts[r.error.empty() ? r.status : 0];
  std::string out;
  for (const auto& [status, n] : counts) {
    out += fmt::format("{}{} x{}", out.empty() ? "" : ", ",
                       status == 0 ? "none" : std::to_string(status), n);
  }
  return out.empty() ? "-" : out;
}

const char* OutcomeClass(AuditOutcome o) {
  switch (o) {
    case AuditOutcome::kFlagged:
      return "flagged";
    case AuditOutcome::kUnjudged:
      return "unjudged";
    default:
      return "held";
  }
}

std::string Tally(const AuditReport& report) {
  std::map<AuditOutcome, int> n;
  for (const EndpointResult& e : report.endpoints) ++n[e.outcome];
  return fmt::format("{} flagged, {} unjudged, {} held, {} repeatable", n[AuditOutcome::kFlagged],
                     n[AuditOutcome::kUnjudged], n[AuditOutcome::kHeld],
                     n[AuditOutcome::kRepeatable]);
}

std::string Plural(size_t n, const char* noun) {
  return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}

std::string HostsText(const AuditReport& report) {
  std::string out;
  for (const std::string& h : report.hosts) out += (out.empty() ? "" : ", ") + h;
  return out;
}

}  // namespace

std::string AuditTable(const AuditReport& report) {
  std::string out =
      fmt::format("exactly race audit  {}  ({} of {} recorded requests, {} copies each; {})\n",
                  report.har_path, Plural(report.endpoints.size(), "endpoint"), report.recorded,
                  report.copies, HostsText(report));
  out += fmt::format("{:>3}  {:<10} {:<6} {:<{}} {:<24} {:<12} {}\n", "#", "verdict", "method",
                     "url", kUrlShown + 3, "copies", "lone", "before -> after");
  for (size_t k = 0; k < report.endpoints.size(); ++k) {
    const EndpointResult& e = report.endpoints[k];
    out += fmt::format("{:>3}  {:<10} {:<6} {:<{}} {:<24} {:<12} {}\n", k + 1,
                       AuditOutcomeName(e.outcome), e.request.method, Cut(e.request.url, kUrlShown),
                       kUrlShown + 3, CopiesText(e), LoneText(e), ProbeText(e));
    out += fmt::format("     {}{}\n", e.reason,
                       e.rule.empty() ? "" : fmt::format(" [rule {}]", e.rule));
  }
  out += fmt::format("result    {} (exit {})\n", Tally(report), AuditExitCode(report));
  return out;
}

std::string AuditJson(const AuditReport& report) {
  std::string out = "{\n";
  out += fmt::format(
      "  \"har\": \"{}\",\n  \"copies\": {},\n  \"recorded\": {},\n  \"skipped\": {},\n",
      JsonEscape(report.har_path), report.copies, report.recorded, report.skipped);
  out += "  \"hosts\": [";
  for (size_t k = 0; k < report.hosts.size(); ++k) {
    out += fmt::format("{}\"{}\"", k == 0 ? "" : ", ", JsonEscape(report.hosts[k]));
  }
  out += fmt::format("],\n  \"exit_code\": {},\n  \"endpoints\": [", AuditExitCode(report));
  for (size_t k = 0; k < report.endpoints.size(); ++k) {
    const EndpointResult& e = report.endpoints[k];
    const Counts& c = e.verdict.counts;
    auto optional = [](const std::optional<int64_t>& v) {
      return v ? std::to_string(*v) : std::string("null");
    };
    out += fmt::format(
        "{}\n    {{\"rank\": {}, \"method\": \"{}\", \"url\": \"{}\", \"verdict\": \"{}\", "
        "\"reason\": \"{}\", \"rule\": \"{}\",\n     \"success\": {}, \"failure\": {}, "
        "\"error\": {}, \"release_spread_us\": {}, \"statuses\": \"{}\",\n     "
        "\"lone\": {{\"status\": {}, \"success\": {}, \"body\": \"{}\", \"error\": \"{}\"}},\n     "
        "\"observe\": \"{}\", \"before\": {}, \"after\": {}, \"probe_error\": \"{}\",\n     "
        "\"expectations\": [",
        k == 0 ? "" : ",", k + 1, JsonEscape(e.request.method), JsonEscape(e.request.url),
        AuditOutcomeName(e.outcome), JsonEscape(e.reason), JsonEscape(e.rule), c.success, c.failure,
        c.error, e.copies.release_spread_us, Statuses(e.copies), e.lone.status,
        e.lone_success ? "true" : "false", JsonEscape(Cut(e.lone.body, kBodyShown)),
        JsonEscape(e.lone.error), JsonEscape(e.observe), optional(e.verdict.probes.before),
        optional(e.verdict.probes.after), JsonEscape(e.verdict.probe_error));
    for (size_t x = 0; x < e.verdict.results.size(); ++x) {
      const ExpectationResult& r = e.verdict.results[x];
      out += fmt::format("{}{{\"expect\": \"{}\", \"verdict\": \"{}\", \"observed\": \"{}\"}}",
                         x == 0 ? "" : ", ", JsonEscape(r.text), VerdictName(r.verdict),
                         JsonEscape(r.observed));
    }
    out += "],\n     \"requests\": [";
    for (size_t q = 0; q < e.copies.requests.size(); ++q) {
      const RequestResult& r = e.copies.requests[q];
      out += fmt::format(
          "{}\n      {{\"i\": {}, \"start_us\": {}, \"end_us\": {}, \"status\": {}, \"success\": "
          "{}, "
          "\"body\": \"{}\", \"error\": \"{}\"}}",
          q == 0 ? "" : ",", r.index, r.start_us, r.end_us, r.status, r.success ? "true" : "false",
          JsonEscape(Cut(r.body, 200)), JsonEscape(r.error));
    }
    out += "]}";
  }
  out += "\n  ]\n}\n";
  return out;
}

std::string AuditHtml(const AuditReport& report) {
  std::string out =
      "<!doctype html><html><head><meta charset='utf-8'><title>exactly race audit</title>"
      "<style>body{font-family:sans-serif;margin:20px;color:#222;max-width:1200px}"
      "h1{font-size:20px}h2{font-size:16px;margin-top:28px;border-top:1px solid #ddd;"
      "padding-top:12px}pre{background:#f4f4f4;padding:8px;font-size:12px;white-space:pre-wrap;"
      "word-break:break-all}table{border-collapse:collapse;font-size:13px}td,th{border:1px "
      "solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}.flagged{color:#fff;"
      "background:#c0392b;font-weight:bold}.unjudged{background:#f3c94b}.held{background:"
      "#cfe8d2}.badge{padding:2px 8px;border-radius:3px}.chart{background:#fafafa;border:1px "
      "solid #ddd}.key span{display:inline-block;width:14px;height:8px;margin:0 4px 0 12px}"
      "</style></head><body>";
  out += fmt::format("<h1>exactly race audit: {}</h1>", HtmlEscape(report.har_path));
  out += fmt::format(
      "<p>{} replayed of {} recorded requests ({} skipped: not state-changing, "
      "excluded or repeated), {} synchronized copies each then one alone, on {}.</p>",
      Plural(report.endpoints.size(), "endpoint"), report.recorded, report.skipped, report.copies,
      HtmlEscape(HostsText(report)));
  out +=
      fmt::format("<p><b>{}</b> (exit {})</p>", HtmlEscape(Tally(report)), AuditExitCode(report));
  out +=
      "<table><tr><th>#</th><th>verdict</th><th>method</th><th>url</th><th>copies</th>"
      "<th>lone</th><th>before &rarr; after</th><th>why</th></tr>";
  for (size_t k = 0; k < report.endpoints.size(); ++k) {
    const EndpointResult& e = report.endpoints[k];
    out += fmt::format(
        "<tr><td><a href='#e{}'>{}</a></td><td class='{}'>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        k + 1, k + 1, OutcomeClass(e.outcome), AuditOutcomeName(e.outcome),
        HtmlEscape(e.request.method), HtmlEscape(Cut(e.request.url, 80)), HtmlEscape(CopiesText(e)),
        HtmlEscape(LoneText(e)), HtmlEscape(ProbeText(e)), HtmlEscape(e.reason));
  }
  out += "</table>";
  for (size_t k = 0; k < report.endpoints.size(); ++k) {
    const EndpointResult& e = report.endpoints[k];
    out += fmt::format("<h2 id='e{}'>{}. <span class='badge {}'>{}</span> {} {}</h2>", k + 1, k + 1,
                       OutcomeClass(e.outcome), AuditOutcomeName(e.outcome),
                       HtmlEscape(e.request.method), HtmlEscape(e.request.url));
    out += fmt::format("<p>{}</p>", HtmlEscape(e.reason));
    std::string request = fmt::format("{} {}\n", e.request.method, e.request.url);
    for (const auto& [name, value] : e.request.headers) {
      request += fmt::format("{}: {}\n", name, Cut(value, 160));
    }
    if (!e.request.body.empty()) request += "\n" + Cut(e.request.body, kBodyShown) + "\n";
    out += fmt::format("<details><summary>the replayed request</summary><pre>{}</pre></details>",
                       HtmlEscape(request));
    out += "<table>";
    out += fmt::format("<tr><th>copies</th><td>{} ({}), release spread {}</td></tr>",
                       HtmlEscape(CopiesText(e)), HtmlEscape(Statuses(e.copies)),
                       FormatUs(e.copies.release_spread_us));
    out +=
        fmt::format("<tr><th>lone copy</th><td>{}<pre>{}</pre></td></tr>", HtmlEscape(LoneText(e)),
                    HtmlEscape(e.lone.error.empty() ? Cut(e.lone.body, kBodyShown) : e.lone.error));
    if (!e.rule.empty())
      out += fmt::format("<tr><th>rule</th><td>{}</td></tr>", HtmlEscape(e.rule));
    if (!e.observe.empty()) {
      out += fmt::format(
          "<tr><th>probe</th><td>{}: before {}, after {}{}</td></tr>", HtmlEscape(e.observe),
          Optional(e.verdict.probes.before), Optional(e.verdict.probes.after),
          e.verdict.probe_error.empty() ? "" : " (" + HtmlEscape(e.verdict.probe_error) + ")");
    }
    for (const ExpectationResult& r : e.verdict.results) {
      out += fmt::format("<tr><th>expect</th><td>{}: <span class='badge {}'>{}</span> {}</td></tr>",
                         HtmlEscape(r.text), r.verdict == Verdict::kViolated ? "flagged" : "held",
                         VerdictName(r.verdict), HtmlEscape(r.observed));
    }
    out += "</table>";
    if (!e.copies.requests.empty()) {
      RoundReport round;
      round.run = e.copies;
      round.verdict = e.verdict;
      out +=
          "<div class='key'><span style='background:#2e9d4a'></span>success"
          "<span style='background:#d0483c'></span>refused"
          "<span style='background:#999'></span>no answer &nbsp; dot: last byte sent; bar: "
          "until the response was complete</div>";
      out += TimelineSvg(round);
    }
  }
  out += "</body></html>\n";
  return out;
}

}  // namespace exactly::race
