// exactly: one binary, subcommands serve | check | repair | commands | race.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "base/version.h"
#include "http/openapi.h"
#include "net/command_table.h"
#include "race/race_main.h"
#include "server/config.h"
#include "server/memory_usage.h"
#include "server/replica_check.h"
#include "server/serve.h"

int main(int argc, char** argv) {
  // `exactly race` has its own options (docs/race.md); everything after `race` is its.
  if (argc > 1 && std::string_view(argv[1]) == "race") {
    return exactly::race::RaceMain(argc - 1, argv + 1);
  }
  using exactly::server::ServeConfig;
  using exactly::storage::FsyncMode;

  CLI::App app{
      "exactly: claims, bounded ledgers and idempotent operations, decided once, durably,\n"
      "over the Redis protocol. Any Redis client is an exactly client."};
  app.set_version_flag("--version", exactly::base::kVersion);
  app.require_subcommand(0, 1);

  ServeConfig config;
  CLI::App* serve =
      app.add_subcommand("serve", "Start the server (default 127.0.0.1:7379, ./data)");
  serve->add_option("--dir", config.dir, "Data directory (journal and snapshots)")
      ->capture_default_str();
  serve->add_option("--bind", config.bind, "Address to listen on")->capture_default_str();
  serve->add_option("--port", config.port, "TCP port (0: none, serve over --tls-port only)")
      ->capture_default_str();
  serve
      ->add_option("--http-port", config.http_port,
                   "HTTP/JSON port on the same address (0: no HTTP; docs/http.md); HTTPS "
                   "only when --tls-cert is given")
      ->capture_default_str();
  serve->add_flag("--console-writes", config.console_writes,
                  "Let the web console at GET / send commands (read-only without; docs/http.md)");
  serve->add_option("--tls-port", config.tls_port,
                    "RESP over TLS on this port, beside --port (needs --tls-cert and "
                    "--tls-key; docs/tls.md)");
  serve->add_option("--tls-cert", config.tls_files.cert,
                    "PEM certificate chain of the server (leaf first); with it the HTTP port "
                    "speaks HTTPS only");
  serve->add_option("--tls-key", config.tls_files.key, "PEM private key of --tls-cert");
  serve->add_option("--tls-ca-cert", config.tls_files.ca_cert,
                    "PEM CA certificates: TLS clients must present a certificate one of "
                    "them signed (mutual TLS)");
  const std::map<std::string, FsyncMode> fsync_modes{
      {"always", FsyncMode::kAlways}, {"everysec", FsyncMode::kEverySec}, {"no", FsyncMode::kNo}};
  std::string fsync_name = "always";
  serve
      ->add_option("--fsync", fsync_name,
                   "always: reply after fdatasync; everysec: sync once a second (power loss may "
                   "lose the last second); no: leave syncing to the OS")
      ->capture_default_str()
      ->check(CLI::IsMember(fsync_modes));
  std::string sync_hold = "yes";
  serve
      ->add_option("--sync-hold", sync_hold,
                   "--fsync always: yes: after a sync, hold the next one (at most as long as the "
                   "last took) until the clients it answered are back, so that they share it")
      ->capture_default_str()
      ->check(CLI::IsMember({"yes", "no"}));
  serve->add_option("--requirepass", config.requirepass,
                    "Password of the default user, which clients must AUTH with (or use "
                    "--aclfile)");
  serve->add_option("--aclfile", config.aclfile,
                    "Users, passwords, bearer tokens and what each may run on which keys, one "
                    "'user <name> on >password +@claims ~phone:*' line each (docs/acl.md); read "
                    "at start, a bad line refuses to start");
  serve->add_option("--maxclients", config.clients_max, "Most clients connected at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  serve
      ->add_option("--timeout", config.idle_timeout_s,
                   "Close clients idle this many seconds (0: never)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  int64_t retention_days = config.id_retention_ms / (24LL * 3600 * 1000);
  serve
      ->add_option("--id-retention-days", retention_days,
                   "How long a transfer id is remembered (its first outcome stays final)")
      ->capture_default_str()
      ->check(CLI::Range(1, 36500));
  uint64_t snapshot_mb = config.snapshot_every_bytes / (1024 * 1024);
  serve
      ->add_option("--snapshot-every-mb", snapshot_mb,
                   "Snapshot after this many MiB of journal (0: only on SNAPSHOT)")
      ->capture_default_str();

  serve
      ->add_option("--maxmemory", config.maxmemory_bytes,
                   "Refuse commands that add records (-OOM) past this much memory in use, e.g. "
                   "4gb (0: no bound; default: half of RAM)")
      ->transform(CLI::AsSizeValue(false));
  serve
      ->add_option("--maxmemory-clients", config.maxmemory_clients_bytes,
                   "Bound on all client buffers together, RESP's and HTTP's; past it the largest "
                   "are disconnected (0: no bound)")
      ->capture_default_str()
      ->transform(CLI::AsSizeValue(false));
  std::string protected_mode = "yes";
  serve
      ->add_option("--protected-mode", protected_mode,
                   "yes: on a non-loopback address while the default user needs no password "
                   "(no --requirepass, or 'user default on nopass' in --aclfile), serve loopback "
                   "clients only")
      ->capture_default_str()
      ->check(CLI::IsMember({"yes", "no"}));
  serve
      ->add_option("--max-clock-behind", config.max_clock_behind_ms,
                   "Refuse to start when the clock is this many ms behind the journal's last "
                   "timestamp (time would stand still until it catches up)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  serve->add_flag("--allow-clock-behind", config.allow_clock_behind,
                  "Start even when the clock is behind by more than --max-clock-behind");

  uint64_t node_id = 0;
  std::string raft_bind;
  std::string peers;
  serve->add_option("--node-id", node_id,
                    "Replicated mode: this node's id among --peers (docs/replication.md)");
  serve->add_option("--raft-bind", raft_bind,
                    "Replicated mode: host:port this node's raft log listens on; must be its "
                    "raft address in --peers");
  bool join = false;
  serve->add_flag("--join", join,
                  "Replicated mode, instead of --peers: start without bootstrapping and wait "
                  "for the group's leader to add this node (CLUSTER ADDNODE); later starts "
                  "keep the replicated configuration");
  std::string force_peers;
  serve->add_option("--force-peers", force_peers,
                    "Recovery after losing a quorum, on one stopped survivor: replace its "
                    "replicated configuration with these voters (same form as --peers), then "
                    "start (docs/replication.md)");
  serve->add_option("--peers", peers,
                    "Replicated mode: every voter (an odd number, 3 or 5) as "
                    "id=resp-host:resp-port@raft-host:raft-port,...; used to bootstrap a new "
                    "group, later starts keep the replicated configuration");

  // Hidden (no group): the negative controls of tests/integration/test_replication_faults.py.
  bool unsafe_ack_before_commit = false;
  bool unsafe_local_reads = false;
  serve->add_flag("--unsafe-ack-before-commit", unsafe_ack_before_commit)->group("");
  serve->add_flag("--unsafe-local-reads", unsafe_local_reads)->group("");
  // Hidden too: the negative control of tests/integration/test_console.py.
  bool unsafe_unordered_table_reads = false;
  serve->add_flag("--unsafe-unordered-table-reads", unsafe_unordered_table_reads)->group("");

  std::string check_dir = "data";
  std::string check_layout = "auto";
  CLI::App* check = app.add_subcommand(
      "check",
      "Verify a data dir without changing it: a single node's journal and snapshots, or a "
      "replica's raft log (docs/replication.md), whose state digest it prints as INFO digest does");
  check->add_option("--dir", check_dir, "Data directory")->capture_default_str();
  check
      ->add_option("--layout", check_layout,
                   "auto: a replica's raft log when the dir holds one (dir/raft), else the "
                   "single-node journal; journal or replica: that one")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "journal", "replica"}));

  std::string repair_dir;
  CLI::App* repair =
      app.add_subcommand("repair", "Cut the journal at its first bad record (loses what follows)");
  repair->add_option("--dir", repair_dir, "Data directory")->required();

  CLI::App* commands = app.add_subcommand("commands", "List every command with its syntax");
  CLI::App* http_docs = app.add_subcommand(
      "http-docs", "Print the HTTP API reference of docs/http.md, generated from the commands");
  CLI::App* openapi = app.add_subcommand(
      "openapi", "Print the HTTP API's OpenAPI 3.1 document (GET /v1/openapi.json)");
  app.add_subcommand("race",
                     "Fire synchronized requests at an HTTP or RESP endpoint and check "
                     "invariants (exactly race --help)");

  CLI11_PARSE(app, argc, argv);

  if (serve->parsed()) {
    config.fsync = fsync_modes.at(fsync_name);
    config.id_retention_ms = retention_days * 24LL * 3600 * 1000;
    config.snapshot_every_bytes = snapshot_mb * 1024 * 1024;
    config.protected_mode = protected_mode == "yes";
    config.sync_hold = sync_hold == "yes";
    if (exactly::base::Status replicated =
            join ? exactly::server::ParseJoin(
                       serve->count("--node-id") > 0, node_id, serve->count("--raft-bind") > 0,
                       raft_bind, serve->count("--peers") > 0, config.port, &config.replication)
                 : exactly::server::ParseReplication(
                       serve->count("--node-id") > 0, node_id, serve->count("--raft-bind") > 0,
                       raft_bind, serve->count("--peers") > 0 || serve->count("--force-peers") > 0,
                       serve->count("--force-peers") > 0 ? force_peers : peers, config.port,
                       &config.replication);
        !replicated.ok()) {
      std::fprintf(stderr, "exactly: %s\n", replicated.message().c_str());
      return 2;
    }
    if (serve->count("--force-peers") > 0) {
      if (join || serve->count("--peers") > 0) {
        std::fprintf(stderr, "exactly: --force-peers replaces --peers and --join\n");
        return 2;
      }
      config.replication.recover = true;
    }
    if (unsafe_ack_before_commit || unsafe_local_reads) {
      const char* allowed = std::getenv("EXACTLY_UNSAFE_TEST_FLAGS");
      if (allowed == nullptr || std::string_view(allowed) != "1" || !config.replication.enabled()) {
        std::fprintf(stderr,
                     "exactly: --unsafe-ack-before-commit and --unsafe-local-reads break the "
                     "replicated mode's guarantees on purpose; they exist for its fault tests "
                     "and need replicated mode and EXACTLY_UNSAFE_TEST_FLAGS=1\n");
        return 2;
      }
      std::fprintf(stderr, "exactly: WARNING: unsafe test flags on:%s%s\n",
                   unsafe_ack_before_commit ? " --unsafe-ack-before-commit" : "",
                   unsafe_local_reads ? " --unsafe-local-reads" : "");
      config.replication.unsafe_ack_before_commit = unsafe_ack_before_commit;
      config.replication.unsafe_local_reads = unsafe_local_reads;
    }
    if (unsafe_unordered_table_reads) {
      const char* allowed = std::getenv("EXACTLY_UNSAFE_TEST_FLAGS");
      if (allowed == nullptr || std::string_view(allowed) != "1") {
        std::fprintf(stderr,
                     "exactly: --unsafe-unordered-table-reads lets table pages miss writes "
                     "sent before them on purpose; it exists for the console's tests and "
                     "needs EXACTLY_UNSAFE_TEST_FLAGS=1\n");
        return 2;
      }
      std::fprintf(stderr,
                   "exactly: WARNING: unsafe test flag on: --unsafe-unordered-table-reads\n");
      config.unsafe_unordered_table_reads = true;
    }
    if (config.replication.enabled() && serve->count("--fsync") > 0 &&
        config.fsync != FsyncMode::kAlways) {
      std::fprintf(stderr,
                   "exactly: --fsync %s is for the single-node journal; in replicated mode the "
                   "raft log syncs every entry before it counts toward a quorum\n",
                   fsync_name.c_str());
      return 2;
    }
    if (exactly::base::Status users = exactly::server::LoadUsers(&config); !users.ok()) {
      std::fprintf(stderr, "exactly: %s\n", users.message().c_str());
      return 2;
    }
    config.http_port_given = serve->count("--http-port") != 0;
    // The replicated mode's peers are often on 7379, 7380, 7381 (docs/replication.md):
    // a replicated node serves HTTP only on a port it is given.
    if (config.replication.enabled() && !config.http_port_given) config.http_port = 0;
    if (exactly::base::Status tls = exactly::server::CheckTls(config); !tls.ok()) {
      std::fprintf(stderr, "exactly: %s\n", tls.message().c_str());
      return 2;
    }
    if (serve->count("--maxmemory") == 0) {
      config.maxmemory_bytes = exactly::server::DefaultMaxMemoryBytes();
    }
    return exactly::server::Serve(config);
  }
  if (check->parsed()) return exactly::server::CheckDataDir(check_dir, check_layout);
  if (repair->parsed()) return exactly::server::Repair(repair_dir);
  if (commands->parsed()) {
    std::fputs(exactly::net::CommandHelp().c_str(), stdout);
    return 0;
  }
  if (http_docs->parsed()) {
    std::fputs(exactly::http::ReferenceMarkdown().c_str(), stdout);
    return 0;
  }
  if (openapi->parsed()) {
    std::puts(exactly::http::OpenApiJson().c_str());
    return 0;
  }
  // No subcommand: say what there is, as --help would, and that nothing ran.
  std::fputs(app.help().c_str(), stderr);
  return 2;
}
