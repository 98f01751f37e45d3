// Argument helpers shared by the command parsers: strict integers, keywords, the
// time options (TTL | UNTIL | PER [AT] [TZ]) and option values.
//
// Everything here reads string_views and allocates only to build an error text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/units.h"
#include "core/command.h"

namespace exactly::net {

// Strict decimal int64 as Redis's string2ll reads it: an optional '-', then digits
// with no leading zero (except "0" itself); no '+', spaces, point or exponent.
// nullopt if the text is anything else or out of range.
std::optional<int64_t> ParseInt64(std::string_view text);

// ASCII case-insensitive equality with an upper-case `keyword`.
bool KeywordIs(std::string_view arg, std::string_view keyword);

// "hh:mm", 00:00..23:59, as minutes after midnight.
std::optional<int32_t> ParseClock(std::string_view text);
// "+hh:mm" or "-hh:mm" within ±core::kTzMinutesMax, as minutes east of UTC.
std::optional<int32_t> ParseTzOffset(std::string_view text);
// hour | day | week | month, any case.
std::optional<core::Period> ParsePeriod(std::string_view text);

// An amount: a positive int64 in minor units. On failure sets `error` to a text
// that says what is wrong with `text` (not positive, not an integer, too large).
std::optional<Amount> ParseAmount(std::string_view text, std::string* error);

// "" if `value` has min_bytes..max_bytes bytes, else ErrLength(field, ...).
std::string CheckLength(std::string_view value, std::string_view field, size_t min_bytes,
                        size_t max_bytes);

// Reads the value of the option at args[*i] (args[*i + 1]) and advances *i past
// both. False, with ErrMissingValue(name) in `error`, if there is no value.
bool TakeValue(std::span<const std::string_view> args, size_t* i, std::string_view name,
               std::string_view* value, std::string* error);

// Reads an integer option value in [min, max]; the error names the option.
std::optional<int64_t> TakeInteger(std::span<const std::string_view> args, size_t* i,
                                   std::string_view name, int64_t min, int64_t max,
                                   std::string_view unit, std::string* error);

// If args[*i] is `name`, reads its integer value in [min, max] into *value and
// returns true; a second occurrence (tracked by *seen) or a bad value sets
// `error`. False, nothing consumed, when args[*i] is another word.
bool TakeIntegerOnce(std::span<const std::string_view> args, size_t* i, std::string_view name,
                     int64_t min, int64_t max, std::string_view unit, bool* seen, int64_t* value,
                     std::string* error);

// Collects the time options of one command: each at most once, TTL/UNTIL/PER
// mutually exclusive, AT and TZ only together with PER.
class TimeOptions {
 public:
  enum Allowed : uint32_t { kTtl = 1, kUntil = 2, kPer = 4 };
  explicit TimeOptions(uint32_t allowed) : allowed_(allowed) {}

  // If args[*i] is a time option this command accepts, consumes it with its value
  // and returns true; a bad value sets `error`. False (nothing consumed) otherwise.
  bool Take(std::span<const std::string_view> args, size_t* i, std::string* error);
  // Checks the combination and writes the result; "" or the error text.
  std::string Finish(core::TimeSpec* spec) const;

 private:
  bool TakeKind(core::TimeSpec::Kind kind, std::string_view name, std::string* error);

  uint32_t allowed_;
  core::TimeSpec spec_;
  std::string_view kind_name_;
  bool at_seen_ = false;
  bool tz_seen_ = false;
};

}  // namespace exactly::net
