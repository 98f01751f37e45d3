// Golden bytes of batch records: one record per command kind, as the journal has
// stored them since format version 1. Any change to the codec must leave these
// bytes alone (or bump kRecordVersion and keep a reader for version 1), so data
// dirs written by earlier builds replay unchanged.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/engine_harness.h"
#include "core/record_codec.h"

namespace exactly::core {
namespace {

using testing::Per;
using testing::Ttl;

Command Resolved(Command command) {
  command.resolved = true;
  for (Command& sub : command.group) sub.resolved = true;
  return command;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (char c : bytes) {
    const auto byte = static_cast<uint8_t>(c);
    hex.push_back(kDigits[byte >> 4]);
    hex.push_back(kDigits[byte & 0xf]);
  }
  return hex;
}

// One command of each kind, with every field its parser or the engine sets.
std::vector<std::pair<std::string, Command>> OneOfEachKind() {
  std::vector<std::pair<std::string, Command>> all;
  Command claim = testing::ClaimCmd("k", "o", Per(Period::kWeek, 90, -120), true, "n");
  claim.expires_ms = 2000;
  claim.window_ms = 1000;
  claim.remember_until_ms = 3000;
  all.emplace_back("claim", claim);
  Command unclaim = testing::UnclaimCmd("k", "o");
  unclaim.remember_until_ms = 4000;
  all.emplace_back("unclaim", unclaim);
  all.emplace_back("claimof", testing::ClaimOfCmd("k"));
  all.emplace_back("claimlog", testing::ClaimLogCmd("k", 7));
  all.emplace_back("account", testing::AccountCmd("a", testing::Infinite(), testing::Finite(-5)));
  Command transfer = testing::TransferCmd("t", "a", "b", 300, Per(Period::kDay), "why");
  transfer.expires_ms = 5000;
  transfer.window_ms = 100;
  transfer.remember_until_ms = 5000;
  all.emplace_back("transfer", transfer);
  Command reserve = testing::ReserveCmd("r", "a", "b", 9, 60'000);
  reserve.expires_ms = 61'000;
  reserve.remember_until_ms = 90'000;
  all.emplace_back("reserve", reserve);
  all.emplace_back("commit", testing::CommitCmd("r"));
  all.emplace_back("cancel", testing::CancelCmd("r"));
  all.emplace_back("balance", testing::BalanceCmd("a"));
  all.emplace_back("history", testing::HistoryCmd("a", 3));
  all.emplace_back(
      "group", testing::GroupCmd({testing::ClaimCmd("g", "o", Ttl(10)), testing::CommitCmd("r")}));
  Command lock = testing::LockCmd("l", "o", 1000, 500, "req");
  lock.remember_until_ms = 7000;
  all.emplace_back("lock", lock);
  all.emplace_back("renew", testing::RenewCmd("l", 12, 2000));
  all.emplace_back("unlock", testing::UnlockCmd("l", 12));
  all.emplace_back("fence", testing::FenceCmd("l", 12));
  all.emplace_back("idem_begin", testing::IdemBeginCmd("i", "fp", 100, 200, 300));
  all.emplace_back("idem_end", testing::IdemEndCmd("i", 13, "resp"));
  all.emplace_back("idem_abort", testing::IdemAbortCmd("i", 13));
  all.emplace_back("limit", testing::LimitRateCmd("x", 5, 1000, 2, 1));
  all.emplace_back("cancel_waiter", testing::CancelWaiterCmd(77));
  all.emplace_back("drop_waiters", testing::DropWaitersCmd());
  return all;
}

// What the codec wrote for OneOfEachKind() at timestamp 1'700'000'000'000 before
// the codec was driven by the commands' field lists.
const std::vector<std::pair<std::string, std::string>> kGolden = {
    {"claim", "0180a0abfef9620183ee01016b016f03000003b401ef01016ea01fd00ff02e"},
    {"unclaim", "0180a0abfef96202838001016b016fc03e"},
    {"claimof", "0180a0abfef9620301016b"},
    {"claimlog", "0180a0abfef962048110016b0e"},
    {"account", "0180a0abfef96205c101016101000009"},
    {"transfer", "0180a0abfef96206bcea01017401610162d80403000002000003776879904ec801904e"},
    {"reserve", "0180a0abfef96207bca2010172016101621201c0a9070002000090b907a0fe0a"},
    {"commit", "0180a0abfef96208040172"},
    {"cancel", "0180a0abfef96209040172"},
    {"balance", "0180a0abfef9620a010161"},
    {"history", "0180a0abfef9620b8110016106"},
    {"group", "0180a0abfef9620c808002020183020167016f01140002000008040172"},
    {"lock", "0180a0abfef9620d87800d016c016f03726571b06dd00fe807"},
    {"renew", "0180a0abfef9620e818024016ca01f0c"},
    {"unlock", "0180a0abfef9620f818020016c0c"},
    {"fence", "0180a0abfef96210818020016c0c"},
    {"idem_begin", "0180a0abfef9621181881c0169026670c801d8049003"},
    {"idem_end", "0180a0abfef96212818820016904726573700d"},
    {"idem_abort", "0180a0abfef9621381802001690d"},
    {"limit", "0180a0abfef96214010178"},
    {"cancel_waiter", "0180a0abfef962158080404d"},
    {"drop_waiters", "0180a0abfef9621600"},
};

TEST(RecordGoldenTest, EveryKindEncodesToItsGoldenBytes) {
  const auto all = OneOfEachKind();
  ASSERT_EQ(all.size(), static_cast<size_t>(kCommandKindLast));
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(static_cast<size_t>(all[i].second.kind), i + 1) << all[i].first;
    const Command command = Resolved(all[i].second);
    const std::string hex = Hex(EncodeRecord(1'700'000'000'000, {&command, 1}));
    ASSERT_LT(i, kGolden.size()) << "no golden bytes for " << all[i].first << ": " << hex;
    EXPECT_EQ(kGolden[i].first, all[i].first);
    EXPECT_EQ(hex, kGolden[i].second) << all[i].first;
    // And the golden bytes decode back to the same command.
    auto decoded = DecodeRecord(EncodeRecord(1'700'000'000'000, {&command, 1}));
    ASSERT_TRUE(decoded.ok()) << all[i].first;
    ASSERT_EQ(decoded->commands.size(), 1u);
    EXPECT_EQ(EncodeRecord(1'700'000'000'000, decoded->commands),
              EncodeRecord(1'700'000'000'000, {&command, 1}));
  }
}

}  // namespace
}  // namespace exactly::core
