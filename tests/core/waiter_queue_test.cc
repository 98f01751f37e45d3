// WaiterQueue and WaiterIndex: FIFO hand-over past late waiters, deadlines running
// out, removal by id, and the index that follows the queues.
#include "core/waiter_queue.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace exactly::core {
namespace {

struct TestWaiter {
  uint64_t waiter = 0;
  int64_t deadline_ms = 0;
  bool operator==(const TestWaiter&) const = default;
};

WaiterQueue<TestWaiter> Queue(std::vector<TestWaiter> waiters) {
  WaiterQueue<TestWaiter> queue;
  for (const TestWaiter& waiter : waiters) queue.push_back(waiter);
  return queue;
}

std::vector<uint64_t> Ids(const WaiterQueue<TestWaiter>& queue) {
  std::vector<uint64_t> ids;
  for (const TestWaiter& waiter : queue) ids.push_back(waiter.waiter);
  return ids;
}

TEST(WaiterQueueTest, PopInTimeAnswersLateWaitersInOrderAndStopsAtTheFirstInTime) {
  WaiterQueue<TestWaiter> queue = Queue({{1, 100}, {2, 50}, {3, 200}, {4, 300}});
  std::vector<uint64_t> late;
  auto next = queue.PopInTime(100, [&](const TestWaiter& w) { late.push_back(w.waiter); });
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->waiter, 3u);
  EXPECT_EQ(late, (std::vector<uint64_t>{1, 2}));  // a deadline at the time is late
  EXPECT_EQ(Ids(queue), (std::vector<uint64_t>{4}));
  EXPECT_FALSE(queue.PopInTime(300, [&](const TestWaiter& w) { late.push_back(w.waiter); }));
  EXPECT_EQ(late, (std::vector<uint64_t>{1, 2, 4}));
  EXPECT_TRUE(queue.empty());
}

TEST(WaiterQueueTest, RemoveDueKeepsTheOthersInOrder) {
  WaiterQueue<TestWaiter> queue = Queue({{1, 10}, {2, 30}, {3, 20}, {4, 40}});
  std::vector<uint64_t> due;
  queue.RemoveDue(20, [&](const TestWaiter& w) { due.push_back(w.waiter); });
  EXPECT_EQ(due, (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(Ids(queue), (std::vector<uint64_t>{2, 4}));
}

TEST(WaiterQueueTest, RemoveById) {
  WaiterQueue<TestWaiter> queue = Queue({{1, 10}, {2, 20}, {3, 30}});
  auto removed = queue.Remove(2);
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(removed->deadline_ms, 20);
  EXPECT_FALSE(queue.Remove(2).has_value());
  EXPECT_EQ(Ids(queue), (std::vector<uint64_t>{1, 3}));
}

TEST(WaiterQueueTest, IndexFollowsWholeQueues) {
  WaiterQueue<TestWaiter> queue = Queue({{7, 10}, {8, 20}});
  WaiterIndex index;
  index.AddAll(queue, "lock-a");
  ASSERT_NE(index.Find(8), nullptr);
  EXPECT_EQ(*index.Find(8), "lock-a");
  EXPECT_EQ(index.size(), 2u);
  index.RemoveAll(queue);
  EXPECT_TRUE(index.empty());
  EXPECT_EQ(index.Find(7), nullptr);
}

}  // namespace
}  // namespace exactly::core
