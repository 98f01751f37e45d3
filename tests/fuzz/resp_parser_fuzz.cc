// Fuzzes net/resp_parser and everything a parsed frame reaches: the command table,
// the family parsers and the error writer. Checks, beyond "no crash":
//  - a frame's args lie inside the buffer and consumed bytes advance;
//  - every strict prefix of a parsed frame needs more bytes (no early accept);
//  - re-encoding the args as multibulk parses back to the same args;
//  - error replies are single RESP lines.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/assert.h"
#include "net/command_table.h"
#include "net/resp_parser.h"
#include "net/resp_writer.h"

namespace exactly::net {
namespace {

std::string Encode(const std::vector<std::string_view>& args) {
  std::string frame = "*" + std::to_string(args.size()) + "\r\n";
  for (std::string_view arg : args) {
    frame += "$" + std::to_string(arg.size()) + "\r\n";
    frame.append(arg);
    frame += "\r\n";
  }
  return frame;
}

void CheckFrame(std::string_view buffer, const ParserLimits& limits, const ParseResult& result,
                const std::vector<std::string_view>& args) {
  EXACTLY_ASSERT(result.consumed > 0);
  EXACTLY_ASSERT(result.consumed <= buffer.size());
  for (std::string_view arg : args) {
    EXACTLY_ASSERT(arg.data() >= buffer.data());
    EXACTLY_ASSERT(arg.data() + arg.size() <= buffer.data() + result.consumed);
    EXACTLY_ASSERT(arg.size() <= limits.bulk_bytes_max);
  }
  EXACTLY_ASSERT(args.size() <= limits.args_max);
  std::vector<std::string_view> scratch;
  for (size_t cut : {result.consumed - 1, result.consumed / 2}) {
    ParseResult prefix = ParseCommand(buffer.substr(0, cut), limits, &scratch);
    EXACTLY_ASSERT(prefix.status == ParseStatus::kNeedMore);
  }
  const std::string again = Encode(args);
  ParseResult reparsed = ParseCommand(again, limits, &scratch);
  if (args.empty()) {
    EXACTLY_ASSERT(reparsed.status == ParseStatus::kCommand);
    EXACTLY_ASSERT(scratch.empty());
    return;
  }
  EXACTLY_ASSERT(reparsed.status == ParseStatus::kCommand);
  EXACTLY_ASSERT(reparsed.consumed == again.size());
  EXACTLY_ASSERT(scratch == args);
}

void Dispatch(std::span<const std::string_view> args) {
  if (args.empty()) return;
  const CommandSpec* spec = nullptr;
  ParsedCommand parsed = ParseRequest(args, &spec);
  std::string out;
  RespWriter writer(&out, 3);
  if (!parsed.error.empty()) {
    writer.Error("ERR", parsed.error);
    EXACTLY_ASSERT(out.find("\r\n") == out.size() - 2);
    EXACTLY_ASSERT(out.find('\n') == out.size() - 1);
  } else if (spec != nullptr && spec->name == "COMMAND") {
    WriteCommandReply(writer, args);
    EXACTLY_ASSERT(!out.empty());
  }
}

}  // namespace
}  // namespace exactly::net

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace exactly::net;
  if (size == 0) return 0;
  // The first byte picks small or default limits, so both the limit checks and
  // long frames get explored.
  ParserLimits limits;
  if (data[0] & 1) {
    limits.bulk_bytes_max = 16;
    limits.args_max = 4;
    limits.inline_bytes_max = 16;  // never above bulk_bytes_max, as in net/limits.h
  }
  std::string_view buffer(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<std::string_view> args;
  while (!buffer.empty()) {
    ParseResult result = ParseCommand(buffer, limits, &args);
    if (result.status == ParseStatus::kError) {
      EXACTLY_ASSERT(!result.error.empty());
      break;
    }
    if (result.status == ParseStatus::kNeedMore) break;
    CheckFrame(buffer, limits, result, args);
    Dispatch(args);
    buffer.remove_prefix(result.consumed);
  }
  return 0;
}
