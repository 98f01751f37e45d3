// Batching, durability and reply release; see pipeline.h for the shape.
#include "server/pipeline.h"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdio>
#include <utility>

#include "base/assert.h"
#include "base/monotonic_clock.h"
#include "net/errors.h"
#include "net/resp_writer.h"
#include "server/clock.h"
#include "storage/snapshot_writer.h"

namespace exactly::server {
Pipeline::Pipeline(boost::asio::io_context& io, core::Engine& engine, const ServeConfig& config,
                   std::string recovery_summary)
    : io_(io),
      poller_(io),
      engine_(engine),
      config_(config),
      recovery_summary_(std::move(recovery_summary)),
      wake_timer_(io),
      snapshot_timer_(io),
      idle_timer_(io) {
  last_lsn_ = engine_.applied_lsn();
  durable_lsn_ = last_lsn_;  // everything recovered is on disk
  last_snapshot_lsn_ = last_lsn_;
  started_ms_ = base::MonotonicNowMs();
  if (config_.idle_timeout_s > 0) SweepIdle();
  // Clients parked before a restart are gone; their place in the queues must go too.
  core::Command drop;
  drop.kind = core::CommandKind::kDropWaiters;
  EnqueueInternal(std::move(drop));
}

Pipeline::~Pipeline() = default;

void Pipeline::SetJournal(storage::GroupCommit* journal) { journal_ = journal; }

void Pipeline::Accept(boost::asio::ip::tcp::socket socket) {
  ++stats_.connections_total;
  if (shutting_down_ || connections_.size() >= config_.clients_max) {
    ++stats_.rejected_connections;
    std::string reply;
    net::RespWriter(&reply, 2).Error("ERR", "max number of clients reached");
    boost::system::error_code ignored;
    socket.write_some(boost::asio::buffer(reply), ignored);
    socket.close(ignored);
    return;
  }
  const uint64_t id = next_connection_id_++;
  auto connection =
      std::make_shared<net::Connection>(std::move(socket), id, this, connection_limits_, poller_);
  connection->authenticated = config_.requirepass.empty();
  connections_.emplace(id, connection);
  connection->Start();
}

void Pipeline::OnClosed(net::Connection& connection) {
  connections_.erase(connection.id());
  // A parked command of a client that left must never be granted.
  for (const uint64_t waiter : connection.parked_waiters) {
    if (parked_.erase(waiter) == 0) continue;
    core::Command cancel;
    cancel.kind = core::CommandKind::kCancelWaiter;
    cancel.waiter = waiter;
    EnqueueInternal(std::move(cancel));
  }
  connection.parked_waiters.clear();
}

void Pipeline::OnCommand(net::Connection& connection, uint64_t slot,
                         std::span<const std::string_view> args) {
  ++stats_.commands;
  const net::CommandSpec* spec = net::FindCommand(args[0]);
  if (spec == nullptr) {
    AnswerError(connection, slot, "ERR", net::ErrUnknownCommand(args[0], args.subspan(1)));
    if (connection.in_multi) connection.multi_failed = true;
    return;
  }
  if (std::string arity = net::CheckArity(*spec, args.size()); !arity.empty()) {
    AnswerError(connection, slot, "ERR", arity);
    if (connection.in_multi) connection.multi_failed = true;
    return;
  }
  if (!connection.authenticated && (spec->flags & net::kNoAuth) == 0) {
    AnswerError(connection, slot, "NOAUTH", "Authentication required.");
    return;
  }
  if (connection.in_multi || spec->name == "MULTI" || spec->name == "EXEC" ||
      spec->name == "DISCARD") {
    RunMultiCommand(connection, slot, *spec, args);
    return;
  }
  if ((spec->flags & net::kConnection) != 0) {
    RunServerCommand(connection, slot, *spec, args);
    return;
  }
  net::ParsedCommand parsed = spec->parse(args);
  if (!parsed.error.empty()) {
    AnswerError(connection, slot, "ERR", parsed.error);
    return;
  }
  Enqueue(connection, slot, std::move(parsed.command));
}

void Pipeline::Enqueue(net::Connection& connection, uint64_t slot, core::Command command) {
  if (shutting_down_) {
    AnswerError(connection, slot, "ERR", "server is shutting down");
    return;
  }
  if (storage_failed_ && core::IsMutating(command.kind)) {
    AnswerError(connection, slot, "IOERR", storage_error_);
    return;
  }
  batch_commands_.push_back(std::move(command));
  batch_pending_.push_back(Pending{connection.shared_from_this(), slot});
  ScheduleBatch();
}

void Pipeline::EnqueueInternal(core::Command command) {
  batch_commands_.push_back(std::move(command));
  batch_pending_.push_back(Pending{nullptr, 0});
  ScheduleBatch();
}

void Pipeline::ScheduleBatch() {
  if (batch_scheduled_) return;
  batch_scheduled_ = true;
  // Posted, not run now: every read already completed in this turn of the loop
  // joins the same batch, and so shares its fdatasync.
  boost::asio::post(io_, [this] { RunBatch(); });
}

void Pipeline::ScheduleWake() {
  const int64_t wake_ms = engine_.NextWakeMs();
  if (wake_ms == kNoTimeMs || wake_ms == wake_at_ms_) return;
  wake_at_ms_ = wake_ms;
  const int64_t delay_ms = std::max<int64_t>(0, wake_ms - WallClockNow().value);
  wake_timer_.expires_after(std::chrono::milliseconds(delay_ms));
  wake_timer_.async_wait([this](const boost::system::error_code& error) {
    if (error) return;  // re-armed for another time, or shutting down
    wake_at_ms_ = kNoTimeMs;
    batch_forced_ = true;
    ScheduleBatch();
  });
}

void Pipeline::RunBatch() {
  batch_scheduled_ = false;
  const bool forced = batch_forced_;
  batch_forced_ = false;
  if (batch_commands_.empty() && !forced) return;
  if (storage_failed_ && batch_commands_.empty()) return;
  ++stats_.batches;
  const Lsn lsn = last_lsn_.Next();
  engine_.ApplyBatch(batch_commands_, WallClockNow(), lsn, &batch_output_);
  EXACTLY_ASSERT(batch_output_.replies.size() == batch_commands_.size());
  if (!batch_output_.record.empty()) {
    last_lsn_ = lsn;
    ++stats_.records;
    stats_.record_bytes += batch_output_.record.size();
    bytes_since_snapshot_ += batch_output_.record.size();
    journal_->Submit(lsn, std::move(batch_output_.record));
  }
  for (size_t i = 0; i < batch_pending_.size(); ++i) {
    Pending& pending = batch_pending_[i];
    if (pending.connection == nullptr) continue;  // internal command
    const uint64_t waiter = batch_output_.parked.empty() ? 0 : batch_output_.parked[i];
    if (waiter != 0) {
      if (pending.connection->closed()) {
        // Gone before it was parked: withdraw it in the next batch.
        core::Command cancel;
        cancel.kind = core::CommandKind::kCancelWaiter;
        cancel.waiter = waiter;
        EnqueueInternal(std::move(cancel));
        continue;
      }
      pending.connection->parked_waiters.push_back(waiter);
      parked_.emplace(waiter, std::move(pending));
      continue;
    }
    if (pending.connection->closed()) continue;
    Answer(*pending.connection, pending.slot, batch_output_.wait_lsn[i], batch_output_.replies[i]);
  }
  for (core::BatchOutput::Wake& wake : batch_output_.wakes) {
    auto found = parked_.find(wake.waiter);
    if (found == parked_.end()) continue;
    Pending pending = std::move(found->second);
    parked_.erase(found);
    auto& waiters = pending.connection->parked_waiters;
    std::erase(waiters, wake.waiter);
    if (!pending.connection->closed()) {
      Answer(*pending.connection, pending.slot, wake.wait_lsn, wake.reply);
    }
  }
  batch_commands_.clear();
  batch_pending_.clear();
  ScheduleWake();
  if (config_.snapshot_every_bytes > 0 && bytes_since_snapshot_ >= config_.snapshot_every_bytes &&
      snapshot_child_ < 0) {
    StartSnapshot();
  }
}

void Pipeline::Answer(net::Connection& connection, uint64_t slot, Lsn wait_lsn,
                      const core::Reply& reply) {
  std::string bytes;
  net::RespWriter writer(&bytes, connection.protocol);
  if (storage_failed_ && wait_lsn > durable_lsn_) {
    // It was applied in memory but will never be on disk: not an acknowledgement.
    writer.Error("IOERR", storage_error_);
    wait_lsn = Lsn{0};
  } else {
    writer.Reply(reply);
  }
  connection.Fill(slot, wait_lsn, std::move(bytes));
  Track(connection);
}

void Pipeline::AnswerError(net::Connection& connection, uint64_t slot, std::string_view code,
                           std::string_view message) {
  std::string bytes;
  net::RespWriter(&bytes, connection.protocol).Error(code, message);
  connection.Fill(slot, Lsn{0}, std::move(bytes));
}

void Pipeline::Track(net::Connection& connection) {
  if (connection.has_held_replies() && !connection.awaiting_durability && !connection.closed()) {
    connection.awaiting_durability = true;
    awaiting_.push_back(connection.shared_from_this());
  }
}

void Pipeline::OnDurable(Lsn lsn) {
  if (lsn <= durable_lsn_) return;
  durable_lsn_ = lsn;
  std::vector<std::shared_ptr<net::Connection>> waiting;
  waiting.swap(awaiting_);
  for (auto& connection : waiting) {
    connection->awaiting_durability = false;
    connection->Release();
    Track(*connection);
  }
}

void Pipeline::OnStorageFailure(const base::Status& status) {
  if (storage_failed_) return;
  storage_failed_ = true;
  storage_error_ = "storage failed, writes are stopped: " + status.ToString();
  std::fprintf(stderr, "exactly: %s\n", storage_error_.c_str());
  std::string error_bytes;
  net::RespWriter(&error_bytes, 2).Error("IOERR", storage_error_);
  for (auto& [id, weak] : connections_) {
    if (auto connection = weak.lock()) connection->FailHeld(error_bytes);
  }
}

void Pipeline::RequestShutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  // Let the batch already queued run, so its clients get their answers.
  boost::asio::post(io_, [this] {
    RunBatch();
    if (on_shutdown_) on_shutdown_();
  });
}

void Pipeline::StartSnapshot() {
  if (snapshot_child_ >= 0) return;
  const Lsn lsn = engine_.applied_lsn();
  const pid_t child = fork();
  if (child < 0) {
    std::fprintf(stderr, "exactly: snapshot: fork failed; will retry later\n");
    return;
  }
  if (child == 0) {
    // The child owns a frozen copy of the state (copy-on-write) and nothing else:
    // it must not touch the event loop, the journal thread or stdio buffers.
    const std::string state = engine_.SaveState();
    const base::Status status =
        storage::WriteSnapshot(storage::DefaultFileSystem(), config_.dir, lsn, state);
    _exit(status.ok() ? 0 : 1);
  }
  snapshot_child_ = child;
  snapshot_lsn_ = lsn;
  bytes_since_snapshot_ = 0;
  PollSnapshot();
}

void Pipeline::PollSnapshot() {
  if (snapshot_child_ < 0) return;
  int wait_status = 0;
  const pid_t done = waitpid(snapshot_child_, &wait_status, WNOHANG);
  if (done == 0) {
    snapshot_timer_.expires_after(std::chrono::milliseconds(20));
    snapshot_timer_.async_wait([this](const boost::system::error_code& error) {
      if (!error) PollSnapshot();
    });
    return;
  }
  snapshot_child_ = -1;
  if (done < 0 || !WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
    std::fprintf(stderr, "exactly: snapshot at lsn %llu failed; the journal still holds it all\n",
                 static_cast<unsigned long long>(snapshot_lsn_.value));
    return;
  }
  ++stats_.snapshots;
  last_snapshot_lsn_ = snapshot_lsn_;
  // Segments up to the snapshot may go only once the journal itself is durable
  // that far; otherwise a crash could leave a gap between snapshot and journal.
  if (durable_lsn_ >= snapshot_lsn_) {
    const base::Status pruned =
        storage::PruneBefore(storage::DefaultFileSystem(), config_.dir, snapshot_lsn_);
    if (!pruned.ok()) {
      std::fprintf(stderr, "exactly: pruning after snapshot: %s\n", pruned.ToString().c_str());
    }
  }
}

void Pipeline::SweepIdle() {
  idle_timer_.expires_after(std::chrono::seconds(1));
  idle_timer_.async_wait([this](const boost::system::error_code& error) {
    if (error) return;
    const int64_t deadline = base::MonotonicNowMs() - config_.idle_timeout_s * 1000;
    std::vector<std::shared_ptr<net::Connection>> idle;
    for (auto& [id, weak] : connections_) {
      auto connection = weak.lock();
      if (connection && !connection->has_held_replies() &&
          connection->last_activity_ms() < deadline) {
        idle.push_back(std::move(connection));
      }
    }
    for (auto& connection : idle) connection->Close();
    SweepIdle();
  });
}

}  // namespace exactly::server
