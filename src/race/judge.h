// Judges a round: applies the success rules to each response, counts, and checks
// every expectation over the whole round or, with --per-user, for each user.
#pragma once

#include <string>
#include <vector>

#include "race/fire.h"
#include "race/rules.h"

namespace exactly::race {

struct ExpectationResult {
  std::string text;  // the expectation as written
  Verdict verdict = Verdict::kHeld;
  std::string observed;  // e.g. "success=4" or, per user, the users that broke it
};

struct RoundVerdict {
  Counts counts;
  std::vector<ExpectationResult> results;
  Verdict verdict = Verdict::kHeld;  // the worst of results (held when none)
  Probes probes;                     // what --observe read before and after the round
  std::string probe_error;           // why a probe has no value (empty when it has)
};

// Sets each request's `success` from `rules`, then evaluates `expectations`.
// Requests without a response count as `error`: their outcome is unknown. `probes`
// are the round's `before` and `after` readings; an expectation that reads one that
// is missing is unknown. The same readings serve every user with `per_user`.
RoundVerdict Judge(std::vector<RequestResult>& requests, const std::vector<SuccessRule>& rules,
                   const std::vector<Expectation>& expectations, bool per_user,
                   const Probes& probes = {});

}  // namespace exactly::race
