// INFO, DBSIZE and CLIENT: the server's facts and its clients, as Redis words them.
#include "net/server_info.h"

#include <fmt/format.h>

#include <cctype>
#include <memory>
#include <vector>

#include "base/monotonic_clock.h"
#include "base/version.h"
#include "net/acl.h"
#include "net/args.h"
#include "net/errors.h"
#include "net/session.h"

namespace exactly::net {
namespace {

bool ShowsAll(std::string_view section) {
  return section.empty() || KeywordIs(section, "ALL") || KeywordIs(section, "EVERYTHING");
}

// CLIENT KILL ip:port (the old form: OK, or an error if no client has that address) or
// CLIENT KILL [ID id] [ADDR ip:port] [SKIPME yes|no] (the number of clients closed;
// SKIPME defaults to yes). The caller itself is closed after its reply.
void KillClients(Call& call) {
  const std::span<const std::string_view> args = call.args;
  RespWriter& writer = call.reply();
  const bool old_form = args.size() == 3;
  std::string_view id_filter;
  std::string_view addr_filter;
  bool skip_me = true;
  if (old_form) {
    addr_filter = args[2];
  } else {
    for (size_t i = 2; i < args.size(); i += 2) {
      if (i + 1 >= args.size()) {
        writer.Error(kCodeErr, ErrSyntax());
        return;
      }
      if (KeywordIs(args[i], "ID")) {
        id_filter = args[i + 1];
      } else if (KeywordIs(args[i], "ADDR")) {
        addr_filter = args[i + 1];
      } else if (KeywordIs(args[i], "SKIPME") &&
                 (KeywordIs(args[i + 1], "YES") || KeywordIs(args[i + 1], "NO"))) {
        skip_me = KeywordIs(args[i + 1], "YES");
      } else {
        writer.Error(kCodeErr, ErrSyntax());
        return;
      }
    }
  }
  Connection& self = call.connection;
  std::vector<std::shared_ptr<Connection>> doomed;
  for (auto& other : call.server.Clients()) {
    if (!id_filter.empty() && id_filter != std::to_string(other->id())) continue;
    if (!addr_filter.empty() && addr_filter != other->remote_address()) continue;
    if (other.get() == &self && skip_me && !old_form) continue;
    doomed.push_back(std::move(other));
  }
  if (old_form && doomed.empty()) {
    writer.Error(kCodeErr, ErrNoSuchClient());
    return;
  }
  if (old_form) {
    writer.Simple("OK");
  } else {
    writer.Integer(static_cast<int64_t>(doomed.size()));
  }
  // Not while listing: closing a connection takes it out of the server's list.
  for (const auto& other : doomed) {
    if (other.get() == &self) {
      self.CloseAfterReplies();
    } else {
      other->Close();
    }
  }
}

// CLIENT LIST [ID id ...]: oldest first, as Redis lists them.
void ListClients(Call& call) {
  const std::span<const std::string_view> ids = call.args.subspan(call.args.size() == 2 ? 2 : 3);
  const int64_t now_ms = base::MonotonicNowMs();
  std::string text;
  for (const auto& other : call.server.Clients()) {
    bool wanted = call.args.size() == 2;
    for (size_t i = 0; i < ids.size() && !wanted; ++i)
      wanted = ids[i] == std::to_string(other->id());
    if (wanted) text += ClientLine(*other, now_ms);
  }
  call.reply().Bulk(text);
}

}  // namespace

size_t Records(const core::EngineStats& tables) {
  return tables.claims + tables.accounts + tables.transfers + tables.locks + tables.idem_keys +
         tables.limit_keys;
}

std::string ClientLine(const Connection& connection, int64_t now_ms) {
  // Redis's flags: N nothing special, b parked (blocked), x inside MULTI.
  const bool parked = !connection.parked_waiters.empty();
  const std::string_view flags =
      parked ? (connection.in_multi ? "bx" : "b") : (connection.in_multi ? "x" : "N");
  const std::string_view cmd = connection.last_command.empty() ? "NULL" : connection.last_command;
  std::string lower(cmd);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return fmt::format(
      "id={} addr={} name={} age={} idle={} flags={} db=0 sub=0 psub=0 ssub=0 multi={} "
      "tot-mem={} cmd={} user={} resp={}\n",
      connection.id(), connection.remote_address(), connection.name,
      (now_ms - connection.created_ms) / 1000, (now_ms - connection.last_activity_ms()) / 1000,
      flags, connection.in_multi ? static_cast<int64_t>(connection.multi_queue.size()) : -1,
      connection.buffer_bytes(), lower,
      connection.user != nullptr ? std::string_view(connection.user->name) : "default",
      connection.protocol);
}

bool InfoShowsMemory(std::string_view section) {
  return ShowsAll(section) || KeywordIs(section, "MEMORY");
}

std::string InfoText(const ServerFacts& facts, std::string_view section) {
  const bool all = ShowsAll(section);
  std::string text;
  if (all || KeywordIs(section, "SERVER")) {
    text += fmt::format(
        "# Server\r\nexactly_version:{}\r\nredis_version:7.0.0\r\nprocess_id:{}\r\n"
        "tcp_port:{}\r\nuptime_in_seconds:{}\r\ndata_dir:{}\r\nrecovery:{}\r\n"
        "clock_behind_ms:{}\r\nprotected_mode:{}\r\n\r\n",
        base::kVersion, facts.process_id, facts.port, facts.uptime_s, facts.dir, facts.recovery,
        facts.clock_behind_ms, facts.protected_mode ? "yes" : "no");
  }
  if (InfoShowsMemory(section)) {
    text += fmt::format(
        "# Memory\r\nused_memory:{}\r\nused_memory_rss:{}\r\nmaxmemory:{}\r\n"
        "maxmemory_policy:noeviction\r\nmem_clients_normal:{}\r\nmaxmemory_clients:{}\r\n"
        "\r\n",
        facts.used_memory_bytes, facts.rss_bytes, facts.maxmemory_bytes, facts.client_buffer_bytes,
        facts.maxmemory_clients_bytes);
  }
  if (all || KeywordIs(section, "CLIENTS")) {
    text += fmt::format(
        "# Clients\r\nconnected_clients:{}\r\nmaxclients:{}\r\nblocked_clients:{}\r\n\r\n",
        facts.connected_clients, facts.clients_max, facts.parked_clients);
  }
  if (all || KeywordIs(section, "PERSISTENCE")) {
    const uint64_t syncs = facts.syncs;
    text += fmt::format(
        "# Persistence\r\nfsync:{}\r\napplied_lsn:{}\r\ndurable_lsn:{}\r\nstorage_failed:{}\r\n"
        "snapshot_in_progress:{}\r\nlast_snapshot_lsn:{}\r\njournal_bytes_since_snapshot:{}"
        "\r\nfsyncs:{}\r\nrecords_per_fsync:{:.1f}\r\n\r\n",
        facts.fsync, facts.applied_lsn.value, facts.durable_lsn.value, facts.storage_failed ? 1 : 0,
        facts.snapshot_in_progress ? 1 : 0, facts.last_snapshot_lsn.value,
        facts.journal_bytes_since_snapshot, syncs,
        syncs == 0 ? 0.0 : static_cast<double>(facts.synced_records) / syncs);
  }
  if (facts.replication.enabled && (all || KeywordIs(section, "REPLICATION"))) {
    const ReplicationFacts& r = facts.replication;
    text += fmt::format(
        "# Replication\r\nrole:{}\r\nnode_id:{}\r\nleader_id:{}\r\nleader:{}\r\nterm:{}\r\n"
        "commit_index:{}\r\napplied_index:{}\r\nlast_index:{}\r\n",
        r.role, r.node_id, r.leader_id, r.leader, r.term, r.commit_index, r.applied_index,
        r.last_index);
    for (const ReplicationFacts::Peer& peer : r.peers) {
      text +=
          fmt::format("peer{}:resp={},raft={},match_index={},lag={},role={}\r\n", peer.id,
                      peer.resp_address, peer.raft_address, peer.match_index,
                      peer.match_index < 0 ? int64_t{-1}
                                           : static_cast<int64_t>(r.last_index) - peer.match_index,
                      peer.member_role);
    }
    text += "\r\n";
  }
  if (all || KeywordIs(section, "STATS")) {
    const ServerCounters& counters = facts.counters;
    text += fmt::format(
        "# Stats\r\ntotal_connections_received:{}\r\nrejected_connections:{}\r\n"
        "total_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\nbatches:{}\r\n"
        "journal_records:{}\r\n"
        "journal_bytes:{}\r\nsnapshots:{}\r\nevicted_clients:{}\r\noom_refusals:{}\r\n"
        "protected_mode_refusals:{}\r\n\r\n",
        counters.connections_total, counters.rejected_connections, counters.commands,
        facts.ops_per_sec, counters.batches, counters.records, counters.record_bytes,
        counters.snapshots, counters.evicted_clients, counters.oom_refusals,
        counters.protected_refusals);
  }
  if (all || KeywordIs(section, "TABLES")) {
    const core::EngineStats& tables = facts.tables;
    const core::EngineConfig& limits = facts.limits;
    text += fmt::format(
        "# Tables\r\nclaims:{}\r\nclaims_max:{}\r\naccounts:{}\r\naccounts_max:{}\r\n"
        "transfers:{}\r\ntransfers_max:{}\r\npending_transfers:{}\r\n"
        "locks:{}\r\nlocks_max:{}\r\nwaiters:{}\r\nwaiters_max:{}\r\n"
        "idem_keys:{}\r\nidem_keys_max:{}\r\nlimit_keys:{}\r\nlimit_keys_max:{}\r\n"
        "parked_clients:{}\r\n\r\n",
        tables.claims, limits.claims_max, tables.accounts, limits.accounts_max, tables.transfers,
        limits.transfers_max, tables.pending, tables.locks, limits.locks_max, tables.waiters,
        limits.waiters_max, tables.idem_keys, limits.idem_keys_max, tables.limit_keys,
        limits.limit_keys_max, facts.parked_clients);
  }
  if (all || KeywordIs(section, "CLUSTER")) {
    // Both modes answer CLUSTER SLOTS (a single node as a cluster of one), and
    // cluster clients such as redis-py's check this field first.
    text += "# Cluster\r\ncluster_enabled:1\r\n\r\n";
  }
  if (all || KeywordIs(section, "KEYSPACE")) {
    // One database, as redis-cli --stat and monitoring tools read it: every record
    // counts as a key (claims, accounts, transfers, locks, IDEM and limit keys).
    const size_t keys = Records(facts.tables);
    text += "# Keyspace\r\n";
    if (keys > 0) text += fmt::format("db0:keys={},expires=0,avg_ttl=0\r\n", keys);
    text += "\r\n";
  }
  return text;
}

std::string DigestText(const StateDigests& digests) {
  std::string out = fmt::format("# Digest\r\napplied_lsn:{}\r\nstate_digest:{:016x}\r\n",
                                digests.applied_lsn.value, digests.state);
  if (digests.replicated) {
    out += fmt::format("committed_lsn:{}\r\ncommitted_digest:{:016x}\r\n",
                       digests.committed_lsn.value, digests.committed);
  }
  return out;
}

void HandleInfo(Call& call) {
  const std::string_view section = call.args.size() > 1 ? call.args[1] : std::string_view();
  if (KeywordIs(section, "DIGEST")) {
    // Not part of ALL: it encodes the whole state.
    call.reply().Bulk(DigestText(call.server.Digests()));
    return;
  }
  call.reply().Bulk(InfoText(call.server.Facts(InfoShowsMemory(section)), section));
}

void HandleDbSize(Call& call) {
  call.reply().Integer(static_cast<int64_t>(Records(call.server.Tables())));
}

void HandleClient(Call& call) {
  const std::span<const std::string_view> args = call.args;
  Connection& connection = call.connection;
  RespWriter& writer = call.reply();
  const std::string_view sub = args[1];
  if (KeywordIs(sub, "ID")) {
    writer.Integer(static_cast<int64_t>(connection.id()));
  } else if (KeywordIs(sub, "SETNAME") && args.size() == 3) {
    connection.name = std::string(args[2]);
    writer.Simple("OK");
  } else if (KeywordIs(sub, "GETNAME")) {
    if (connection.name.empty()) {
      writer.Null();
    } else {
      writer.Bulk(connection.name);
    }
  } else if (KeywordIs(sub, "SETINFO") && args.size() == 4) {
    writer.Simple("OK");
  } else if (KeywordIs(sub, "INFO") && args.size() == 2) {
    writer.Bulk(ClientLine(connection, base::MonotonicNowMs()));
  } else if (KeywordIs(sub, "LIST") &&
             (args.size() == 2 || (args.size() > 3 && KeywordIs(args[2], "ID")))) {
    ListClients(call);
  } else if (KeywordIs(sub, "KILL") && args.size() >= 3) {
    KillClients(call);
  } else {
    writer.Error(kCodeErr, ErrClientSubcommand(sub));
  }
}

}  // namespace exactly::net
