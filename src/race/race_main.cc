// Option parsing and the round loop of `exactly race`.
#include "race/race_main.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <map>

#include "fmt/format.h"
#include "race/audit.h"
#include "race/fire.h"
#include "race/h2.h"
#include "race/judge.h"
#include "race/load.h"
#include "race/probe.h"
#include "race/report.h"
#include "race/rules.h"
#include "race/template.h"
#include "race/wire.h"

namespace exactly::race {
namespace {

constexpr int kExitUsage = 2;
constexpr int64_t kRequestsMax = 10000;

struct Options {
  std::string url;
  int64_t requests = 10;
  int64_t rounds = 1;
  std::string method;
  std::string data;
  std::vector<std::string> headers;
  std::string command;
  std::string users;
  uint64_t seed = 1;
  std::string sync = "last-byte";
  std::string release = "auto";
  bool h2 = false;
  std::vector<std::string> success;
  std::vector<std::string> expect;
  bool per_user = false;
  int timeout_ms = 10000;
  int settle_ms = 20;
  std::string json_path;
  std::string html_path;
  double load_rate = 0;
  double duration_s = 10;
  int connections = 32;
  bool quiet = false;
  std::string observe;
  std::string observe_command;
  std::string observe_value;
  std::string observe_json;
};

// Everything parsed and checked before the first byte is sent.
struct Plan {
  Target target;
  std::vector<std::string> users;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::string> command_words;
  std::vector<SuccessRule> rules;
  std::vector<Expectation> expectations;
  std::optional<ProbeSpec> probe;
};

int Usage(const std::string& message) {
  std::fprintf(stderr, "exactly race: %s\n", message.c_str());
  return kExitUsage;
}

TemplateVars VarsFor(const Options& o, const Plan& plan, int64_t round, int64_t i) {
  TemplateVars v;
  v.i = i;
  v.round = round;
  v.user = UserFor(plan.users, i);
  v.rand = SeededRand(o.seed, round, i);
  return v;
}

HttpRequest HttpFor(const Options& o, const Plan& plan, const TemplateVars& v) {
  HttpRequest r;
  r.method = !o.method.empty() ? o.method : (o.data.empty() ? "GET" : "POST");
  r.host = plan.target.port == 80 ? plan.target.host
                                  : fmt::format("{}:{}", plan.target.host, plan.target.port);
  r.path = Expand(plan.target.path, v);
  for (const auto& [name, value] : plan.headers) r.headers.emplace_back(name, Expand(value, v));
  r.body = Expand(o.data, v);
  return r;
}

std::string PayloadFor(const Options& o, const Plan& plan, const TemplateVars& v) {
  if (plan.target.scheme == Target::Scheme::kResp) {
    std::vector<std::string> words;
    for (const std::string& w : plan.command_words) words.push_back(Expand(w, v));
    return SerializeResp(words);
  }
  return SerializeHttp(HttpFor(o, plan, v));
}

int Prepare(const Options& o, Plan& plan) {
  base::Result<Target> target = ParseTarget(o.url);
  if (!target.ok()) return Usage(target.status().message());
  plan.target = target.value();
  if (o.requests < 1 || o.requests > kRequestsMax) {
    return Usage(fmt::format("-n takes 1..{}", kRequestsMax));
  }
  if (o.rounds < 1) return Usage("--rounds takes 1 or more");
  if (o.sync != "last-byte" && o.sync != "naive") return Usage("--sync is last-byte or naive");
  ReleaseMethod method;
  if (!ParseReleaseMethod(o.release, method))
    return Usage("--release is auto, parallel, io_uring or send");
  std::vector<std::string> templated = {plan.target.path, o.data, o.command};
  if (plan.target.scheme == Target::Scheme::kResp) {
    if (o.command.empty()) return Usage("resp:// targets need --command 'CMD arg ...'");
    if (o.h2) return Usage("--h2 is for http:// targets");
    base::Result<std::vector<std::string>> words = SplitCommand(o.command);
    if (!words.ok()) return Usage(words.status().message());
    plan.command_words = words.value();
  } else if (!o.command.empty()) {
    return Usage("--command is for resp:// targets; use -d for an HTTP body");
  }
  for (const std::string& h : o.headers) {
    base::Result<std::pair<std::string, std::string>> header = ParseHeader(h);
    if (!header.ok()) return Usage(header.status().message());
    plan.headers.push_back(header.value());
    templated.push_back(h);
  }
  for (const std::string& t : templated) {
    if (base::Status s = CheckTemplate(t); !s.ok()) return Usage(s.message());
  }
  if (!o.users.empty()) {
    base::Result<std::vector<std::string>> users = LoadUsers(o.users);
    if (!users.ok()) return Usage(users.status().message());
    plan.users = users.value();
  }
  for (const std::string& s : o.success) {
    base::Result<SuccessRule> rule = ParseSuccessRule(s);
    if (!rule.ok()) return Usage(rule.status().message());
    plan.rules.push_back(rule.value());
  }
  for (const std::string& s : o.expect) {
    base::Result<Expectation> e = ParseExpectation(s);
    if (!e.ok()) return Usage(e.status().message());
    plan.expectations.push_back(e.value());
  }
  ProbeOptions po;
  po.url = o.observe;
  po.command = o.observe_command;
  po.value_regex = o.observe_value;
  po.json_path = o.observe_json;
  po.h2 = o.h2;
  po.headers = plan.headers;
  base::Result<std::optional<ProbeSpec>> probe = MakeProbe(po, plan.target);
  if (!probe.ok()) return Usage(probe.status().message());
  plan.probe = std::move(probe).value();
  for (const Expectation& e : plan.expectations) {
    if (e.UsesProbes() && !plan.probe) {
      return Usage(
          fmt::format("expectation '{}' reads before/after: say where with --observe URL or "
                      "--observe-command 'CMD ...'",
                      e.text));
    }
  }
  if (o.load_rate < 0 || o.duration_s <= 0 || o.connections < 1) {
    return Usage("--load, --duration and --connections take positive values");
  }
  return 0;
}

// Reads the probe (when there is one) for `round`; records a failure in `errors`.
std::optional<int64_t> Observe(const Options& o, const Plan& plan, int64_t round, const char* when,
                               std::string& errors) {
  if (!plan.probe) return std::nullopt;
  TemplateVars v;
  v.i = 0;
  v.round = round;
  ProbeReading reading = ReadProbe(*plan.probe, v, o.timeout_ms);
  if (!reading.value) {
    errors += fmt::format("{}{}: {}", errors.empty() ? "" : "; ", when, reading.error);
  }
  return reading.value;
}

// A probe that could not be read leaves the round unknown at best.
void ApplyProbeFailure(const Plan& plan, RoundVerdict& v) {
  if (plan.probe && (!v.probes.before || !v.probes.after)) {
    v.verdict = Worst(v.verdict, Verdict::kUnknown);
  }
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

int Finish(const Options& o, RaceReport& report) {
  std::fputs(Summary(report).c_str(), stdout);
  std::fflush(stdout);
  if (!o.json_path.empty() && !WriteFile(o.json_path, ToJson(report))) {
    return Usage(fmt::format("cannot write {}", o.json_path));
  }
  if (!o.html_path.empty() && !WriteFile(o.html_path, ToHtml(report))) {
    return Usage(fmt::format("cannot write {}", o.html_path));
  }
  return ExitCodeOf(report);
}

int RunLoadMode(const Options& o, const Plan& plan, bool tty) {
  LoadOptions lo;
  lo.rate_per_s = o.load_rate;
  lo.duration_s = o.duration_s;
  lo.connections = o.connections;
  lo.timeout_ms = o.timeout_ms;
  auto payload = [&](int64_t i) { return PayloadFor(o, plan, VarsFor(o, plan, 1, i)); };
  auto user = [&](int64_t i) { return UserFor(plan.users, i); };
  auto progress = [&](int64_t sent, int64_t done) {
    if (tty)
      std::fprintf(stderr, "\r  load: %lld sent, %lld answered   ", (long long)sent,
                   (long long)done);
  };
  std::string probe_error;
  Probes probes;
  probes.before = Observe(o, plan, 1, "before", probe_error);
  base::Result<LoadRun> run = RunLoad(plan.target, payload, user, plan.rules, lo, progress);
  if (run.ok()) probes.after = Observe(o, plan, 1, "after", probe_error);
  if (tty) std::fputs("\r\x1b[K", stderr);
  if (!run.ok()) {
    std::fprintf(stderr, "exactly race: %s\n", run.status().message().c_str());
    return kExitUsage;
  }
  RaceReport report;
  report.target = o.url;
  report.mode = "load";
  report.rate_per_s = o.load_rate;
  report.duration_s = run->elapsed_s;
  report.load_sent = run->sent;
  report.load_counts = run->counts;
  report.achieved_per_s =
      run->elapsed_s > 0 ? static_cast<double>(run->latency.count()) / run->elapsed_s : 0;
  report.latency = run->latency;
  report.statuses = run->statuses;
  report.requests_per_round = run->sent;
  if (plan.probe) report.observe = plan.probe->text;
  RoundReport sample;
  sample.run.requests = std::move(run->sample);
  RoundVerdict v = Judge(sample.run.requests, plan.rules, plan.expectations, o.per_user, probes);
  v.counts = run->counts;
  v.probe_error = probe_error;
  v.results.clear();
  v.verdict = Verdict::kHeld;
  // Expectations over a load run look at the whole run's counts.
  for (const Expectation& e : plan.expectations) {
    ExpectationResult r;
    r.text = e.text;
    r.verdict = Evaluate(e, run->counts, probes);
    r.observed = DescribeValues(e, run->counts, probes);
    v.verdict = Worst(v.verdict, r.verdict);
    v.results.push_back(r);
    report.expectations.push_back(e.text);
  }
  ApplyProbeFailure(plan, v);
  report.verdict = v.verdict;
  sample.verdict = v;
  report.rounds.push_back(std::move(sample));
  return Finish(o, report);
}

}  // namespace

int RaceMain(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "audit") return AuditMain(argc - 1, argv + 1);
  CLI::App app{
      "Fire N requests that the target receives together (last-byte sync over HTTP/1.1 and "
      "RESP, single-packet over h2c) and check invariants over the outcomes.\n"
      "Templates in the URL, -d, -H and --command: {{i}} {{user}} {{rand}} {{round}}.\n"
      "Exit 0 every expectation held, 1 one was violated, 2 unknown (no answer, a probe not "
      "read) or usage error.\n"
      "exactly race audit session.har [options]: find the requests of a recorded browser "
      "session that are not safe to send twice at once (exactly race audit --help).",
      "exactly race"};
  Options o;
  app.add_option("url", o.url, "http://host:port/path or resp://host:port")->required();
  app.add_option("-n,--requests", o.requests, "Requests per round")->capture_default_str();
  app.add_option("--rounds", o.rounds, "Repeat the race K times")->capture_default_str();
  app.add_option("-X,--method", o.method, "HTTP method (default GET, POST with -d)");
  app.add_option("-d,--data", o.data, "HTTP request body (templated)");
  app.add_option("-H,--header", o.headers, "HTTP header 'Name: value' (templated, repeatable)")
      ->allow_extra_args(false);
  app.add_option("--command", o.command, "RESP command for resp:// targets (templated)");
  app.add_option("--users", o.users, "N (user1..userN) or a file with one user per line");
  app.add_option("--seed", o.seed, "Seed for {{rand}}")->capture_default_str();
  app.add_option("--sync", o.sync, "last-byte (default) or naive (each request on its own)");
  app.add_option("--release", o.release,
                 "How last-byte sync sends the last bytes: auto (= parallel: one real-time "
                 "thread per CPU), io_uring (one submit for all), send (one thread, one call "
                 "each)")
      ->capture_default_str();
  app.add_flag("--h2", o.h2, "HTTP/2 prior-knowledge h2c, all final frames in one write");
  app.add_option("--success", o.success,
                 "Success rule, all must match: status=200, status=2xx, body~REGEX, body!~REGEX "
                 "(default: status 2xx)")
      ->allow_extra_args(false);
  app.add_option("--expect", o.expect,
                 "Invariant per round (repeatable): success==1, error==0, "
                 "after==before+success, before-after<=5, after==before-30*success. Names: "
                 "success failure error total before after; integers; + - *")
      ->allow_extra_args(false);
  app.add_option("--observe", o.observe,
                 "State probe read before each round's release and after its responses: an "
                 "http:// URL (GET; templated) or resp://host:port with --observe-command");
  app.add_option("--observe-command", o.observe_command,
                 "RESP command of the probe, e.g. 'GET votes:{{round}}'; without --observe it "
                 "reads the resp:// target on a separate connection");
  app.add_option("--observe-value", o.observe_value,
                 "Regex whose first capture group in the probe's body is the integer "
                 "(default: the whole body is the integer)");
  app.add_option("--observe-json", o.observe_json,
                 "Dotted path to the integer in a JSON body instead, e.g. data.balance");
  app.add_flag("--per-user", o.per_user, "Check the expectations for each user separately");
  app.add_option("--timeout-ms", o.timeout_ms, "Wait this long for all responses of a round")
      ->capture_default_str();
  app.add_option("--settle-ms", o.settle_ms, "Pause between withheld sends and the release")
      ->capture_default_str();
  app.add_option("--json", o.json_path, "Write every request's outcome as JSON");
  app.add_option("--html", o.html_path, "Write a self-contained HTML report");
  app.add_option("--load", o.load_rate, "Sustained open-loop load at RATE requests/s");
  app.add_option("--duration", o.duration_s, "Seconds of --load")->capture_default_str();
  app.add_option("--connections", o.connections, "Connections for --load")->capture_default_str();
  app.add_flag("-q,--quiet", o.quiet, "No progress line");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }

  Plan plan;
  if (int rc = Prepare(o, plan); rc != 0) return rc;
  const bool tty = !o.quiet && ::isatty(2) == 1;
  if (o.load_rate > 0) return RunLoadMode(o, plan, tty);

  RaceReport report;
  report.target = o.url;
  report.mode = o.h2 ? "h2 single-packet" : o.sync;
  report.requests_per_round = o.requests;
  if (plan.probe) report.observe = plan.probe->text;
  for (const Expectation& e : plan.expectations) {
    report.expectations.push_back(o.per_user ? e.text + " per user" : e.text);
  }
  FireOptions fire;
  fire.sync = o.sync == "naive" ? SyncMode::kNaive : SyncMode::kLastByte;
  fire.timeout_ms = o.timeout_ms;
  fire.settle_ms = o.settle_ms;
  ParseReleaseMethod(o.release, fire.release);
  int64_t violated = 0;
  for (int64_t round = 1; round <= o.rounds; ++round) {
    std::string probe_error;
    Probes probes;
    probes.before = Observe(o, plan, round, "before", probe_error);
    std::vector<std::string> payloads;
    std::vector<HttpRequest> h2_requests;
    for (int64_t i = 1; i <= o.requests; ++i) {
      const TemplateVars v = VarsFor(o, plan, round, i);
      if (o.h2) {
        h2_requests.push_back(HttpFor(o, plan, v));
      } else {
        payloads.push_back(PayloadFor(o, plan, v));
      }
    }
    base::Result<RoundRun> run =
        o.h2 ? FireH2(plan.target, h2_requests, fire) : Fire(plan.target, payloads, fire);
    if (!run.ok()) {
      if (tty) std::fputs("\r\x1b[K", stderr);
      std::fprintf(stderr, "exactly race: round %lld: %s\n", static_cast<long long>(round),
                   run.status().message().c_str());
      return kExitUsage;
    }
    probes.after = Observe(o, plan, round, "after", probe_error);
    RoundReport r;
    r.round = round;
    r.run = std::move(run).value();
    for (int64_t i = 1; i <= o.requests; ++i) {
      r.run.requests[static_cast<size_t>(i - 1)].index = i;
      r.run.requests[static_cast<size_t>(i - 1)].user = UserFor(plan.users, i);
    }
    r.verdict = Judge(r.run.requests, plan.rules, plan.expectations, o.per_user, probes);
    r.verdict.probe_error = probe_error;
    ApplyProbeFailure(plan, r.verdict);
    if (r.verdict.verdict == Verdict::kViolated) ++violated;
    if (tty) {
      std::fprintf(stderr, "\r  round %lld/%lld  spread %s  %lld violated   ",
                   static_cast<long long>(round), static_cast<long long>(o.rounds),
                   FormatUs(r.run.release_spread_us).c_str(), static_cast<long long>(violated));
    }
    if (report.release_method.empty()) report.release_method = r.run.release_method;
    report.rounds.push_back(std::move(r));
  }
  if (tty) std::fputs("\r\x1b[K", stderr);
  Tally(report);
  return Finish(o, report);
}

}  // namespace exactly::race
