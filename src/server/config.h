// ServeConfig: everything `exactly serve` can be told, with its defaults.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "core/limits.h"
#include "net/acl.h"
#include "net/connection_limits.h"
#include "net/tls_context.h"
#include "storage/group_commit.h"

namespace exactly::server {

// One voter of a replicated group, as --peers names it:
// id=resp-host:resp-port@raft-host:raft-port (Redis Cluster's ip:port@cport form).
struct PeerConfig {
  uint64_t id = 0;
  std::string resp_host;
  uint16_t resp_port = 0;
  std::string raft_host;
  uint16_t raft_port = 0;

  std::string resp_address() const;  // "host:port", what -MOVED names
  std::string raft_address() const;
};

// Replicated mode (docs/replication.md): set by --node-id, --raft-bind and --peers,
// all three or none. Without them the server is a single node with its journal.
struct ReplicationConfig {
  uint64_t node_id = 0;  // 0: single-node mode
  std::string raft_bind;
  std::vector<PeerConfig> peers;  // every voter, this one included, in --peers order
  // --join: no --peers; the node bootstraps nothing and waits for the group's
  // leader to add it (CLUSTER ADDNODE). peers is then empty.
  bool join = false;
  // --force-peers: peers replaces the configuration of this node's existing log
  // (recovery after losing a quorum; docs/replication.md).
  bool recover = false;
  // This node's RESP "host:port" as the configuration carries it: its --peers
  // entry's, or with --join the --raft-bind host and --port.
  std::string resp_address;
  // Deliberately unsafe, for the fault sweep's negative controls only (main.cc refuses
  // them without EXACTLY_UNSAFE_TEST_FLAGS=1; docs/replication.md "Negative controls"):
  bool unsafe_ack_before_commit = false;  // replies leave once applied, before commit
  bool unsafe_local_reads = false;        // read-only batches answered without a barrier

  bool enabled() const { return node_id != 0; }
  // The entry of voter `id`, nullptr if there is none.
  const PeerConfig* Find(uint64_t id) const;
};

// Parses --peers. InvalidArgument naming the entry for a malformed one, a
// duplicate id or a duplicate address.
base::Result<std::vector<PeerConfig>> ParsePeers(std::string_view text);

// Checks the three flags together against --port: all or none given, this node's id
// among the peers, --raft-bind equal to its raft address and --port to its RESP
// port, an odd number of voters (1 to 7). On success fills `out` (left disabled when
// none was given). `node_id_given` etc. say which flags appeared on the command line.
base::Status ParseReplication(bool node_id_given, uint64_t node_id, bool raft_bind_given,
                              std::string_view raft_bind, bool peers_given, std::string_view peers,
                              uint16_t port, ReplicationConfig* out);

// --join instead of --peers: --node-id and --raft-bind are needed, --peers refused.
base::Status ParseJoin(bool node_id_given, uint64_t node_id, bool raft_bind_given,
                       std::string_view raft_bind, bool peers_given, uint16_t port,
                       ReplicationConfig* out);

// A member's address as CLUSTER ADDNODE takes it, resp-host:resp-port@raft-host:raft-port
// (a --peers entry without its id). InvalidArgument saying what is wrong.
base::Status ParseMemberAddress(std::string_view text, PeerConfig* out);

struct ServeConfig;

// Sets config->acl from --aclfile (a bad file: InvalidArgument naming its line) or
// from --requirepass; both together are refused.
base::Status LoadUsers(ServeConfig* config);

struct ServeConfig {
  std::string dir = "data";
  std::string bind = "127.0.0.1";
  uint16_t port = 7379;  // 0: no plain RESP port (then tls_port is needed)
  // HTTP/JSON on its own port, same bind address (0: no HTTP). When the port was
  // not given (the default), a port in use only leaves HTTP off, with a warning,
  // so several servers on one machine still start; a port given that cannot be
  // bound refuses to start, as --port does.
  uint16_t http_port = 7380;
  bool http_port_given = false;
  // The web console (GET /) is read-only unless this is set: then its page offers
  // a form that sends commands through POST /v1/<command>.
  bool console_writes = false;
  // Deliberately unsafe, for test_console.py's negative control only (main.cc refuses
  // it without EXACTLY_UNSAFE_TEST_FLAGS=1): a table page reads the engine as soon as
  // it is asked for, not after the commands gathered before it.
  bool unsafe_unordered_table_reads = false;
  // TLS (docs/tls.md): RESP over TLS on tls_port (0: none), beside the plain port.
  // With a certificate the HTTP port speaks HTTPS only. `tls` is loaded from
  // tls_files by Serve, which refuses to start when they are unusable.
  uint16_t tls_port = 0;
  net::TlsFiles tls_files;
  std::shared_ptr<const net::TlsContext> tls;
  storage::FsyncMode fsync = storage::FsyncMode::kAlways;
  // --fsync always: hold each sync briefly for the clients the last one answered
  // (storage/group_commit.h, EnableSyncHold).
  bool sync_hold = true;
  std::string requirepass;  // empty: no AUTH needed
  // Users, passwords and permissions (docs/acl.md); excludes --requirepass.
  std::string aclfile;
  // The users the server runs with, from aclfile or requirepass (LoadUsers); shared
  // by the copies of this config, so a connection's user pointer stays valid.
  std::shared_ptr<const net::Acl> acl;
  size_t clients_max = net::kClientsMaxDefault;
  int64_t idle_timeout_s = 0;  // 0: never close idle clients
  int64_t id_retention_ms = core::kIdRetentionMsDefault;
  // A snapshot starts by itself once this many journal bytes were written since
  // the last one (0: only on SNAPSHOT).
  uint64_t snapshot_every_bytes = 256ull * 1024 * 1024;
  // Past this much heap in use, commands that may add records are refused with
  // -OOM (0: no bound). Defaults to half the machine's memory: a snapshot's fork
  // may need up to as much again while pages are copied on write.
  uint64_t maxmemory_bytes = 0;
  // Input and output buffers of all clients together; past it the clients with
  // the largest buffers are disconnected (0: no bound).
  uint64_t maxmemory_clients_bytes = net::kClientBuffersBytesMaxDefault;
  // Started on a non-loopback address while the default user needs no password,
  // only loopback clients are served.
  bool protected_mode = true;
  // The wall clock may be behind the journal's last timestamp (a clock set back,
  // a restore onto another machine): time then stands still in the engine until
  // the clock catches up. By more than this the server refuses to start, unless
  // allow_clock_behind is set.
  int64_t max_clock_behind_ms = 60'000;
  bool allow_clock_behind = false;
  ReplicationConfig replication;
};

// Checks the TLS flags together: a certificate needs its key and the other way
// round; --tls-port and --tls-ca-cert need both; --port 0 needs --tls-port; the
// two RESP ports differ; replicated mode has no TLS yet. InvalidArgument naming
// the flag otherwise. The files themselves are read by net::TlsContext::Load.
base::Status CheckTls(const ServeConfig& config);

}  // namespace exactly::server
