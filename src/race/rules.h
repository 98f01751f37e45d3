// Outcome rules (`--success`) decide whether one response is a success; expectations
// (`--expect`) state the invariant over a round's counts, overall or per user.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "base/status.h"

namespace exactly::race {

// One `--success` rule: `status=200`, `status=2xx`, `status!=500`, `body~REGEX`,
// `body!~REGEX`. A response is a success when every rule matches it.
struct SuccessRule {
  enum class Kind { kStatus, kBody };
  Kind kind = Kind::kStatus;
  bool negate = false;
  std::string status_pattern;  // three characters, digits or 'x'
  std::shared_ptr<const std::regex> body;
  std::string text;  // as written, for the report
};

base::Result<SuccessRule> ParseSuccessRule(const std::string& text);

// With no rule at all a response succeeds when its status is 2xx.
bool IsSuccess(const std::vector<SuccessRule>& rules, int status, const std::string& body);

// The counts of one round (or of one user within a round).
struct Counts {
  int64_t success = 0;
  int64_t failure = 0;  // a response that does not match the success rules
  int64_t error = 0;    // no response: connection reset, timeout; its outcome is unknown
  int64_t total() const { return success + failure + error; }
};

// The state a round's probes read (`--observe`): `before` just before the release,
// `after` once every response arrived. Empty when there is no probe or it failed.
struct Probes {
  std::optional<int64_t> before;
  std::optional<int64_t> after;
};

// A name an expectation may use: the round's counts and the probes' readings.
enum class Name { kSuccess, kFailure, kError, kTotal, kBefore, kAfter };
inline constexpr int kNameCount = 6;

const char* NameText(Name name);

// An integer expression of the names: constant + sum of coefficient x name. `+`, `-`
// and multiplication by an integer keep every expectation linear, which is what lets
// Evaluate try each split of the unanswered requests cheaply.
struct LinearExpr {
  int64_t constant = 0;
  std::array<int64_t, kNameCount> coefficient{};
  bool Uses(Name name) const { return coefficient[static_cast<int>(name)] != 0; }
};

// One `--expect`: `LEFT OP RIGHT` where each side is an expression of integers and
// the names `success failure error total before after` with `+`, `-` and `*` (one
// side of each product an integer): `success==1`, `after==before+success`,
// `before-after<=5`, `after==before-30*success`. Spaces are allowed.
struct Expectation {
  enum class Op { kEq, kNe, kLe, kGe, kLt, kGt };
  LinearExpr left;
  Op op = Op::kEq;
  LinearExpr right;
  std::string text;
  bool Uses(Name name) const { return left.Uses(name) || right.Uses(name); }
  // Whether it reads `before` or `after`, so needs a probe.
  bool UsesProbes() const { return Uses(Name::kBefore) || Uses(Name::kAfter); }
};

base::Result<Expectation> ParseExpectation(const std::string& text);

// An expectation's verdict. Requests without a response could each have been a
// success or a failure; an expectation that holds for some of those worlds and not
// for others is kUnknown, never a pass.
enum class Verdict { kHeld, kViolated, kUnknown };

const char* VerdictName(Verdict verdict);

// An expectation that reads a probe which has no value is kUnknown.
Verdict Evaluate(const Expectation& expectation, const Counts& counts, const Probes& probes = {});

// The values of the names `expectation` uses, e.g. "after=27 before=0 success=60"; an
// unread probe shows as "after=?".
std::string DescribeValues(const Expectation& expectation, const Counts& counts,
                           const Probes& probes);

// The worst of two verdicts: violated beats unknown beats held.
Verdict Worst(Verdict a, Verdict b);

}  // namespace exactly::race
