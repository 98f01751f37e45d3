// Turns a command's relative times into absolute ones against the batch
// timestamp, so that the journal holds only absolute times and replay never
// reads a clock or the configuration.
#pragma once

#include <cstdint>

#include "core/command.h"

namespace exactly::core {

struct EngineConfig;

// Fills expires_ms, window_ms and remember_until_ms of `command` (and of every
// command of a group) for a batch at `now_ms`, and sets `resolved`. Does nothing
// to a command that is already resolved.
void Resolve(Command* command, int64_t now_ms, const EngineConfig& config);

}  // namespace exactly::core
