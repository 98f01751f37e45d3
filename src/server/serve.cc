// Wiring: data dir → recovery → engine → journal → listener → event loop.
#include "server/serve.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <utility>
#include <vector>

#include "base/warm_pages.h"
#include "core/engine.h"
#include "net/listener.h"
#include "net/tls_context.h"
#include "server/clock.h"
#include "server/http_clients.h"
#include "server/pipeline.h"
#include "server/replicated_log.h"
#include "storage/journal_format.h"
#include "storage/journal_writer.h"
#include "storage/recovery.h"
#include "storage/repair.h"

namespace exactly::server {
namespace {

void PrintReport(const storage::RecoveryReport& report) {
  for (const std::string& note : report.notes) std::fprintf(stderr, "exactly: %s\n", note.c_str());
}

std::string Summary(const storage::RecoveryReport& report) {
  return "snapshot_lsn=" + std::to_string(report.snapshot_lsn.value) +
         ",records_replayed=" + std::to_string(report.records_replayed) +
         ",last_lsn=" + std::to_string(report.last_lsn.value) +
         ",bytes_cut=" + std::to_string(report.bytes_cut);
}

// Where a start's time went: reading and loading the snapshot, then reading and
// replaying the journal (of which `apply` is the engine's share), in seconds.
struct RecoveryTimes {
  double snapshot_s = 0;
  double journal_s = 0;
  double apply_s = 0;
};

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Warm arena pages kept ready during recovery: 64 MiB, a few hundred ms of replay.
constexpr size_t kWarmPagesReady = 64;

// Rebuilds `engine` from `dir`; with `check_only` nothing on disk is changed.
base::Result<storage::RecoveryReport> RecoverInto(core::Engine& engine, const std::string& dir,
                                                  bool check_only, RecoveryTimes* times) {
  storage::RecoveryOptions options;
  options.cut_torn_tail = !check_only;
  // The records' memory is faulted in on another core meanwhile (warm_pages.h).
  base::WarmPageSupply warm_pages(kWarmPagesReady);
  const auto start = std::chrono::steady_clock::now();
  auto result = storage::Recover(
      storage::DefaultFileSystem(), dir, options,
      [&engine, times, start](Lsn, std::string_view bytes) {
        base::Status loaded = engine.LoadState(bytes);
        times->snapshot_s = SecondsSince(start);
        return loaded;
      },
      [&engine, times](Lsn lsn, std::string_view payload) {
        const auto apply_start = std::chrono::steady_clock::now();
        base::Status replayed = engine.Replay(lsn, payload);
        times->apply_s += SecondsSince(apply_start);
        return replayed;
      });
  times->journal_s = SecondsSince(start) - times->snapshot_s;
  return result;
}

// One server per data dir: a second one would interleave journal writes.
int LockDataDir(const std::string& dir) {
  const std::string path = dir + "/LOCK";
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return -1;
  }
  return fd;  // held until the process exits
}

// Creates `dir` and every missing ancestor, top down, each through the file
// system's CreateDir, which syncs the new name into its parent: a power cut right
// after the first start must not take a freshly made --dir a/b/c with it.
base::Status CreateDataDir(const std::string& dir) {
  std::filesystem::path path = std::filesystem::path(dir).lexically_normal();
  if (!path.empty() && path.filename().empty()) path = path.parent_path();  // "a/b/"
  std::vector<std::filesystem::path> missing;
  std::error_code error;
  while (!path.empty() && !std::filesystem::exists(path, error)) {
    missing.push_back(path);
    if (path == path.parent_path()) break;
    path = path.parent_path();
  }
  storage::FileSystem& fs = storage::DefaultFileSystem();
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    EXACTLY_RETURN_IF_ERROR(fs.CreateDir(it->string()));
  }
  return base::Status::Ok();
}

// Replicated mode keeps its raft log here, under the data dir.
std::string RaftDir(const std::string& dir) { return dir + "/raft"; }

// Whether `dir` holds a single-node journal segment.
bool HasJournal(const std::string& dir) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (storage::ParseSegmentFileName(entry.path().filename().string()).has_value()) return true;
  }
  return false;
}

// Replicated mode: the raft log replaces the journal; the engine starts empty and
// is rebuilt from the log's snapshot and committed entries (replicated_log.h).
int ServeReplicated(const ServeConfig& config) {
  if (HasJournal(config.dir)) {
    std::fprintf(stderr,
                 "exactly: cannot start replicated: %s holds a single-node journal; a replica "
                 "keeps its log in %s only (never both). Use an empty dir.\n",
                 config.dir.c_str(), RaftDir(config.dir).c_str());
    return 2;
  }
  const std::string raft_dir = RaftDir(config.dir);
  std::error_code ignored;
  if (config.replication.recover && (!std::filesystem::exists(raft_dir, ignored) ||
                                     std::filesystem::is_empty(raft_dir, ignored))) {
    std::fprintf(stderr,
                 "exactly: --force-peers rewrites the configuration of an existing raft log, "
                 "and %s holds none\n",
                 raft_dir.c_str());
    return 2;
  }
  if (base::Status created = CreateDataDir(raft_dir); !created.ok()) {
    std::fprintf(stderr, "exactly: cannot create %s: %s\n", raft_dir.c_str(),
                 created.ToString().c_str());
    return 2;
  }
  core::EngineConfig engine_config;
  engine_config.id_retention_ms = config.id_retention_ms;
  core::Engine engine(engine_config);

  boost::asio::io_context io(1);
  Pipeline pipeline(io, engine, config, "replicated");
  ReplicatedLog log(io, engine_config);
  pipeline.SetReplicatedLog(&log);
  net::Listener listener(
      io, [&pipeline](boost::asio::ip::tcp::socket socket) { pipeline.Accept(std::move(socket)); });
  if (base::Status listening = listener.Listen(config.bind, config.port); !listening.ok()) {
    std::fprintf(stderr, "exactly: %s\n", listening.ToString().c_str());
    return 2;
  }
  if (base::Status started = log.Start(config.replication, raft_dir, &pipeline); !started.ok()) {
    std::fprintf(stderr, "exactly: cannot start the raft log: %s\n", started.ToString().c_str());
    return 2;
  }

  boost::asio::steady_timer grace(io);
  pipeline.set_on_shutdown([&] {
    listener.Stop();
    log.Stop();  // entries in flight end as outcome unknown: their clients get -TRYAGAIN
    grace.expires_after(std::chrono::milliseconds(200));
    grace.async_wait([&io](const boost::system::error_code&) { io.stop(); });
  });
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&pipeline](const boost::system::error_code& error, int) {
    if (!error) pipeline.RequestShutdown();
  });
  std::fprintf(stderr, "exactly: ready on %s:%u (dir %s, node %llu of %zu, raft %s)\n",
               config.bind.c_str(), listener.port(), config.dir.c_str(),
               static_cast<unsigned long long>(config.replication.node_id),
               config.replication.peers.size(), config.replication.raft_bind.c_str());
  std::fflush(stderr);
  io.run();
  log.Stop();
  std::fprintf(stderr, "exactly: stopped at lsn %llu\n",
               static_cast<unsigned long long>(engine.applied_lsn().value));
  return 0;
}

}  // namespace

int Serve(const ServeConfig& given) {
  ServeConfig config = given;
  // Bad TLS files refuse the start before anything else is touched.
  if (!config.tls_files.cert.empty()) {
    auto tls = net::TlsContext::Load(config.tls_files);
    if (!tls.ok()) {
      std::fprintf(stderr, "exactly: cannot start: %s\n", tls.status().message().c_str());
      return 2;
    }
    config.tls = std::move(tls.value());
  }
  if (base::Status created = CreateDataDir(config.dir); !created.ok()) {
    std::fprintf(stderr, "exactly: cannot create data dir %s: %s\n", config.dir.c_str(),
                 created.ToString().c_str());
    return 2;
  }
  if (LockDataDir(config.dir) < 0) {
    std::fprintf(stderr, "exactly: data dir %s is in use by another exactly process\n",
                 config.dir.c_str());
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  if (config.replication.enabled()) return ServeReplicated(config);
  if (std::filesystem::exists(RaftDir(config.dir))) {
    std::fprintf(stderr,
                 "exactly: cannot start: %s holds a replica's raft log (%s); start it with its "
                 "--node-id, --raft-bind and --peers\n",
                 config.dir.c_str(), RaftDir(config.dir).c_str());
    return 2;
  }

  core::EngineConfig engine_config;
  engine_config.id_retention_ms = config.id_retention_ms;
  core::Engine engine(engine_config);
  RecoveryTimes times;
  auto report = RecoverInto(engine, config.dir, /*check_only=*/false, &times);
  if (!report.ok()) {
    std::fprintf(stderr, "exactly: cannot start: %s\n", report.status().ToString().c_str());
    return 2;
  }
  PrintReport(*report);
  std::fprintf(stderr,
               "exactly: recovered in %.2f s: snapshot %.2f s, journal %.2f s "
               "(%llu records, %.2f s of it applying them)\n",
               times.snapshot_s + times.journal_s, times.snapshot_s, times.journal_s,
               static_cast<unsigned long long>(report->records_replayed), times.apply_s);
  // Time in the engine never runs backwards: behind the journal's last timestamp,
  // it stands still (TTLs, leases and windows with it) until the clock catches up.
  const int64_t behind_ms = engine.last_timestamp().value - WallClockNow().value;
  if (behind_ms > 0) {
    std::fprintf(stderr,
                 "exactly: WARNING: the clock is %lld ms behind the journal's last timestamp; "
                 "time stands still in the server (TTLs, leases and windows do not advance) "
                 "until it catches up. INFO server shows clock_behind_ms.\n",
                 static_cast<long long>(behind_ms));
    if (behind_ms > config.max_clock_behind_ms && !config.allow_clock_behind) {
      std::fprintf(stderr,
                   "exactly: cannot start: the clock is behind by more than "
                   "--max-clock-behind %lld ms. Fix the clock, or start with "
                   "--allow-clock-behind to accept standing time.\n",
                   static_cast<long long>(config.max_clock_behind_ms));
      return 2;
    }
  }
  auto writer =
      storage::OpenJournalWriter(storage::DefaultFileSystem(), config.dir, engine.applied_lsn());
  if (!writer.ok()) {
    std::fprintf(stderr, "exactly: cannot open the journal: %s\n",
                 writer.status().ToString().c_str());
    return 2;
  }

  boost::asio::io_context io(1);
  Pipeline pipeline(io, engine, config, Summary(*report));
  // With --fsync no the loop thread writes the journal itself: a write to the page
  // cache is short, and no hand-off between threads is paid per batch
  // (storage/group_commit.h has the figures). With --fsync always the fdatasync runs
  // on the journal's own thread, so a slow disk holds only the replies that wait
  // for it, never PING or a read of durable state (tests/integration/
  // test_durability_order.py); everysec needs that thread to sync on time.
  // The callbacks run on the loop thread, inside the batch that submitted, or are
  // posted to it.
  const storage::CommitThread commit_thread = config.fsync == storage::FsyncMode::kNo
                                                  ? storage::CommitThread::kCaller
                                                  : storage::CommitThread::kOwn;
  const bool on_loop = commit_thread == storage::CommitThread::kCaller;
  storage::GroupCommit journal(
      std::move(writer.value()), config.fsync,
      [&io, &pipeline, on_loop](Lsn lsn) {
        if (on_loop) return pipeline.OnDurable(lsn);
        boost::asio::post(io, [&pipeline, lsn] { pipeline.OnDurable(lsn); });
      },
      [&io, &pipeline, on_loop](base::Status status) {
        if (on_loop) return pipeline.OnStorageFailure(status);
        boost::asio::post(io, [&pipeline, status] { pipeline.OnStorageFailure(status); });
      },
      commit_thread);
  pipeline.SetJournal(&journal);

  net::Listener listener(
      io, [&pipeline](boost::asio::ip::tcp::socket socket) { pipeline.Accept(std::move(socket)); });
  if (config.port != 0) {
    if (base::Status listening = listener.Listen(config.bind, config.port); !listening.ok()) {
      std::fprintf(stderr, "exactly: %s\n", listening.ToString().c_str());
      return 2;
    }
  }
  // RESP over TLS: the same clients and pipeline, another port (docs/tls.md).
  net::Listener tls_listener(io, [&pipeline](boost::asio::ip::tcp::socket socket) {
    pipeline.Accept(std::move(socket), /*tls=*/true);
  });
  if (config.tls_port != 0) {
    if (base::Status listening = tls_listener.Listen(config.bind, config.tls_port);
        !listening.ok()) {
      std::fprintf(stderr, "exactly: %s\n", listening.ToString().c_str());
      return 2;
    }
  }

  // HTTP clients enter the same pipeline (server/http_clients.h).
  HttpClients http_clients(io, config, &pipeline);
  net::Listener http_listener(io, [&http_clients](boost::asio::ip::tcp::socket socket) {
    http_clients.Accept(std::move(socket));
  });
  bool http_listening = false;
  if (config.http_port != 0) {
    base::Status listening = http_listener.Listen(config.bind, config.http_port);
    if (!listening.ok() && config.http_port_given) {
      std::fprintf(stderr, "exactly: %s\n", listening.ToString().c_str());
      return 2;
    }
    if (!listening.ok()) {
      std::fprintf(stderr,
                   "exactly: WARNING: no HTTP: %s; give --http-port to choose another port, "
                   "or --http-port 0 to go without\n",
                   listening.ToString().c_str());
    }
    http_listening = listening.ok();
  }

  boost::asio::steady_timer grace(io);
  pipeline.set_on_shutdown([&] {
    if (config.port != 0) listener.Stop();
    if (config.tls_port != 0) tls_listener.Stop();
    if (http_listening) http_listener.Stop();
    pipeline.StopSnapshot();
    journal.Stop();  // drains and syncs; its last OnDurable is posted before the stop below
    grace.expires_after(std::chrono::milliseconds(200));
    grace.async_wait([&io](const boost::system::error_code&) { io.stop(); });
  });
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&pipeline](const boost::system::error_code& error, int) {
    if (!error) pipeline.RequestShutdown();
  });

  if (pipeline.protected_mode()) {
    std::fprintf(stderr,
                 "exactly: protected mode: %s is not a loopback address and the default user "
                 "needs no password, so only loopback clients are served. Set --requirepass "
                 "(or a password for default in --aclfile), or --protected-mode no if the "
                 "network is trusted.\n",
                 config.bind.c_str());
  }
  const uint16_t ready_port = config.port != 0 ? listener.port() : tls_listener.port();
  std::fprintf(stderr, "exactly: ready on %s:%u%s (dir %s, lsn %llu)\n", config.bind.c_str(),
               ready_port, config.port != 0 ? "" : " over TLS only", config.dir.c_str(),
               static_cast<unsigned long long>(engine.applied_lsn().value));
  if (config.tls_port != 0) {
    std::fprintf(stderr, "exactly: RESP over TLS on %s:%u%s\n", config.bind.c_str(),
                 tls_listener.port(),
                 config.tls->verifies_clients() ? " (client certificates required)" : "");
  }
  if (http_listening) {
    std::fprintf(stderr, "exactly: %s on %s:%u\n", config.tls != nullptr ? "HTTPS" : "HTTP",
                 config.bind.c_str(), http_listener.port());
  }
  std::fflush(stderr);
  io.run();
  journal.Stop();
  std::fprintf(stderr, "exactly: stopped at lsn %llu\n",
               static_cast<unsigned long long>(engine.applied_lsn().value));
  return 0;
}

int Check(const std::string& dir) {
  if (!std::filesystem::is_directory(dir)) {
    std::fprintf(stderr, "exactly check: %s is not a directory\n", dir.c_str());
    return 2;
  }
  core::Engine engine;
  RecoveryTimes times;
  auto report = RecoverInto(engine, dir, /*check_only=*/true, &times);
  if (!report.ok()) {
    std::printf("corrupt: %s\n", report.status().ToString().c_str());
    return 1;
  }
  for (const std::string& note : report->notes) std::printf("%s\n", note.c_str());
  const core::EngineStats stats = engine.stats();
  std::printf(
      "ok: snapshot at lsn %llu, %llu journal records replayed, last lsn %llu; "
      "%zu claims, %zu accounts, %zu remembered transfer ids (%zu pending)\n",
      static_cast<unsigned long long>(report->snapshot_lsn.value),
      static_cast<unsigned long long>(report->records_replayed),
      static_cast<unsigned long long>(report->last_lsn.value), stats.claims, stats.accounts,
      stats.transfers, stats.pending);
  if (report->bytes_cut > 0) {
    std::printf("torn tail: %llu bytes at the end of %s will be cut at the next start\n",
                static_cast<unsigned long long>(report->bytes_cut), report->cut_file.c_str());
  }
  return 0;
}

int Repair(const std::string& dir) {
  auto report = storage::Repair(storage::DefaultFileSystem(), dir);
  if (!report.ok()) {
    std::fprintf(stderr, "exactly repair: %s\n", report.status().ToString().c_str());
    return 1;
  }
  for (const std::string& note : report->notes) std::printf("%s\n", note.c_str());
  std::printf("repaired: journal ends at lsn %llu; %llu bytes cut\n",
              static_cast<unsigned long long>(report->last_lsn.value),
              static_cast<unsigned long long>(report->bytes_cut));
  return 0;
}

}  // namespace exactly::server
