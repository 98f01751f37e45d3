// State probes for `exactly race` (`--observe`): one integer read from the target's
// state just before a round's release and again once every response of the round
// arrived, so an expectation can see what the responses hide (a lost update
// answers 200 like any other). The value is the first capture group of a regex, a
// dotted path into a JSON body, or the whole body. A probe that cannot be read
// gives no value, and an expectation over it is unknown, never a pass.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "race/template.h"
#include "race/wire.h"

namespace exactly::race {

// What a probe reads and how it finds the integer. Immutable once made.
struct ProbeSpec {
  enum class Kind { kHttp, kH2, kResp };
  Kind kind = Kind::kHttp;
  Target target;  // host and port; for HTTP the path (templated)
  std::vector<std::pair<std::string, std::string>> headers;  // HTTP, values templated
  std::vector<std::string> command_words;                    // RESP, templated
  std::shared_ptr<const std::regex> value;  // --observe-value: group 1 (or the match)
  std::string value_text;
  std::string json_path;  // --observe-json
  std::string text;       // one line for the report: what is read and how
};

// The options as given. `url` is http:// (an HTTP GET, over h2c when `h2`) or
// resp:// (with `command`); an empty `url` with a `command` reads the race's own
// resp:// target on a separate connection. Fails on any inconsistency, e.g. a
// regex that does not compile or --observe-value without a probe to read.
struct ProbeOptions {
  std::string url;
  std::string command;
  std::string value_regex;
  std::string json_path;
  bool h2 = false;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Returns no spec (nullopt) when no probe was asked for.
base::Result<std::optional<ProbeSpec>> MakeProbe(const ProbeOptions& options,
                                                 const Target& race_target);

struct ProbeReading {
  std::optional<int64_t> value;
  std::string error;  // why there is no value
  std::string body;   // what was read (the rendered RESP reply for resp://)
};

// Reads the probe once on its own connection, waiting at most `timeout_ms`.
// Templates see `vars` (`{{round}}`; `{{i}}` is 0). Never throws; a connection
// failure, a non-2xx status, an error reply or no integer is an error reading.
ProbeReading ReadProbe(const ProbeSpec& spec, const TemplateVars& vars, int timeout_ms);

// The integer in `body` by the spec's rule (exposed for tests).
base::Result<int64_t> ExtractValue(const ProbeSpec& spec, const std::string& body);

}  // namespace exactly::race
