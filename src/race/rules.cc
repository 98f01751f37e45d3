// Outcome rules and expectations for `exactly race`.
#include "race/rules.h"

#include <cctype>
#include <charconv>
#include <string_view>

#include "base/checked_math.h"
#include "fmt/format.h"

namespace exactly::race {
namespace {

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

namespace {

constexpr const char* kNameTexts[kNameCount] = {"success", "failure", "error",
                                                "total",   "before",  "after"};

// A recursive-descent reader of one side of an expectation.
class ExprParser {
 public:
  ExprParser(std::string_view text, const std::string& whole) : text_(text), whole_(whole) {}

  base::Result<LinearExpr> Parse() {
    LinearExpr out;
    bool first = true;
    for (;;) {
      SkipSpaces();
      int64_t sign = 1;
      if (!first || Peek() == '-' || Peek() == '+') {
        if (Peek() == '-') {
          sign = -1;
        } else if (Peek() != '+') {
          if (AtEnd()) break;
          return Error(fmt::format("expected + or - at '{}'", text_.substr(at_)));
        }
        ++at_;
      }
      first = false;
      base::Result<LinearExpr> term = Term();
      if (!term.ok()) return term.status();
      if (!Accumulate(out, term.value(), sign)) return Error("an integer overflows");
    }
    return out;
  }

 private:
  // factor ('*' factor)*, at most one factor a name.
  base::Result<LinearExpr> Term() {
    int64_t product = 1;
    std::optional<int> name;
    for (;;) {
      SkipSpaces();
      if (AtEnd()) return Error("an operand is missing");
      const char c = Peek();
      if (c >= '0' && c <= '9') {
        int64_t value = 0;
        const char* begin = text_.data() + at_;
        const auto [p, ec] = std::from_chars(begin, text_.data() + text_.size(), value);
        if (ec != std::errc()) return Error("an integer overflows");
        at_ += static_cast<size_t>(p - begin);
        std::optional<int64_t> next = base::CheckedMul(product, value);
        if (!next) return Error("an integer overflows");
        product = *next;
      } else if (std::isalpha(static_cast<unsigned char>(c))) {
        size_t end = at_;
        while (end < text_.size() && std::isalpha(static_cast<unsigned char>(text_[end]))) ++end;
        const std::string_view word = text_.substr(at_, end - at_);
        int found = -1;
        for (int k = 0; k < kNameCount; ++k) {
          if (word == kNameTexts[k]) found = k;
        }
        if (found < 0) {
          return Error(fmt::format(
              "unknown name '{}' (success, failure, error, total, before, after)", word));
        }
        if (name) return Error("a product may hold one name; the other factors are integers");
        name = found;
        at_ = end;
      } else {
        return Error(fmt::format("unexpected '{}'", text_.substr(at_)));
      }
      SkipSpaces();
      if (Peek() != '*') break;
      ++at_;
    }
    LinearExpr out;
    if (name) {
      out.coefficient[static_cast<size_t>(*name)] = product;
    } else {
      out.constant = product;
    }
    return out;
  }

  static bool Accumulate(LinearExpr& into, const LinearExpr& term, int64_t sign) {
    auto add = [sign](int64_t& a, int64_t b) {
      std::optional<int64_t> v = sign > 0 ? base::CheckedAdd(a, b) : base::CheckedSub(a, b);
      if (!v) return false;
      a = *v;
      return true;
    };
    if (!add(into.constant, term.constant)) return false;
    for (int k = 0; k < kNameCount; ++k) {
      if (!add(into.coefficient[static_cast<size_t>(k)],
               term.coefficient[static_cast<size_t>(k)])) {
        return false;
      }
    }
    return true;
  }

  base::Status Error(const std::string& why) const {
    return base::Status::InvalidArgument(fmt::format("expectation '{}': {}", whole_, why));
  }
  void SkipSpaces() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t')) ++at_;
  }
  bool AtEnd() const { return at_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[at_]; }

  std::string_view text_;
  const std::string& whole_;
  size_t at_ = 0;
};

// The value of an expression in one world; __int128 so no name's value can wrap.
__int128 ValueOf(const LinearExpr& e, const std::array<int64_t, kNameCount>& values) {
  __int128 v = e.constant;
  for (size_t k = 0; k < kNameCount; ++k) {
    v += static_cast<__int128>(e.coefficient[k]) * values[k];
  }
  return v;
}

bool Holds(Expectation::Op op, __int128 left, __int128 right) {
  switch (op) {
    case Expectation::Op::kEq:
      return left == right;
    case Expectation::Op::kNe:
      return left != right;
    case Expectation::Op::kLe:
      return left <= right;
    case Expectation::Op::kGe:
      return left >= right;
    case Expectation::Op::kLt:
      return left < right;
    case Expectation::Op::kGt:
      return left > right;
  }
  return false;
}

}  // namespace

const char* NameText(Name name) { return kNameTexts[static_cast<int>(name)]; }

base::Result<Expectation> ParseExpectation(const std::string& text) {
  Expectation e;
  e.text = text;
  const size_t op_at = text.find_first_of("=!<>");
  if (op_at == std::string::npos) {
    return base::Status::InvalidArgument(fmt::format(
        "expectation '{}': expected LEFT OP RIGHT, e.g. success==1 or after==before+success",
        text));
  }
  struct OpName {
    const char* text;
    Expectation::Op op;
  };
  // Two-character operators first so "<=" is not read as "<".
  static constexpr OpName kOps[] = {{"==", Expectation::Op::kEq}, {"!=", Expectation::Op::kNe},
                                    {"<=", Expectation::Op::kLe}, {">=", Expectation::Op::kGe},
                                    {"<", Expectation::Op::kLt},  {">", Expectation::Op::kGt},
                                    {"=", Expectation::Op::kEq}};
  const std::string_view rest = std::string_view(text).substr(op_at);
  size_t op_size = 0;
  for (const OpName& candidate : kOps) {
    if (rest.starts_with(candidate.text)) {
      e.op = candidate.op;
      op_size = std::string_view(candidate.text).size();
      break;
    }
  }
  if (op_size == 0) {
    return base::Status::InvalidArgument(
        fmt::format("expectation '{}': operator is one of == != <= >= < >", text));
  }
  const std::string_view left = std::string_view(text).substr(0, op_at);
  const std::string_view right = rest.substr(op_size);
  if (right.find_first_of("=!<>") != std::string_view::npos) {
    return base::Status::InvalidArgument(
        fmt::format("expectation '{}': one comparison per expectation", text));
  }
  base::Result<LinearExpr> l = ExprParser(left, text).Parse();
  if (!l.ok()) return l.status();
  base::Result<LinearExpr> r = ExprParser(right, text).Parse();
  if (!r.ok()) return r.status();
  e.left = l.value();
  e.right = r.value();
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

Verdict Evaluate(const Expectation& expectation, const Counts& counts, const Probes& probes) {
  if ((expectation.Uses(Name::kBefore) && !probes.before) ||
      (expectation.Uses(Name::kAfter) && !probes.after)) {
    return Verdict::kUnknown;
  }
  std::array<int64_t, kNameCount> values{};
  values[static_cast<size_t>(Name::kError)] = counts.error;
  values[static_cast<size_t>(Name::kTotal)] = counts.total();
  values[static_cast<size_t>(Name::kBefore)] = probes.before.value_or(0);
  values[static_cast<size_t>(Name::kAfter)] = probes.after.value_or(0);
  // Each request without a response was either a success or a failure: try every
  // split of the unknown requests and see whether the answer depends on it.
  bool any_held = false;
  bool any_violated = false;
  for (int64_t extra = 0; extra <= counts.error; ++extra) {
    values[static_cast<size_t>(Name::kSuccess)] = counts.success + extra;
    values[static_cast<size_t>(Name::kFailure)] = counts.failure + (counts.error - extra);
    if (Holds(expectation.op, ValueOf(expectation.left, values),
              ValueOf(expectation.right, values))) {
      any_held = true;
    } else {
      any_violated = true;
    }
    if (any_held && any_violated) return Verdict::kUnknown;
    // Without success or failure in it, every split gives the same answer.
    if (!expectation.Uses(Name::kSuccess) && !expectation.Uses(Name::kFailure)) break;
  }
  return any_violated ? Verdict::kViolated : Verdict::kHeld;
}

std::string DescribeValues(const Expectation& expectation, const Counts& counts,
                           const Probes& probes) {
  std::string out;
  auto add = [&](Name name, std::optional<int64_t> value) {
    if (!expectation.Uses(name)) return;
    if (!out.empty()) out += ' ';
    out += fmt::format("{}={}", NameText(name), value ? std::to_string(*value) : "?");
  };
  add(Name::kBefore, probes.before);
  add(Name::kAfter, probes.after);
  add(Name::kSuccess, counts.success);
  add(Name::kFailure, counts.failure);
  add(Name::kError, counts.error);
  add(Name::kTotal, counts.total());
  if (out.empty()) out = "constants only";
  return out;
}

Verdict Worst(Verdict a, Verdict b) {
  if (a == Verdict::kViolated || b == Verdict::kViolated) return Verdict::kViolated;
  if (a == Verdict::kUnknown || b == Verdict::kUnknown) return Verdict::kUnknown;
  return Verdict::kHeld;
}

}  // namespace exactly::race
