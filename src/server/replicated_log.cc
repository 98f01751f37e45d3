// The raft log behind the pipeline in replicated mode; see replicated_log.h.
#include "server/replicated_log.h"

#include <boost/asio/post.hpp>
#include <cstdio>
#include <cstring>
#include <random>
#include <utility>

#include "base/assert.h"
#include "replica/raft_dir_repair.h"

namespace exactly::server {
namespace {

// Entries in the log and not yet done, beyond which batches queue and merge.
constexpr int kEntriesInFlight = 1;
// A queued entry takes no more records once this large (a record alone may be more).
constexpr size_t kEntryMergeBytes = 1u << 20;

// Which process proposed an entry: random, so a restarted node never takes an entry
// of its previous life for one whose client is still waiting here.
uint64_t NewIncarnation() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

}  // namespace

ReplicatedLog::ReplicatedLog(boost::asio::io_context& io, const core::EngineConfig& engine_config)
    : io_(io), incarnation_(NewIncarnation()), committed_(engine_config) {}

ReplicatedLog::~ReplicatedLog() { Stop(); }

base::Status ReplicatedLog::Start(const ReplicationConfig& config, const std::string& raft_dir,
                                  Sink* sink) {
  sink_ = sink;
  replica::RaftNodeOptions options;
  options.id = config.node_id;
  // The peers dial the --peers address; --raft-bind may name another host (config.cc).
  // A node started with --join has no --peers entry: it is added at --raft-bind.
  const PeerConfig* self = config.Find(config.node_id);
  options.raft_address = self != nullptr ? self->raft_address() : config.raft_bind;
  if (options.raft_address != config.raft_bind) options.bind_address = config.raft_bind;
  options.resp_address = config.resp_address;
  options.dir = raft_dir;
  options.recover = config.recover;
  // No peers (--join): bootstrap nothing and wait for the leader to add this node.
  for (const PeerConfig& peer : config.peers) {
    options.voters.push_back(replica::Peer{peer.id, peer.raft_address(), peer.resp_address()});
  }
  // A snapshot install cut off by a crash leaves a log C-Raft refuses to load.
  auto repaired = replica::RepairInterruptedInstall(raft_dir);
  if (!repaired.ok()) return repaired.status();
  for (const std::string& note : repaired.value().notes) {
    std::fprintf(stderr, "exactly: %s\n", note.c_str());
  }
  auto node = replica::RaftNode::Start(std::move(options), this);
  if (!node.ok()) return node.status();
  node_ = std::move(node).value();
  return base::Status::Ok();
}

void ReplicatedLog::Propose(uint64_t seq, Lsn lsn, std::string_view record) {
  if (queued_.empty() && in_flight_ < kEntriesInFlight) {
    LogEntryWriter entry(incarnation_);
    entry.Add(lsn, record);
    Send({seq}, entry.Finish());
    return;
  }
  // Behind the entries in flight: into the last queued entry if it has room (a queued
  // barrier becomes this entry), else a new one.
  if (queued_.empty() ||
      (queued_.back().entry.count() > 0 &&
       queued_.back().entry.size() + kLogEntryRecordHeadBytes + record.size() > kEntryMergeBytes)) {
    queued_.push_back(Queued{{}, LogEntryWriter(incarnation_)});
  }
  queued_.back().seqs.push_back(seq);
  queued_.back().entry.Add(lsn, record);
}

void ReplicatedLog::Barrier(uint64_t seq) {
  if (queued_.empty() && in_flight_ < kEntriesInFlight) {
    Send({seq}, std::string());
    return;
  }
  // The entry (or barrier) queued last commits after everything this batch read.
  if (queued_.empty()) queued_.push_back(Queued{{}, LogEntryWriter(incarnation_)});
  queued_.back().seqs.push_back(seq);
}

void ReplicatedLog::Flush() {
  while (!queued_.empty() && in_flight_ < kEntriesInFlight) {
    Queued next = std::move(queued_.front());
    queued_.pop_front();
    Send(std::move(next.seqs), next.entry.count() > 0 ? next.entry.Finish() : std::string());
  }
}

void ReplicatedLog::Send(std::vector<uint64_t> seqs, std::string entry) {
  ++in_flight_;
  if (entry.empty()) {
    node_->Barrier(DoneFor(std::move(seqs)));
  } else {
    node_->Propose(std::move(entry), DoneFor(std::move(seqs)));
  }
}

replica::RaftNode::Done ReplicatedLog::DoneFor(std::vector<uint64_t> seqs) {
  return [this, seqs = std::move(seqs)](const replica::ProposeResult& result) {
    Event event;
    event.kind = Event::Kind::kDone;
    event.seqs = seqs;
    event.result = result;
    Push(std::move(event));
  };
}

void ReplicatedLog::FailQueued(const replica::ProposeResult& result) {
  std::deque<Queued> queued;
  queued.swap(queued_);
  for (const Queued& entry : queued) {
    for (const uint64_t seq : entry.seqs) sink_->OnLogDone(seq, result);
  }
}

void ReplicatedLog::ChangeMembership(replica::MembershipChange change, ChangeDone done) {
  node_->ChangeMembership(std::move(change),
                          [this, done = std::move(done)](const replica::ProposeResult& result) {
                            Event event;
                            event.kind = Event::Kind::kCall;
                            event.call = [done, result] { done(result); };
                            Push(std::move(event));
                          });
}

void ReplicatedLog::TransferLeadership(uint64_t id, TransferDone done) {
  node_->TransferLeadership(id, [this, done = std::move(done)](uint64_t leader_id) {
    Event event;
    event.kind = Event::Kind::kCall;
    event.call = [done, leader_id] { done(leader_id); };
    Push(std::move(event));
  });
}

base::Status ReplicatedLog::CopyCommittedInto(core::Engine* engine) {
  Lsn lsn;
  return engine->LoadState(CommittedState(&lsn));
}

std::string ReplicatedLog::CommittedState(Lsn* applied_lsn) {
  std::lock_guard<std::mutex> lock(committed_mutex_);
  *applied_lsn = committed_.applied_lsn();
  return committed_.SaveState();
}

void ReplicatedLog::Stop() {
  if (node_ != nullptr) node_->Stop();
  // Never proposed: their batches end as the ones in flight do, after them.
  for (Queued& entry : queued_) {
    Event event;
    event.kind = Event::Kind::kCall;
    event.call = [this, seqs = std::move(entry.seqs)] {
      replica::ProposeResult result;
      result.outcome = replica::ProposeOutcome::kOutcomeUnknown;
      for (const uint64_t seq : seqs) sink_->OnLogDone(seq, result);
    };
    Push(std::move(event));
  }
  queued_.clear();
}

base::Status ReplicatedLog::Apply(std::uint64_t index, std::string_view entry) {
  Event event;
  uint64_t incarnation = 0;
  base::Status replayed = DecodeLogEntry(entry, &incarnation, &event.records);
  if (replayed.ok()) {
    std::lock_guard<std::mutex> lock(committed_mutex_);
    for (const LogEntryRecord& record : event.records) {
      replayed = committed_.Replay(record.lsn, entry.substr(record.offset, record.size));
      if (!replayed.ok()) break;
    }
  }
  if (!replayed.ok()) {
    event.kind = Event::Kind::kFailure;
    event.failure = base::Status::Corruption("raft entry " + std::to_string(index) + ": " +
                                             replayed.ToString());
    Push(std::move(event));
    return replayed;
  }
  event.kind = Event::Kind::kRecord;
  event.own = incarnation == incarnation_;
  event.bytes = std::string(entry);
  Push(std::move(event));
  return base::Status::Ok();
}

base::Result<std::string> ReplicatedLog::TakeSnapshot() {
  std::lock_guard<std::mutex> lock(committed_mutex_);
  return committed_.SaveState();
}

base::Status ReplicatedLog::RestoreSnapshot(std::string_view bytes) {
  {
    std::lock_guard<std::mutex> lock(committed_mutex_);
    EXACTLY_RETURN_IF_ERROR(committed_.LoadState(bytes));
  }
  Event event;
  event.kind = Event::Kind::kRestored;
  event.bytes = std::string(bytes);
  Push(std::move(event));
  return base::Status::Ok();
}

void ReplicatedLog::OnStatusChanged(const replica::RaftStatus& status) {
  Event event;
  event.kind = Event::Kind::kStatus;
  event.status = status;
  Push(std::move(event));
}

void ReplicatedLog::Push(Event event) {
  std::lock_guard<std::mutex> lock(events_mutex_);
  events_.push_back(std::move(event));
  if (drain_posted_) return;
  drain_posted_ = true;
  boost::asio::post(io_, [this] { Drain(); });
}

void ReplicatedLog::Drain() {
  std::deque<Event> events;
  {
    std::lock_guard<std::mutex> lock(events_mutex_);
    events.swap(events_);
    drain_posted_ = false;
  }
  for (Event& event : events) {
    switch (event.kind) {
      case Event::Kind::kRecord:
        for (const LogEntryRecord& record : event.records) {
          sink_->OnCommittedRecord(
              record.lsn, event.own,
              std::string_view(event.bytes).substr(record.offset, record.size));
        }
        break;
      case Event::Kind::kRestored:
        sink_->OnRestored(event.bytes);
        break;
      case Event::Kind::kDone:
        --in_flight_;
        EXACTLY_ASSERT(in_flight_ >= 0);
        for (const uint64_t seq : event.seqs) sink_->OnLogDone(seq, event.result);
        // Not committed: the node no longer leads, and what queued behind it must
        // never be proposed (the loop engine is reset to the committed state).
        if (event.result.outcome != replica::ProposeOutcome::kApplied) FailQueued(event.result);
        Flush();
        break;
      case Event::Kind::kStatus:
        if (event.status.role != replica::Role::kLeader || event.status.term != leader_term_) {
          replica::ProposeResult lost;
          lost.outcome = replica::ProposeOutcome::kNotLeader;
          FailQueued(lost);
          leader_term_ = event.status.role == replica::Role::kLeader ? event.status.term : 0;
        }
        sink_->OnRaftStatus(event.status);
        break;
      case Event::Kind::kFailure:
        sink_->OnLogFailure(event.failure);
        break;
      case Event::Kind::kCall:
        event.call();
        break;
    }
  }
}

}  // namespace exactly::server
