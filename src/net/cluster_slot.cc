// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), as Redis Cluster hashes keys.
#include "net/cluster_slot.h"

#include <string>
#include <type_traits>
#include <variant>

namespace exactly::net {
namespace {

uint16_t Crc16(std::string_view bytes) {
  uint16_t crc = 0;
  for (const char c : bytes) {
    crc ^= static_cast<uint16_t>(static_cast<uint8_t>(c)) << 8;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

}  // namespace

uint16_t KeySlot(std::string_view key) {
  const size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return static_cast<uint16_t>(Crc16(key) % kClusterSlots);
}

uint16_t CommandSlot(const core::Command& command) {
  if (command.kind == core::CommandKind::kGroup) {
    return command.group.empty() ? 0 : CommandSlot(command.group.front());
  }
  // The field that identifies the command (core/command.h's kIdentity): a claim,
  // account or IDEM key, a transfer id, a lock name.
  return std::visit(
      [](const auto& args) -> uint16_t {
        using S = std::decay_t<decltype(args)>;
        uint16_t slot = 0;
        if constexpr (requires { S::kIdentity; }) {
          core::ForEachField<S>([&](const auto& field) {
            using T = std::remove_cvref_t<decltype(args.*field.member)>;
            if constexpr (std::is_same_v<T, std::string>) {
              if (field.name == S::kIdentity) slot = KeySlot(args.*field.member);
            }
          });
        }
        return slot;
      },
      command.args);
}

}  // namespace exactly::net
