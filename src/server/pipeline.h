// Pipeline: commands from every connection → batches → engine → journal → replies.
//
// Everything here runs on the event-loop thread except the journal's sync thread,
// which reports back only by posting to the loop. A batch is every data command
// that arrived since the previous batch ran: one clock reading, one ApplyBatch,
// one journal record, and (with --fsync always) one fdatasync shared by all.
// Replies are held until durable and released in order; parked commands wait
// here for the engine to wake them. The clients (server/clients.h) and the
// snapshots (server/snapshots.h) are its parts; what the session commands ask
// of the server comes through net::ServerView.
//
// In replicated mode (SetReplicatedLog) the raft log takes the journal's place: a
// batch's record becomes one raft entry (a batch without one, a barrier), its
// replies wait for that entry to be committed and applied, a follower redirects
// data commands, and a leader that loses its leadership steps down to the
// committed state (server/replicated_log.h, docs/replication.md).
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/histogram.h"
#include "core/engine.h"
#include "net/command_table.h"
#include "net/connection.h"
#include "net/server_view.h"
#include "server/clients.h"
#include "server/config.h"
#include "server/replicated_log.h"
#include "server/snapshots.h"
#include "storage/group_commit.h"

namespace exactly::server {

class Pipeline final : public net::ConnectionHandler,
                       public net::ServerView,
                       public ReplicatedLog::Sink {
 public:
  Pipeline(boost::asio::io_context& io, core::Engine& engine, const ServeConfig& config,
           std::string recovery_summary);

  // The journal the pipeline submits to; set once, before clients connect. Not owned.
  void SetJournal(storage::GroupCommit* journal);
  // Replicated mode: the raft log replaces the journal (never both). Set once,
  // before the log starts and before clients connect. Not owned.
  void SetReplicatedLog(ReplicatedLog* log);

  // A client connected (called by the listener); `tls`: to the --tls-port.
  void Accept(boost::asio::ip::tcp::socket socket, bool tls = false);

  // Posted from the journal thread.
  void OnDurable(Lsn lsn);
  void OnStorageFailure(const base::Status& status);

  // Stops taking commands and asks the event loop to end (SHUTDOWN, SIGTERM).
  void RequestShutdown() override;
  bool shutting_down() const { return shutting_down_; }
  // Whether protected mode is in force: a non-loopback bind, a default user that
  // needs no password, and
  // --protected-mode yes. Non-loopback clients are then refused.
  bool protected_mode() const { return clients_.protected_mode(); }
  void set_on_shutdown(std::function<void()> fn) { on_shutdown_ = std::move(fn); }
  // Ends a snapshot child still writing (shutdown): kills it, reaps it and removes
  // its temporary file. The journal already holds everything it would have held.
  void StopSnapshot() { snapshots_.Stop(); }

  // net::ConnectionHandler
  void OnCommand(net::Connection& connection, uint64_t slot,
                 std::span<const std::string_view> args) override;
  void OnClosed(net::Connection& connection) override;
  // Replicated mode holds replies by batch number instead of LSN: a batch's replies
  // leave once its entry (or barrier) is committed and applied.
  Lsn DurableLsn() const override { return log_ != nullptr ? Lsn{confirmed_seq_} : durable_lsn_; }
  bool StorageFailed() const override { return storage_failed_; }
  void OnBufferBytes(net::Connection&, int64_t delta) override { clients_.AddBufferBytes(delta); }
  // The HTTP port's clients: their buffers count in --maxmemory-clients with RESP's.
  void AddBufferBytes(int64_t delta) { clients_.AddBufferBytes(delta); }
  void SetOtherClients(BufferedClients* other) { clients_.SetOtherClients(other); }

  // net::ServerView: what the session commands (net/session.h) ask of the server.
  void Submit(net::ReplyTarget& target, uint64_t slot, core::Command&& command) override;
  const net::Acl& Users() const override { return *config_.acl; }
  std::vector<std::shared_ptr<net::Connection>> Clients() const override { return clients_.List(); }
  core::EngineStats Tables() const override { return engine_.stats(); }
  net::ServerFacts Facts(bool with_memory) const override;
  net::StateDigests Digests() const override;
  net::SnapshotStart StartSnapshot() override;
  // CLUSTER ADDNODE | PROMOTE | REMOVENODE | FAILOVER (server/pipeline_membership.cc).
  void ChangeMembership(const net::MembershipRequest& request,
                        std::function<void(const net::MembershipReply&)> done) override;

  // ReplicatedLog::Sink (loop thread).
  void OnCommittedRecord(Lsn lsn, bool own, std::string_view record) override;
  void OnRestored(std::string_view state) override;
  void OnLogDone(uint64_t seq, const replica::ProposeResult& result) override;
  void OnRaftStatus(const replica::RaftStatus& status) override;
  void OnLogFailure(const base::Status& status) override;

  // A client left (RESP or HTTP): its parked commands are withdrawn from the engine.
  void Withdraw(net::ReplyTarget& target);

  // A read of the engine outside the command set (the console's table pages,
  // GET /v1/tables/...). It runs on the loop thread after every command submitted
  // before it has been applied and before any submitted after it: a command that
  // arrives while a read waits closes the gathered batch first. `read` gets the
  // engine and the LSN its answer must wait for (everything applied so far), and
  // fills `slot` of `target`, which the pipeline then holds to that LSN like any
  // reply. Refused (shutting down, replicated mode, the journal failed with
  // writes not durable) with FillError instead.
  using EngineRead = std::function<void(const core::Engine& engine, Lsn wait_lsn)>;
  void SubmitRead(net::ReplyTarget& target, uint64_t slot, EngineRead read);

  // Batches journaled and then reported durable, and the time between, from the
  // start: what the console charts as commit latency.
  struct CommitLatency {
    uint64_t batches = 0;
    uint64_t total_us = 0;
    uint64_t max_us = 0;
  };
  const CommitLatency& commit_latency() const { return commit_latency_; }

 private:
  struct Pending {
    std::shared_ptr<net::ReplyTarget> connection;
    uint64_t slot;
    core::CommandKind kind;  // for the reply counts
  };

  struct PendingRead {
    std::shared_ptr<net::ReplyTarget> target;
    uint64_t slot;
    EngineRead read;
  };
  // Runs the reads queued since the last batch (SubmitRead), after it.
  void RunReads();

  // Queues a command the server itself issues (no client waits for its reply).
  void EnqueueInternal(core::Command command);
  void ScheduleBatch();
  void RunBatch();
  // Arms the timer for the engine's next timer-driven work (lease ends, WAITs).
  void ScheduleWake();
  void Answer(net::ReplyTarget& connection, uint64_t slot, Lsn wait_lsn, const core::Reply& reply);
  void Track(net::ReplyTarget& connection);
  // Releases every held reply that may leave now (the durable LSN or the confirmed
  // batch advanced). Returns how many connections were left with no reply held.
  size_t ReleaseAwaiting();
  // Ends the journal's sync hold once the connections the last durable report
  // answered have all sent their next command (storage/group_commit.h).
  void ReleaseSyncHold();

  // Replicated mode. A follower's answer to a data command: -MOVED to the leader,
  // or -CLUSTERDOWN while none is known.
  void Redirect(net::ReplyTarget& connection, uint64_t slot, const core::Command& command);
  // When a reply of batch `seq` (0: none logged) may leave: `engine_wait` on a single
  // node, the batch's number in replicated mode, at once under an unsafe test flag.
  Lsn ReplyWait(uint64_t seq, Lsn engine_wait) const;
  // Hands the batch just applied to the log: its record as an entry, or a barrier
  // when it changed nothing but has replies to order; 0 when nothing waits on it.
  uint64_t LogBatch(Lsn lsn);
  // Leadership is gone, or its outcome unknown: every held reply and parked command
  // answers -TRYAGAIN, the gathered batch is redirected, and the engine's state is
  // replaced by the committed state, dropping whatever was applied but not committed.
  // `why` goes to the log line.
  void StepDown(const std::string& why);
  // Still leader after a failed barrier or a step-down (a refused proposal): tries
  // to become ready again shortly, since no status change may come to prompt it.
  void RetryReadyLater();
  // Replicated mode: member `id`'s RESP address from the replicated configuration
  // (or --peers for a configuration that does not carry it); "" if unknown.
  std::string MemberRespAddress(uint64_t id) const;
  // A non-leader's answer to a membership command: -MOVED to the leader, or
  // -CLUSTERDOWN while none is known.
  net::MembershipReply NotLeaderReply() const;
  // The reply for a finished change (kApplied: OK).
  net::MembershipReply ChangeReply(const replica::ProposeResult& result) const;
  // The checks of a membership request against the configuration; "" if it may go.
  std::string CheckMembership(const net::MembershipRequest& request) const;
  // Counts a reply to a client's command in stats_.replies.
  void CountReply(core::CommandKind kind, const core::Reply& reply);

  // Samples the heap in use every 100 ms, for --maxmemory, and the command rate.
  void SampleMemory();
  // One sample of commands per second since the last one (INFO's
  // instantaneous_ops_per_sec averages the last 16, as Redis does).
  void SampleOps();
  uint64_t OpsPerSec() const;
  // Whether `command` may add records (a group: whether any of its commands may).
  static bool MayGrow(const core::Command& command);
  // How far the wall clock is behind the last batch timestamp (0 if it is not).
  int64_t ClockBehindMs() const;

  boost::asio::io_context& io_;
  server::Clients clients_;  // owns the connections (its poller does)
  core::Engine& engine_;
  ServeConfig config_;
  std::string recovery_summary_;
  storage::GroupCommit* journal_ = nullptr;

  // The batch being gathered, and an upper bound on its record's bytes.
  std::vector<core::Command> batch_commands_;
  std::vector<Pending> batch_pending_;
  size_t batch_record_bytes_ = 0;
  // The batch being applied: RunBatch swaps the gathered one in here, so commands
  // queued while it answers (a withdrawn waiter) start the next batch.
  std::vector<core::Command> running_commands_;
  std::vector<Pending> running_pending_;
  core::BatchOutput batch_output_;
  bool batch_scheduled_ = false;
  bool batch_forced_ = false;             // run even without commands: timers are due
  std::vector<PendingRead> batch_reads_;  // run after the gathered batch

  // When each journaled batch was handed to the journal, until it is durable.
  std::deque<std::pair<Lsn, int64_t>> commit_started_us_;
  CommitLatency commit_latency_;

  // Parked commands by waiter id: answered when the engine wakes them.
  std::unordered_map<uint64_t, Pending> parked_;
  boost::asio::steady_timer wake_timer_;
  int64_t wake_at_ms_ = kNoTimeMs;

  // The sync hold (--fsync always): connections answered by the last durable
  // report that have not sent a command since, that report's LSN, and whether the
  // last of them came back, so that the hold ends after its batch is submitted.
  bool sync_hold_ = false;
  size_t awaited_connections_ = 0;
  const void* last_submitter_ = nullptr;  // compared only: the connection of the last Submit
  Lsn hold_lsn_;
  bool hold_release_due_ = false;

  Lsn last_lsn_;     // highest LSN handed to the journal
  Lsn durable_lsn_;  // highest LSN the journal reported durable
  bool storage_failed_ = false;
  std::string storage_error_;
  bool shutting_down_ = false;
  std::function<void()> on_shutdown_;

  // Connections with replies held for durability, each listed once.
  std::vector<std::shared_ptr<net::ReplyTarget>> awaiting_;

  // Replicated mode (log_ set). Batches are numbered 1, 2, ... as they go to the log;
  // every batch up to confirmed_seq_ is committed and applied (or was failed).
  ReplicatedLog* log_ = nullptr;
  replica::RaftStatus raft_;        // the last status the log reported
  uint64_t last_leader_id_ = 0;     // the last leader this node knew of (CLUSTER SLOTS)
  bool leader_ready_ = false;       // leader, and every earlier entry is applied here
  uint64_t ready_barrier_seq_ = 0;  // the barrier that makes a new leader ready; 0: none
  uint64_t proposed_seq_ = 0;
  uint64_t confirmed_seq_ = 0;
  boost::asio::steady_timer ready_retry_timer_;
  // A membership command (its one or two changes, or a transfer) has not answered:
  // the next is refused, one change at a time.
  bool membership_busy_ = false;

  Snapshots snapshots_;
  uint64_t used_memory_bytes_ = 0;  // sampled by SampleMemory
  boost::asio::steady_timer memory_timer_;

  int64_t started_ms_ = 0;
  net::ServerCounters stats_;
  base::Histogram batch_sizes_{base::kPowerOfTwoBounds};  // commands per batch run
  std::array<uint64_t, 16> ops_per_sec_samples_{};
  size_t ops_sample_next_ = 0;
  int64_t ops_sample_ms_ = 0;
  uint64_t ops_sample_commands_ = 0;
};

}  // namespace exactly::server
