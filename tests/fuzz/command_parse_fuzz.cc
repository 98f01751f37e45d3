// Fuzzes the family parsers directly: the first byte picks a command row, the
// rest is split into arguments at '\n'. Every accepted command must respect the
// limits the engine relies on (lengths, positive amounts, time ranges), since
// core/ asserts rather than re-validates them.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/assert.h"
#include "core/limits.h"
#include "net/command_table.h"

namespace exactly::net {
namespace {

void CheckTime(const core::TimeSpec& time) {
  switch (time.kind) {
    case core::TimeSpec::Kind::kNone:
      break;
    case core::TimeSpec::Kind::kTtl:
      EXACTLY_ASSERT(time.ttl_ms >= 1);
      EXACTLY_ASSERT(time.ttl_ms <= core::kTtlMsMax);
      break;
    case core::TimeSpec::Kind::kUntil:
      EXACTLY_ASSERT(time.until_ms >= 0);
      EXACTLY_ASSERT(time.until_ms <= core::kTimeMsMax);
      break;
    case core::TimeSpec::Kind::kPer:
      EXACTLY_ASSERT(time.at_minutes >= 0);
      EXACTLY_ASSERT(time.at_minutes < 24 * 60);
      EXACTLY_ASSERT(time.tz_minutes >= -core::kTzMinutesMax);
      EXACTLY_ASSERT(time.tz_minutes <= core::kTzMinutesMax);
      break;
  }
  if (time.kind != core::TimeSpec::Kind::kPer) {
    EXACTLY_ASSERT(time.at_minutes == 0);
    EXACTLY_ASSERT(time.tz_minutes == 0);
  }
}

void CheckCommand(const core::Command& c) {
  using core::CommandKind;
  switch (c.kind) {
    case CommandKind::kClaim:
    case CommandKind::kUnclaim:
      EXACTLY_ASSERT(!c.owner.empty());
      EXACTLY_ASSERT(c.owner.size() <= core::kOwnerBytesMax);
      [[fallthrough]];
    case CommandKind::kClaimOf:
    case CommandKind::kClaimLog:
    case CommandKind::kAccount:
    case CommandKind::kBalance:
    case CommandKind::kHistory:
      EXACTLY_ASSERT(!c.key.empty());
      EXACTLY_ASSERT(c.key.size() <= core::kKeyBytesMax);
      break;
    case CommandKind::kTransfer:
    case CommandKind::kReserve:
      EXACTLY_ASSERT(c.amount > 0);
      EXACTLY_ASSERT(!c.from.empty() && c.from.size() <= core::kKeyBytesMax);
      EXACTLY_ASSERT(!c.to.empty() && c.to.size() <= core::kKeyBytesMax);
      EXACTLY_ASSERT(c.from != c.to);
      [[fallthrough]];
    case CommandKind::kCommit:
    case CommandKind::kCancel:
      EXACTLY_ASSERT(!c.id.empty());
      EXACTLY_ASSERT(c.id.size() <= core::kOwnerBytesMax);
      break;
    case CommandKind::kGroup:
      EXACTLY_ASSERT(false);
      break;
  }
  if (c.kind == CommandKind::kReserve) {
    EXACTLY_ASSERT(c.time.kind == core::TimeSpec::Kind::kTtl);
  }
  if (c.kind == CommandKind::kAccount && !c.min.infinite && !c.max.infinite) {
    EXACTLY_ASSERT(c.min.value <= c.max.value);
  }
  EXACTLY_ASSERT(c.note.size() <= core::kNoteBytesMax);
  EXACTLY_ASSERT(c.count >= 0);
  EXACTLY_ASSERT(c.count <= core::kCountMax);
  CheckTime(c.time);
}

}  // namespace
}  // namespace exactly::net

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace exactly::net;
  if (size == 0) return 0;
  const auto rows = AllCommands();
  const CommandSpec& row = rows[data[0] % rows.size()];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<std::string_view> args = {row.name};
  while (!rest.empty()) {
    const size_t newline = rest.find('\n');
    args.push_back(rest.substr(0, newline));
    if (newline == std::string_view::npos) break;
    rest.remove_prefix(newline + 1);
  }
  const CommandSpec* spec = nullptr;
  ParsedCommand parsed = ParseRequest(args, &spec);
  EXACTLY_ASSERT(spec == &row);
  if (parsed.error.empty() && row.parse != nullptr) CheckCommand(parsed.command);
  return 0;
}
