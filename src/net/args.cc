// Argument helpers. Integer parsing is hand-written (not from_chars) because the
// wire grammar is stricter than C++'s: "+5", "05" and "-0" are refused, like Redis.
#include "net/args.h"

#include "core/limits.h"
#include "net/errors.h"

namespace exactly::net {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

char Upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

int TwoDigits(std::string_view text) { return (text[0] - '0') * 10 + (text[1] - '0'); }

bool IsTwoDigits(std::string_view text) { return IsDigit(text[0]) && IsDigit(text[1]); }

}  // namespace

std::optional<int64_t> ParseInt64(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const bool negative = text[0] == '-';
  std::string_view digits = negative ? text.substr(1) : text;
  if (digits.empty() || digits.size() > 19) return std::nullopt;
  if (digits[0] == '0' && (digits.size() > 1 || negative)) return std::nullopt;
  // Accumulate as a negative number: its range holds INT64_MIN.
  int64_t value = 0;
  for (char c : digits) {
    if (!IsDigit(c)) return std::nullopt;
    const int digit = c - '0';
    if (value < (INT64_MIN + digit) / 10) return std::nullopt;
    value = value * 10 - digit;
  }
  if (negative) return value;
  if (value == INT64_MIN) return std::nullopt;
  return -value;
}

bool KeywordIs(std::string_view arg, std::string_view keyword) {
  if (arg.size() != keyword.size()) return false;
  for (size_t i = 0; i < arg.size(); ++i) {
    if (Upper(arg[i]) != keyword[i]) return false;
  }
  return true;
}

std::optional<int32_t> ParseClock(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  if (!IsTwoDigits(text.substr(0, 2)) || !IsTwoDigits(text.substr(3, 2))) return std::nullopt;
  const int hours = TwoDigits(text.substr(0, 2));
  const int minutes = TwoDigits(text.substr(3, 2));
  if (hours > 23 || minutes > 59) return std::nullopt;
  return hours * 60 + minutes;
}

std::optional<int32_t> ParseTzOffset(std::string_view text) {
  if (text.size() != 6 || (text[0] != '+' && text[0] != '-')) return std::nullopt;
  if (text[3] != ':') return std::nullopt;
  if (!IsTwoDigits(text.substr(1, 2)) || !IsTwoDigits(text.substr(4, 2))) return std::nullopt;
  const int hours = TwoDigits(text.substr(1, 2));
  const int minutes = TwoDigits(text.substr(4, 2));
  if (minutes > 59) return std::nullopt;
  const int32_t offset = hours * 60 + minutes;
  if (offset > core::kTzMinutesMax) return std::nullopt;
  return text[0] == '-' ? -offset : offset;
}

std::optional<core::Period> ParsePeriod(std::string_view text) {
  if (KeywordIs(text, "HOUR")) return core::Period::kHour;
  if (KeywordIs(text, "DAY")) return core::Period::kDay;
  if (KeywordIs(text, "WEEK")) return core::Period::kWeek;
  if (KeywordIs(text, "MONTH")) return core::Period::kMonth;
  return std::nullopt;
}

std::optional<Amount> ParseAmount(std::string_view text, std::string* error) {
  if (std::optional<int64_t> value = ParseInt64(text)) {
    if (*value > 0) return *value;
    *error = ErrAmountNotPositive(text);
    return std::nullopt;
  }
  // Not a strict int64: say which way, so "1.5" and "99999999999999999999" get
  // different advice.
  bool all_digits = !text.empty();
  for (char c : text) all_digits = all_digits && IsDigit(c);
  if (all_digits && text[0] != '0') {
    *error = ErrAmountTooLarge(text);
  } else if (text.size() > 1 && text[0] == '-') {
    *error = ErrAmountNotPositive(text);
  } else {
    *error = ErrAmountNotInteger(text);
  }
  return std::nullopt;
}

std::string CheckLength(std::string_view value, std::string_view field, size_t min_bytes,
                        size_t max_bytes) {
  if (value.size() >= min_bytes && value.size() <= max_bytes) return {};
  return ErrLength(field, min_bytes, max_bytes);
}

bool TakeValue(std::span<const std::string_view> args, size_t* i, std::string_view name,
               std::string_view* value, std::string* error) {
  if (*i + 1 >= args.size()) {
    *error = ErrMissingValue(name);
    return false;
  }
  *value = args[*i + 1];
  *i += 2;
  return true;
}

std::optional<int64_t> TakeInteger(std::span<const std::string_view> args, size_t* i,
                                   std::string_view name, int64_t min, int64_t max,
                                   std::string_view unit, std::string* error) {
  std::string_view text;
  if (!TakeValue(args, i, name, &text, error)) return std::nullopt;
  std::optional<int64_t> value = ParseInt64(text);
  if (!value || *value < min || *value > max) {
    *error = ErrIntegerRange(name, min, max, unit);
    return std::nullopt;
  }
  return value;
}

bool TimeOptions::TakeKind(core::TimeSpec::Kind kind, std::string_view name, std::string* error) {
  if (spec_.kind == kind) {
    *error = ErrDuplicateOption(name);
    return false;
  }
  if (spec_.kind != core::TimeSpec::Kind::kNone) {
    *error = ErrExclusiveOptions(kind_name_, name);
    return false;
  }
  spec_.kind = kind;
  kind_name_ = name;
  return true;
}

bool TimeOptions::Take(std::span<const std::string_view> args, size_t* i, std::string* error) {
  const std::string_view option = args[*i];
  if ((allowed_ & kTtl) && KeywordIs(option, "TTL")) {
    if (!TakeKind(core::TimeSpec::Kind::kTtl, "TTL", error)) return true;
    if (auto ttl = TakeInteger(args, i, "TTL", 1, core::kTtlMsMax, "ms", error)) {
      spec_.ttl_ms = *ttl;
    }
    return true;
  }
  if ((allowed_ & kUntil) && KeywordIs(option, "UNTIL")) {
    if (!TakeKind(core::TimeSpec::Kind::kUntil, "UNTIL", error)) return true;
    if (auto until = TakeInteger(args, i, "UNTIL", 0, core::kTimeMsMax, "unix ms", error)) {
      spec_.until_ms = *until;
    }
    return true;
  }
  if (!(allowed_ & kPer)) return false;
  std::string_view value;
  if (KeywordIs(option, "PER")) {
    if (!TakeKind(core::TimeSpec::Kind::kPer, "PER", error)) return true;
    if (!TakeValue(args, i, "PER", &value, error)) return true;
    if (auto period = ParsePeriod(value)) {
      spec_.period = *period;
    } else {
      *error = ErrPeriod();
    }
    return true;
  }
  if (KeywordIs(option, "AT")) {
    if (at_seen_) {
      *error = ErrDuplicateOption("AT");
      return true;
    }
    at_seen_ = true;
    if (!TakeValue(args, i, "AT", &value, error)) return true;
    if (auto minutes = ParseClock(value)) {
      spec_.at_minutes = *minutes;
    } else {
      *error = ErrAt();
    }
    return true;
  }
  if (KeywordIs(option, "TZ")) {
    if (tz_seen_) {
      *error = ErrDuplicateOption("TZ");
      return true;
    }
    tz_seen_ = true;
    if (!TakeValue(args, i, "TZ", &value, error)) return true;
    if (auto offset = ParseTzOffset(value)) {
      spec_.tz_minutes = *offset;
    } else {
      *error = ErrTz();
    }
    return true;
  }
  return false;
}

std::string TimeOptions::Finish(core::TimeSpec* spec) const {
  if (spec_.kind != core::TimeSpec::Kind::kPer) {
    if (at_seen_) return ErrOptionNeeds("AT", "PER");
    if (tz_seen_) return ErrOptionNeeds("TZ", "PER");
  }
  *spec = spec_;
  return {};
}

bool TakeIntegerOnce(std::span<const std::string_view> args, size_t* i, std::string_view name,
                     int64_t min, int64_t max, std::string_view unit, bool* seen, int64_t* value,
                     std::string* error) {
  if (!KeywordIs(args[*i], name)) return false;
  if (*seen) {
    *error = ErrDuplicateOption(name);
    return true;
  }
  *seen = true;
  if (std::optional<int64_t> taken = TakeInteger(args, i, name, min, max, unit, error)) {
    *value = *taken;
  }
  return true;
}

}  // namespace exactly::net
