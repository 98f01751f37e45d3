// Key slots agree with Redis Cluster's (CLUSTER KEYSLOT on a real Redis).
#include "net/cluster_slot.h"

#include <gtest/gtest.h>

namespace exactly::net {
namespace {

TEST(ClusterSlotTest, KnownSlots) {
  // CRC16/XMODEM of "123456789" is 0x31C3 = 12739; the Redis Cluster spec's check value.
  EXPECT_EQ(KeySlot("123456789"), 12739);
  EXPECT_EQ(KeySlot("foo"), 12182);
  EXPECT_EQ(KeySlot("bar"), 5061);
  EXPECT_EQ(KeySlot(""), 0);
}

TEST(ClusterSlotTest, HashTags) {
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("user1000"));
  EXPECT_EQ(KeySlot("{user1000}.followers"), KeySlot("{user1000}.following"));
  EXPECT_EQ(KeySlot("foo{}{bar}"), KeySlot("foo{}{bar}"));  // empty tag: the whole key
  EXPECT_NE(KeySlot("foo{}{bar}"), KeySlot("bar"));
  EXPECT_EQ(KeySlot("foo{{bar}}zap"), KeySlot("{bar"));  // the first '{' to the first '}'
  EXPECT_EQ(KeySlot("foo{bar}{zap}"), KeySlot("bar"));
}

TEST(ClusterSlotTest, CommandKeys) {
  core::cmd::Claim claim_args;
  claim_args.key = "foo";
  claim_args.owner = "someone";
  const core::Command claim(claim_args);
  EXPECT_EQ(CommandSlot(claim), 12182);
  core::cmd::Transfer transfer_args;
  transfer_args.id = "bar";
  transfer_args.from = "a";
  transfer_args.to = "b";
  EXPECT_EQ(CommandSlot(core::Command(transfer_args)), 5061);
  core::cmd::Lock lock_args;
  lock_args.name = "123456789";
  EXPECT_EQ(CommandSlot(core::Command(lock_args)), 12739);
  core::Command group{core::cmd::Group{}};
  group.group.push_back(claim);
  EXPECT_EQ(CommandSlot(group), 12182);
  EXPECT_EQ(CommandSlot(core::Command(core::cmd::DropWaiters{})), 0);
}

}  // namespace
}  // namespace exactly::net
