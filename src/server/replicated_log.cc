// The raft log behind the pipeline in replicated mode; see replicated_log.h.
#include "server/replicated_log.h"

#include <boost/asio/post.hpp>
#include <cstdio>
#include <cstring>
#include <random>
#include <utility>

#include "replica/raft_dir_repair.h"

namespace exactly::server {
namespace {

constexpr uint8_t kEntryVersion = 1;
constexpr size_t kEntryHeadBytes = 1 + 8 + 8;

void PutFixed64(std::string* out, uint64_t value) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  out->append(bytes, 8);
}

uint64_t GetFixed64(const char* bytes) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i)
    value |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  return value;
}

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
  std::string entry;
  entry.reserve(kEntryHeadBytes + record.size());
  entry.push_back(static_cast<char>(kEntryVersion));
  PutFixed64(&entry, lsn.value);
  PutFixed64(&entry, incarnation_);
  entry.append(record);
  node_->Propose(std::move(entry), [this, seq](const replica::ProposeResult& result) {
    Event event;
    event.kind = Event::Kind::kDone;
    event.seq = seq;
    event.result = result;
    Push(std::move(event));
  });
}

void ReplicatedLog::Barrier(uint64_t seq) {
  node_->Barrier([this, seq](const replica::ProposeResult& result) {
    Event event;
    event.kind = Event::Kind::kDone;
    event.seq = seq;
    event.result = result;
    Push(std::move(event));
  });
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
}

base::Status ReplicatedLog::Apply(std::uint64_t index, std::string_view entry) {
  if (entry.size() < kEntryHeadBytes || static_cast<uint8_t>(entry[0]) != kEntryVersion) {
    base::Status bad = base::Status::Corruption("raft entry " + std::to_string(index) +
                                                " is not a version 1 exactly entry");
    Event event;
    event.kind = Event::Kind::kFailure;
    event.failure = bad;
    Push(std::move(event));
    return bad;
  }
  const Lsn lsn{GetFixed64(entry.data() + 1)};
  const bool own = GetFixed64(entry.data() + 9) == incarnation_;
  const std::string_view record = entry.substr(kEntryHeadBytes);
  base::Status replayed;
  {
    std::lock_guard<std::mutex> lock(committed_mutex_);
    replayed = committed_.Replay(lsn, record);
  }
  Event event;
  if (!replayed.ok()) {
    event.kind = Event::Kind::kFailure;
    event.failure = base::Status::Corruption("raft entry " + std::to_string(index) + ": " +
                                             replayed.ToString());
    Push(std::move(event));
    return replayed;
  }
  event.kind = Event::Kind::kRecord;
  event.lsn = lsn;
  event.own = own;
  event.bytes = std::string(record);
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
        sink_->OnCommittedRecord(event.lsn, event.own, event.bytes);
        break;
      case Event::Kind::kRestored:
        sink_->OnRestored(event.bytes);
        break;
      case Event::Kind::kDone:
        sink_->OnLogDone(event.seq, event.result);
        break;
      case Event::Kind::kStatus:
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
