// RESP reply writer: appends RESP2 or RESP3 bytes for replies and plain values to a
// caller-owned string.
//
// A core::Reply becomes a RESP3 map (%N) of `result` (its outcome's word, rendered
// here and nowhere else) and its fields, or in RESP2 a flat array field, value,
// field, value... so `dict(zip(r[::2], r[1::2]))` works in any client.
// List fields (CLAIMLOG, HISTORY, EXEC) become arrays of such maps. Field names and
// string values are bulk strings (binary-safe); integers use std::to_chars.
// A reply is bounded first and then written in place: one growth of `out` per
// reply, not three appends per field (that was most of a claim's user-space time).
// Not thread-safe; the writer does not own `out`, which must outlive it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/reply.h"

namespace exactly::net {

class RespWriter {
 public:
  // `protocol` is 2 or 3 (HELLO's argument).
  RespWriter(std::string* out, int protocol);

  int protocol() const { return protocol_; }

  // A whole engine reply; an error reply becomes "-CODE message".
  void Reply(const core::Reply& reply);
  // "-CODE message\r\n". CR and LF in either part become spaces, so a message that
  // quotes user input cannot break the framing. An empty code becomes ERR.
  void Error(std::string_view code, std::string_view message);
  // "+s\r\n"; CR and LF become spaces as for Error.
  void Simple(std::string_view s);
  void Bulk(std::string_view s);
  void Integer(int64_t v);
  // RESP2 "$-1", RESP3 "_".
  void Null();
  // RESP3 ",1.5"; RESP2 a bulk string of the same text.
  void Double(double v);
  // RESP3 "#t"/"#f"; RESP2 ":1"/":0".
  void Boolean(bool v);
  // RESP3 verbatim string "=N\r\ntxt:..." (INFO); RESP2 a bulk string.
  void Verbatim(std::string_view text);
  void ArrayHeader(size_t n);
  // RESP3 "%n"; RESP2 an array of 2n elements, to be followed by n key/value pairs.
  void MapHeader(size_t n);

 private:
  void Header(char type, uint64_t n);
  // Upper bounds of the RESP size of `reply` and of a field value; WriteReply and
  // WriteValue write at most that many bytes at `p` and return the end.
  size_t ReplyBound(const core::Reply& reply) const;
  size_t ValueBound(const core::Value& value) const;
  char* WriteReply(char* p, const core::Reply& reply) const;
  char* WriteValue(char* p, const core::Value& value) const;
  // The header of a reply's map (RESP3 %n) or flat array (RESP2 *2n).
  char* WriteMapHeader(char* p, size_t n) const;

  std::string* out_;
  int protocol_;
};

}  // namespace exactly::net
