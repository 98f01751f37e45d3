// The per-endpoint rules of `exactly race audit` (`--rules FILE`): sections headed by
// an endpoint pattern, each giving a state probe and the expectations that judge the
// endpoint instead of the once-only test, or just the success rules its responses need.
//
//   # the vote counter: every vote must count
//   [POST */api/vote*]
//   observe = /api/votes?post=p1        # relative: the endpoint's own origin
//   observe-json = votes
//   success = status=302
//   expect = after==before+success
//
// Keys: observe, observe-command, observe-value, observe-json (as the race options),
// success and expect (repeatable). The first section whose pattern matches applies.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "race/rules.h"

namespace exactly::race {

// `[METHOD ]GLOB`: METHOD (letters, or '*') must equal the request's; GLOB ('*' any
// run of characters, '?' one) must match its whole URL or its path and query.
struct EndpointPattern {
  std::string method;  // empty: any
  std::string glob;
  std::string text;
  bool Matches(std::string_view method, std::string_view url) const;
};

base::Result<EndpointPattern> ParseEndpointPattern(const std::string& text);

struct AuditRule {
  EndpointPattern pattern;
  std::string observe;  // may be relative ("/path"): the endpoint's origin
  std::string observe_command;
  std::string observe_value;
  std::string observe_json;
  std::vector<std::string> success_texts;
  std::vector<SuccessRule> success;
  std::vector<Expectation> expectations;
  int line = 0;  // of the section header, for messages
};

// Parses a rules file's text; errors name the line.
base::Result<std::vector<AuditRule>> ParseAuditRules(std::string_view text);

// The first rule matching the request, or nullptr.
const AuditRule* RuleFor(const std::vector<AuditRule>& rules, std::string_view method,
                         std::string_view url);

// The path and query of an http:// URL ("/" when it has none).
std::string PathOf(std::string_view url);

}  // namespace exactly::race
