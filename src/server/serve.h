// Serve and Check: the two things `exactly` does with a data directory.
#pragma once

#include <string>

#include "server/config.h"

namespace exactly::server {

// Recovers the data dir, listens and serves until SHUTDOWN or SIGTERM/SIGINT.
// Returns the process exit code: 0 after a clean shutdown, non-zero when the
// data dir cannot be recovered or the port cannot be bound.
int Serve(const ServeConfig& config);

// Verifies a data dir without changing it and prints what it found.
// 0: every record readable (a torn tail is reported, it is cut at the next start);
// 1: corruption (the message names the file and offset and how to repair).
int Check(const std::string& dir);

// Cuts the journal at its first bad record, keeping every record before it.
int Repair(const std::string& dir);

}  // namespace exactly::server
