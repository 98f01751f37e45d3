// RESP request parser. Follows Redis's processMultibulkBuffer and
// processInlineBuffer: the same error words, the same limits checked at the header.
#include "net/resp_parser.h"

#include <charconv>
#include <cstring>
#include <utility>

#include "net/errors.h"

namespace exactly::net {
namespace {

ParseResult NeedMore() { return ParseResult{ParseStatus::kNeedMore, 0, {}}; }

ParseResult Error(std::string message) {
  return ParseResult{ParseStatus::kError, 0, std::move(message)};
}

enum class LineStatus { kOk, kNeedMore, kError };

// Up to this many digits cannot overflow an int64 (and fit kMultibulkHeaderMax).
constexpr size_t kFastDigitsMax = 18;
static_assert(kFastDigitsMax + 2 <= kMultibulkHeaderMax);

// Reads the header line that starts at buffer[pos] (the type byte) and ends with
// CRLF. On kOk, `value` is the signed number after the type byte and `next` the
// offset after the CRLF. Headers are short, so a long run without CR is an error.
LineStatus ReadHeader(std::string_view buffer, size_t pos, int64_t* value, size_t* next) {
  const size_t start = pos + 1;
  // The usual header, a few digits and CRLF, read in one pass. Anything else (a
  // sign, a long number, a partial line, a bad byte) takes the general path below.
  size_t digits_end = start;
  uint64_t number = 0;
  while (digits_end < buffer.size() && digits_end - start < kFastDigitsMax) {
    const unsigned digit = static_cast<unsigned char>(buffer[digits_end]) - '0';
    if (digit > 9) break;
    number = number * 10 + digit;
    ++digits_end;
  }
  if (digits_end != start && digits_end + 1 < buffer.size() && buffer[digits_end] == '\r' &&
      buffer[digits_end + 1] == '\n') {
    *value = static_cast<int64_t>(number);
    *next = digits_end + 2;
    return LineStatus::kOk;
  }
  const size_t window = std::min(buffer.size() - start, kMultibulkHeaderMax);
  const void* cr = std::memchr(buffer.data() + start, '\r', window);
  if (cr == nullptr) {
    return buffer.size() - start >= kMultibulkHeaderMax ? LineStatus::kError
                                                        : LineStatus::kNeedMore;
  }
  const size_t cr_pos = static_cast<const char*>(cr) - buffer.data();
  if (cr_pos + 1 >= buffer.size()) return LineStatus::kNeedMore;
  if (buffer[cr_pos + 1] != '\n') return LineStatus::kError;
  const char* first = buffer.data() + start;
  const char* last = buffer.data() + cr_pos;
  if (first == last) return LineStatus::kError;
  auto [end, error] = std::from_chars(first, last, *value);
  if (error != std::errc() || end != last) return LineStatus::kError;
  *next = cr_pos + 2;
  return LineStatus::kOk;
}

ParseResult ParseMultibulk(std::string_view buffer, const ParserLimits& limits,
                           std::vector<std::string_view>* args) {
  int64_t count = 0;
  size_t pos = 0;
  switch (ReadHeader(buffer, 0, &count, &pos)) {
    case LineStatus::kNeedMore:
      return NeedMore();
    case LineStatus::kError:
      return Error(ErrInvalidMultibulkLength());
    case LineStatus::kOk:
      break;
  }
  // Like Redis, a null or empty multibulk is a frame without a command.
  if (count <= 0) return ParseResult{ParseStatus::kCommand, pos, {}};
  if (static_cast<uint64_t>(count) > limits.args_max) return Error(ErrInvalidMultibulkLength());

  for (int64_t i = 0; i < count; ++i) {
    if (pos >= buffer.size()) return NeedMore();
    if (buffer[pos] != '$') {
      return Error(ErrExpectedBulk(buffer[pos]));
    }
    int64_t length = 0;
    switch (ReadHeader(buffer, pos, &length, &pos)) {
      case LineStatus::kNeedMore:
        return NeedMore();
      case LineStatus::kError:
        return Error(ErrInvalidBulkLength());
      case LineStatus::kOk:
        break;
    }
    if (length < 0 || static_cast<uint64_t>(length) > limits.bulk_bytes_max) {
      return Error(ErrInvalidBulkLength());
    }
    const size_t size = static_cast<size_t>(length);
    if (buffer.size() - pos < size + 2) return NeedMore();
    if (buffer[pos + size] != '\r' || buffer[pos + size + 1] != '\n') {
      return Error(ErrExpectedCrlf());
    }
    args->push_back(buffer.substr(pos, size));
    pos += size + 2;
  }
  return ParseResult{ParseStatus::kCommand, pos, {}};
}

bool IsInlineSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// Splits one inline line into words. Quoted words are taken verbatim (no escape
// sequences): the inline form is for people at a terminal, not for binary data.
ParseResult SplitInline(std::string_view line, size_t consumed, const ParserLimits& limits,
                        std::vector<std::string_view>* args) {
  size_t pos = 0;
  while (true) {
    while (pos < line.size() && IsInlineSpace(line[pos])) ++pos;
    if (pos == line.size()) break;
    if (args->size() == limits.args_max) return Error(ErrTooManyArguments());
    const char quote = line[pos];
    if (quote == '"' || quote == '\'') {
      const size_t close = line.find(quote, pos + 1);
      if (close == std::string_view::npos) {
        return Error(ErrUnbalancedQuotes());
      }
      if (close + 1 < line.size() && !IsInlineSpace(line[close + 1])) {
        return Error(ErrUnbalancedQuotes());
      }
      args->push_back(line.substr(pos + 1, close - pos - 1));
      pos = close + 1;
    } else {
      size_t end = pos;
      while (end < line.size() && !IsInlineSpace(line[end])) ++end;
      args->push_back(line.substr(pos, end - pos));
      pos = end;
    }
  }
  return ParseResult{ParseStatus::kCommand, consumed, {}};
}

ParseResult ParseInline(std::string_view buffer, const ParserLimits& limits,
                        std::vector<std::string_view>* args) {
  // A line may hold inline_bytes_max bytes plus its CRLF.
  const size_t window = std::min(buffer.size(), limits.inline_bytes_max + 2);
  const void* newline = std::memchr(buffer.data(), '\n', window);
  if (newline == nullptr) {
    if (buffer.size() > limits.inline_bytes_max + 1) {
      return Error(ErrInlineTooBig());
    }
    return NeedMore();
  }
  const size_t newline_pos = static_cast<const char*>(newline) - buffer.data();
  std::string_view line = buffer.substr(0, newline_pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > limits.inline_bytes_max) return Error(ErrInlineTooBig());
  return SplitInline(line, newline_pos + 1, limits, args);
}

}  // namespace

ParseResult ParseCommand(std::string_view buffer, const ParserLimits& limits,
                         std::vector<std::string_view>* args) {
  args->clear();
  if (buffer.empty()) return NeedMore();
  if (buffer[0] == '*') return ParseMultibulk(buffer, limits, args);
  return ParseInline(buffer, limits, args);
}

}  // namespace exactly::net
