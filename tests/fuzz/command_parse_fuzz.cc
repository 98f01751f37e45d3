// Fuzzes the family parsers directly: the first byte picks a command row, the
// rest is split into arguments at '\n'. Every accepted command must respect the
// limits the engine relies on (lengths, positive amounts, time ranges), since
// core/ asserts rather than re-validates them.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
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

void CheckKey(const std::string& key) {
  EXACTLY_ASSERT(!key.empty());
  EXACTLY_ASSERT(key.size() <= core::kKeyBytesMax);
}
void CheckOwner(const std::string& owner) {
  EXACTLY_ASSERT(!owner.empty());
  EXACTLY_ASSERT(owner.size() <= core::kOwnerBytesMax);
}
void CheckCount(int64_t count) {
  EXACTLY_ASSERT(count >= 0);
  EXACTLY_ASSERT(count <= core::kCountMax);
}
template <class T>
void CheckMove(const T& move) {
  EXACTLY_ASSERT(move.amount > 0);
  CheckKey(move.from);
  CheckKey(move.to);
  EXACTLY_ASSERT(move.from != move.to);
  CheckOwner(move.id);
}

void CheckCommand(const core::Command& c) {
  namespace cmd = core::cmd;
  EXACTLY_ASSERT(c.kind != core::CommandKind::kGroup);
  EXACTLY_ASSERT(static_cast<size_t>(c.kind) == c.args.index() + 1);
  if (const auto* claim = std::get_if<cmd::Claim>(&c.args)) {
    CheckKey(claim->key);
    CheckOwner(claim->owner);
    EXACTLY_ASSERT(claim->note.size() <= core::kNoteBytesMax);
    CheckTime(claim->time);
  } else if (const auto* unclaim = std::get_if<cmd::Unclaim>(&c.args)) {
    CheckKey(unclaim->key);
    CheckOwner(unclaim->owner);
  } else if (const auto* claim_of = std::get_if<cmd::ClaimOf>(&c.args)) {
    CheckKey(claim_of->key);
  } else if (const auto* log = std::get_if<cmd::ClaimLog>(&c.args)) {
    CheckKey(log->key);
    CheckCount(log->count);
  } else if (const auto* account = std::get_if<cmd::Account>(&c.args)) {
    CheckKey(account->key);
    if (!account->min.infinite && !account->max.infinite) {
      EXACTLY_ASSERT(account->min.value <= account->max.value);
    }
  } else if (const auto* transfer = std::get_if<cmd::Transfer>(&c.args)) {
    CheckMove(*transfer);
    EXACTLY_ASSERT(transfer->note.size() <= core::kNoteBytesMax);
    CheckTime(transfer->per);
  } else if (const auto* reserve = std::get_if<cmd::Reserve>(&c.args)) {
    CheckMove(*reserve);
    EXACTLY_ASSERT(reserve->timeout.kind == core::TimeSpec::Kind::kTtl);
    CheckTime(reserve->timeout);
  } else if (const auto* commit = std::get_if<cmd::Commit>(&c.args)) {
    CheckOwner(commit->id);
  } else if (const auto* cancel = std::get_if<cmd::Cancel>(&c.args)) {
    CheckOwner(cancel->id);
  } else if (const auto* balance = std::get_if<cmd::Balance>(&c.args)) {
    CheckKey(balance->key);
  } else if (const auto* history = std::get_if<cmd::History>(&c.args)) {
    CheckKey(history->key);
    CheckCount(history->count);
  }
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
