// Judging one round of `exactly race`.
#include "race/judge.h"

#include <map>

#include "fmt/format.h"

namespace exactly::race {
namespace {

void Count(Counts& counts, const RequestResult& r) {
  if (!r.error.empty()) {
    ++counts.error;
  } else if (r.success) {
    ++counts.success;
  } else {
    ++counts.failure;
  }
}

}  // namespace

RoundVerdict Judge(std::vector<RequestResult>& requests, const std::vector<SuccessRule>& rules,
                   const std::vector<Expectation>& expectations, bool per_user,
                   const Probes& probes) {
  RoundVerdict out;
  out.probes = probes;
  std::map<std::string, Counts> by_user;
  for (RequestResult& r : requests) {
    r.success = r.error.empty() && IsSuccess(rules, r.status, r.body);
    Count(out.counts, r);
    Count(by_user[r.user], r);
  }
  for (const Expectation& e : expectations) {
    ExpectationResult result;
    result.text = per_user ? e.text + " per user" : e.text;
    if (!per_user) {
      result.verdict = Evaluate(e, out.counts, probes);
      result.observed = DescribeValues(e, out.counts, probes);
      if (out.counts.error > 0 && !e.Uses(Name::kError)) {
        result.observed += fmt::format(" (+{} unknown)", out.counts.error);
      }
    } else {
      int64_t broken = 0;
      int64_t unknown = 0;
      std::string first_broken;
      for (const auto& [user, counts] : by_user) {
        const Verdict v = Evaluate(e, counts, probes);
        result.verdict = Worst(result.verdict, v);
        if (v == Verdict::kViolated) {
          if (broken++ == 0) {
            first_broken = fmt::format("{} {}", user.empty() ? "(no user)" : user,
                                       DescribeValues(e, counts, probes));
          }
        } else if (v == Verdict::kUnknown) {
          ++unknown;
        }
      }
      result.observed = fmt::format("{} of {} users broke it", broken, by_user.size());
      if (broken > 0) result.observed += fmt::format(", e.g. {}", first_broken);
      if (unknown > 0) result.observed += fmt::format(", {} unknown", unknown);
    }
    out.verdict = Worst(out.verdict, result.verdict);
    out.results.push_back(std::move(result));
  }
  return out;
}

}  // namespace exactly::race
