// Forks the snapshot writer, reaps it and prunes the journal after it.
#include "server/snapshots.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <utility>

#include "storage/snapshot_format.h"
#include "storage/snapshot_writer.h"

namespace exactly::server {

Snapshots::Snapshots(boost::asio::io_context& io, core::Engine& engine, std::string dir,
                     std::function<Lsn()> durable_lsn)
    : engine_(engine), dir_(std::move(dir)), durable_lsn_(std::move(durable_lsn)), timer_(io) {
  last_lsn_ = engine_.applied_lsn();
}

Snapshots::~Snapshots() { Stop(); }

net::SnapshotStart Snapshots::Start() {
  if (running()) return {net::SnapshotStart::Status::kRunning, lsn_};
  Fork();
  if (!running()) return {net::SnapshotStart::Status::kForkFailed, Lsn{}};
  return {net::SnapshotStart::Status::kStarted, lsn_};
}

void Snapshots::Fork() {
  const Lsn lsn = engine_.applied_lsn();
  const pid_t parent = getpid();
  const pid_t child = fork();
  if (child < 0) {
    std::fprintf(stderr, "exactly: snapshot: fork failed; will retry later\n");
    return;
  }
  if (child == 0) {
    // The child owns a frozen copy of the state (copy-on-write) and nothing else:
    // it must not touch the event loop, the journal thread or stdio buffers. It
    // dies with the server and lets go of every inherited descriptor (the data
    // dir's lock, the listening socket, clients), so a server restarted at once
    // finds the dir and the port free even while the kernel is still reaping it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    close_range(3, ~0U, 0);
    const std::string state = engine_.SaveState();
    const base::Status status =
        storage::WriteSnapshot(storage::DefaultFileSystem(), dir_, lsn, state);
    _exit(status.ok() ? 0 : 1);
  }
  child_ = child;
  lsn_ = lsn;
  bytes_since_ = 0;
  Poll();
}

void Snapshots::Stop() {
  if (child_ < 0) return;
  // The journal holds everything the snapshot would; a half-written one is
  // worth less than a prompt stop.
  kill(child_, SIGKILL);
  int wait_status = 0;
  while (waitpid(child_, &wait_status, 0) < 0 && errno == EINTR) {
  }
  child_ = -1;
  timer_.cancel();
  const base::Status removed =
      storage::DefaultFileSystem().Remove(dir_ + "/" + storage::SnapshotTempFileName(lsn_));
  if (!removed.ok() && removed.code() != base::StatusCode::kNotFound) {
    std::fprintf(stderr, "exactly: removing the stopped snapshot: %s\n",
                 removed.ToString().c_str());
  }
  std::fprintf(stderr, "exactly: snapshot at lsn %llu stopped by the shutdown\n",
               static_cast<unsigned long long>(lsn_.value));
}

void Snapshots::Poll() {
  if (child_ < 0) return;
  int wait_status = 0;
  const pid_t done = waitpid(child_, &wait_status, WNOHANG);
  if (done == 0) {
    timer_.expires_after(std::chrono::milliseconds(20));
    timer_.async_wait([this](const boost::system::error_code& error) {
      if (!error) Poll();
    });
    return;
  }
  child_ = -1;
  if (done < 0 || !WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
    std::fprintf(stderr, "exactly: snapshot at lsn %llu failed; the journal still holds it all\n",
                 static_cast<unsigned long long>(lsn_.value));
    return;
  }
  ++completed_;
  last_lsn_ = lsn_;
  // Segments up to the snapshot may go only once the journal itself is durable
  // that far; otherwise a crash could leave a gap between snapshot and journal.
  if (durable_lsn_() >= lsn_) {
    const base::Status pruned = storage::PruneBefore(storage::DefaultFileSystem(), dir_, lsn_);
    if (!pruned.ok()) {
      std::fprintf(stderr, "exactly: pruning after snapshot: %s\n", pruned.ToString().c_str());
    }
  }
}

}  // namespace exactly::server
