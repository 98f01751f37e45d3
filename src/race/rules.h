// Outcome rules (`--success`) decide whether one response is a success; expectations
// (`--expect`) state the invariant over a round's counts, overall or per user.
#pragma once

#include <cstdint>
#include <memory>
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

// One `--expect`: `success==1`, `success<=6`, `failure>=1`, `error==0`, `total==10`.
struct Expectation {
  enum class Counter { kSuccess, kFailure, kError, kTotal };
  enum class Op { kEq, kNe, kLe, kGe, kLt, kGt };
  Counter counter = Counter::kSuccess;
  Op op = Op::kEq;
  int64_t value = 0;
  std::string text;
};

base::Result<Expectation> ParseExpectation(const std::string& text);

// An expectation's verdict. Requests without a response could each have been a
// success or a failure; an expectation that holds for some of those worlds and not
// for others is kUnknown, never a pass.
enum class Verdict { kHeld, kViolated, kUnknown };

const char* VerdictName(Verdict verdict);

Verdict Evaluate(const Expectation& expectation, const Counts& counts);

// The worst of two verdicts: violated beats unknown beats held.
Verdict Worst(Verdict a, Verdict b);

}  // namespace exactly::race
