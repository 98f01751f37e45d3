// Redis Cluster's key slots: CRC16 (XMODEM) of the key, or of its {hash tag}, mod
// 16384. A follower names the slot in -MOVED, as cluster-aware clients expect.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/command.h"

namespace exactly::net {

inline constexpr uint16_t kClusterSlots = 16384;

// The slot of `key`: when the key holds a '{' followed later by a '}' with at least
// one byte between them, only those bytes are hashed (the hash tag).
uint16_t KeySlot(std::string_view key);

// The slot of the field that identifies a command (a claim, account or IDEM key, a
// transfer id, a lock name; a group's first command), 0 for a command without one.
uint16_t CommandSlot(const core::Command& command);

}  // namespace exactly::net
