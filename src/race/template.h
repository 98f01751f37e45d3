// Per-request templating: `{{i}}`, `{{user}}`, `{{rand}}` and `{{round}}` in the URL,
// headers, body and RESP command of `exactly race`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace exactly::race {

// The values one request's template sees.
struct TemplateVars {
  int64_t i = 1;      // request number in the round, 1-based
  int64_t round = 1;  // round number, 1-based
  std::string user;   // the request's user (empty when no --users)
  uint64_t rand = 0;  // seeded per (seed, round, i): the same run gives the same values
};

// Checks that every `{{name}}` in `text` names a known variable, so a typo is a usage
// error before anything is sent rather than a literal `{{usr}}` on the wire.
base::Status CheckTemplate(std::string_view text);

// Replaces every `{{name}}` (spaces inside the braces allowed) by its value.
// Unknown names are left as they are; CheckTemplate rejects them beforehand.
std::string Expand(std::string_view text, const TemplateVars& vars);

// The deterministic per-request random value: splitmix64 over (seed, round, i).
uint64_t SeededRand(uint64_t seed, int64_t round, int64_t i);

// `--users N` gives user1..userN; `--users FILE` gives the file's non-empty lines.
// Fails when a file cannot be read or holds no user.
base::Result<std::vector<std::string>> LoadUsers(const std::string& spec);

// The user of request i (1-based): users are dealt round-robin.
const std::string& UserFor(const std::vector<std::string>& users, int64_t i);

}  // namespace exactly::race
