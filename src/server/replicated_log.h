// ReplicatedLog: the raft log in place of the journal, in replicated mode.
//
// The leader's loop applies each batch to its engine as a single node does and
// hands the batch's journal record (core/record_codec.h) to Propose; a batch that
// changed nothing gets a Barrier instead, so its reads are answered only once this
// node is confirmed leader by a committed log entry. Either completes through
// Sink::OnLogDone, and the batch's replies leave on kApplied: committed on a quorum's
// disks and applied here.
//
// Every committed entry is also replayed, on the raft thread, into a second engine
// that holds only committed state ("committed engine"): raft snapshots are taken from
// it, and a leader that loses its leadership with batches applied but not committed
// replaces its loop engine's state with it (CopyCommittedInto) instead of keeping
// state the group may have rolled back. Followers replay the same entries into their
// loop engine through Sink::OnCommittedRecord, in log order, so every replica's loop
// engine is what a single node would recover from the same records.
//
// Entry batching: at most kEntriesInFlight entries (or barriers) are in the log and
// not yet done; while that many are, the next batches' records queue here and are
// proposed together as one entry (log_entry.h, version 2) when one is done, and a
// barrier queued behind them rides that entry. Each seq the entry carried completes
// through OnLogDone, in seq order. An entry stops taking records at
// kEntryMergeBytes, so no merged entry keeps heartbeats waiting behind it.
//
// Threads: Start, Propose, Barrier, CopyCommittedInto, Stop on the loop thread; the
// StateMachine methods on the raft thread; every Sink call on the loop thread (posted
// to `io`, in the order the raft thread produced them).
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/units.h"
#include "core/engine.h"
#include "replica/raft_node.h"
#include "server/config.h"
#include "server/log_entry.h"

namespace exactly::server {

class ReplicatedLog final : public replica::StateMachine {
 public:
  // What the loop thread hears from the log.
  class Sink {
   public:
    virtual ~Sink() = default;
    // Batch `lsn` committed; `record` is its record, proposed by this process
    // when `own`. Bytes valid during the call.
    virtual void OnCommittedRecord(Lsn lsn, bool own, std::string_view record) = 0;
    // The log installed a snapshot: `state` (Engine::SaveState bytes) replaces the
    // state.
    virtual void OnRestored(std::string_view state) = 0;
    // Propose or Barrier number `seq` ended.
    virtual void OnLogDone(uint64_t seq, const replica::ProposeResult& result) = 0;
    virtual void OnRaftStatus(const replica::RaftStatus& status) = 0;
    // The committed engine refused an entry or a snapshot: the node applies nothing
    // more (fail-stop).
    virtual void OnLogFailure(const base::Status& status) = 0;
  };

  ReplicatedLog(boost::asio::io_context& io, const core::EngineConfig& engine_config);
  ~ReplicatedLog() override;  // Stop()
  ReplicatedLog(const ReplicatedLog&) = delete;
  ReplicatedLog& operator=(const ReplicatedLog&) = delete;

  // Opens (or bootstraps from config.peers) the raft log in `raft_dir` and starts
  // the node. `sink` must outlive this object.
  base::Status Start(const ReplicationConfig& config, const std::string& raft_dir, Sink* sink);
  // Proposes batch `lsn`'s record; OnLogDone(seq, ...) follows.
  void Propose(uint64_t seq, Lsn lsn, std::string_view record);
  // Appends a barrier; OnLogDone(seq, ...) follows.
  void Barrier(uint64_t seq);
  // A membership change or a leadership transfer; `done` runs on the loop thread.
  using ChangeDone = std::function<void(const replica::ProposeResult&)>;
  void ChangeMembership(replica::MembershipChange change, ChangeDone done);
  using TransferDone = std::function<void(uint64_t leader_id)>;
  void TransferLeadership(uint64_t id, TransferDone done);
  // Replaces `engine`'s state with the committed engine's (a leader stepping down).
  base::Status CopyCommittedInto(core::Engine* engine);
  // The committed engine's state (Engine::SaveState) and its applied LSN.
  std::string CommittedState(Lsn* applied_lsn);
  // Closes the node; proposals in flight end with kOutcomeUnknown. Idempotent.
  void Stop();

  // replica::StateMachine (raft thread).
  base::Status Apply(std::uint64_t index, std::string_view entry) override;
  base::Result<std::string> TakeSnapshot() override;
  base::Status RestoreSnapshot(std::string_view bytes) override;
  void OnStatusChanged(const replica::RaftStatus& status) override;

 private:
  struct Event {
    enum class Kind { kRecord, kRestored, kDone, kStatus, kFailure, kCall };
    Kind kind = Kind::kRecord;
    bool own = false;
    std::string bytes;                    // kRecord: the entry; kRestored: the state
    std::vector<LogEntryRecord> records;  // kRecord: where its records are in `bytes`
    std::vector<uint64_t> seqs;           // kDone: every seq the entry carried
    replica::ProposeResult result;
    replica::RaftStatus status;
    base::Status failure;
    std::function<void()> call;  // kCall: runs on the loop thread
  };

  // Loop thread: records and barriers waiting for an entry slot, proposed together.
  struct Queued {
    std::vector<uint64_t> seqs;  // in increasing order: records' and barriers'
    LogEntryWriter entry;        // count() == 0: a barrier
  };
  // Loop thread: proposes queued entries while fewer than kEntriesInFlight are.
  void Flush();
  void Send(std::vector<uint64_t> seqs, std::string entry);
  // Loop thread: ends every queued seq with `result` (the node no longer leads).
  void FailQueued(const replica::ProposeResult& result);
  // Raft or loop thread: the completion of an entry carrying `seqs`.
  replica::RaftNode::Done DoneFor(std::vector<uint64_t> seqs);

  // Any thread: queues `event` and posts a drain when none is pending.
  void Push(Event event);
  // Loop thread: hands every queued event to the sink, in order.
  void Drain();

  boost::asio::io_context& io_;
  const uint64_t incarnation_;
  Sink* sink_ = nullptr;
  std::unique_ptr<replica::RaftNode> node_;

  // Loop thread only.
  int in_flight_ = 0;
  std::deque<Queued> queued_;
  uint64_t leader_term_ = 0;  // the term queued_ was gathered in

  std::mutex committed_mutex_;  // guards committed_ (raft thread vs CopyCommittedInto)
  core::Engine committed_;

  std::mutex events_mutex_;  // guards the two below
  std::deque<Event> events_;
  bool drain_posted_ = false;
};

}  // namespace exactly::server
