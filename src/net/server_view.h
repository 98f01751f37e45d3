// ServerView: what the session commands (net/session.h) may ask of the server.
//
// net/ answers PING, HELLO, CLIENT, INFO, MULTI ... itself, but some answers are
// facts only the server holds (its counters, the other clients, the snapshot
// child) and some commands hand work to it (a parsed command for the next batch,
// SHUTDOWN). server/ implements this interface, so net/ never includes server/
// (STYLE #1: server → net → core).
//
// Thread-safety: every call is made on the event-loop thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/histogram.h"
#include "base/units.h"
#include "core/command.h"
#include "core/engine.h"
#include "core/outcome.h"
#include "net/errors.h"

namespace exactly::net {

class Acl;
class Connection;
class ReplyTarget;

// Replies to clients' commands by command kind and outcome; the last outcome
// column counts error replies. Indexed by the kinds' and outcomes' values.
inline constexpr size_t kOutcomeColumns = static_cast<size_t>(core::kOutcomeLast) + 2;
inline constexpr size_t kKindRows = static_cast<size_t>(core::kCommandKindLast) + 1;
using ReplyCounts = std::array<std::array<uint64_t, kOutcomeColumns>, kKindRows>;

// The server's counters, as INFO's Stats section shows them.
struct ServerCounters {
  uint64_t commands = 0;
  uint64_t batches = 0;
  uint64_t records = 0;
  uint64_t record_bytes = 0;
  uint64_t connections_total = 0;
  uint64_t rejected_connections = 0;
  uint64_t snapshots = 0;
  uint64_t evicted_clients = 0;  // closed for --maxmemory-clients
  uint64_t oom_refusals = 0;     // commands answered -OOM
  uint64_t protected_refusals = 0;
  // Every reply the engine gave a client (RESP or HTTP), for GET /metrics.
  ReplyCounts replies{};
};

// Everything INFO reports, read at one moment. Views point into the server and
// are valid until it next runs.
// INFO replication (docs/replication.md): this node's view of its group.
struct ReplicationFacts {
  struct Peer {
    uint64_t id = 0;
    std::string resp_address;
    std::string raft_address;
    int64_t match_index = -1;                // -1: unknown (this node is not the leader)
    std::string_view member_role = "voter";  // voter | standby | spare
  };
  bool enabled = false;
  uint64_t node_id = 0;
  std::string_view role;  // leader | follower | candidate
  uint64_t leader_id = 0;
  std::string leader;  // the leader's RESP host:port, empty while unknown
  // The last leader this node knew of (0: none yet). While an election runs, CLUSTER
  // SLOTS keeps naming it, as Redis Cluster names a failing master until a replica
  // takes over, so clients keep their topology and retry (docs/replication.md).
  uint64_t last_leader_id = 0;
  uint64_t term = 0;
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;
  uint64_t last_index = 0;
  std::vector<Peer> peers;
};

struct ServerFacts {
  // Server
  int64_t process_id = 0;
  uint16_t port = 0;
  int64_t uptime_s = 0;
  std::string_view dir;
  std::string_view recovery;  // what recovery found, one line
  int64_t clock_behind_ms = 0;
  bool protected_mode = false;
  // Memory: filled only when asked for (Facts(true)), since reading it walks the
  // allocator's free lists.
  uint64_t used_memory_bytes = 0;
  uint64_t rss_bytes = 0;
  uint64_t maxmemory_bytes = 0;
  int64_t client_buffer_bytes = 0;
  uint64_t maxmemory_clients_bytes = 0;
  // Clients
  size_t connected_clients = 0;
  size_t clients_max = 0;
  size_t parked_clients = 0;  // commands parked until woken (blocked clients)
  // Persistence
  std::string_view fsync;  // always | everysec | no
  Lsn applied_lsn;
  Lsn durable_lsn;
  bool storage_failed = false;
  bool snapshot_in_progress = false;
  Lsn last_snapshot_lsn;
  uint64_t journal_bytes_since_snapshot = 0;
  uint64_t syncs = 0;
  uint64_t synced_records = 0;
  // Per journal sync: its latency in ns and the records it covered (empty bounds
  // in replicated mode, where the raft log syncs).
  base::HistogramSnapshot sync_latency_ns;
  base::HistogramSnapshot records_per_sync;
  // Per engine batch: the commands in it (clients' and the server's own).
  base::HistogramSnapshot batch_commands;
  // Replication: filled in replicated mode only (INFO shows the section then).
  ReplicationFacts replication;
  // Stats
  ServerCounters counters;
  uint64_t ops_per_sec = 0;
  // Tables
  core::EngineStats tables;
  core::EngineConfig limits;
};

// What SNAPSHOT got: started (covering `lsn`), refused because one is running,
// not started because the writer could not be forked, or not offered (replicated
// mode: the raft log takes its own snapshots).
struct SnapshotStart {
  enum class Status { kStarted, kRunning, kForkFailed, kReplicated };
  Status status = Status::kStarted;
  Lsn lsn;
};

// CLUSTER ADDNODE | PROMOTE | REMOVENODE | FAILOVER (net/commands/membership.cc):
// one change of the replicated group's configuration, or a leadership transfer.
struct MembershipRequest {
  enum class Kind { kAddNode, kPromote, kRemoveNode, kFailover };
  Kind kind = Kind::kAddNode;
  uint64_t id = 0;      // the member; 0 for FAILOVER without TO (any voter)
  std::string address;  // kAddNode: resp-host:resp-port@raft-host:raft-port, as sent
};

// Its answer: OK when `code` is empty, else the error "code message".
struct MembershipReply {
  std::string code;
  std::string message;
};

// INFO digest (docs/replication.md, "State digest"): fingerprints of the state this
// node answers from and, in replicated mode, of its committed engine.
struct StateDigests {
  Lsn applied_lsn;
  uint64_t state = 0;
  bool replicated = false;
  Lsn committed_lsn;
  uint64_t committed = 0;
};

class ServerView {
 public:
  virtual ~ServerView() = default;

  // Hands a parsed command (a MULTI group for EXEC) to the next batch; the server
  // fills `slot` of `target` (a RESP or an HTTP connection) with its reply, or at
  // once with a refusal (shutting down, storage failed, memory, size).
  virtual void Submit(ReplyTarget& target, uint64_t slot, core::Command&& command) = 0;
  // The users (--aclfile, or --requirepass's default user); lives as long as the
  // server, so connections may point at its users.
  virtual const Acl& Users() const = 0;
  // Every open connection, oldest (lowest id) first.
  virtual std::vector<std::shared_ptr<Connection>> Clients() const = 0;
  // The table sizes now (DBSIZE).
  virtual core::EngineStats Tables() const = 0;
  // INFO's facts; the memory ones only `with_memory`.
  virtual ServerFacts Facts(bool with_memory) const = 0;
  // INFO digest: encodes the whole state, so only on request.
  virtual StateDigests Digests() const = 0;
  // SNAPSHOT: starts writing one unless one is being written.
  virtual SnapshotStart StartSnapshot() = 0;
  // SHUTDOWN: stops taking commands and ends the event loop once the batch
  // already queued has answered.
  virtual void RequestShutdown() = 0;
  // A membership change or leadership transfer; `done` runs once on the loop thread
  // (at once, or when the new configuration is committed / the transfer ended).
  virtual void ChangeMembership(const MembershipRequest& request,
                                std::function<void(const MembershipReply&)> done) {
    (void)request;
    done(MembershipReply{std::string(kCodeErr), ErrMembershipSingleNode()});
  }
};

}  // namespace exactly::net
