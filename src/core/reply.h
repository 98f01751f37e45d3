// Reply: what the engine answers: its Outcome and an ordered list of named fields.
//
// The outcome stays an enum inside the engine; net/resp_writer renders it as the
// first field, `result`, with its word (core/outcome.h), then the fields, as a RESP3
// map or a RESP2 flat field/value array. Lists (CLAIMLOG, HISTORY, EXEC) are arrays
// of nested replies. An engine error (for instance ACCOUNT repeated with other
// bounds) is a Reply with `error` set, no outcome and no fields. An entry of a list
// has fields but no outcome; a parked command's placeholder has neither.
#pragma once

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "core/outcome.h"

namespace exactly::core {

struct Reply;

// A field value: an integer, a string (also "-inf"/"+inf"), or a list of replies.
using Value = std::variant<int64_t, std::string, std::vector<Reply>>;

struct Reply {
  // Every hot reply (CLAIM, TRANSFER, LOCK, LIMIT) has at most this many fields:
  // they live inside the Reply, so building one allocates nothing.
  static constexpr size_t kFieldsInline = 6;
  // The business answer; rendered as the `result` field, before `fields`.
  std::optional<Outcome> outcome;
  // The fields after `result`. Names are static strings: the engine never builds a
  // name at run time.
  boost::container::small_vector<std::pair<std::string_view, Value>, kFieldsInline> fields;
  // Non-empty for an error: the code (ERR, WRONGTYPE, ...) and its message.
  std::string error_code;
  std::string error_message;
  // A MULTI group's reply: its outcome (executed | rolled_back) and `results` for
  // the engine and its tests, but on the wire only the `results` list, one element
  // per queued command, as every client's transaction API expects of EXEC.
  bool wire_list_only = false;

  bool is_error() const { return !error_code.empty(); }

  static Reply Error(std::string code, std::string message) {
    Reply reply;
    reply.error_code = std::move(code);
    reply.error_message = std::move(message);
    return reply;
  }
  // The outcome alone; fields follow with Add. Up to kFieldsInline of them
  // allocate nothing.
  static Reply WithOutcome(Outcome outcome) {
    Reply reply;
    reply.outcome = outcome;
    return reply;
  }
  Reply& Add(std::string_view name, int64_t value) {
    fields.emplace_back(name, value);
    return *this;
  }
  Reply& Add(std::string_view name, std::string value) {
    fields.emplace_back(name, std::move(value));
    return *this;
  }
  // A string field built in its slot from `text`: no temporary string to move.
  Reply& AddText(std::string_view name, std::string_view text) {
    fields.emplace_back(std::piecewise_construct, std::forward_as_tuple(name),
                        std::forward_as_tuple(std::in_place_type<std::string>, text));
    return *this;
  }
  Reply& Add(std::string_view name, std::vector<Reply> list) {
    fields.emplace_back(name, std::move(list));
    return *this;
  }
  // Whether the reply has `outcome` and it is `expected`.
  bool Is(Outcome expected) const { return outcome.has_value() && *outcome == expected; }
  // The outcome word as the wire shows it, or "" without an outcome. For tests and
  // tools: the engine compares `outcome`, never the word.
  std::string_view result() const { return outcome ? OutcomeName(*outcome) : std::string_view(); }
};

}  // namespace exactly::core
