// Batching, durability and reply release; see pipeline.h for the shape.
#include "server/pipeline.h"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdio>
#include <utility>

#include "base/assert.h"
#include "base/monotonic_clock.h"
#include "core/limits.h"
#include "core/record_codec.h"
#include "net/errors.h"
#include "net/resp_writer.h"
#include "net/session.h"
#include "server/clock.h"
#include "server/memory_usage.h"
#include "storage/journal_format.h"

namespace exactly::server {

static_assert(core::kRecordBytesMax <= storage::kRecordPayloadBytesMax);

namespace {

std::string_view FsyncName(storage::FsyncMode mode) {
  switch (mode) {
    case storage::FsyncMode::kAlways:
      return "always";
    case storage::FsyncMode::kEverySec:
      return "everysec";
    case storage::FsyncMode::kNo:
      return "no";
  }
  return "?";
}

}  // namespace

Pipeline::Pipeline(boost::asio::io_context& io, core::Engine& engine, const ServeConfig& config,
                   std::string recovery_summary)
    : io_(io),
      clients_(io, config, this, &stats_),
      engine_(engine),
      config_(config),
      recovery_summary_(std::move(recovery_summary)),
      wake_timer_(io),
      snapshots_(io, engine, config.dir, [this] { return durable_lsn_; }),
      memory_timer_(io) {
  last_lsn_ = engine_.applied_lsn();
  durable_lsn_ = last_lsn_;  // everything recovered is on disk
  started_ms_ = base::MonotonicNowMs();
  SampleMemory();
  // Clients parked before a restart are gone; their place in the queues must go too.
  EnqueueInternal(core::cmd::DropWaiters());
}

void Pipeline::SetJournal(storage::GroupCommit* journal) { journal_ = journal; }

void Pipeline::Accept(boost::asio::ip::tcp::socket socket) {
  clients_.Accept(std::move(socket), shutting_down_);
}

void Pipeline::OnClosed(net::Connection& connection) {
  clients_.Forget(connection);
  // A parked command of a client that left must never be granted.
  for (const uint64_t waiter : connection.parked_waiters) {
    if (parked_.erase(waiter) == 0) continue;
    core::cmd::CancelWaiter cancel;
    cancel.waiter = waiter;
    EnqueueInternal(cancel);
  }
  connection.parked_waiters.clear();
}

void Pipeline::OnCommand(net::Connection& connection, uint64_t slot,
                         std::span<const std::string_view> args) {
  ++stats_.commands;
  net::RunCommand(*this, connection, slot, args);
}

void Pipeline::Submit(net::Connection& connection, uint64_t slot, core::Command&& command) {
  if (shutting_down_) {
    connection.FillError(slot, net::kCodeErr, net::ErrShuttingDown());
    return;
  }
  if (storage_failed_ && core::IsMutating(command.kind)) {
    connection.FillError(slot, net::kCodeIoErr, storage_error_);
    return;
  }
  if (config_.maxmemory_bytes > 0 && used_memory_bytes_ > config_.maxmemory_bytes &&
      MayGrow(command)) {
    ++stats_.oom_refusals;
    connection.FillError(slot, net::kCodeOom,
                         net::ErrOom(used_memory_bytes_, config_.maxmemory_bytes));
    return;
  }
  const size_t record_bytes = core::RecordBytesBound(command);
  if (record_bytes > core::kRecordBytesMax - core::kRecordHeadBytesMax) {
    // Input never reaches the journal's own limit, which would stop all writes.
    connection.FillError(slot, net::kCodeErr,
                         command.kind == core::CommandKind::kGroup
                             ? net::ErrGroupTooLarge(record_bytes, core::kRecordBytesMax)
                             : net::ErrCommandTooLarge(record_bytes, core::kRecordBytesMax));
    return;
  }
  // A turn that brought more than one record's worth becomes several batches, each
  // its own record; they still share the journal thread's next fdatasync.
  if (!batch_commands_.empty() && batch_record_bytes_ + record_bytes > core::kBatchBytesTarget) {
    RunBatch();
  }
  batch_record_bytes_ += record_bytes;
  batch_commands_.push_back(std::move(command));
  batch_pending_.push_back(Pending{connection.shared_from_this(), slot});
  ScheduleBatch();
}

bool Pipeline::MayGrow(const core::Command& command) {
  if (command.kind != core::CommandKind::kGroup) return core::MayGrowState(command.kind);
  return std::any_of(command.group.begin(), command.group.end(),
                     [](const core::Command& sub) { return core::MayGrowState(sub.kind); });
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
  EXACTLY_ASSERT(running_commands_.empty());
  running_commands_.swap(batch_commands_);
  running_pending_.swap(batch_pending_);
  batch_record_bytes_ = 0;
  ++stats_.batches;
  const Lsn lsn = last_lsn_.Next();
  engine_.ApplyBatch(running_commands_, WallClockNow(), lsn, &batch_output_);
  EXACTLY_ASSERT(batch_output_.replies.size() == running_commands_.size());
  EXACTLY_ASSERT(batch_output_.record.size() <= core::kRecordBytesMax);
  if (!batch_output_.record.empty()) {
    last_lsn_ = lsn;
    ++stats_.records;
    stats_.record_bytes += batch_output_.record.size();
    snapshots_.AddJournalBytes(batch_output_.record.size());
    journal_->Submit(lsn, std::move(batch_output_.record));
  }
  for (size_t i = 0; i < running_pending_.size(); ++i) {
    Pending& pending = running_pending_[i];
    if (pending.connection == nullptr) continue;  // internal command
    const uint64_t waiter = batch_output_.parked.empty() ? 0 : batch_output_.parked[i];
    if (waiter != 0) {
      if (pending.connection->closed()) {
        // Gone before it was parked: withdraw it in the next batch.
        core::cmd::CancelWaiter cancel;
        cancel.waiter = waiter;
        EnqueueInternal(cancel);
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
  running_commands_.clear();
  running_pending_.clear();
  ScheduleWake();
  if (snapshots_.Due(config_.snapshot_every_bytes)) snapshots_.Start();
}

void Pipeline::Answer(net::Connection& connection, uint64_t slot, Lsn wait_lsn,
                      const core::Reply& reply) {
  // Rendered into one reused buffer; Fill copies the bytes where they wait.
  reply_bytes_.clear();
  net::RespWriter writer(&reply_bytes_, connection.protocol);
  if (storage_failed_ && wait_lsn > durable_lsn_) {
    // It was applied in memory but will never be on disk: not an acknowledgement.
    writer.Error(net::kCodeIoErr, storage_error_);
    wait_lsn = Lsn{0};
  } else {
    writer.Reply(reply);
  }
  connection.Fill(slot, wait_lsn, reply_bytes_);
  Track(connection);
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
  storage_error_ = net::ErrStorageFailed(status.ToString());
  std::fprintf(stderr, "exactly: storage failed, writes are stopped until restart: %s\n",
               status.ToString().c_str());
  std::string error_bytes;
  net::RespWriter(&error_bytes, 2).Error(net::kCodeIoErr, storage_error_);
  for (auto& connection : clients_.List()) connection->FailHeld(error_bytes);
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

}  // namespace exactly::server

namespace exactly::server {

void Pipeline::SampleMemory() {
  used_memory_bytes_ = UsedMemoryBytes();
  SampleOps();
  memory_timer_.expires_after(std::chrono::milliseconds(100));
  memory_timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error) SampleMemory();
  });
}

void Pipeline::SampleOps() {
  const int64_t now_ms = base::MonotonicNowMs();
  if (ops_sample_ms_ != 0 && now_ms > ops_sample_ms_) {
    ops_per_sec_samples_[ops_sample_next_] = (stats_.commands - ops_sample_commands_) * 1000 /
                                             static_cast<uint64_t>(now_ms - ops_sample_ms_);
    ops_sample_next_ = (ops_sample_next_ + 1) % ops_per_sec_samples_.size();
  }
  ops_sample_ms_ = now_ms;
  ops_sample_commands_ = stats_.commands;
}

uint64_t Pipeline::OpsPerSec() const {
  uint64_t sum = 0;
  for (uint64_t rate : ops_per_sec_samples_) sum += rate;
  return sum / ops_per_sec_samples_.size();
}

int64_t Pipeline::ClockBehindMs() const {
  return std::max<int64_t>(0, engine_.last_timestamp().value - WallClockNow().value);
}

net::ServerFacts Pipeline::Facts(bool with_memory) const {
  net::ServerFacts facts;
  facts.process_id = getpid();
  facts.port = config_.port;
  facts.uptime_s = (base::MonotonicNowMs() - started_ms_) / 1000;
  facts.dir = config_.dir;
  facts.recovery = recovery_summary_;
  facts.clock_behind_ms = ClockBehindMs();
  facts.protected_mode = clients_.protected_mode();
  if (with_memory) {
    facts.used_memory_bytes = UsedMemoryBytes();
    facts.rss_bytes = RssBytes();
  }
  facts.maxmemory_bytes = config_.maxmemory_bytes;
  facts.client_buffer_bytes = clients_.buffer_bytes();
  facts.maxmemory_clients_bytes = config_.maxmemory_clients_bytes;
  facts.connected_clients = clients_.size();
  facts.clients_max = config_.clients_max;
  facts.parked_clients = parked_.size();
  facts.fsync = FsyncName(config_.fsync);
  facts.applied_lsn = engine_.applied_lsn();
  facts.durable_lsn = durable_lsn_;
  facts.storage_failed = storage_failed_;
  facts.snapshot_in_progress = snapshots_.running();
  facts.last_snapshot_lsn = snapshots_.last_lsn();
  facts.journal_bytes_since_snapshot = snapshots_.bytes_since();
  facts.syncs = journal_ != nullptr ? journal_->syncs() : 0;
  facts.synced_records = journal_ != nullptr ? journal_->synced_records() : 0;
  facts.counters = stats_;
  facts.counters.snapshots = snapshots_.completed();
  facts.ops_per_sec = OpsPerSec();
  facts.tables = engine_.stats();
  facts.limits = engine_.config();
  return facts;
}

}  // namespace exactly::server
