// The pipeline's side of CLUSTER ADDNODE | PROMOTE | REMOVENODE | FAILOVER: the
// checks against the replicated configuration, one change at a time, and the
// reply once the change is committed (docs/replication.md, "Membership").
#include <cstdio>
#include <string>
#include <utility>

#include "net/errors.h"
#include "server/pipeline.h"

namespace exactly::server {
namespace {

using net::MembershipReply;
using net::MembershipRequest;
using replica::MemberRole;

// C-Raft's configuration holds up to this many members here (raft_glue.h); a
// group past 7 voters gains nothing (server/config.cc).
constexpr size_t kMembersMax = 16;
constexpr size_t kVotersMax = 7;

const replica::Member* FindMember(const std::vector<replica::Member>& members, uint64_t id) {
  for (const replica::Member& member : members) {
    if (member.id == id) return &member;
  }
  return nullptr;
}

size_t VoterCount(const std::vector<replica::Member>& members) {
  size_t voters = 0;
  for (const replica::Member& member : members) {
    if (member.role == MemberRole::kVoter) ++voters;
  }
  return voters;
}

MembershipReply Ok() { return MembershipReply{}; }

MembershipReply Error(std::string message) {
  return MembershipReply{std::string(net::kCodeErr), std::move(message)};
}

std::string Node(uint64_t id) { return "node " + std::to_string(id); }

}  // namespace

std::string Pipeline::MemberRespAddress(uint64_t id) const {
  if (const replica::Member* member = FindMember(raft_.configuration, id)) {
    if (!member->resp_address.empty()) return member->resp_address;
  }
  if (const PeerConfig* peer = config_.replication.Find(id)) return peer->resp_address();
  return "";
}

MembershipReply Pipeline::NotLeaderReply() const {
  const std::string leader = raft_.leader_id == config_.replication.node_id
                                 ? std::string()
                                 : MemberRespAddress(raft_.leader_id);
  if (raft_.leader_id == 0 || leader.empty()) {
    return MembershipReply{std::string(net::kCodeClusterDown), net::ErrNoLeader()};
  }
  // Slot 0: the command has no key; a cluster-aware client follows it to the leader.
  return MembershipReply{std::string(net::kCodeMoved), net::ErrMoved(0, leader)};
}

MembershipReply Pipeline::ChangeReply(const replica::ProposeResult& result) const {
  switch (result.outcome) {
    case replica::ProposeOutcome::kApplied:
      return Ok();
    case replica::ProposeOutcome::kNotLeader:
      return NotLeaderReply();
    case replica::ProposeOutcome::kOutcomeUnknown:
      return MembershipReply{std::string(net::kCodeTryAgain), net::ErrMembershipUnknown()};
    case replica::ProposeOutcome::kRefused:
      break;
  }
  return Error(net::ErrMembershipRefused(result.status.message()));
}

std::string Pipeline::CheckMembership(const MembershipRequest& request) const {
  const std::vector<replica::Member>& members = raft_.configuration;
  const replica::Member* target = FindMember(members, request.id);
  const uint64_t self = config_.replication.node_id;
  switch (request.kind) {
    case MembershipRequest::Kind::kAddNode: {
      PeerConfig peer;
      if (base::Status parsed = ParseMemberAddress(request.address, &peer); !parsed.ok()) {
        return parsed.message();
      }
      if (target != nullptr) {
        return Node(request.id) + " is already a member (" + replica::MemberRoleName(target->role) +
               "); remove it first to give it another address";
      }
      if (members.size() >= kMembersMax) {
        return "the configuration already has " + std::to_string(members.size()) +
               " members, the most it may have";
      }
      for (const replica::Member& member : members) {
        if (member.raft_address == peer.raft_address()) {
          return "the raft address " + member.raft_address + " is " + Node(member.id) + "'s";
        }
        if (!member.resp_address.empty() && member.resp_address == peer.resp_address()) {
          return "the RESP address " + member.resp_address + " is " + Node(member.id) + "'s";
        }
      }
      return "";
    }
    case MembershipRequest::Kind::kPromote:
      if (target == nullptr) return "there is no " + Node(request.id) + " in the configuration";
      if (target->role == MemberRole::kVoter) return Node(request.id) + " is already a voter";
      if (VoterCount(members) >= kVotersMax) {
        return "the group already has " + std::to_string(kVotersMax) +
               " voters, the most it may have; remove one first";
      }
      return "";
    case MembershipRequest::Kind::kRemoveNode:
      if (target == nullptr) return "there is no " + Node(request.id) + " in the configuration";
      if (request.id == self) {
        return Node(self) +
               " is the leader: hand leadership over first (CLUSTER FAILOVER), then remove it "
               "on the new leader";
      }
      if (target->role == MemberRole::kVoter && VoterCount(members) <= 1) {
        return Node(request.id) + " is the last voter";
      }
      return "";
    case MembershipRequest::Kind::kFailover:
      if (request.id == 0) {
        if (VoterCount(members) <= 1) return "there is no other voter to hand leadership to";
        return "";
      }
      if (target == nullptr) return "there is no " + Node(request.id) + " in the configuration";
      if (request.id == self) return Node(self) + " already leads";
      if (target->role != MemberRole::kVoter) {
        return Node(request.id) + " is a " + replica::MemberRoleName(target->role) +
               ": only a voter can lead (CLUSTER PROMOTE it first)";
      }
      return "";
  }
  return "";
}

void Pipeline::ChangeMembership(const MembershipRequest& request,
                                std::function<void(const MembershipReply&)> done) {
  if (log_ == nullptr) {
    done(Error(net::ErrMembershipSingleNode()));
    return;
  }
  if (shutting_down_ || storage_failed_) {
    done(Error(net::ErrMembershipStopping()));
    return;
  }
  if (raft_.role != replica::Role::kLeader) {
    done(NotLeaderReply());
    return;
  }
  if (membership_busy_ || raft_.change_pending || !raft_.configuration_committed) {
    done(Error(net::ErrMembershipPending()));
    return;
  }
  if (std::string refused = CheckMembership(request); !refused.empty()) {
    done(Error(std::move(refused)));
    return;
  }
  membership_busy_ = true;
  // Runs on the loop thread when the request ended, however it ended.
  auto finish = [this, done = std::move(done)](const MembershipReply& reply) {
    membership_busy_ = false;
    done(reply);
  };
  const uint64_t id = request.id;
  switch (request.kind) {
    case MembershipRequest::Kind::kAddNode: {
      PeerConfig peer;
      (void)ParseMemberAddress(request.address, &peer);  // checked above
      replica::MembershipChange add;
      add.kind = replica::MembershipChange::Kind::kAdd;
      add.id = id;
      add.raft_address = peer.raft_address();
      add.resp_address = peer.resp_address();
      // Added as a spare (C-Raft's only way in), then made a standby so it
      // receives the log and catches up before anyone counts on it.
      log_->ChangeMembership(std::move(add), [this, id, finish](const replica::ProposeResult& r) {
        if (r.outcome != replica::ProposeOutcome::kApplied) {
          finish(ChangeReply(r));
          return;
        }
        replica::MembershipChange standby;
        standby.kind = replica::MembershipChange::Kind::kAssign;
        standby.id = id;
        standby.role = MemberRole::kStandby;
        log_->ChangeMembership(
            std::move(standby), [this, id, finish](const replica::ProposeResult& s) {
              MembershipReply reply = ChangeReply(s);
              if (!reply.code.empty()) {
                reply.message = Node(id) +
                                " was added as a spare but not made a "
                                "standby (" +
                                reply.message + "); CLUSTER PROMOTE makes it a voter";
              }
              finish(reply);
            });
      });
      std::fprintf(stderr, "exactly: adding node %llu at %s\n", static_cast<unsigned long long>(id),
                   request.address.c_str());
      return;
    }
    case MembershipRequest::Kind::kPromote: {
      replica::MembershipChange promote;
      promote.kind = replica::MembershipChange::Kind::kAssign;
      promote.id = id;
      promote.role = MemberRole::kVoter;
      // The library first runs catch-up rounds until its log is current.
      log_->ChangeMembership(std::move(promote), [this, finish](const replica::ProposeResult& r) {
        finish(ChangeReply(r));
      });
      std::fprintf(stderr, "exactly: promoting node %llu\n", static_cast<unsigned long long>(id));
      return;
    }
    case MembershipRequest::Kind::kRemoveNode: {
      replica::MembershipChange remove;
      remove.kind = replica::MembershipChange::Kind::kRemove;
      remove.id = id;
      log_->ChangeMembership(std::move(remove), [this, finish](const replica::ProposeResult& r) {
        finish(ChangeReply(r));
      });
      std::fprintf(stderr, "exactly: removing node %llu\n", static_cast<unsigned long long>(id));
      return;
    }
    case MembershipRequest::Kind::kFailover: {
      const uint64_t self = config_.replication.node_id;
      log_->TransferLeadership(id, [this, id, self, finish](uint64_t leader_id) {
        if (leader_id != 0 && leader_id != self && (id == 0 || leader_id == id)) {
          finish(Ok());
          return;
        }
        finish(Error(net::ErrFailoverNotDone(self, leader_id)));
      });
      std::fprintf(stderr, "exactly: handing leadership to %s\n",
                   id == 0 ? "any voter" : Node(id).c_str());
      return;
    }
  }
}

}  // namespace exactly::server
