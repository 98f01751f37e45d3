// Judging one round of `exactly race`.
#include "race/judge.h"

#include <map>

#include "fmt/format.h"

namespace exactly::race {
namespace {

const char* CounterName(Expectation::Counter c) {
  switch (c) {
    case Expectation::Counter::kSuccess:
      return "success";
    case Expectation::Counter::kFailure:
      return "failure";
    case Expectation::Counter::kError:
      return "error";
    case Expectation::Counter::kTotal:
      return "total";
  }
  return "?";
}

int64_t Observed(Expectation::Counter c, const Counts& counts) {
  switch (c) {
    case Expectation::Counter::kSuccess:
      return counts.success;
    case Expectation::Counter::kFailure:
      return counts.failure;
    case Expectation::Counter::kError:
      return counts.error;
    case Expectation::Counter::kTotal:
      return counts.total();
  }
  return 0;
}

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
                   const std::vector<Expectation>& expectations, bool per_user) {
  RoundVerdict out;
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
      result.verdict = Evaluate(e, out.counts);
      result.observed =
          fmt::format("{}={}", CounterName(e.counter), Observed(e.counter, out.counts));
      if (out.counts.error > 0) result.observed += fmt::format(" (+{} unknown)", out.counts.error);
    } else {
      int64_t broken = 0;
      int64_t unknown = 0;
      std::string first_broken;
      for (const auto& [user, counts] : by_user) {
        const Verdict v = Evaluate(e, counts);
        result.verdict = Worst(result.verdict, v);
        if (v == Verdict::kViolated) {
          if (broken++ == 0) {
            first_broken = fmt::format("{} {}={}", user.empty() ? "(no user)" : user,
                                       CounterName(e.counter), Observed(e.counter, counts));
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
