// RESP reply writer. Appends only; integer text comes from std::to_chars so the hot
// path formats without locale or allocation beyond the output string's growth.
#include "net/resp_writer.h"

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <variant>

#include "base/assert.h"

namespace exactly::net {
namespace {

// Appends `text` with CR and LF replaced by spaces.
void AppendLine(std::string* out, std::string_view text) {
  const size_t start = out->size();
  out->append(text);
  for (size_t i = start; i < out->size(); ++i) {
    char& c = (*out)[i];
    if (c == '\r' || c == '\n') c = ' ';
  }
}

constexpr std::string_view kResultName = "result";

// Upper bounds of "<type>n\r\n", "$n\r\n<n bytes>\r\n" and ":v\r\n": a number
// takes at most 20 characters (19 digits and a sign).
constexpr size_t kHeaderBound = 1 + 20 + 2;
constexpr size_t kIntegerBound = kHeaderBound;
constexpr size_t BulkBound(size_t length) { return kHeaderBound + length + 2; }

// Copies `n` bytes, 4 <= n <= 2 * sizeof(Word), as two overlapping words: fixed-size
// copies the compiler turns into moves.
template <typename Word>
void CopyOverlapping(char* p, const char* s, size_t n) {
  Word head;
  Word tail;
  std::memcpy(&head, s, sizeof head);
  std::memcpy(&tail, s + n - sizeof tail, sizeof tail);
  std::memcpy(p, &head, sizeof head);
  std::memcpy(p + n - sizeof tail, &tail, sizeof tail);
}

// Field names and most values are a few bytes, where a call to memcpy costs more
// than the copy itself.
char* PutBytes(char* p, std::string_view bytes) {
  const size_t n = bytes.size();
  const char* s = bytes.data();
  if (n >= 8 && n <= 16) {
    CopyOverlapping<uint64_t>(p, s, n);
  } else if (n >= 4 && n < 8) {
    CopyOverlapping<uint32_t>(p, s, n);
  } else if (n > 16) {
    std::memcpy(p, s, n);
  } else {
    for (size_t i = 0; i < n; ++i) p[i] = s[i];
  }
  return p + n;
}
char* PutCrLf(char* p) {
  p[0] = '\r';
  p[1] = '\n';
  return p + 2;
}
// The buffer was sized by the *Bound functions, so to_chars always has room.
char* PutHeader(char* p, char type, uint64_t n) {
  *p++ = type;
  if (n < 10) {  // field names, short values, small maps: one digit, no conversion
    *p++ = static_cast<char>('0' + n);
    return PutCrLf(p);
  }
  return PutCrLf(std::to_chars(p, p + 20, n).ptr);
}
char* PutBulk(char* p, std::string_view s) {
  return PutCrLf(PutBytes(PutHeader(p, '$', s.size()), s));
}
char* PutInteger(char* p, int64_t v) {
  *p++ = ':';
  return PutCrLf(std::to_chars(p, p + 21, v).ptr);
}

}  // namespace

RespWriter::RespWriter(std::string* out, int protocol) : out_(out), protocol_(protocol) {
  EXACTLY_ASSERT(out != nullptr);
  EXACTLY_ASSERT(protocol == 2 || protocol == 3);
}

void RespWriter::Header(char type, uint64_t n) {
  char digits[24];
  digits[0] = type;
  auto result = std::to_chars(digits + 1, digits + sizeof(digits) - 2, n);
  result.ptr[0] = '\r';
  result.ptr[1] = '\n';
  out_->append(digits, static_cast<size_t>(result.ptr + 2 - digits));
}

void RespWriter::Reply(const core::Reply& reply) {
  if (reply.is_error()) {
    Error(reply.error_code, reply.error_message);
    return;
  }
  // Grown once to a bound (no digit counting), written, then cut to what was written.
  const size_t start = out_->size();
  const size_t bound = ReplyBound(reply);
  out_->resize(start + bound);
  const char* end = WriteReply(out_->data() + start, reply);
  const size_t written = static_cast<size_t>(end - (out_->data() + start));
  EXACTLY_ASSERT(written <= bound);
  out_->resize(start + written);
}

size_t RespWriter::ReplyBound(const core::Reply& reply) const {
  if (reply.is_error()) {
    // Only a MULTI group's results hold errors; rare enough to render twice, and
    // the exact size is a bound.
    std::string text;
    RespWriter(&text, protocol_).Error(reply.error_code, reply.error_message);
    return text.size();
  }
  if (reply.wire_list_only) {
    EXACTLY_ASSERT(reply.fields.size() == 1);
    return ValueBound(reply.fields[0].second);
  }
  size_t size = kHeaderBound;
  if (reply.outcome) {
    size += BulkBound(kResultName.size()) + BulkBound(core::OutcomeName(*reply.outcome).size());
  }
  for (const auto& [name, value] : reply.fields) size += BulkBound(name.size()) + ValueBound(value);
  return size;
}

size_t RespWriter::ValueBound(const core::Value& value) const {
  if (std::holds_alternative<int64_t>(value)) return kIntegerBound;
  if (const auto* text = std::get_if<std::string>(&value)) return BulkBound(text->size());
  const auto& list = std::get<std::vector<core::Reply>>(value);
  size_t size = kHeaderBound;
  for (const core::Reply& item : list) size += ReplyBound(item);
  return size;
}

char* RespWriter::WriteMapHeader(char* p, size_t n) const {
  return protocol_ == 3 ? PutHeader(p, '%', n) : PutHeader(p, '*', 2 * static_cast<uint64_t>(n));
}

char* RespWriter::WriteReply(char* p, const core::Reply& reply) const {
  if (reply.is_error()) {
    std::string text;
    RespWriter(&text, protocol_).Error(reply.error_code, reply.error_message);
    return PutBytes(p, text);
  }
  if (reply.wire_list_only) return WriteValue(p, reply.fields[0].second);
  // The one place an outcome becomes its word. A list entry (CLAIMLOG, HISTORY)
  // has no outcome of its own: only its fields.
  p = WriteMapHeader(p, reply.fields.size() + (reply.outcome ? 1 : 0));
  if (reply.outcome) {
    p = PutBulk(p, kResultName);
    p = PutBulk(p, core::OutcomeName(*reply.outcome));
  }
  for (const auto& [name, value] : reply.fields) {
    p = PutBulk(p, name);
    p = WriteValue(p, value);
  }
  return p;
}

char* RespWriter::WriteValue(char* p, const core::Value& value) const {
  if (const auto* integer = std::get_if<int64_t>(&value)) return PutInteger(p, *integer);
  if (const auto* text = std::get_if<std::string>(&value)) return PutBulk(p, *text);
  const auto& list = std::get<std::vector<core::Reply>>(value);
  p = PutHeader(p, '*', list.size());
  for (const core::Reply& item : list) p = WriteReply(p, item);
  return p;
}

void RespWriter::Error(std::string_view code, std::string_view message) {
  out_->push_back('-');
  AppendLine(out_, code.empty() ? std::string_view("ERR") : code);
  if (!message.empty()) {
    out_->push_back(' ');
    AppendLine(out_, message);
  }
  out_->append("\r\n");
}

void RespWriter::Simple(std::string_view s) {
  out_->push_back('+');
  AppendLine(out_, s);
  out_->append("\r\n");
}

void RespWriter::Bulk(std::string_view s) {
  Header('$', s.size());
  out_->append(s);
  out_->append("\r\n");
}

void RespWriter::Integer(int64_t v) {
  char digits[24];
  digits[0] = ':';
  auto result = std::to_chars(digits + 1, digits + sizeof(digits) - 2, v);
  result.ptr[0] = '\r';
  result.ptr[1] = '\n';
  out_->append(digits, static_cast<size_t>(result.ptr + 2 - digits));
}

void RespWriter::Null() {
  if (protocol_ == 3) {
    out_->append("_\r\n");
  } else {
    out_->append("$-1\r\n");
  }
}

void RespWriter::Double(double v) {
  char text[64];
  auto result = std::to_chars(text, text + sizeof(text), v);
  std::string_view formatted(text, result.ptr - text);
  if (protocol_ == 3) {
    out_->push_back(',');
    out_->append(formatted);
    out_->append("\r\n");
  } else {
    Bulk(formatted);
  }
}

void RespWriter::Boolean(bool v) {
  if (protocol_ == 3) {
    out_->append(v ? "#t\r\n" : "#f\r\n");
  } else {
    out_->append(v ? ":1\r\n" : ":0\r\n");
  }
}

void RespWriter::Verbatim(std::string_view text) {
  if (protocol_ == 3) {
    Header('=', text.size() + 4);
    out_->append("txt:");
    out_->append(text);
    out_->append("\r\n");
  } else {
    Bulk(text);
  }
}

void RespWriter::ArrayHeader(size_t n) { Header('*', n); }

void RespWriter::MapHeader(size_t n) {
  if (protocol_ == 3) {
    Header('%', n);
  } else {
    Header('*', 2 * static_cast<uint64_t>(n));
  }
}

}  // namespace exactly::net
