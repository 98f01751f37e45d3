// Commands about the connection or the server rather than the data: PING, HELLO,
// AUTH, CLIENT, INFO, SELECT, COMMAND, QUIT, SNAPSHOT, SHUTDOWN, MULTI/EXEC/DISCARD.
// They are answered on the loop thread without a batch, in their slot's order.
#include <fmt/format.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <string>
#include <vector>

#include "base/assert.h"
#include "base/monotonic_clock.h"
#include "core/limits.h"
#include "core/record_codec.h"
#include "net/errors.h"
#include "net/resp_writer.h"
#include "server/memory_usage.h"
#include "server/pipeline.h"
#include "server/version.h"

namespace exactly::server {
namespace {

// What a group adds to a record beyond its sub-commands (RecordBytesBound of an
// empty group).
const size_t kGroupHeadBytes = core::RecordBytesBound(core::Command{});

bool Is(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view FsyncName(storage::FsyncMode mode) {
  switch (mode) {
    case storage::FsyncMode::kAlways:
      return "always";
    case storage::FsyncMode::kEverySec:
      return "everysec";
    case storage::FsyncMode::kNo:
      return "no";
  }
  return "?";
}

// DBSIZE and INFO's keyspace line: records across the tables.
size_t Records(const core::EngineStats& tables) {
  return tables.claims + tables.accounts + tables.transfers + tables.locks + tables.idem_keys +
         tables.limit_keys;
}

}  // namespace

std::string Pipeline::ClientLine(const net::Connection& connection) const {
  const int64_t now_ms = base::MonotonicNowMs();
  // Redis's flags: N nothing special, b parked (blocked), x inside MULTI.
  std::string flags;
  if (!connection.parked_waiters.empty()) flags += 'b';
  if (connection.in_multi) flags += 'x';
  if (flags.empty()) flags = "N";
  const std::string_view cmd = connection.last_command.empty() ? "NULL" : connection.last_command;
  std::string lower(cmd);
  for (char& c : lower) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return fmt::format(
      "id={} addr={} name={} age={} idle={} flags={} db=0 sub=0 psub=0 ssub=0 multi={} "
      "tot-mem={} cmd={} user=default resp={}\n",
      connection.id(), connection.remote_address(), connection.name,
      (now_ms - connection.created_ms) / 1000, (now_ms - connection.last_activity_ms()) / 1000,
      flags, connection.in_multi ? static_cast<int64_t>(connection.multi_queue.size()) : -1,
      connection.buffer_bytes(), lower, connection.protocol);
}

// CLIENT KILL ip:port (the old form: OK, or an error if no client has that address) or
// CLIENT KILL [ID id] [ADDR ip:port] [SKIPME yes|no] (the number of clients closed;
// SKIPME defaults to yes). The caller itself is closed after its reply.
void Pipeline::KillClients(net::Connection& self, net::RespWriter& writer,
                           std::span<const std::string_view> args) {
  const bool old_form = args.size() == 3;
  std::string_view id_filter;
  std::string_view addr_filter;
  bool skip_me = true;
  if (old_form) {
    addr_filter = args[2];
  } else {
    for (size_t i = 2; i < args.size(); i += 2) {
      if (i + 1 >= args.size()) {
        writer.Error(net::kCodeErr, net::ErrSyntax());
        return;
      }
      if (Is(args[i], "ID")) {
        id_filter = args[i + 1];
      } else if (Is(args[i], "ADDR")) {
        addr_filter = args[i + 1];
      } else if (Is(args[i], "SKIPME") && (Is(args[i + 1], "yes") || Is(args[i + 1], "no"))) {
        skip_me = Is(args[i + 1], "yes");
      } else {
        writer.Error(net::kCodeErr, net::ErrSyntax());
        return;
      }
    }
  }
  std::vector<std::shared_ptr<net::Connection>> doomed;
  for (const auto& [id, weak] : connections_) {
    auto other = weak.lock();
    if (other == nullptr || other->closed()) continue;
    if (!id_filter.empty() && id_filter != std::to_string(id)) continue;
    if (!addr_filter.empty() && addr_filter != other->remote_address()) continue;
    if (other.get() == &self && skip_me && !old_form) continue;
    doomed.push_back(std::move(other));
  }
  if (old_form && doomed.empty()) {
    writer.Error(net::kCodeErr, net::ErrNoSuchClient());
    return;
  }
  if (old_form) {
    writer.Simple("OK");
  } else {
    writer.Integer(static_cast<int64_t>(doomed.size()));
  }
  // Not while iterating: closing a connection takes it out of connections_.
  for (const auto& other : doomed) {
    if (other.get() == &self) {
      self.CloseAfterReplies();
    } else {
      other->Close();
    }
  }
}

void Pipeline::RunServerCommand(net::Connection& connection, uint64_t slot,
                                const net::CommandSpec& spec,
                                std::span<const std::string_view> args) {
  std::string bytes;
  net::RespWriter writer(&bytes, connection.protocol);
  const std::string_view name = spec.name;

  if (name == "PING") {
    if (args.size() > 1) {
      writer.Bulk(args[1]);
    } else {
      writer.Simple("PONG");
    }
  } else if (name == "ECHO") {
    writer.Bulk(args[1]);
  } else if (name == "QUIT") {
    writer.Simple("OK");
    connection.Fill(slot, Lsn{0}, std::move(bytes));
    connection.CloseAfterReplies();
    return;
  } else if (name == "SELECT") {
    if (args[1] == "0") {
      writer.Simple("OK");
    } else {
      writer.Error(net::kCodeErr, net::ErrSelectDb());
    }
  } else if (name == "AUTH") {
    const std::string_view password = args.back();
    if (args.size() == 3 && !Is(args[1], "default")) {
      writer.Error(net::kCodeWrongPass, net::ErrWrongPass());
    } else if (config_.requirepass.empty()) {
      writer.Error(net::kCodeErr, net::ErrAuthNotConfigured());
    } else if (password == config_.requirepass) {
      connection.authenticated = true;
      writer.Simple("OK");
    } else {
      writer.Error(net::kCodeWrongPass, net::ErrWrongPass());
    }
  } else if (name == "HELLO") {
    int protocol = connection.protocol;
    size_t i = 1;
    if (args.size() > 1) {
      if (args[1] == "2") {
        protocol = 2;
      } else if (args[1] == "3") {
        protocol = 3;
      } else {
        writer.Error(net::kCodeNoProto, net::ErrProtocolVersion());
        connection.Fill(slot, Lsn{0}, std::move(bytes));
        return;
      }
      i = 2;
    }
    std::string error;
    std::string new_name = connection.name;
    bool authenticated = connection.authenticated;
    for (; i < args.size() && error.empty(); ++i) {
      if (Is(args[i], "AUTH") && i + 2 < args.size()) {
        if (!config_.requirepass.empty() && Is(args[i + 1], "default") &&
            args[i + 2] == config_.requirepass) {
          authenticated = true;
        } else if (config_.requirepass.empty() && Is(args[i + 1], "default")) {
          authenticated = true;
        } else {
          error = "WRONGPASS";
        }
        i += 2;
      } else if (Is(args[i], "SETNAME") && i + 1 < args.size()) {
        new_name = std::string(args[i + 1]);
        i += 1;
      } else {
        error = "ERR";
      }
    }
    if (error == "WRONGPASS") {
      writer.Error(net::kCodeWrongPass, net::ErrWrongPass());
    } else if (!error.empty()) {
      writer.Error(net::kCodeErr, net::ErrHelloSyntax());
    } else if (!authenticated) {
      writer.Error(net::kCodeNoAuth, net::ErrHelloNoAuth());
    } else {
      connection.protocol = protocol;
      connection.authenticated = authenticated;
      connection.name = new_name;
      bytes.clear();
      net::RespWriter hello(&bytes, protocol);
      hello.MapHeader(7);
      hello.Bulk("server");
      hello.Bulk("exactly");
      hello.Bulk("version");
      hello.Bulk(kVersion);
      hello.Bulk("proto");
      hello.Integer(protocol);
      hello.Bulk("id");
      hello.Integer(static_cast<int64_t>(connection.id()));
      hello.Bulk("mode");
      hello.Bulk("standalone");
      hello.Bulk("role");
      hello.Bulk("master");
      hello.Bulk("modules");
      hello.ArrayHeader(0);
    }
  } else if (name == "CLIENT") {
    const std::string_view sub = args[1];
    if (Is(sub, "ID")) {
      writer.Integer(static_cast<int64_t>(connection.id()));
    } else if (Is(sub, "SETNAME") && args.size() == 3) {
      connection.name = std::string(args[2]);
      writer.Simple("OK");
    } else if (Is(sub, "GETNAME")) {
      if (connection.name.empty()) {
        writer.Null();
      } else {
        writer.Bulk(connection.name);
      }
    } else if (Is(sub, "SETINFO") && args.size() == 4) {
      writer.Simple("OK");
    } else if (Is(sub, "INFO") && args.size() == 2) {
      writer.Bulk(ClientLine(connection));
    } else if (Is(sub, "LIST") && (args.size() == 2 || (args.size() > 3 && Is(args[2], "ID")))) {
      // Oldest first, as Redis lists them; `ID id ...` picks some.
      std::vector<std::shared_ptr<net::Connection>> listed;
      for (const auto& [id, weak] : connections_) {
        auto other = weak.lock();
        if (other == nullptr || other->closed()) continue;
        bool wanted = args.size() == 2;
        for (size_t i = 3; i < args.size() && !wanted; ++i) {
          wanted = args[i] == std::to_string(id);
        }
        if (wanted) listed.push_back(std::move(other));
      }
      std::sort(listed.begin(), listed.end(),
                [](const auto& a, const auto& b) { return a->id() < b->id(); });
      std::string text;
      for (const auto& other : listed) text += ClientLine(*other);
      writer.Bulk(text);
    } else if (Is(sub, "KILL") && args.size() >= 3) {
      KillClients(connection, writer, args);
    } else {
      writer.Error(net::kCodeErr, net::ErrClientSubcommand(sub));
    }
  } else if (name == "CONFIG") {
    // Tools such as redis-benchmark probe CONFIG GET; exactly is configured by
    // its flags, so it names no parameters rather than failing the probe.
    if (Is(args[1], "GET") && args.size() == 3) {
      writer.MapHeader(0);
    } else {
      writer.Error(net::kCodeErr, net::ErrConfigSubcommand());
    }
  } else if (name == "WATCH" || name == "UNWATCH") {
    writer.Error(net::kCodeErr, net::ErrWatch());
  } else if (name == "DBSIZE") {
    writer.Integer(static_cast<int64_t>(Records(engine_.stats())));
  } else if (name == "INFO") {
    writer.Bulk(InfoText(args.size() > 1 ? args[1] : std::string_view()));
  } else if (name == "COMMAND") {
    net::WriteCommandReply(writer, args);
  } else if (name == "SNAPSHOT") {
    if (snapshot_child_ >= 0) {
      writer.Error(net::kCodeErr, net::ErrSnapshotRunning());
    } else {
      StartSnapshot();
      if (snapshot_child_ >= 0) {
        writer.Simple(fmt::format("snapshot started at lsn {}", snapshot_lsn_.value));
      } else {
        writer.Error(net::kCodeErr, net::ErrSnapshotFork());
      }
    }
  } else if (name == "SHUTDOWN") {
    writer.Simple("OK");
    connection.Fill(slot, Lsn{0}, std::move(bytes));
    RequestShutdown();
    return;
  } else {
    EXACTLY_ASSERT(false);  // every kConnection row has a branch above
  }
  connection.Fill(slot, Lsn{0}, std::move(bytes));
}

void Pipeline::RunMultiCommand(net::Connection& connection, uint64_t slot,
                               const net::CommandSpec& spec,
                               std::span<const std::string_view> args) {
  const std::string_view name = spec.name;
  if (name == "MULTI") {
    if (connection.in_multi) {
      AnswerError(connection, slot, net::kCodeErr, net::ErrNestedMulti());
      return;
    }
    connection.in_multi = true;
    connection.multi_failed = false;
    connection.multi_queue.clear();
    connection.multi_record_bytes = 0;
    std::string bytes;
    net::RespWriter(&bytes, connection.protocol).Simple("OK");
    connection.Fill(slot, Lsn{0}, std::move(bytes));
    return;
  }
  if (name == "DISCARD" || name == "EXEC") {
    if (!connection.in_multi) {
      AnswerError(connection, slot, net::kCodeErr,
                  name == "EXEC" ? net::ErrExecWithoutMulti() : net::ErrDiscardWithoutMulti());
      return;
    }
    connection.in_multi = false;
    std::vector<core::Command> queued = std::move(connection.multi_queue);
    connection.multi_queue.clear();
    if (name == "DISCARD") {
      std::string bytes;
      net::RespWriter(&bytes, connection.protocol).Simple("OK");
      connection.Fill(slot, Lsn{0}, std::move(bytes));
      return;
    }
    if (connection.multi_failed) {
      AnswerError(connection, slot, net::kCodeExecAbort, net::ErrExecAbort());
      return;
    }
    core::Command group;
    group.kind = core::CommandKind::kGroup;
    group.group = std::move(queued);
    Enqueue(connection, slot, std::move(group));
    return;
  }
  // Inside MULTI: data commands queue; anything else is refused and dooms the EXEC.
  if ((spec.flags & net::kConnection) != 0) {
    AnswerError(connection, slot, net::kCodeErr, net::ErrNotInMulti(name));
    connection.multi_failed = true;
    return;
  }
  if (connection.multi_queue.size() >= core::kGroupCommandsMax) {
    AnswerError(connection, slot, net::kCodeErr, net::ErrGroupCommands());
    connection.multi_failed = true;
    return;
  }
  net::ParsedCommand parsed = spec.parse(args);
  if (!parsed.error.empty()) {
    AnswerError(connection, slot, net::kCodeErr, parsed.error);
    connection.multi_failed = true;
    return;
  }
  // The group becomes one journal record: refuse the command that would take it
  // past the record maximum now, rather than the whole group at EXEC.
  const size_t record_bytes =
      connection.multi_record_bytes + core::RecordBytesBound(parsed.command);
  if (record_bytes > core::kRecordBytesMax - core::kRecordHeadBytesMax - kGroupHeadBytes) {
    AnswerError(connection, slot, net::kCodeErr,
                net::ErrGroupTooLarge(record_bytes, core::kRecordBytesMax));
    connection.multi_failed = true;
    return;
  }
  connection.multi_record_bytes = record_bytes;
  connection.multi_queue.push_back(std::move(parsed.command));
  std::string bytes;
  net::RespWriter(&bytes, connection.protocol).Simple("QUEUED");
  connection.Fill(slot, Lsn{0}, std::move(bytes));
}

std::string Pipeline::InfoText(std::string_view section) const {
  const core::EngineStats tables = engine_.stats();
  const core::EngineConfig& limits = engine_.config();
  const int64_t uptime_s = (base::MonotonicNowMs() - started_ms_) / 1000;
  const bool all = section.empty() || Is(section, "all") || Is(section, "everything");
  std::string text;
  if (all || Is(section, "server")) {
    text += fmt::format(
        "# Server\r\nexactly_version:{}\r\nredis_version:7.0.0\r\nprocess_id:{}\r\n"
        "tcp_port:{}\r\nuptime_in_seconds:{}\r\ndata_dir:{}\r\nrecovery:{}\r\n"
        "clock_behind_ms:{}\r\nprotected_mode:{}\r\n\r\n",
        kVersion, getpid(), config_.port, uptime_s, config_.dir, recovery_summary_, ClockBehindMs(),
        protect_ ? "yes" : "no");
  }
  if (all || Is(section, "memory")) {
    const uint64_t used = UsedMemoryBytes();
    text += fmt::format(
        "# Memory\r\nused_memory:{}\r\nused_memory_rss:{}\r\nmaxmemory:{}\r\n"
        "maxmemory_policy:noeviction\r\nmem_clients_normal:{}\r\nmaxmemory_clients:{}\r\n"
        "\r\n",
        used, RssBytes(), config_.maxmemory_bytes, client_buffer_bytes_,
        config_.maxmemory_clients_bytes);
  }
  if (all || Is(section, "clients")) {
    text += fmt::format(
        "# Clients\r\nconnected_clients:{}\r\nmaxclients:{}\r\nblocked_clients:{}\r\n\r\n",
        connections_.size(), config_.clients_max, parked_.size());
  }
  if (all || Is(section, "persistence")) {
    const uint64_t syncs = journal_ != nullptr ? journal_->syncs() : 0;
    const uint64_t synced = journal_ != nullptr ? journal_->synced_records() : 0;
    text += fmt::format(
        "# Persistence\r\nfsync:{}\r\napplied_lsn:{}\r\ndurable_lsn:{}\r\nstorage_failed:{}\r\n"
        "snapshot_in_progress:{}\r\nlast_snapshot_lsn:{}\r\njournal_bytes_since_snapshot:{}"
        "\r\nfsyncs:{}\r\nrecords_per_fsync:{:.1f}\r\n\r\n",
        FsyncName(config_.fsync), engine_.applied_lsn().value, durable_lsn_.value,
        storage_failed_ ? 1 : 0, snapshot_child_ >= 0 ? 1 : 0, last_snapshot_lsn_.value,
        bytes_since_snapshot_, syncs, syncs == 0 ? 0.0 : static_cast<double>(synced) / syncs);
  }
  if (all || Is(section, "stats")) {
    text += fmt::format(
        "# Stats\r\ntotal_connections_received:{}\r\nrejected_connections:{}\r\n"
        "total_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\nbatches:{}\r\n"
        "journal_records:{}\r\n"
        "journal_bytes:{}\r\nsnapshots:{}\r\nevicted_clients:{}\r\noom_refusals:{}\r\n"
        "protected_mode_refusals:{}\r\n\r\n",
        stats_.connections_total, stats_.rejected_connections, stats_.commands, OpsPerSec(),
        stats_.batches, stats_.records, stats_.record_bytes, stats_.snapshots,
        stats_.evicted_clients, stats_.oom_refusals, stats_.protected_refusals);
  }
  if (all || Is(section, "tables")) {
    text += fmt::format(
        "# Tables\r\nclaims:{}\r\nclaims_max:{}\r\naccounts:{}\r\naccounts_max:{}\r\n"
        "transfers:{}\r\ntransfers_max:{}\r\npending_transfers:{}\r\n"
        "locks:{}\r\nlocks_max:{}\r\nwaiters:{}\r\nwaiters_max:{}\r\n"
        "idem_keys:{}\r\nidem_keys_max:{}\r\nlimit_keys:{}\r\nlimit_keys_max:{}\r\n"
        "parked_clients:{}\r\n\r\n",
        tables.claims, limits.claims_max, tables.accounts, limits.accounts_max, tables.transfers,
        limits.transfers_max, tables.pending, tables.locks, limits.locks_max, tables.waiters,
        limits.waiters_max, tables.idem_keys, limits.idem_keys_max, tables.limit_keys,
        limits.limit_keys_max, parked_.size());
  }
  if (all || Is(section, "keyspace")) {
    // One database, as redis-cli --stat and monitoring tools read it: every record
    // counts as a key (claims, accounts, transfers, locks, IDEM and limit keys).
    const size_t keys = Records(tables);
    text += "# Keyspace\r\n";
    if (keys > 0) text += fmt::format("db0:keys={},expires=0,avg_ttl=0\r\n", keys);
    text += "\r\n";
  }
  return text;
}

}  // namespace exactly::server
