// RaftNode: the C++ face of one voter; the C-Raft calls are in raft_glue.c.
#include "replica/raft_node.h"

#include <pthread.h>
#include <signal.h>

#include <utility>

#include "base/assert.h"
#include "replica/raft_glue.h"

namespace exactly::replica {

struct RaftNode::Op {
  enum class Kind { kPropose, kBarrier, kTransfer };
  Kind kind = Kind::kPropose;
  std::string entry;
  std::uint64_t target_id = 0;
  Done done;
  TransferDone transfer_done;
};

namespace {

base::Status StatusFromCode(int code, const std::string& message) {
  switch (code) {
    case EXACTLY_RAFT_CORRUPT:
      return base::Status::Corruption(message);
    case EXACTLY_RAFT_INVALID:
      return base::Status::InvalidArgument(message);
    default:
      return base::Status::IoError(message);
  }
}

ProposeResult ResultFromCode(int code, std::uint64_t index) {
  ProposeResult result;
  result.index = index;
  switch (code) {
    case EXACTLY_RAFT_OK:
      result.outcome = ProposeOutcome::kApplied;
      break;
    case EXACTLY_RAFT_NOT_LEADER:
      result.outcome = ProposeOutcome::kNotLeader;
      break;
    case EXACTLY_RAFT_UNKNOWN:
      result.outcome = ProposeOutcome::kOutcomeUnknown;
      break;
    default:
      result.outcome = ProposeOutcome::kRefused;
      result.status = StatusFromCode(code, exactly_raft_code_name(code));
      break;
  }
  return result;
}

ProposeResult Refused(base::Status status) {
  ProposeResult result;
  result.outcome = ProposeOutcome::kRefused;
  result.status = std::move(status);
  return result;
}

RaftStatus ConvertStatus(const exactly_raft_status& s) {
  RaftStatus status;
  switch (s.role) {
    case EXACTLY_RAFT_ROLE_FOLLOWER:
      status.role = Role::kFollower;
      break;
    case EXACTLY_RAFT_ROLE_CANDIDATE:
      status.role = Role::kCandidate;
      break;
    case EXACTLY_RAFT_ROLE_LEADER:
      status.role = Role::kLeader;
      break;
    default:
      status.role = Role::kUnavailable;
      break;
  }
  status.id = s.id;
  status.leader_id = s.leader_id;
  status.leader_address = s.leader_address;
  status.term = s.term;
  status.commit_index = s.commit_index;
  status.applied_index = s.applied_index;
  status.last_index = s.last_index;
  status.nodelay_connections = s.nodelay_connections;
  status.held_installs = s.held_installs;
  return status;
}

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
    case Role::kUnavailable:
      break;
  }
  return "unavailable";
}

RaftNode::RaftNode(PassKey, RaftNodeOptions options, StateMachine* machine)
    : options_(std::move(options)), machine_(machine) {}

base::Result<std::unique_ptr<RaftNode>> RaftNode::Start(RaftNodeOptions options,
                                                        StateMachine* machine) {
  if (machine == nullptr) return base::Status::InvalidArgument("raft: no state machine");
  if (options.snapshot_trailing < kMinSnapshotTrailing) {
    return base::Status::InvalidArgument("raft: snapshot_trailing below kMinSnapshotTrailing");
  }
  auto node = std::make_unique<RaftNode>(PassKey(), std::move(options), machine);
  const RaftNodeOptions& o = node->options_;

  std::vector<exactly_raft_peer> voters;
  voters.reserve(o.voters.size());
  for (const Peer& peer : o.voters) voters.push_back({peer.id, peer.raft_address.c_str()});
  exactly_raft_options glue_options{};
  glue_options.id = o.id;
  glue_options.address = o.raft_address.c_str();
  glue_options.bind_address = o.bind_address.empty() ? nullptr : o.bind_address.c_str();
  glue_options.dir = o.dir.c_str();
  glue_options.voters = voters.data();
  glue_options.n_voters = static_cast<unsigned>(voters.size());
  glue_options.election_timeout_ms = o.election_timeout_ms;
  glue_options.heartbeat_timeout_ms = o.heartbeat_timeout_ms;
  glue_options.snapshot_threshold = o.snapshot_threshold;
  glue_options.snapshot_trailing = o.snapshot_trailing;
  glue_options.connect_retry_ms = o.connect_retry_ms;

  exactly_raft_callbacks callbacks{};
  callbacks.user = node.get();
  callbacks.apply = &RaftNode::OnApply;
  callbacks.snapshot = &RaftNode::OnSnapshot;
  callbacks.restore = &RaftNode::OnRestore;
  callbacks.status_changed = &RaftNode::OnStatus;
  callbacks.woken = &RaftNode::OnWoken;

  char errmsg[EXACTLY_RAFT_ERRMSG_MAX] = {};
  int code = exactly_raft_open(&glue_options, &callbacks, &node->glue_, errmsg, sizeof errmsg);
  if (code != EXACTLY_RAFT_OK) {
    return StatusFromCode(code, std::string("raft: ") + errmsg);
  }
  exactly_raft_status initial;
  exactly_raft_get_status(node->glue_, &initial);
  node->status_ = ConvertStatus(initial);
  exactly_raft* glue = node->glue_;
  node->thread_ = std::thread([glue] {
    // A peer that goes away makes the next write raise SIGPIPE in the writing
    // thread; neither libuv nor C-Raft ignores it. Blocked here, the write fails
    // with EPIPE and the library reconnects, without touching the process's
    // handlers.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    exactly_raft_run(glue);
  });
  return node;
}

RaftNode::~RaftNode() { Stop(); }

void RaftNode::Stop() {
  if (!thread_.joinable()) return;
  EXACTLY_ASSERT(std::this_thread::get_id() != thread_.get_id());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_requested_ = true;
    if (!wake_closed_) exactly_raft_wake(glue_);
  }
  thread_.join();
  exactly_raft_destroy(glue_);
  glue_ = nullptr;
}

void RaftNode::Enqueue(Op op) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stop_requested_) {
      queue_.push_back(std::move(op));
      // Under the lock, so the loop cannot close the wake handle in between.
      exactly_raft_wake(glue_);
      return;
    }
  }
  if (op.kind == Op::Kind::kTransfer) {
    op.transfer_done(0);
  } else {
    op.done(Refused(base::Status::IoError("raft: node is stopping")));
  }
}

void RaftNode::Propose(std::string entry, Done done) {
  if (entry.size() > kMaxEntryBytes) {
    done(Refused(base::Status::InvalidArgument("raft: entry larger than kMaxEntryBytes")));
    return;
  }
  Op op;
  op.kind = Op::Kind::kPropose;
  op.entry = std::move(entry);
  op.done = std::move(done);
  Enqueue(std::move(op));
}

void RaftNode::Barrier(Done done) {
  Op op;
  op.kind = Op::Kind::kBarrier;
  op.done = std::move(done);
  Enqueue(std::move(op));
}

void RaftNode::TransferLeadership(std::uint64_t id, TransferDone done) {
  Op op;
  op.kind = Op::Kind::kTransfer;
  op.target_id = id;
  op.transfer_done = std::move(done);
  Enqueue(std::move(op));
}

RaftStatus RaftNode::status() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return status_;
}

base::Status RaftNode::health() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return health_;
}

// Node's thread: hands one queued request to the library. The completion travels
// as a heap token the glue gives back exactly once when the call was accepted.
void RaftNode::Submit(Op& op) {
  if (op.kind == Op::Kind::kTransfer) {
    auto token = std::make_unique<TransferDone>(std::move(op.transfer_done));
    int code = exactly_raft_transfer(glue_, op.target_id, token.get(), &RaftNode::OnTransferDone);
    if (code == EXACTLY_RAFT_OK) {
      token.release();
    } else {
      exactly_raft_status now;
      exactly_raft_get_status(glue_, &now);
      (*token)(now.leader_id);
    }
    return;
  }
  auto token = std::make_unique<Done>(std::move(op.done));
  int code = op.kind == Op::Kind::kPropose
                 ? exactly_raft_propose(glue_, op.entry.data(), op.entry.size(), token.get(),
                                        &RaftNode::OnProposeDone)
                 : exactly_raft_barrier(glue_, token.get(), &RaftNode::OnProposeDone);
  if (code == EXACTLY_RAFT_OK) {
    token.release();
  } else {
    (*token)(ResultFromCode(code, 0));
  }
}

void RaftNode::OnWoken(void* user) {
  auto* node = static_cast<RaftNode*>(user);
  std::deque<Op> ops;
  bool stop = false;
  {
    std::lock_guard<std::mutex> lock(node->mutex_);
    ops.swap(node->queue_);
    stop = node->stop_requested_;
    if (stop) node->wake_closed_ = true;
  }
  for (Op& op : ops) {
    if (!stop) {
      node->Submit(op);
    } else if (op.kind == Op::Kind::kTransfer) {
      op.transfer_done(0);
    } else {
      op.done(Refused(base::Status::IoError("raft: node is stopping")));
    }
  }
  if (stop) exactly_raft_shutdown(node->glue_);
}

void RaftNode::OnProposeDone(void* token, int code, std::uint64_t index) {
  std::unique_ptr<Done> done(static_cast<Done*>(token));
  (*done)(ResultFromCode(code, index));
}

void RaftNode::OnTransferDone(void* token, int code, std::uint64_t leader_id) {
  std::unique_ptr<TransferDone> done(static_cast<TransferDone*>(token));
  (*done)(leader_id);
}

int RaftNode::OnApply(void* user, std::uint64_t index, const void* data, std::size_t len) {
  auto* node = static_cast<RaftNode*>(user);
  {
    std::lock_guard<std::mutex> lock(node->mutex_);
    if (!node->health_.ok()) return 1;
  }
  base::Status status =
      node->machine_->Apply(index, std::string_view(static_cast<const char*>(data), len));
  if (status.ok()) return 0;
  std::lock_guard<std::mutex> lock(node->mutex_);
  node->health_ = std::move(status);
  return 1;
}

int RaftNode::OnSnapshot(void* user, const void** data, std::size_t* len) {
  auto* node = static_cast<RaftNode*>(user);
  base::Result<std::string> bytes = node->machine_->TakeSnapshot();
  if (!bytes.ok()) return 1;
  node->snapshot_bytes_ = std::move(bytes).value();
  *data = node->snapshot_bytes_.data();
  *len = node->snapshot_bytes_.size();
  return 0;
}

int RaftNode::OnRestore(void* user, const void* data, std::size_t len) {
  auto* node = static_cast<RaftNode*>(user);
  base::Status status =
      node->machine_->RestoreSnapshot(std::string_view(static_cast<const char*>(data), len));
  if (status.ok()) return 0;
  std::lock_guard<std::mutex> lock(node->mutex_);
  node->health_ = std::move(status);
  return 1;
}

void RaftNode::OnStatus(void* user, const exactly_raft_status* glue_status) {
  auto* node = static_cast<RaftNode*>(user);
  RaftStatus status = ConvertStatus(*glue_status);
  if (status.role == Role::kLeader) {
    for (const Peer& peer : node->options_.voters) {
      std::uint64_t match = 0;
      if (peer.id == status.id) {
        match = status.last_index;
      } else if (exactly_raft_match_index(node->glue_, peer.id, &match) != EXACTLY_RAFT_OK) {
        continue;
      }
      status.peers.push_back(PeerProgress{peer.id, match});
    }
  }
  {
    std::lock_guard<std::mutex> lock(node->mutex_);
    node->status_ = status;
  }
  node->machine_->OnStatusChanged(status);
}

}  // namespace exactly::replica
