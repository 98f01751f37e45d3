// RESP reply writer. Appends only; integer text comes from std::to_chars so the hot
// path formats without locale or allocation beyond the output string's growth.
#include "net/resp_writer.h"

#include <charconv>
#include <cstdio>
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
  if (reply.wire_list_only) {
    EXACTLY_ASSERT(reply.fields.size() == 1);
    Value(reply.fields[0].second);
    return;
  }
  // The one place an outcome becomes its word. A list entry (CLAIMLOG, HISTORY)
  // has no outcome of its own: only its fields.
  MapHeader(reply.fields.size() + (reply.outcome ? 1 : 0));
  if (reply.outcome) {
    Bulk("result");
    Bulk(core::OutcomeName(*reply.outcome));
  }
  for (const auto& [name, value] : reply.fields) {
    Bulk(name);
    Value(value);
  }
}

void RespWriter::Value(const core::Value& value) {
  if (const auto* integer = std::get_if<int64_t>(&value)) {
    Integer(*integer);
  } else if (const auto* text = std::get_if<std::string>(&value)) {
    Bulk(*text);
  } else {
    const auto& list = std::get<std::vector<core::Reply>>(value);
    ArrayHeader(list.size());
    for (const core::Reply& item : list) Reply(item);
  }
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
