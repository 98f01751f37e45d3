// RaftNode: one voter of a replicated group, over C-Raft (through replica/raft_glue.h).
//
// It owns a thread that runs the node's libuv loop (disk log, TCP to the peers,
// timers). Committed entries reach the StateMachine on that thread, exactly once
// per index per process lifetime and in log order, on every voter; a restarted
// node starts from an empty StateMachine and is given its snapshot, then every
// committed entry after it again. Entries are opaque bytes: one entry will be one
// engine batch.
//
// Thread-safety: Start, Propose, Barrier, TransferLeadership, status, health and
// Stop may be called from any thread except the node's own (Stop from there would
// wait for itself). Every StateMachine method and every completion callback runs
// on the node's thread, one at a time, and must not block on another node's
// thread; completions of a node that is already stopping may instead run at once
// on the caller's thread (outcome kRefused).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/status.h"

struct exactly_raft;
struct exactly_raft_status;

namespace exactly::replica {

// One entry's payload at most (an engine batch is far smaller; the bound keeps a
// bad caller from asking the log for gigabytes).
inline constexpr std::size_t kMaxEntryBytes = 64u << 20;

// The log kept behind a snapshot must outlast the entries still in flight: with a
// trailing of 16 entries and 32 in flight, C-Raft 0.22.1 crashed (most likely a
// lagging follower sent a snapshot while it wrote its own, which the glue now
// holds off; see docs/replication.md), so Start refuses less.
inline constexpr unsigned kMinSnapshotTrailing = 64;

struct Peer {
  std::uint64_t id = 0;      // > 0
  std::string raft_address;  // IPv4 "host:port"
  // Its clients' "host:port" (empty: none). The replicated configuration stores it
  // beside the raft address ("resp@raft"), so every node, and a node added later,
  // knows where each member's clients connect.
  std::string resp_address;
};

enum class MemberRole { kVoter, kStandby, kSpare };

const char* MemberRoleName(MemberRole role);  // voter | standby | spare

// One member of the replicated configuration.
struct Member {
  std::uint64_t id = 0;
  MemberRole role = MemberRole::kVoter;
  std::string raft_address;
  std::string resp_address;  // empty when the configuration does not carry one
};

// A membership change, one at a time, on the leader (RaftNode::ChangeMembership).
struct MembershipChange {
  enum class Kind { kAdd, kAssign, kRemove };
  Kind kind = Kind::kAdd;
  std::uint64_t id = 0;
  std::string raft_address;              // kAdd
  std::string resp_address;              // kAdd
  MemberRole role = MemberRole::kVoter;  // kAssign
};

// "resp@raft" (or "raft" alone) as the configuration stores a member's address.
std::string MemberAddress(std::string_view raft_address, std::string_view resp_address);
// The inverse: splits a stored address at its last '@'.
void SplitMemberAddress(std::string_view address, std::string* raft_address,
                        std::string* resp_address);

struct RaftNodeOptions {
  std::uint64_t id = 0;
  std::string raft_address;  // this voter's IPv4 "host:port", as the peers dial it
  // Where it listens when not at raft_address (same port, another host); empty: there.
  std::string bind_address;
  std::string resp_address;  // its clients' "host:port" (may be empty)
  std::string dir;           // an existing directory, this voter's alone
  // Every voter (3 or 5), this one included. Used only on a pristine dir; later
  // starts keep the configuration they replicated. Empty: bootstrap nothing and
  // wait to be added by the group's leader (a node joining a group).
  std::vector<Peer> voters;
  // The dir holds a log and `voters` replaces its configuration (an entry appended to
  // the log): recovery after losing a quorum, on one survivor (docs/replication.md).
  bool recover = false;
  // C-Raft waits 1-2x this without a leader's message before a pre-vote. 600 ms puts a
  // kill -9 failover's p99 well under 3 s with pre-vote keeping one slow follower
  // from starting an election (docs/replication.md, "Timeouts").
  unsigned election_timeout_ms = 600;
  unsigned heartbeat_timeout_ms = 100;
  unsigned snapshot_threshold = 1024;  // entries between snapshots
  unsigned snapshot_trailing = 128;    // entries kept after one; >= kMinSnapshotTrailing
  unsigned connect_retry_ms = 1000;
};

enum class Role { kUnavailable, kFollower, kCandidate, kLeader };

const char* RoleName(Role role);

// How far the leader knows a voter's log matches its own.
struct PeerProgress {
  std::uint64_t id = 0;
  std::uint64_t match_index = 0;
};

struct RaftStatus {
  Role role = Role::kUnavailable;
  std::uint64_t id = 0;
  std::uint64_t leader_id = 0;  // 0 while unknown
  std::string leader_address;   // empty while unknown
  std::uint64_t term = 0;
  std::uint64_t commit_index = 0;
  std::uint64_t applied_index = 0;
  std::uint64_t last_index = 0;
  std::uint64_t nodelay_connections = 0;  // peer connections with TCP_NODELAY set
  // Snapshot installs held until this node's own snapshot was written (a C-Raft
  // 0.22.1 crash otherwise; docs/replication.md).
  std::uint64_t held_installs = 0;
  // On the leader, every member's match index (itself: its last index); empty on
  // a follower, which does not know them.
  std::vector<PeerProgress> peers;
  // The current configuration (the latest, committed or not), and the log index
  // it was appended at; empty and 0 on a node that has not joined yet.
  std::vector<Member> configuration;
  std::uint64_t configuration_index = 0;
  bool configuration_committed = false;
  bool change_pending = false;  // a ChangeMembership has not completed
};

enum class ProposeOutcome {
  kApplied,         // committed on a quorum and applied here, at `index`
  kNotLeader,       // refused before entering the log: nothing happened; ask the leader
  kOutcomeUnknown,  // in the log, but leadership was lost or the node stopped before
                    // its fate was known: it may still commit; retry with the same id
  kRefused,         // not proposed (stopping, too big, I/O failure): nothing happened
};

struct ProposeResult {
  ProposeOutcome outcome = ProposeOutcome::kRefused;
  std::uint64_t index = 0;  // the entry's log index when it had one
  base::Status status;      // why, for kRefused
};

// What the group replicates. Called on the node's thread only.
class StateMachine {
 public:
  virtual ~StateMachine() = default;
  // Applies the committed entry at `index` (indexes increase; they skip barriers and
  // configuration entries). A failure latches: the node applies nothing more, and
  // health() reports it.
  virtual base::Status Apply(std::uint64_t index, std::string_view entry) = 0;
  // The whole state as bytes, for the log to be compacted behind it.
  virtual base::Result<std::string> TakeSnapshot() = 0;
  // Replaces the whole state with a snapshot's bytes.
  virtual base::Status RestoreSnapshot(std::string_view bytes) = 0;
  // Role, leader, term or an index changed.
  virtual void OnStatusChanged(const RaftStatus& status) {}
};

class RaftNode {
 private:
  struct PassKey {
    explicit PassKey() = default;
  };

 public:
  using Done = std::function<void(const ProposeResult&)>;
  using TransferDone = std::function<void(std::uint64_t leader_id)>;

  // Opens (or bootstraps) the log in options.dir and starts the node's thread.
  // `machine` must outlive the node. Fails with IoError or Corruption when the log
  // cannot be opened (a corrupt segment is never set aside), InvalidArgument for
  // unusable options.
  static base::Result<std::unique_ptr<RaftNode>> Start(RaftNodeOptions options,
                                                       StateMachine* machine);

  // For Start only (PassKey is private to RaftNode).
  RaftNode(PassKey, RaftNodeOptions options, StateMachine* machine);
  RaftNode(const RaftNode&) = delete;
  RaftNode& operator=(const RaftNode&) = delete;
  ~RaftNode();  // Stop()

  // Proposes one entry; `done` runs once with its outcome (kApplied only after
  // StateMachine::Apply has run for it on this node).
  void Propose(std::string entry, Done done);
  // Appends a barrier: `done` runs with kApplied once every earlier entry is
  // applied here and this node was still leader when the barrier committed; this
  // is how a read-only burst is ordered by the log.
  void Barrier(Done done);
  // Asks the leader to hand over to `id` (0: any voter); `done` gets the leader
  // known when the transfer ended (0 if none yet).
  void TransferLeadership(std::uint64_t id, TransferDone done);
  // Changes the configuration, one change at a time, on the leader: `done` gets
  // kApplied once the new configuration is committed, kNotLeader, kOutcomeUnknown
  // (leadership lost first: it may still commit), or kRefused with the reason (a
  // change is pending, no such member, a promotion's catch-up gave up, ...).
  void ChangeMembership(MembershipChange change, Done done);

  RaftStatus status() const;
  // The current configuration (status().configuration).
  std::vector<Member> configuration() const;
  // Ok, or the first failure of StateMachine::Apply.
  base::Status health() const;

  // Closes the node: entries in flight complete with kOutcomeUnknown; the log stays
  // on disk for a later Start on the same dir. Idempotent.
  void Stop();

 private:
  struct Op;

  void Enqueue(Op op);
  void Submit(Op& op);

  // Glue callbacks (node's thread).
  static int OnApply(void* user, std::uint64_t index, const void* data, std::size_t len);
  static int OnSnapshot(void* user, const void** data, std::size_t* len);
  static int OnRestore(void* user, const void* data, std::size_t len);
  static void OnStatus(void* user, const exactly_raft_status* status);
  static void OnWoken(void* user);
  static void OnProposeDone(void* token, int code, std::uint64_t index);
  static void OnTransferDone(void* token, int code, std::uint64_t leader_id);
  static void OnChangeDone(void* token, int code, std::uint64_t index);
  void SubmitChange(Op& op);
  // Node's thread: reports the status now (OnStatus), ahead of a completion.
  void PublishStatus();

  RaftNodeOptions options_;
  StateMachine* machine_;
  exactly_raft* glue_ = nullptr;
  std::thread thread_;
  std::string snapshot_bytes_;  // node's thread: the last TakeSnapshot, until copied

  mutable std::mutex mutex_;  // guards everything below
  std::deque<Op> queue_;
  bool stop_requested_ = false;
  bool wake_closed_ = false;  // the glue's wake handle is gone: never wake again
  RaftStatus status_;
  base::Status health_;
};

}  // namespace exactly::replica
