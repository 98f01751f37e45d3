// Tests for core/record_store: bulk loading (Load, then IndexLoaded) gives the
// store that inserting the same records one by one gives, and the store goes on
// as usual after it.
#include "core/record_store.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace exactly::core {
namespace {

std::string Key(int i) { return "claim:" + std::to_string(i * 7919 % 100003); }
std::string Value(int i) {
  return std::string(static_cast<size_t>(i % 23), 'v') + std::to_string(i);
}

// Every key of `count` records is found under the handle it was given.
void ExpectIndexed(const RecordStore& store, int count, const std::vector<RecordHandle>& handles) {
  ASSERT_EQ(store.size(), static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    ASSERT_EQ(store.Find(Key(i)), handles[static_cast<size_t>(i)]) << Key(i);
    EXPECT_EQ(store.Key(handles[static_cast<size_t>(i)]), Key(i));
    EXPECT_EQ(store.Value(handles[static_cast<size_t>(i)]), Value(i));
  }
  EXPECT_EQ(store.Find("claim:none"), kNoRecord);
}

TEST(RecordStoreTest, LoadedRecordsAreIndexedLikeInsertedOnes) {
  // Enough records that the radix passes spread them over many of their ranges.
  constexpr int kRecords = 50000;
  RecordStore inserted;
  RecordStore loaded;
  loaded.Reserve(kRecords, /*loading=*/true);
  std::vector<RecordHandle> insert_handles;
  std::vector<RecordHandle> load_handles;
  for (int i = 0; i < kRecords; ++i) {
    insert_handles.push_back(inserted.Insert(Key(i), Value(i)));
    load_handles.push_back(loaded.Load(Key(i), Value(i)));
  }
  EXPECT_EQ(load_handles, insert_handles);
  loaded.IndexLoaded();
  ExpectIndexed(loaded, kRecords, load_handles);
  // The same records in the same handle order.
  std::vector<RecordHandle> insert_order;
  std::vector<RecordHandle> load_order;
  inserted.ForEach([&](RecordHandle handle) { insert_order.push_back(handle); });
  loaded.ForEach([&](RecordHandle handle) { load_order.push_back(handle); });
  EXPECT_EQ(load_order, insert_order);
}

TEST(RecordStoreTest, StoreGoesOnAfterABulkLoad) {
  constexpr int kLoaded = 3000;
  constexpr int kMore = 20000;  // enough to grow the index past what was reserved
  RecordStore store;
  store.Reserve(kLoaded, /*loading=*/true);
  std::vector<RecordHandle> handles;
  for (int i = 0; i < kLoaded; ++i) handles.push_back(store.Load(Key(i), Value(i)));
  store.IndexLoaded();
  for (int i = kLoaded; i < kLoaded + kMore; ++i) {
    ASSERT_EQ(store.Find(Key(i)), kNoRecord) << Key(i);
    handles.push_back(store.Insert(Key(i), Value(i)));
  }
  ExpectIndexed(store, kLoaded + kMore, handles);
  // Erase loaded records: their index entries must be where Erase looks.
  for (int i = 0; i < kLoaded; i += 2) store.Erase(handles[static_cast<size_t>(i)]);
  for (int i = 0; i < kLoaded; ++i) {
    EXPECT_EQ(store.Find(Key(i)), i % 2 == 0 ? kNoRecord : handles[static_cast<size_t>(i)]);
  }
  EXPECT_EQ(store.size(), static_cast<size_t>(kLoaded + kMore - kLoaded / 2));
}

TEST(RecordStoreTest, IndexLoadedWithNothingLoadedChangesNothing) {
  RecordStore store;
  store.Reserve(100, /*loading=*/true);
  const RecordHandle handle = store.Insert("a", "1");
  store.IndexLoaded();
  EXPECT_EQ(store.Find("a"), handle);
  EXPECT_EQ(store.size(), 1u);
}

}  // namespace
}  // namespace exactly::core
