// Snapshots: a forked child writes the whole state while the event loop goes on;
// once it has finished, and the journal is durable as far as it covers, the
// journal segments before it are deleted.
//
// Thread-safety: none; everything runs on the event-loop thread. The child shares
// nothing with the loop but the frozen copy-on-write state.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <string>

#include "base/units.h"
#include "core/engine.h"
#include "net/server_view.h"

namespace exactly::server {

class Snapshots {
 public:
  // `dir` is the data dir; `durable_lsn` says how far the journal is durable (the
  // segments a snapshot covers go only once it is). The engine must outlive this.
  Snapshots(boost::asio::io_context& io, core::Engine& engine, std::string dir,
            std::function<Lsn()> durable_lsn);
  // Stops a child still writing.
  ~Snapshots();
  Snapshots(const Snapshots&) = delete;
  Snapshots& operator=(const Snapshots&) = delete;

  // Forks a child that writes the state at the engine's applied LSN, unless one
  // is running. A failed fork is reported on stderr and answered kForkFailed.
  net::SnapshotStart Start();
  // Counts journal bytes written since the last snapshot started.
  void AddJournalBytes(uint64_t bytes) { bytes_since_ += bytes; }
  // Whether `every_bytes` (0: never) journal bytes were written since the last
  // snapshot started and none is running: time for another.
  bool Due(uint64_t every_bytes) const {
    return every_bytes > 0 && bytes_since_ >= every_bytes && !running();
  }
  // Ends a child still writing (shutdown): kills it, reaps it and removes its
  // temporary file. The journal already holds everything it would have held.
  void Stop();

  bool running() const { return child_ >= 0; }
  Lsn last_lsn() const { return last_lsn_; }  // newest snapshot known complete
  uint64_t bytes_since() const { return bytes_since_; }
  uint64_t completed() const { return completed_; }

 private:
  void Fork();
  // Reaps the child once it exits (checked every 20 ms), then prunes the journal.
  void Poll();

  core::Engine& engine_;
  std::string dir_;
  std::function<Lsn()> durable_lsn_;
  boost::asio::steady_timer timer_;
  pid_t child_ = -1;
  Lsn lsn_;       // LSN the running (or last) snapshot covers
  Lsn last_lsn_;  // newest snapshot known complete
  uint64_t bytes_since_ = 0;
  uint64_t completed_ = 0;
};

}  // namespace exactly::server
