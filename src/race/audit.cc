// `exactly race audit`: endpoint selection, the replay of each endpoint and its verdict.
#include "race/audit.h"

#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "fmt/format.h"
#include "race/audit_rules.h"
#include "race/probe.h"
#include "race/report.h"
#include "race/wire.h"

namespace exactly::race {
namespace {

constexpr int kExitUsage = 2;
constexpr int64_t kCopiesMax = 1000;

struct AuditOptions {
  std::string har;
  int64_t copies = 10;
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  std::vector<std::string> headers;
  std::string rules_path;
  std::string reset;
  std::string json_path;
  std::string html_path;
  bool allow_remote = false;
  int timeout_ms = 10000;
  int settle_ms = 20;
  bool quiet = false;
};

int Usage(const std::string& message) {
  std::fprintf(stderr, "exactly race audit: %s\n", message.c_str());
  return kExitUsage;
}

base::Result<std::string> ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::Status::IoError(fmt::format("cannot read {}", path));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool WriteWhole(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// host:port of an http:// or https:// URL (default ports 80 and 443).
std::string AuthorityOf(const std::string& url) {
  const bool tls = url.starts_with("https://");
  std::string_view rest = url;
  rest.remove_prefix(url.find("://") == std::string::npos ? 0 : url.find("://") + 3);
  std::string authority(rest.substr(0, rest.find('/')));
  if (authority.find('?') != std::string::npos) authority.resize(authority.find('?'));
  if (authority.rfind(':') == std::string::npos || authority.back() == ']') {
    authority += tls ? ":443" : ":80";
  }
  return authority;
}

std::string HostOf(const std::string& authority) {
  return authority.substr(0, authority.rfind(':'));
}

// Whether every address `host` resolves to is a loopback address.
base::Status CheckLoopback(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string bare = host;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  if (::getaddrinfo(bare.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) {
    return base::Status::IoError(fmt::format("cannot resolve {}", host));
  }
  bool loopback = true;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
      loopback = loopback && (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    } else if (a->ai_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
      loopback = loopback && IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    } else {
      loopback = false;
    }
  }
  ::freeaddrinfo(found);
  if (!loopback) {
    return base::Status::InvalidArgument(fmt::format(
        "{} is not a loopback address: audit replays state-changing requests many times "
        "over, so it only goes to your own services on this machine unless you say "
        "--allow-remote (use it only against services you own and may load)",
        host));
  }
  return base::Status::Ok();
}

// -H overrides: a header of the same name (any case) is replaced, others are added.
void Override(std::vector<std::pair<std::string, std::string>>& headers,
              const std::vector<std::pair<std::string, std::string>>& overrides) {
  for (const auto& [name, value] : overrides) {
    const std::string lower = Lower(name);
    std::erase_if(headers, [&](const auto& h) { return Lower(h.first) == lower; });
    headers.emplace_back(name, value);
  }
}

// The bytes of one copy of `r` for `target`.
std::string PayloadOf(const HarRequest& r, const Target& target) {
  HttpRequest h;
  h.method = r.method;
  h.host = target.port == 80 ? target.host : fmt::format("{}:{}", target.host, target.port);
  h.path = target.path;
  h.headers = r.headers;
  h.body = r.body;
  return SerializeHttp(h);
}

std::vector<SuccessRule> DefaultSuccess() {
  // A replayed request succeeds unless it is refused (4xx) or fails (5xx): form posts
  // answer with a redirect as often as with 200.
  return {ParseSuccessRule("status!=4xx").value(), ParseSuccessRule("status!=5xx").value()};
}

struct Plan {
  AuditOptions options;
  std::vector<std::pair<std::string, std::string>> overrides;
  std::vector<AuditRule> rules;
  std::set<std::string> named;  // host:port named in the HAR
  std::set<std::string> named_hosts;
};

// Makes the probe of `rule` for an endpoint at `origin`, checking that it reads a
// host the HAR names.
base::Result<std::optional<ProbeSpec>> ProbeFor(const Plan& plan, const AuditRule& rule,
                                                const std::string& origin,
                                                const HarRequest& request) {
  ProbeOptions po;
  po.url = rule.observe;
  if (po.url.starts_with("/")) po.url = origin + po.url;
  po.command = rule.observe_command;
  po.value_regex = rule.observe_value;
  po.json_path = rule.observe_json;
  po.headers = request.headers;
  std::erase_if(po.headers, [](const auto& h) { return Lower(h.first) == "content-type"; });
  Target none;
  base::Result<std::optional<ProbeSpec>> spec = MakeProbe(po, none);
  if (!spec.ok() || !spec->has_value()) return spec;
  const Target& t = (*spec)->target;
  const std::string authority = fmt::format("{}:{}", t.host, t.port);
  const bool named = t.scheme == Target::Scheme::kResp ? plan.named_hosts.count(t.host) > 0
                                                       : plan.named.count(authority) > 0;
  if (!named) {
    return base::Status::InvalidArgument(fmt::format(
        "rules line {}: the probe reads {}, a host the HAR does not name", rule.line, authority));
  }
  if (!plan.options.allow_remote) {
    if (base::Status s = CheckLoopback(t.host); !s.ok()) return s;
  }
  return spec;
}

std::optional<int64_t> Read(const std::optional<ProbeSpec>& spec, int timeout_ms, const char* when,
                            std::string& errors) {
  if (!spec) return std::nullopt;
  ProbeReading r = ReadProbe(*spec, TemplateVars{}, timeout_ms);
  if (!r.value) errors += fmt::format("{}{}: {}", errors.empty() ? "" : "; ", when, r.error);
  return r.value;
}

EndpointResult Replay(const Plan& plan, const HarRequest& recorded) {
  const AuditOptions& o = plan.options;
  EndpointResult e;
  e.request = recorded;
  Override(e.request.headers, plan.overrides);
  base::Result<Target> target = ParseTarget(e.request.url);
  if (!target.ok()) {
    e.reason = target.status().message();
    return e;
  }
  if (!o.reset.empty()) {
    std::fflush(stdout);
    const int rc = std::system(o.reset.c_str());
    if (rc != 0) {
      e.reason = fmt::format("--reset '{}' failed (status {})", o.reset, rc);
      return e;
    }
  }
  const AuditRule* rule = RuleFor(plan.rules, e.request.method, e.request.url);
  std::optional<ProbeSpec> probe;
  std::vector<SuccessRule> success = DefaultSuccess();
  std::vector<Expectation> expectations;
  if (rule != nullptr) {
    e.rule = rule->pattern.text;
    const std::string origin = fmt::format("http://{}:{}", target->host, target->port);
    base::Result<std::optional<ProbeSpec>> spec = ProbeFor(plan, *rule, origin, e.request);
    if (!spec.ok()) {
      e.reason = spec.status().message();
      return e;
    }
    probe = std::move(spec).value();
    if (probe) e.observe = probe->text;
    if (!rule->success.empty()) success = rule->success;
    expectations = rule->expectations;
  }
  FireOptions fire;
  fire.timeout_ms = o.timeout_ms;
  fire.settle_ms = o.settle_ms;
  const std::string payload = PayloadOf(e.request, *target);
  std::string probe_error;
  Probes probes;
  probes.before = Read(probe, o.timeout_ms, "before", probe_error);
  base::Result<RoundRun> run =
      Fire(*target, std::vector<std::string>(static_cast<size_t>(o.copies), payload), fire);
  if (!run.ok()) {
    e.reason = run.status().message();
    return e;
  }
  e.copies = std::move(run).value();
  for (size_t k = 0; k < e.copies.requests.size(); ++k) {
    e.copies.requests[k].index = static_cast<int64_t>(k + 1);
  }
  probes.after = Read(probe, o.timeout_ms, "after", probe_error);
  fire.settle_ms = 0;
  base::Result<RoundRun> lone = Fire(*target, {payload}, fire);
  if (lone.ok()) {
    e.lone = lone->requests.front();
    e.lone_sent = true;
    e.lone_success = e.lone.error.empty() && IsSuccess(success, e.lone.status, e.lone.body);
  } else {
    e.lone.error = lone.status().message();
  }
  e.verdict = Judge(e.copies.requests, success, expectations, false, probes);
  e.verdict.probe_error = probe_error;
  int64_t copies_5xx = 0;
  for (const RequestResult& r : e.copies.requests) {
    if (r.error.empty() && r.status >= 500) ++copies_5xx;
  }
  const bool lone_answered = e.lone_sent && e.lone.error.empty();
  if (copies_5xx > 0 && lone_answered && e.lone.status < 500) {
    e.outcome = AuditOutcome::kFlagged;
    e.excess = copies_5xx;
    e.reason = fmt::format(
        "{} of {} copies failed with 5xx while the lone copy answered {}: it breaks under "
        "concurrency",
        copies_5xx, o.copies, e.lone.status);
  } else if (expectations.empty()) {
    e.outcome = JudgeOnce(e.verdict.counts, lone_answered, e.lone_success, e.lone.status, e.reason,
                          e.excess);
  } else {
    e.outcome = AuditOutcome::kHeld;
    e.reason = "every expectation held";
    for (const ExpectationResult& r : e.verdict.results) {
      if (r.verdict == Verdict::kViolated) {
        e.outcome = AuditOutcome::kFlagged;
        ++e.excess;
        e.reason = fmt::format("{} broke: {}", r.text, r.observed);
        break;
      }
      if (r.verdict == Verdict::kUnknown) {
        e.outcome = AuditOutcome::kUnjudged;
        e.reason = fmt::format("{} is unknown: {}", r.text, r.observed);
      }
    }
  }
  if (probe && !probe_error.empty() && e.outcome != AuditOutcome::kFlagged) {
    e.outcome = AuditOutcome::kUnjudged;
    e.reason = "the probe could not be read: " + probe_error;
  }
  return e;
}

}  // namespace

const char* AuditOutcomeName(AuditOutcome outcome) {
  switch (outcome) {
    case AuditOutcome::kFlagged:
      return "FLAGGED";
    case AuditOutcome::kUnjudged:
      return "unjudged";
    case AuditOutcome::kHeld:
      return "held";
    case AuditOutcome::kRepeatable:
      return "repeatable";
  }
  return "unjudged";
}

AuditOutcome JudgeOnce(const Counts& c, bool lone_answered, bool lone_success, int lone_status,
                       std::string& reason, int64_t& excess) {
  excess = 0;
  if (!lone_answered) {
    reason = "the lone copy got no answer";
    return AuditOutcome::kUnjudged;
  }
  if (lone_success) {
    reason = fmt::format(
        "the lone copy succeeded too ({}): not a once-only endpoint; a rule with a state probe "
        "can still check what it changes",
        lone_status);
    return AuditOutcome::kRepeatable;
  }
  if (c.success >= 2) {
    excess = c.success - 1;
    reason = fmt::format(
        "{} of {} copies succeeded, then a lone copy was refused ({}): it meant once and acted "
        "{} times",
        c.success, c.total(), lone_status, c.success);
    return AuditOutcome::kFlagged;
  }
  if (c.success + c.error >= 2) {
    reason = fmt::format("{} copies got no answer: they may have succeeded too", c.error);
    return AuditOutcome::kUnjudged;
  }
  if (c.success == 0) {
    reason = fmt::format(
        "no copy succeeded and the lone copy was refused ({}): the recorded session or state "
        "may be stale (try -H 'Cookie: ...' or --reset)",
        lone_status);
    return AuditOutcome::kUnjudged;
  }
  reason = fmt::format("one of {} copies succeeded; the others and the lone copy were refused",
                       c.total());
  return AuditOutcome::kHeld;
}

void RankEndpoints(std::vector<EndpointResult>& endpoints) {
  std::stable_sort(endpoints.begin(), endpoints.end(),
                   [](const EndpointResult& a, const EndpointResult& b) {
                     if (a.outcome != b.outcome) return a.outcome < b.outcome;
                     return a.excess > b.excess;
                   });
}

int AuditExitCode(const AuditReport& report) {
  bool unjudged = false;
  for (const EndpointResult& e : report.endpoints) {
    if (e.outcome == AuditOutcome::kFlagged) return 1;
    unjudged = unjudged || e.outcome == AuditOutcome::kUnjudged;
  }
  return unjudged ? 2 : 0;
}

int AuditMain(int argc, char** argv) {
  CLI::App app{
      "Replay a recorded browser session (HAR 1.2: devtools > Network > Save all as HAR) and "
      "find every request that is not safe to send twice at once. Each state-changing "
      "request (POST, PUT, PATCH, DELETE) is one endpoint; each is fired as N synchronized "
      "copies with its recorded headers, cookies and body, then once more alone. Flagged: "
      "more than one copy succeeded while the lone copy was refused (it meant once and acted "
      "more than once), copies failed with 5xx while the lone copy did not, or a rule's state "
      "probe saw its expectation break (a lost update). Exit 0 none flagged, 1 flagged, 2 "
      "unjudged or usage error.\n"
      "It sends only to the hosts the HAR names, and refuses non-loopback ones unless "
      "--allow-remote: it fires many state-changing requests, so it is a tool for your own "
      "services on your own machine or test environment, not for anyone else's.",
      "exactly race audit"};
  AuditOptions o;
  app.add_option("har", o.har, "The session, a HAR 1.2 file")->required();
  app.add_option("-n,--requests", o.copies, "Synchronized copies per endpoint")
      ->capture_default_str();
  app.add_option("--include", o.include,
                 "Only endpoints matching '[METHOD ]URL-GLOB' (repeatable; any method, GET too), "
                 "e.g. 'POST */api/*'")
      ->allow_extra_args(false);
  app.add_option("--exclude", o.exclude, "Skip endpoints matching '[METHOD ]URL-GLOB' (repeatable)")
      ->allow_extra_args(false);
  app.add_option("-H,--header", o.headers,
                 "Replace (or add) a recorded header, e.g. -H 'Cookie: session=fresh' "
                 "(repeatable)")
      ->allow_extra_args(false);
  app.add_option("--rules,--observe-rules", o.rules_path,
                 "Per-endpoint rules file: [METHOD GLOB] sections with observe, observe-json, "
                 "observe-value, observe-command, success, expect (docs/race.md)");
  app.add_option("--reset", o.reset, "Shell command run before each endpoint (fresh state)");
  app.add_flag("--allow-remote", o.allow_remote,
               "Also send to non-loopback hosts named in the HAR (only your own services)");
  app.add_option("--json", o.json_path, "Write every endpoint's replay as JSON");
  app.add_option("--html", o.html_path, "Write a self-contained HTML report, one section each");
  app.add_option("--timeout-ms", o.timeout_ms, "Wait this long for the copies' answers")
      ->capture_default_str();
  app.add_option("--settle-ms", o.settle_ms, "Pause between withheld sends and the release")
      ->capture_default_str();
  app.add_flag("-q,--quiet", o.quiet, "No progress line");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  if (o.copies < 2 || o.copies > kCopiesMax) {
    return Usage(fmt::format("-n takes 2..{}", kCopiesMax));
  }
  Plan plan;
  plan.options = o;
  for (const std::string& h : o.headers) {
    base::Result<std::pair<std::string, std::string>> header = ParseHeader(h);
    if (!header.ok()) return Usage(header.status().message());
    plan.overrides.push_back(header.value());
  }
  std::vector<EndpointPattern> include;
  std::vector<EndpointPattern> exclude;
  for (const auto& [texts, into] : {std::pair{&o.include, &include}, {&o.exclude, &exclude}}) {
    for (const std::string& t : *texts) {
      base::Result<EndpointPattern> p = ParseEndpointPattern(t);
      if (!p.ok()) return Usage(p.status().message());
      into->push_back(p.value());
    }
  }
  if (!o.rules_path.empty()) {
    base::Result<std::string> text = ReadWhole(o.rules_path);
    if (!text.ok()) return Usage(text.status().message());
    base::Result<std::vector<AuditRule>> rules = ParseAuditRules(text.value());
    if (!rules.ok()) return Usage(fmt::format("{}: {}", o.rules_path, rules.status().message()));
    plan.rules = rules.value();
  }
  base::Result<std::string> har_text = ReadWhole(o.har);
  if (!har_text.ok()) return Usage(har_text.status().message());
  base::Result<std::vector<HarRequest>> har = ParseHar(har_text.value());
  if (!har.ok()) return Usage(fmt::format("{}: {}", o.har, har.status().message()));

  AuditReport report;
  report.har_path = o.har;
  report.copies = o.copies;
  report.recorded = har->size();
  std::vector<HarRequest> chosen;
  std::set<std::string> seen;
  for (const HarRequest& r : har.value()) {
    plan.named.insert(AuthorityOf(r.url));
    plan.named_hosts.insert(HostOf(AuthorityOf(r.url)));
    auto matches = [&](const std::vector<EndpointPattern>& ps) {
      return std::any_of(ps.begin(), ps.end(),
                         [&](const EndpointPattern& p) { return p.Matches(r.method, r.url); });
    };
    const bool wanted = include.empty() ? IsStateChanging(r.method) : matches(include);
    if (!wanted || matches(exclude) || !seen.insert(r.method + " " + r.url).second) {
      ++report.skipped;
      continue;
    }
    chosen.push_back(r);
  }
  if (chosen.empty()) {
    return Usage(fmt::format(
        "{}: no endpoint to replay ({} recorded requests; state-changing ones are POST, PUT, "
        "PATCH, DELETE; see --include)",
        o.har, report.recorded));
  }
  std::set<std::string> hosts;
  for (const HarRequest& r : chosen) hosts.insert(AuthorityOf(r.url));
  for (const std::string& h : hosts) {
    if (!o.allow_remote) {
      if (base::Status s = CheckLoopback(HostOf(h)); !s.ok()) return Usage(s.message());
    }
    report.hosts.push_back(h);
  }
  const bool tty = !o.quiet && ::isatty(2) == 1;
  for (size_t k = 0; k < chosen.size(); ++k) {
    if (tty) {
      std::fprintf(stderr, "\r\x1b[K  endpoint %zu/%zu  %s %s", k + 1, chosen.size(),
                   chosen[k].method.c_str(), chosen[k].url.substr(0, 60).c_str());
    }
    if (chosen[k].url.starts_with("https://")) {
      EndpointResult e;
      e.request = chosen[k];
      e.reason = "https:// is not supported yet: replay against the service's http:// port";
      report.endpoints.push_back(std::move(e));
      continue;
    }
    report.endpoints.push_back(Replay(plan, chosen[k]));
  }
  if (tty) std::fputs("\r\x1b[K", stderr);
  RankEndpoints(report.endpoints);
  std::fputs(AuditTable(report).c_str(), stdout);
  std::fflush(stdout);
  if (!o.json_path.empty() && !WriteWhole(o.json_path, AuditJson(report))) {
    return Usage(fmt::format("cannot write {}", o.json_path));
  }
  if (!o.html_path.empty() && !WriteWhole(o.html_path, AuditHtml(report))) {
    return Usage(fmt::format("cannot write {}", o.html_path));
  }
  return AuditExitCode(report);
}

}  // namespace exactly::race
