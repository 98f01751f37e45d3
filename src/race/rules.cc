// Outcome rules and expectations for `exactly race`.
#include "race/rules.h"

#include <charconv>
#include <string_view>

#include "fmt/format.h"

namespace exactly::race {
namespace {

bool Compare(Expectation::Op op, int64_t observed, int64_t value) {
  switch (op) {
    case Expectation::Op::kEq:
      return observed == value;
    case Expectation::Op::kNe:
      return observed != value;
    case Expectation::Op::kLe:
      return observed <= value;
    case Expectation::Op::kGe:
      return observed >= value;
    case Expectation::Op::kLt:
      return observed < value;
    case Expectation::Op::kGt:
      return observed > value;
  }
  return false;
}

bool StatusMatches(const std::string& pattern, int status) {
  const std::string digits = fmt::format("{:03d}", status);
  if (digits.size() != 3) return false;
  for (size_t k = 0; k < 3; ++k) {
    if (pattern[k] != 'x' && pattern[k] != 'X' && pattern[k] != digits[k]) return false;
  }
  return true;
}

}  // namespace

base::Result<SuccessRule> ParseSuccessRule(const std::string& text) {
  SuccessRule rule;
  rule.text = text;
  std::string_view s = text;
  if (s.starts_with("status")) {
    s.remove_prefix(6);
    rule.kind = SuccessRule::Kind::kStatus;
    if (s.starts_with("!=")) {
      rule.negate = true;
      s.remove_prefix(2);
    } else if (s.starts_with("==")) {
      s.remove_prefix(2);
    } else if (s.starts_with("=")) {
      s.remove_prefix(1);
    } else {
      return base::Status::InvalidArgument(
          fmt::format("success rule '{}': expected status=NNN or status!=NNN", text));
    }
    bool valid = s.size() == 3;
    for (char c : s) valid = valid && ((c >= '0' && c <= '9') || c == 'x' || c == 'X');
    if (!valid) {
      return base::Status::InvalidArgument(
          fmt::format("success rule '{}': a status is three digits or 'x' (e.g. 200, 2xx)", text));
    }
    rule.status_pattern = std::string(s);
    return rule;
  }
  if (s.starts_with("body")) {
    s.remove_prefix(4);
    rule.kind = SuccessRule::Kind::kBody;
    if (s.starts_with("!~")) {
      rule.negate = true;
      s.remove_prefix(2);
    } else if (s.starts_with("~")) {
      s.remove_prefix(1);
    } else {
      return base::Status::InvalidArgument(
          fmt::format("success rule '{}': expected body~REGEX or body!~REGEX", text));
    }
    try {
      rule.body = std::make_shared<const std::regex>(std::string(s), std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return base::Status::InvalidArgument(
          fmt::format("success rule '{}': bad regular expression: {}", text, e.what()));
    }
    return rule;
  }
  return base::Status::InvalidArgument(
      fmt::format("success rule '{}': expected status=NNN or body~REGEX", text));
}

bool IsSuccess(const std::vector<SuccessRule>& rules, int status, const std::string& body) {
  if (rules.empty()) return status >= 200 && status < 300;
  for (const SuccessRule& rule : rules) {
    bool match = false;
    if (rule.kind == SuccessRule::Kind::kStatus) {
      match = StatusMatches(rule.status_pattern, status);
    } else {
      match = std::regex_search(body, *rule.body);
    }
    if (match == rule.negate) return false;
  }
  return true;
}

base::Result<Expectation> ParseExpectation(const std::string& text) {
  Expectation e;
  e.text = text;
  const size_t op_at = text.find_first_of("=!<>");
  if (op_at == std::string::npos) {
    return base::Status::InvalidArgument(
        fmt::format("expectation '{}': expected COUNTER OP N, e.g. success==1", text));
  }
  const std::string name = text.substr(0, op_at);
  if (name == "success") {
    e.counter = Expectation::Counter::kSuccess;
  } else if (name == "failure") {
    e.counter = Expectation::Counter::kFailure;
  } else if (name == "error") {
    e.counter = Expectation::Counter::kError;
  } else if (name == "total") {
    e.counter = Expectation::Counter::kTotal;
  } else {
    return base::Status::InvalidArgument(fmt::format(
        "expectation '{}': unknown counter '{}' (success, failure, error, total)", text, name));
  }
  std::string_view rest = std::string_view(text).substr(op_at);
  struct OpName {
    const char* text;
    Expectation::Op op;
  };
  // Two-character operators first so "<=" is not read as "<".
  static constexpr OpName kOps[] = {{"==", Expectation::Op::kEq}, {"!=", Expectation::Op::kNe},
                                    {"<=", Expectation::Op::kLe}, {">=", Expectation::Op::kGe},
                                    {"<", Expectation::Op::kLt},  {">", Expectation::Op::kGt},
                                    {"=", Expectation::Op::kEq}};
  bool found = false;
  for (const OpName& candidate : kOps) {
    if (rest.starts_with(candidate.text)) {
      e.op = candidate.op;
      rest.remove_prefix(std::string_view(candidate.text).size());
      found = true;
      break;
    }
  }
  if (!found) {
    return base::Status::InvalidArgument(
        fmt::format("expectation '{}': operator is one of == != <= >= < >", text));
  }
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), e.value);
  if (rest.empty() || ec != std::errc() || end != rest.data() + rest.size() || e.value < 0) {
    return base::Status::InvalidArgument(
        fmt::format("expectation '{}': the bound is a non-negative integer", text));
  }
  return e;
}

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kHeld:
      return "held";
    case Verdict::kViolated:
      return "VIOLATED";
    case Verdict::kUnknown:
      return "unknown";
  }
  return "unknown";
}

Verdict Evaluate(const Expectation& expectation, const Counts& counts) {
  // Each request without a response was either a success or a failure: try every
  // split of the unknown requests and see whether the answer depends on it.
  bool any_held = false;
  bool any_violated = false;
  for (int64_t extra = 0; extra <= counts.error; ++extra) {
    int64_t observed = 0;
    switch (expectation.counter) {
      case Expectation::Counter::kSuccess:
        observed = counts.success + extra;
        break;
      case Expectation::Counter::kFailure:
        observed = counts.failure + (counts.error - extra);
        break;
      case Expectation::Counter::kError:
        observed = counts.error;
        break;
      case Expectation::Counter::kTotal:
        observed = counts.total();
        break;
    }
    if (Compare(expectation.op, observed, expectation.value)) {
      any_held = true;
    } else {
      any_violated = true;
    }
    if (any_held && any_violated) return Verdict::kUnknown;
  }
  return any_violated ? Verdict::kViolated : Verdict::kHeld;
}

Verdict Worst(Verdict a, Verdict b) {
  if (a == Verdict::kViolated || b == Verdict::kViolated) return Verdict::kViolated;
  if (a == Verdict::kUnknown || b == Verdict::kUnknown) return Verdict::kUnknown;
  return Verdict::kHeld;
}

}  // namespace exactly::race
