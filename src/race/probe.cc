// State probes for `exactly race`.
#include "race/probe.h"

#include "fmt/format.h"
#include "race/fire.h"
#include "race/h2.h"
#include "race/json_path.h"

namespace exactly::race {
namespace {

constexpr size_t kShownMax = 80;

std::string Shown(std::string_view body) {
  std::string out(body.substr(0, kShownMax));
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return body.size() > kShownMax ? out + "..." : out;
}

std::string HostHeader(const Target& t) {
  return t.port == 80 ? t.host : fmt::format("{}:{}", t.host, t.port);
}

}  // namespace

base::Result<std::optional<ProbeSpec>> MakeProbe(const ProbeOptions& o, const Target& race) {
  if (o.url.empty() && o.command.empty()) {
    if (!o.value_regex.empty() || !o.json_path.empty()) {
      return base::Status::InvalidArgument(
          "--observe-value and --observe-json need --observe URL or --observe-command");
    }
    return std::optional<ProbeSpec>();
  }
  if (!o.value_regex.empty() && !o.json_path.empty()) {
    return base::Status::InvalidArgument("--observe-value or --observe-json, not both");
  }
  ProbeSpec spec;
  if (!o.url.empty()) {
    base::Result<Target> t = ParseTarget(o.url);
    if (!t.ok()) return base::Status::InvalidArgument("--observe: " + t.status().message());
    spec.target = t.value();
  } else {
    if (race.scheme != Target::Scheme::kResp) {
      return base::Status::InvalidArgument(
          "--observe-command reads a resp:// target; for http:// use --observe URL");
    }
    spec.target = race;
  }
  if (spec.target.scheme == Target::Scheme::kResp) {
    if (o.command.empty()) {
      return base::Status::InvalidArgument("a resp:// probe needs --observe-command 'CMD ...'");
    }
    base::Result<std::vector<std::string>> words = SplitCommand(o.command);
    if (!words.ok())
      return base::Status::InvalidArgument("--observe-command: " + words.status().message());
    spec.kind = ProbeSpec::Kind::kResp;
    spec.command_words = words.value();
    spec.text = fmt::format("{} on resp://{}:{}", o.command, spec.target.host, spec.target.port);
  } else {
    if (!o.command.empty()) {
      return base::Status::InvalidArgument("--observe-command is for resp:// probes");
    }
    spec.kind = o.h2 ? ProbeSpec::Kind::kH2 : ProbeSpec::Kind::kHttp;
    spec.headers = o.headers;
    spec.text = fmt::format("GET {}{}", o.url, o.h2 ? " (h2c)" : "");
  }
  if (!o.value_regex.empty()) {
    try {
      spec.value = std::make_shared<const std::regex>(o.value_regex, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return base::Status::InvalidArgument(
          fmt::format("--observe-value '{}': bad regular expression: {}", o.value_regex, e.what()));
    }
    spec.value_text = o.value_regex;
    spec.text += fmt::format(", value ~ {}", o.value_regex);
  } else if (!o.json_path.empty()) {
    if (base::Status s = CheckJsonPath(o.json_path); !s.ok()) return s;
    spec.json_path = o.json_path;
    spec.text += fmt::format(", JSON {}", o.json_path);
  } else {
    spec.text += ", the whole body";
  }
  for (const std::string& templated : {spec.target.path, o.command}) {
    if (base::Status s = CheckTemplate(templated); !s.ok()) return s;
  }
  return std::optional<ProbeSpec>(std::move(spec));
}

base::Result<int64_t> ExtractValue(const ProbeSpec& spec, const std::string& body) {
  if (spec.value != nullptr) {
    std::smatch m;
    if (!std::regex_search(body, m, *spec.value)) {
      return base::Status::NotFound(
          fmt::format("no match for /{}/ in '{}'", spec.value_text, Shown(body)));
    }
    const size_t group = m.size() > 1 ? 1 : 0;
    if (!m[group].matched) {
      return base::Status::NotFound(fmt::format("/{}/ matched without its group", spec.value_text));
    }
    return ParseInteger(m[group].str());
  }
  if (!spec.json_path.empty()) {
    base::Result<boost::json::value> v = ParseJson(body);
    if (!v.ok())
      return base::Status::InvalidArgument(
          fmt::format("{}: '{}'", v.status().message(), Shown(body)));
    return IntegerAt(v.value(), spec.json_path);
  }
  return ParseInteger(body);
}

ProbeReading ReadProbe(const ProbeSpec& spec, const TemplateVars& vars, int timeout_ms) {
  ProbeReading out;
  FireOptions options;
  options.sync = SyncMode::kNaive;
  options.timeout_ms = timeout_ms;
  options.settle_ms = 0;
  base::Result<RoundRun> run = base::Status::IoError("no probe");
  if (spec.kind == ProbeSpec::Kind::kResp) {
    std::vector<std::string> words;
    for (const std::string& w : spec.command_words) words.push_back(Expand(w, vars));
    run = Fire(spec.target, {SerializeResp(words)}, options);
  } else {
    HttpRequest r;
    r.method = "GET";
    r.host = HostHeader(spec.target);
    r.path = Expand(spec.target.path, vars);
    for (const auto& [name, value] : spec.headers)
      r.headers.emplace_back(name, Expand(value, vars));
    run = spec.kind == ProbeSpec::Kind::kH2 ? FireH2(spec.target, {r}, options)
                                            : Fire(spec.target, {SerializeHttp(r)}, options);
  }
  if (!run.ok()) {
    out.error = run.status().message();
    return out;
  }
  const RequestResult& got = run->requests.front();
  out.body = got.body;
  if (!got.error.empty()) {
    out.error = got.error;
  } else if (got.status < 200 || got.status > 299) {
    out.error = spec.kind == ProbeSpec::Kind::kResp
                    ? fmt::format("error reply '{}'", Shown(got.body))
                    : fmt::format("status {} ('{}')", got.status, Shown(got.body));
  } else {
    base::Result<int64_t> v = ExtractValue(spec, got.body);
    if (v.ok()) {
      out.value = v.value();
    } else {
      out.error = v.status().message();
    }
  }
  return out;
}

}  // namespace exactly::race
