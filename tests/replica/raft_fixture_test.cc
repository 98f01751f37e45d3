// Seeded protocol tests on C-Raft's raft_fixture (in-memory I/O, fake clock): random
// schedules of proposals, kills, revivals, partitions and one-way message loss on 3
// and 5 voters; after healing, every replica holds the same entries in the same
// order, every acknowledged entry is there, none twice, and each leader term's
// entries keep their proposal order. A failing seed is printed; rerun one with
// EXACTLY_RAFT_SEED=<seed>.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "replica/fixture_harness.h"
#include "replica/history_check.h"

namespace exactly::testing {
namespace {

struct Accepted {
  unsigned server;
  std::uint64_t term;
};

struct Figures {
  std::uint64_t committed = 0;
  std::uint64_t acknowledged = 0;
  std::uint64_t leader_changes = 0;
  std::uint64_t restores = 0;
};

std::vector<std::string> AppliedOf(fixture_harness* h, unsigned i) {
  std::vector<std::uint64_t> values(fixture_harness_applied(h, i, nullptr, 0));
  fixture_harness_applied(h, i, values.data(), values.size());
  std::vector<std::string> out;
  out.reserve(values.size());
  for (std::uint64_t v : values) out.push_back(std::to_string(v));
  return out;
}

std::vector<std::vector<std::string>> AllApplied(fixture_harness* h) {
  std::vector<std::vector<std::string>> all;
  for (unsigned i = 0; i < fixture_harness_n(h); i++) all.push_back(AppliedOf(h, i));
  return all;
}

// An alive server that believes it leads, with the highest term; -1 if none.
int AliveLeader(fixture_harness* h) {
  int best = -1;
  for (unsigned i = 0; i < fixture_harness_n(h); i++) {
    if (!fixture_harness_alive(h, i) || !fixture_harness_is_leader(h, i)) continue;
    if (best < 0 || fixture_harness_term(h, i) > fixture_harness_term(h, best)) {
      best = static_cast<int>(i);
    }
  }
  return best;
}

class SeededRun {
 public:
  explicit SeededRun(std::uint32_t seed) : seed_(seed), rng_(seed) {
    n_ = seed % 4 == 3 ? 5 : 3;
    std::vector<unsigned> election(n_), latency(n_);
    for (unsigned i = 0; i < n_; i++) {
      election[i] = 1000 + static_cast<unsigned>(rng_() % 1000);
      latency[i] = 5 + static_cast<unsigned>(rng_() % 40);
    }
    // Half the seeds compact the log often, so lagging replicas catch up by snapshot.
    // (A trailing of 4 entries crashed inside libraft 0.22.1's fixture on some seeds,
    // see docs/replication.md; 16 holds.)
    bool small_snapshots = seed % 2 == 1;
    h_ = fixture_harness_create(n_, election.data(), latency.data(), small_snapshots ? 32 : 0,
                                small_snapshots ? 16 : 0);
  }
  ~SeededRun() { fixture_harness_destroy(h_); }
  SeededRun(const SeededRun&) = delete;
  SeededRun& operator=(const SeededRun&) = delete;

  void Go(Figures* figures) {
    ASSERT_NE(h_, nullptr);
    ASSERT_EQ(fixture_harness_step_until_leader(h_, 10000), 1);
    for (int round = 0; round < 150; round++) {
      Act();
      fixture_harness_step_ms(h_, 10 + static_cast<unsigned>(rng_() % 300));
      Observe();
      CheckPrefixes();
      if (::testing::Test::HasFailure()) return;
    }
    Heal();
    ASSERT_EQ(fixture_harness_step_until_leader(h_, 30000), 1);
    int leader = fixture_harness_leader(h_);
    ASSERT_GE(leader, 0);
    std::uint64_t index = 0;
    ASSERT_TRUE(Propose(static_cast<unsigned>(leader), &index));
    ASSERT_EQ(fixture_harness_step_until_applied(h_, index, 30000), 1);
    fixture_harness_step_ms(h_, 1000);
    Observe();
    CheckFinal(figures);
  }

 private:
  bool Propose(unsigned server, std::uint64_t* index) {
    std::uint64_t value = next_value_++;
    std::uint64_t term = 0;
    if (fixture_harness_propose(h_, server, value, index, &term) != 0) return false;
    accepted_[value] = Accepted{server, term};
    return true;
  }

  void Act() {
    unsigned action = static_cast<unsigned>(rng_() % 100);
    unsigned a = static_cast<unsigned>(rng_() % n_);
    unsigned b = static_cast<unsigned>(rng_() % n_);
    std::uint64_t ignored = 0;
    if (action < 40) {
      int leader = AliveLeader(h_);
      unsigned k = 1 + static_cast<unsigned>(rng_() % 4);
      for (unsigned i = 0; i < k && leader >= 0; i++)
        Propose(static_cast<unsigned>(leader), &ignored);
    } else if (action < 50) {
      if (fixture_harness_alive(h_, a)) Propose(a, &ignored);  // mostly refused: not leader
    } else if (action < 62) {
      if (fixture_harness_alive(h_, a) && dead_.size() < (n_ - 1) / 2) {
        fixture_harness_kill(h_, a);
        dead_.insert(a);
      }
    } else if (action < 72) {
      if (!dead_.empty()) {
        unsigned d = *dead_.begin();
        fixture_harness_revive(h_, d);
        dead_.erase(d);
      }
    } else if (action < 80) {
      if (a != b && cut_.size() < 2) {
        fixture_harness_disconnect(h_, a, b);
        cut_.insert({std::min(a, b), std::max(a, b)});
      }
    } else if (action < 88) {
      if (!cut_.empty()) {
        auto [x, y] = *cut_.begin();
        fixture_harness_reconnect(h_, x, y);
        cut_.erase(cut_.begin());
      }
    } else if (action < 93) {
      // One-way loss: the leader's messages to one follower vanish.
      int leader = AliveLeader(h_);
      if (leader >= 0 && static_cast<unsigned>(leader) != a) {
        fixture_harness_saturate(h_, static_cast<unsigned>(leader), a);
        saturated_.insert({static_cast<unsigned>(leader), a});
      }
    } else if (action < 97) {
      for (auto [x, y] : saturated_) fixture_harness_desaturate(h_, x, y);
      saturated_.clear();
    }
  }

  void Heal() {
    for (unsigned d : dead_) fixture_harness_revive(h_, d);
    dead_.clear();
    for (auto [x, y] : cut_) fixture_harness_reconnect(h_, x, y);
    cut_.clear();
    for (auto [x, y] : saturated_) fixture_harness_desaturate(h_, x, y);
    saturated_.clear();
  }

  void Observe() {
    std::uint64_t values[256];
    int statuses[256];
    std::size_t n = 0;
    while ((n = fixture_harness_take_outcomes(h_, values, statuses, 256)) > 0) {
      for (std::size_t k = 0; k < n; k++) {
        if (statuses[k] == 0) acknowledged_.push_back(std::to_string(values[k]));
      }
    }
    int leader = AliveLeader(h_);
    if (leader >= 0) {
      std::pair<int, std::uint64_t> now{leader, fixture_harness_term(h_, leader)};
      if (now != last_leader_) leader_changes_++;
      last_leader_ = now;
    }
  }

  void CheckPrefixes() {
    std::vector<std::string> violations = CheckHistory(AllApplied(h_), {}, false);
    EXPECT_TRUE(violations.empty()) << "seed " << seed_ << ": " << violations.front();
  }

  void CheckFinal(Figures* figures) {
    std::vector<std::vector<std::string>> all = AllApplied(h_);
    std::vector<std::string> violations = CheckHistory(all, acknowledged_, false);
    ASSERT_TRUE(violations.empty()) << "seed " << seed_ << ": " << violations.front();
    for (unsigned i = 1; i < n_; i++) {
      ASSERT_EQ(all[i].size(), all[0].size()) << "seed " << seed_ << " replica " << i;
      ASSERT_EQ(DigestOf(all[i]), DigestOf(all[0])) << "seed " << seed_ << " replica " << i;
    }
    // Entries accepted by one leader in one term commit in the order it accepted them.
    std::map<std::pair<unsigned, std::uint64_t>, std::uint64_t> last_of_term;
    for (const std::string& e : all[0]) {
      std::uint64_t value = std::stoull(e);
      auto it = accepted_.find(value);
      ASSERT_NE(it, accepted_.end()) << "seed " << seed_ << ": " << e << " was never proposed";
      auto key = std::make_pair(it->second.server, it->second.term);
      auto [slot, fresh] = last_of_term.try_emplace(key, value);
      if (!fresh) {
        ASSERT_LT(slot->second, value) << "seed " << seed_ << ": reordered within a term";
        slot->second = value;
      }
    }
    figures->committed += all[0].size();
    figures->acknowledged += acknowledged_.size();
    figures->leader_changes += leader_changes_;
    for (unsigned i = 0; i < n_; i++) figures->restores += fixture_harness_restores(h_, i);
  }

  std::uint32_t seed_;
  std::mt19937 rng_;
  unsigned n_ = 3;
  fixture_harness* h_ = nullptr;
  std::uint64_t next_value_ = 1;
  std::map<std::uint64_t, Accepted> accepted_;
  std::vector<std::string> acknowledged_;
  std::set<unsigned> dead_;
  std::set<std::pair<unsigned, unsigned>> cut_;
  std::set<std::pair<unsigned, unsigned>> saturated_;
  std::pair<int, std::uint64_t> last_leader_{-1, 0};
  std::uint64_t leader_changes_ = 0;
};

std::vector<std::uint32_t> Seeds() {
  if (const char* one = std::getenv("EXACTLY_RAFT_SEED")) {
    return {static_cast<std::uint32_t>(std::strtoul(one, nullptr, 10))};
  }
  std::vector<std::uint32_t> seeds;
  for (std::uint32_t s = 1; s <= 24; s++) seeds.push_back(s);
  return seeds;
}

TEST(RaftFixtureTest, ElectsLeaderAndCommits) {
  unsigned election[3] = {1000, 1100, 1200};
  unsigned latency[3] = {15, 15, 15};
  fixture_harness* h = fixture_harness_create(3, election, latency, 0, 0);
  ASSERT_NE(h, nullptr);
  ASSERT_EQ(fixture_harness_step_until_leader(h, 10000), 1);
  int leader = fixture_harness_leader(h);
  ASSERT_GE(leader, 0);
  std::uint64_t index = 0, term = 0;
  for (std::uint64_t v = 1; v <= 10; v++) {
    ASSERT_EQ(fixture_harness_propose(h, static_cast<unsigned>(leader), v, &index, &term), 0);
  }
  ASSERT_EQ(fixture_harness_step_until_applied(h, index, 10000), 1);
  std::vector<std::string> expected;
  for (int v = 1; v <= 10; v++) expected.push_back(std::to_string(v));
  for (unsigned i = 0; i < 3; i++) EXPECT_EQ(AppliedOf(h, i), expected) << "replica " << i;
  // A follower refuses: nothing enters the log.
  unsigned follower = (static_cast<unsigned>(leader) + 1) % 3;
  EXPECT_NE(fixture_harness_propose(h, follower, 99, &index, &term), 0);
  fixture_harness_destroy(h);
}

TEST(RaftFixtureTest, NewLeaderCommitsAfterTheOldOneIsKilled) {
  unsigned election[3] = {1000, 1100, 1200};
  unsigned latency[3] = {15, 15, 15};
  fixture_harness* h = fixture_harness_create(3, election, latency, 0, 0);
  ASSERT_EQ(fixture_harness_step_until_leader(h, 10000), 1);
  unsigned old_leader = static_cast<unsigned>(fixture_harness_leader(h));
  std::uint64_t index = 0, term = 0;
  ASSERT_EQ(fixture_harness_propose(h, old_leader, 1, &index, &term), 0);
  ASSERT_EQ(fixture_harness_step_until_applied(h, index, 10000), 1);
  std::uint64_t old_term = fixture_harness_term(h, old_leader);

  fixture_harness_kill(h, old_leader);
  ASSERT_EQ(fixture_harness_step_until_no_leader(h, 20000), 1);
  ASSERT_EQ(fixture_harness_step_until_leader(h, 20000), 1);
  int leader = fixture_harness_leader(h);
  ASSERT_GE(leader, 0);
  ASSERT_NE(static_cast<unsigned>(leader), old_leader);
  EXPECT_GT(fixture_harness_term(h, static_cast<unsigned>(leader)), old_term);
  ASSERT_EQ(fixture_harness_propose(h, static_cast<unsigned>(leader), 2, &index, &term), 0);

  fixture_harness_revive(h, old_leader);
  ASSERT_EQ(fixture_harness_step_until_applied(h, index, 20000), 1);
  std::vector<std::string> expected = {"1", "2"};
  for (unsigned i = 0; i < 3; i++) EXPECT_EQ(AppliedOf(h, i), expected) << "replica " << i;
  fixture_harness_destroy(h);
}

TEST(RaftFixtureTest, SeededFaultSchedulesLoseAndReorderNothing) {
  Figures figures;
  std::vector<std::uint32_t> seeds = Seeds();
  for (std::uint32_t seed : seeds) {
    SCOPED_TRACE("EXACTLY_RAFT_SEED=" + std::to_string(seed));
    SeededRun run(seed);
    run.Go(&figures);
    if (HasFailure()) return;
  }
  std::cout << "raft fixture: " << seeds.size() << " seeds, " << figures.committed
            << " entries committed, " << figures.acknowledged << " acknowledged, "
            << figures.leader_changes << " leader changes, " << figures.restores
            << " snapshot restores\n";
  EXPECT_GT(figures.leader_changes, seeds.size());
  EXPECT_GT(figures.restores, 0u);
}

}  // namespace
}  // namespace exactly::testing
