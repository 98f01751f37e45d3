// StateDigest: a fingerprint of an engine's durable state, for INFO digest.
//
// Two replicas at the same applied LSN must hold the same state; comparing their
// digests checks that without reading every record through the protocol (followers
// answer data commands with -MOVED). The digest is XXH3-64 over Engine::SaveState's
// canonical bytes (core/state_codec.h: tables in key order) minus the batch clock:
// a leader's read-only batches raise its clock without a log entry, so the clock is
// the one field replicas may disagree on in the same state.
#pragma once

#include <cstdint>
#include <string_view>

namespace exactly::server {

// Digest of `saved_state` (Engine::SaveState bytes); 0 for bytes too short to hold the
// state's header.
uint64_t StateDigest(std::string_view saved_state);

}  // namespace exactly::server
