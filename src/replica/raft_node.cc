// RaftNode: the C++ face of one voter; the C-Raft calls are in raft_glue.c.
#include "replica/raft_node.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <utility>

#include "base/assert.h"
#include "replica/raft_glue.h"

namespace exactly::replica {

struct RaftNode::Op {
  enum class Kind { kPropose, kBarrier, kTransfer, kChange };
  Kind kind = Kind::kPropose;
  std::string entry;
  MembershipChange change;
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

int GlueRole(MemberRole role) {
  switch (role) {
    case MemberRole::kStandby:
      return EXACTLY_RAFT_STANDBY;
    case MemberRole::kSpare:
      return EXACTLY_RAFT_SPARE;
    case MemberRole::kVoter:
      break;
  }
  return EXACTLY_RAFT_VOTER;
}

std::vector<Member> ReadConfiguration(exactly_raft* glue) {
  std::vector<exactly_raft_member> members(EXACTLY_RAFT_MEMBERS_MAX);
  const unsigned n =
      exactly_raft_configuration(glue, members.data(), static_cast<unsigned>(members.size()));
  members.resize(std::min<std::size_t>(n, members.size()));
  std::vector<Member> out;
  out.reserve(members.size());
  for (const exactly_raft_member& m : members) {
    Member& member = out.emplace_back();
    member.id = m.id;
    member.role = m.role == EXACTLY_RAFT_STANDBY ? MemberRole::kStandby
                  : m.role == EXACTLY_RAFT_SPARE ? MemberRole::kSpare
                                                 : MemberRole::kVoter;
    SplitMemberAddress(m.address, &member.raft_address, &member.resp_address);
  }
  return out;
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
  status.configuration_index = s.configuration_index;
  status.configuration_committed =
      s.configuration_index != 0 && s.configuration_index == s.configuration_committed_index;
  status.change_pending = s.change_pending != 0;
  return status;
}

}  // namespace

const char* MemberRoleName(MemberRole role) {
  switch (role) {
    case MemberRole::kStandby:
      return "standby";
    case MemberRole::kSpare:
      return "spare";
    case MemberRole::kVoter:
      break;
  }
  return "voter";
}

std::string MemberAddress(std::string_view raft_address, std::string_view resp_address) {
  if (resp_address.empty()) return std::string(raft_address);
  std::string address(resp_address);
  address += '@';
  address += raft_address;
  return address;
}

void SplitMemberAddress(std::string_view address, std::string* raft_address,
                        std::string* resp_address) {
  const std::size_t at = address.rfind('@');
  if (at == std::string_view::npos) {
    *raft_address = std::string(address);
    resp_address->clear();
    return;
  }
  *resp_address = std::string(address.substr(0, at));
  *raft_address = std::string(address.substr(at + 1));
}

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

  std::vector<std::string> addresses;
  addresses.reserve(o.voters.size());
  for (const Peer& peer : o.voters) {
    addresses.push_back(MemberAddress(peer.raft_address, peer.resp_address));
  }
  std::vector<exactly_raft_peer> voters;
  voters.reserve(o.voters.size());
  for (std::size_t i = 0; i < o.voters.size(); ++i) {
    voters.push_back({o.voters[i].id, addresses[i].c_str()});
  }
  const std::string own_address = MemberAddress(o.raft_address, o.resp_address);
  exactly_raft_options glue_options{};
  glue_options.id = o.id;
  glue_options.address = own_address.c_str();
  glue_options.bind_address = o.bind_address.empty() ? nullptr : o.bind_address.c_str();
  glue_options.dir = o.dir.c_str();
  glue_options.voters = voters.data();
  glue_options.n_voters = static_cast<unsigned>(voters.size());
  glue_options.recover = o.recover ? 1 : 0;
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
  node->status_.configuration = ReadConfiguration(node->glue_);
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

void RaftNode::ChangeMembership(MembershipChange change, Done done) {
  Op op;
  op.kind = Op::Kind::kChange;
  op.change = std::move(change);
  op.done = std::move(done);
  Enqueue(std::move(op));
}

std::vector<Member> RaftNode::configuration() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return status_.configuration;
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
    // The status first, so whoever hears of the new leader from `done` sees it too.
    auto token = std::make_unique<TransferDone>(
        [this, done = std::move(op.transfer_done)](std::uint64_t leader_id) {
          PublishStatus();
          done(leader_id);
        });
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
  if (op.kind == Op::Kind::kChange) {
    SubmitChange(op);
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

void RaftNode::PublishStatus() {
  exactly_raft_status now;
  exactly_raft_get_status(glue_, &now);
  OnStatus(this, &now);
}

void RaftNode::SubmitChange(Op& op) {
  // The status first, so whoever hears the change is done sees the new configuration
  // (the glue reports it only after the loop iteration).
  auto token = std::make_unique<Done>([this, done = std::move(op.done)](const ProposeResult& r) {
    PublishStatus();
    done(r);
  });
  const MembershipChange& change = op.change;
  int code = EXACTLY_RAFT_INVALID;
  switch (change.kind) {
    case MembershipChange::Kind::kAdd: {
      const std::string address = MemberAddress(change.raft_address, change.resp_address);
      code =
          exactly_raft_add(glue_, change.id, address.c_str(), token.get(), &RaftNode::OnChangeDone);
      break;
    }
    case MembershipChange::Kind::kAssign:
      code = exactly_raft_assign(glue_, change.id, GlueRole(change.role), token.get(),
                                 &RaftNode::OnChangeDone);
      break;
    case MembershipChange::Kind::kRemove:
      code = exactly_raft_remove(glue_, change.id, token.get(), &RaftNode::OnChangeDone);
      break;
  }
  if (code == EXACTLY_RAFT_OK) {
    token.release();
    return;
  }
  ProposeResult result = ResultFromCode(code, 0);
  if (result.outcome == ProposeOutcome::kRefused) {
    result.status = StatusFromCode(code, exactly_raft_errmsg(glue_));
  }
  (*token)(result);
}

void RaftNode::OnChangeDone(void* token, int code, std::uint64_t index) {
  std::unique_ptr<Done> done(static_cast<Done*>(token));
  ProposeResult result = ResultFromCode(code, index);
  if (code == EXACTLY_RAFT_FAILED) {
    // The one failure after acceptance (glue: RAFT_NOCONNECTION).
    result.status = base::Status::IoError(
        "the member's log could not be caught up (unreachable, or slower than the log "
        "grows): nothing changed");
  }
  (*done)(result);
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
    } else if (op.kind == Op::Kind::kChange) {
      op.done(Refused(base::Status::IoError("raft: node is stopping")));
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
  status.configuration = ReadConfiguration(node->glue_);
  if (status.role == Role::kLeader) {
    for (const Member& peer : status.configuration) {
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
