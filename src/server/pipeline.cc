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
#include "net/cluster_slot.h"
#include "net/errors.h"
#include "net/resp_writer.h"
#include "net/session.h"
#include "server/clock.h"
#include "server/memory_usage.h"
#include "server/state_digest.h"
#include "storage/journal_format.h"

namespace exactly::server {

static_assert(core::kRecordBytesMax <= storage::kRecordPayloadBytesMax);

namespace {

int64_t MonotonicNowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

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
      ready_retry_timer_(io),
      snapshots_(io, engine, config.dir, [this] { return durable_lsn_; }),
      memory_timer_(io) {
  last_lsn_ = engine_.applied_lsn();
  durable_lsn_ = last_lsn_;  // everything recovered is on disk
  started_ms_ = base::MonotonicNowMs();
  SampleMemory();
  // Clients parked before a restart are gone; their place in the queues must go too.
  EnqueueInternal(core::cmd::DropWaiters());
}

void Pipeline::SetJournal(storage::GroupCommit* journal) {
  journal_ = journal;
  sync_hold_ = config_.sync_hold && journal_->EnableSyncHold();
}

void Pipeline::SetReplicatedLog(ReplicatedLog* log) {
  log_ = log;
  // A follower runs no batches: the parked commands of an earlier life are dropped
  // by the first batch of whichever node leads (see OnLogDone).
  batch_commands_.clear();
  batch_pending_.clear();
}

void Pipeline::Accept(boost::asio::ip::tcp::socket socket, bool tls) {
  clients_.Accept(std::move(socket), shutting_down_, tls);
}

void Pipeline::OnClosed(net::Connection& connection) {
  clients_.Forget(connection);
  Withdraw(connection);
}

void Pipeline::Withdraw(net::ReplyTarget& connection) {
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

void Pipeline::Submit(net::ReplyTarget& connection, uint64_t slot, core::Command&& command) {
  // A connection's commands of one read arrive one after another: the first one
  // says it is back.
  if (awaited_connections_ > 0 && &connection != last_submitter_ && --awaited_connections_ == 0) {
    // The last client answered by the durable report is back: its command joins
    // the batch (or is refused below), and the batch's run ends the hold.
    hold_release_due_ = true;
    ScheduleBatch();
  }
  last_submitter_ = &connection;
  if (shutting_down_) {
    connection.FillError(slot, net::kCodeErr, net::ErrShuttingDown());
    return;
  }
  if (storage_failed_ && (core::IsMutating(command.kind) || log_ != nullptr)) {
    connection.FillError(slot, net::kCodeIoErr, storage_error_);
    return;
  }
  // A follower answers no data command; a new leader holds them in the batch until
  // every entry before its term is applied here (leader_ready_).
  if (log_ != nullptr && !leader_ready_ && raft_.role != replica::Role::kLeader) {
    Redirect(connection, slot, command);
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
  // A read waiting for the gathered batch must not see this command.
  if (!batch_reads_.empty()) RunBatch();
  // A turn that brought more than one record's worth becomes several batches, each
  // its own record; they still share the journal thread's next fdatasync.
  if (!batch_commands_.empty() && batch_record_bytes_ + record_bytes > core::kBatchBytesTarget) {
    RunBatch();
  }
  batch_record_bytes_ += record_bytes;
  batch_pending_.push_back(Pending{connection.SharedTarget(), slot, command.kind});
  batch_commands_.push_back(std::move(command));
  ScheduleBatch();
}

bool Pipeline::MayGrow(const core::Command& command) {
  if (command.kind != core::CommandKind::kGroup) return core::MayGrowState(command.kind);
  return std::any_of(command.group.begin(), command.group.end(),
                     [](const core::Command& sub) { return core::MayGrowState(sub.kind); });
}

void Pipeline::EnqueueInternal(core::Command command) {
  batch_pending_.push_back(Pending{nullptr, 0, command.kind});
  batch_commands_.push_back(std::move(command));
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
  if (log_ != nullptr && !leader_ready_) return;  // run once the leader is ready
  const bool forced = batch_forced_;
  batch_forced_ = false;
  if ((batch_commands_.empty() && !forced) || (storage_failed_ && batch_commands_.empty())) {
    RunReads();
    ReleaseSyncHold();
    return;
  }
  EXACTLY_ASSERT(running_commands_.empty());
  running_commands_.swap(batch_commands_);
  running_pending_.swap(batch_pending_);
  batch_record_bytes_ = 0;
  ++stats_.batches;
  batch_sizes_.Observe(running_commands_.size());
  const Lsn lsn = last_lsn_.Next();
  engine_.ApplyBatch(running_commands_, WallClockNow(), lsn, &batch_output_);
  EXACTLY_ASSERT(batch_output_.replies.size() == running_commands_.size());
  EXACTLY_ASSERT(batch_output_.record.size() <= core::kRecordBytesMax);
  // Replicated mode: every reply and wake of the batch waits for its entry (or
  // barrier), numbered `seq`, to be committed and applied.
  const uint64_t seq = log_ != nullptr ? LogBatch(lsn) : 0;
  if (log_ == nullptr && !batch_output_.record.empty()) {
    last_lsn_ = lsn;
    ++stats_.records;
    stats_.record_bytes += batch_output_.record.size();
    snapshots_.AddJournalBytes(batch_output_.record.size());
    commit_started_us_.emplace_back(lsn, MonotonicNowUs());
    journal_->Submit(lsn, std::move(batch_output_.record));
  }
  ReleaseSyncHold();
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
    CountReply(pending.kind, batch_output_.replies[i]);
    Answer(*pending.connection, pending.slot, ReplyWait(seq, batch_output_.wait_lsn[i]),
           batch_output_.replies[i]);
  }
  for (core::BatchOutput::Wake& wake : batch_output_.wakes) {
    auto found = parked_.find(wake.waiter);
    if (found == parked_.end()) continue;
    Pending pending = std::move(found->second);
    parked_.erase(found);
    auto& waiters = pending.connection->parked_waiters;
    std::erase(waiters, wake.waiter);
    if (!pending.connection->closed()) {
      CountReply(pending.kind, wake.reply);
      Answer(*pending.connection, pending.slot, ReplyWait(seq, wake.wait_lsn), wake.reply);
    }
  }
  running_commands_.clear();
  running_pending_.clear();
  RunReads();
  ScheduleWake();
  if (log_ == nullptr && snapshots_.Due(config_.snapshot_every_bytes)) snapshots_.Start();
}

void Pipeline::SubmitRead(net::ReplyTarget& target, uint64_t slot, EngineRead read) {
  if (shutting_down_) {
    target.FillError(slot, net::kCodeErr, net::ErrShuttingDown());
    return;
  }
  if (log_ != nullptr) {
    // A follower's state may be behind, and a leader proves it still leads only
    // through a barrier in the log, which table pages do not take yet.
    target.FillError(slot, net::kCodeErr, net::ErrTablesReplicated());
    return;
  }
  if (config_.unsafe_unordered_table_reads) {
    // The negative control: the commands gathered before the read are not applied yet.
    read(engine_, last_lsn_);
    Track(target);
    return;
  }
  batch_reads_.push_back(PendingRead{target.SharedTarget(), slot, std::move(read)});
  ScheduleBatch();
}

void Pipeline::RunReads() {
  if (batch_reads_.empty()) return;
  std::vector<PendingRead> reads;
  reads.swap(batch_reads_);
  for (PendingRead& pending : reads) {
    if (pending.target->closed()) continue;
    if (storage_failed_ && last_lsn_ > durable_lsn_) {
      // The state holds changes that will never be on disk: not shown.
      pending.target->FillError(pending.slot, net::kCodeIoErr, storage_error_);
    } else {
      pending.read(engine_, last_lsn_);
    }
    Track(*pending.target);
  }
}

void Pipeline::Answer(net::ReplyTarget& connection, uint64_t slot, Lsn wait_lsn,
                      const core::Reply& reply) {
  if (storage_failed_ && wait_lsn > durable_lsn_) {
    // It was applied in memory but will never be on disk: not an acknowledgement.
    connection.FillError(slot, net::kCodeIoErr, storage_error_);
  } else {
    connection.FillReply(slot, wait_lsn, reply);
  }
  Track(connection);
}

void Pipeline::CountReply(core::CommandKind kind, const core::Reply& reply) {
  if (!reply.outcome && !reply.is_error()) return;
  const size_t column =
      reply.outcome ? static_cast<size_t>(*reply.outcome) : net::kOutcomeColumns - 1;
  ++stats_.replies[static_cast<size_t>(kind)][column];
}

void Pipeline::Track(net::ReplyTarget& connection) {
  if (connection.has_held_replies() && !connection.awaiting_durability && !connection.closed()) {
    connection.awaiting_durability = true;
    awaiting_.push_back(connection.SharedTarget());
  }
}

void Pipeline::OnDurable(Lsn lsn) {
  if (lsn <= durable_lsn_) return;
  durable_lsn_ = lsn;
  const int64_t now_us = MonotonicNowUs();
  while (!commit_started_us_.empty() && commit_started_us_.front().first <= lsn) {
    const uint64_t took_us =
        static_cast<uint64_t>(std::max<int64_t>(0, now_us - commit_started_us_.front().second));
    ++commit_latency_.batches;
    commit_latency_.total_us += took_us;
    commit_latency_.max_us = std::max(commit_latency_.max_us, took_us);
    commit_started_us_.pop_front();
  }
  const size_t answered = ReleaseAwaiting();
  if (!sync_hold_) return;
  // The journal holds its next sync for the clients just answered: each is expected
  // to send its next command soon, and the last one to come back ends the hold.
  awaited_connections_ = answered;
  last_submitter_ = nullptr;
  hold_lsn_ = lsn;
  hold_release_due_ = answered == 0;
  if (hold_release_due_) ReleaseSyncHold();
}

void Pipeline::ReleaseSyncHold() {
  if (!hold_release_due_) return;
  hold_release_due_ = false;
  journal_->ReleaseHold(hold_lsn_);
}

size_t Pipeline::ReleaseAwaiting() {
  std::vector<std::shared_ptr<net::ReplyTarget>> waiting;
  waiting.swap(awaiting_);
  size_t answered = 0;
  for (auto& connection : waiting) {
    connection->awaiting_durability = false;
    connection->Release();
    Track(*connection);
    if (!connection->awaiting_durability && !connection->closed()) ++answered;
  }
  return answered;
}

void Pipeline::OnStorageFailure(const base::Status& status) {
  if (storage_failed_) return;
  storage_failed_ = true;
  storage_error_ = net::ErrStorageFailed(status.ToString());
  std::fprintf(stderr, "exactly: storage failed, writes are stopped until restart: %s\n",
               status.ToString().c_str());
  // Every reply waiting for durability is in awaiting_, whatever its protocol.
  for (auto& connection : awaiting_) connection->FailHeld(net::kCodeIoErr, storage_error_);
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
  if (journal_ != nullptr) {
    facts.sync_latency_ns = journal_->sync_latency_ns();
    facts.records_per_sync = journal_->records_per_sync();
  }
  facts.batch_commands = batch_sizes_.Read();
  facts.counters = stats_;
  facts.counters.snapshots = snapshots_.completed();
  facts.ops_per_sec = OpsPerSec();
  facts.tables = engine_.stats();
  facts.limits = engine_.config();
  if (log_ != nullptr) {
    net::ReplicationFacts& r = facts.replication;
    r.enabled = true;
    r.node_id = config_.replication.node_id;
    r.role = raft_.role == replica::Role::kUnavailable ? "follower" : replica::RoleName(raft_.role);
    r.leader_id = raft_.leader_id;
    r.last_leader_id = last_leader_id_;
    r.leader = MemberRespAddress(raft_.leader_id);
    r.term = raft_.term;
    r.commit_index = raft_.commit_index;
    r.applied_index = raft_.applied_index;
    r.last_index = raft_.last_index;
    // The replicated configuration, which membership changes update (--peers only
    // bootstrapped it).
    for (const replica::Member& member : raft_.configuration) {
      net::ReplicationFacts::Peer& line = r.peers.emplace_back();
      line.id = member.id;
      line.resp_address = MemberRespAddress(member.id);
      line.raft_address = member.raft_address;
      line.member_role = replica::MemberRoleName(member.role);
      for (const replica::PeerProgress& progress : raft_.peers) {
        if (progress.id == member.id) line.match_index = static_cast<int64_t>(progress.match_index);
      }
    }
  }
  return facts;
}

}  // namespace exactly::server

// Replicated mode: the raft log in place of the journal (replicated_log.h).
namespace exactly::server {
namespace {

// Why a proposal ended unapplied, for the step-down's log line.
std::string ProposeFailure(const replica::ProposeResult& result) {
  switch (result.outcome) {
    case replica::ProposeOutcome::kApplied:
      break;
    case replica::ProposeOutcome::kNotLeader:
      return "a proposal found another leader";
    case replica::ProposeOutcome::kOutcomeUnknown:
      return "leadership lost with entry " + std::to_string(result.index) + " in flight";
    case replica::ProposeOutcome::kRefused:
      return "a proposal was refused: " + result.status.ToString();
  }
  return "?";
}

}  // namespace

void Pipeline::Redirect(net::ReplyTarget& connection, uint64_t slot, const core::Command& command) {
  const std::string leader = raft_.leader_id == 0 || raft_.leader_id == config_.replication.node_id
                                 ? std::string()
                                 : MemberRespAddress(raft_.leader_id);
  if (leader.empty()) {
    connection.FillError(slot, net::kCodeClusterDown, net::ErrNoLeader());
    return;
  }
  connection.FillError(slot, net::kCodeMoved, net::ErrMoved(net::CommandSlot(command), leader));
}

Lsn Pipeline::ReplyWait(uint64_t seq, Lsn engine_wait) const {
  if (log_ == nullptr) return engine_wait;
  // The negative controls' faults: Lsn{0} leaves at once, before any commit.
  if (config_.replication.unsafe_ack_before_commit || seq == 0) return Lsn{0};
  return Lsn{seq};
}

uint64_t Pipeline::LogBatch(Lsn lsn) {
  if (!batch_output_.record.empty()) {
    last_lsn_ = lsn;
    ++stats_.records;
    stats_.record_bytes += batch_output_.record.size();
    const uint64_t seq = ++proposed_seq_;
    log_->Propose(seq, lsn, batch_output_.record);
    return seq;
  }
  const bool answers = !batch_output_.wakes.empty() ||
                       std::any_of(running_pending_.begin(), running_pending_.end(),
                                   [](const Pending& p) { return p.connection != nullptr; });
  if (!answers) return 0;  // a timer batch that changed nothing: nobody to answer
  if (config_.replication.unsafe_local_reads) return 0;  // negative control: no barrier
  // Reads only: answered once a barrier proves this node still leads, since a deposed
  // leader's state may be missing writes the group has acknowledged.
  const uint64_t seq = ++proposed_seq_;
  log_->Barrier(seq);
  return seq;
}

void Pipeline::OnLogDone(uint64_t seq, const replica::ProposeResult& result) {
  if (seq == ready_barrier_seq_) {
    ready_barrier_seq_ = 0;
    if (result.outcome == replica::ProposeOutcome::kApplied && !leader_ready_) {
      // Every entry of earlier terms is applied here: batches may run on this state.
      leader_ready_ = true;
      confirmed_seq_ = std::max(confirmed_seq_, seq);
      last_lsn_ = engine_.applied_lsn();
      std::fprintf(stderr, "exactly: leader for term %llu at lsn %llu\n",
                   static_cast<unsigned long long>(raft_.term),
                   static_cast<unsigned long long>(last_lsn_.value));
      // Commands parked on an earlier leader have no client here.
      EnqueueInternal(core::cmd::DropWaiters());
    } else if (result.outcome != replica::ProposeOutcome::kApplied) {
      RetryReadyLater();
    }
    return;
  }
  if (seq <= confirmed_seq_) return;  // already answered (failed by a StepDown)
  if (result.outcome != replica::ProposeOutcome::kApplied) {
    StepDown(ProposeFailure(result));
    return;
  }
  // Entries commit in log order, so every earlier batch is committed too.
  confirmed_seq_ = seq;
  ReleaseAwaiting();
}

void Pipeline::StepDown(const std::string& why) {
  const bool speculative = leader_ready_;
  leader_ready_ = false;
  ready_barrier_seq_ = 0;
  // Held replies wait for a batch past confirmed_seq_: their outcome is unknown.
  // Every such reply is in awaiting_, whatever its protocol.
  for (auto& connection : awaiting_) {
    connection->FailHeld(net::kCodeTryAgain, net::ErrOutcomeUnknown());
  }
  confirmed_seq_ = proposed_seq_;
  ReleaseAwaiting();
  for (auto& [waiter, pending] : parked_) {
    std::erase(pending.connection->parked_waiters, waiter);
    if (!pending.connection->closed()) {
      pending.connection->FillError(pending.slot, net::kCodeTryAgain, net::ErrOutcomeUnknown());
      pending.connection->Release();
    }
  }
  parked_.clear();
  for (size_t i = 0; i < batch_commands_.size(); ++i) {
    Pending& pending = batch_pending_[i];
    if (pending.connection == nullptr || pending.connection->closed()) continue;
    Redirect(*pending.connection, pending.slot, batch_commands_[i]);
    pending.connection->Release();
  }
  batch_commands_.clear();
  batch_pending_.clear();
  batch_record_bytes_ = 0;
  wake_timer_.cancel();
  wake_at_ms_ = kNoTimeMs;
  RetryReadyLater();
  if (!speculative) return;
  // This engine applied batches the group may never commit: take the committed state.
  if (base::Status copied = log_->CopyCommittedInto(&engine_); !copied.ok()) {
    OnLogFailure(copied);
    return;
  }
  last_lsn_ = engine_.applied_lsn();
  std::fprintf(stderr, "exactly: no longer leader (%s); state reset to the committed lsn %llu\n",
               why.c_str(), static_cast<unsigned long long>(last_lsn_.value));
}

void Pipeline::RetryReadyLater() {
  if (raft_.role != replica::Role::kLeader || shutting_down_ || storage_failed_) return;
  ready_retry_timer_.expires_after(std::chrono::milliseconds(100));
  ready_retry_timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error) OnRaftStatus(replica::RaftStatus(raft_));
  });
}

void Pipeline::OnCommittedRecord(Lsn lsn, bool own, std::string_view record) {
  // Another node's entry while this one still acts as leader: it was deposed.
  if (leader_ready_ && !own) StepDown("another node's entry committed");
  if (lsn <= engine_.applied_lsn()) return;  // applied before it was proposed (own)
  if (base::Status replayed = engine_.Replay(lsn, record); !replayed.ok()) {
    OnLogFailure(replayed);
    return;
  }
  last_lsn_ = engine_.applied_lsn();
}

void Pipeline::OnRestored(std::string_view state) {
  if (leader_ready_) StepDown("a snapshot was installed");
  if (base::Status loaded = engine_.LoadState(state); !loaded.ok()) {
    OnLogFailure(loaded);
    return;
  }
  last_lsn_ = engine_.applied_lsn();
}

void Pipeline::OnRaftStatus(const replica::RaftStatus& status) {
  raft_ = status;
  if (status.leader_id != 0) last_leader_id_ = status.leader_id;
  if (status.role != replica::Role::kLeader) {
    if (leader_ready_ || ready_barrier_seq_ != 0 || proposed_seq_ > confirmed_seq_ ||
        !batch_commands_.empty()) {
      StepDown(std::string("raft role ") + replica::RoleName(status.role));
    }
    return;
  }
  if (leader_ready_ || ready_barrier_seq_ != 0 || storage_failed_) return;
  // A new leader: its barrier commits once every entry of earlier terms has.
  ready_barrier_seq_ = ++proposed_seq_;
  log_->Barrier(ready_barrier_seq_);
}

void Pipeline::OnLogFailure(const base::Status& status) {
  StepDown("log failure: " + status.ToString());
  OnStorageFailure(status);
}

net::StateDigests Pipeline::Digests() const {
  net::StateDigests digests;
  digests.applied_lsn = engine_.applied_lsn();
  digests.state = StateDigest(engine_.SaveState());
  if (log_ != nullptr) {
    digests.replicated = true;
    const std::string committed = log_->CommittedState(&digests.committed_lsn);
    digests.committed = StateDigest(committed);
  }
  return digests;
}

net::SnapshotStart Pipeline::StartSnapshot() {
  if (log_ != nullptr) {
    net::SnapshotStart start;
    start.status = net::SnapshotStart::Status::kReplicated;
    return start;
  }
  return snapshots_.Start();
}

}  // namespace exactly::server
