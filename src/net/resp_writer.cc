// RESP reply writer. Appends only; integer text comes from std::to_chars so the hot
// path formats without locale or allocation beyond the output string's growth.
#include "net/resp_writer.h"

#include <charconv>
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

// Decimal digits of `n`.
size_t Digits(uint64_t n) {
  size_t digits = 1;
  while (n >= 10) {
    n /= 10;
    ++digits;
  }
  return digits;
}

// Sizes of "<type>n\r\n", "$n\r\n<n bytes>\r\n" and ":v\r\n".
size_t HeaderSize(uint64_t n) { return 1 + Digits(n) + 2; }
size_t BulkSize(size_t length) { return HeaderSize(length) + length + 2; }
size_t IntegerSize(int64_t v) {
  const uint64_t magnitude = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  return 1 + (v < 0 ? 1 : 0) + Digits(magnitude) + 2;
}

char* PutBytes(char* p, std::string_view bytes) {
  std::memcpy(p, bytes.data(), bytes.size());
  return p + bytes.size();
}
char* PutCrLf(char* p) {
  p[0] = '\r';
  p[1] = '\n';
  return p + 2;
}
// The buffer was sized by the *Size functions, so to_chars always has room.
char* PutHeader(char* p, char type, uint64_t n) {
  *p++ = type;
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
  const size_t start = out_->size();
  const size_t size = ReplySize(reply);
  out_->resize(start + size);
  char* end = WriteReply(out_->data() + start, reply);
  EXACTLY_ASSERT(end == out_->data() + start + size);
}

size_t RespWriter::ReplySize(const core::Reply& reply) const {
  if (reply.is_error()) {
    // Only a MULTI group's results hold errors; rare enough to render twice.
    std::string text;
    RespWriter(&text, protocol_).Error(reply.error_code, reply.error_message);
    return text.size();
  }
  if (reply.wire_list_only) {
    EXACTLY_ASSERT(reply.fields.size() == 1);
    return ValueSize(reply.fields[0].second);
  }
  const size_t entries = reply.fields.size() + (reply.outcome ? 1 : 0);
  size_t size = HeaderSize(protocol_ == 3 ? entries : 2 * entries);
  if (reply.outcome)
    size += BulkSize(kResultName.size()) + BulkSize(core::OutcomeName(*reply.outcome).size());
  for (const auto& [name, value] : reply.fields) size += BulkSize(name.size()) + ValueSize(value);
  return size;
}

size_t RespWriter::ValueSize(const core::Value& value) const {
  if (const auto* integer = std::get_if<int64_t>(&value)) return IntegerSize(*integer);
  if (const auto* text = std::get_if<std::string>(&value)) return BulkSize(text->size());
  const auto& list = std::get<std::vector<core::Reply>>(value);
  size_t size = HeaderSize(list.size());
  for (const core::Reply& item : list) size += ReplySize(item);
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
