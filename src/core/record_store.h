// RecordStore: the compact home of a big table's records (claims, accounts,
// remembered transfer ids).
//
// A record is its key and a value: bytes whose meaning belongs to the table
// (claims.cc, ledger.cc encode them). Each record is one block of a BlockArena,
//   varint key length | varint value length | key | value,
// with no per-record heap node, no std::string per field. A record is named by
// a 32-bit handle that stays the same for its whole life, even when its value
// changes size, so the expiry queue keeps a handle instead of a copy of the key
// and a transfer names its accounts by handle. A freed handle is reused by a
// later insert: whoever keeps a handle across an erase must check the record
// again when it uses it (expiry entries do: expiry.h).
//
// The index is a flat set of 8-byte entries, the handle and 32 bits of the key's
// hash, so that growing the index (incremental_map.h: no insert pays for
// rehashing the table) and a probe that meets another key's entry never read
// the record: measured, moving entries that had to hash the key through the
// record took 30% of replaying a journal of 1M claims.
// Not thread-safe. Neither copyable nor movable: the index hashes through a
// pointer to the store.
#pragma once

#include <array>
#include <boost/unordered/unordered_flat_set.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <string_view>
#include <vector>

#include "base/assert.h"
#include "core/block_arena.h"
#include "core/incremental_map.h"

namespace exactly::core {

using RecordHandle = uint32_t;
inline constexpr RecordHandle kNoRecord = std::numeric_limits<RecordHandle>::max();

class RecordStore {
 public:
  RecordStore() : index_(Hash{}, Equal{this}) {}
  RecordStore(const RecordStore&) = delete;
  RecordStore& operator=(const RecordStore&) = delete;
  ~RecordStore() { Clear(); }

  // A key with its hash, computed once for a Find that an Insert may follow.
  struct Probe {
    explicit Probe(std::string_view k) : key(k), hash(KeyHash(k)) {}
    std::string_view key;
    uint32_t hash;
  };

  // The record of `key`, or kNoRecord.
  RecordHandle Find(std::string_view key) const { return Find(Probe(key)); }
  RecordHandle Find(const Probe& probe) const {
    EXACTLY_ASSERT(unindexed_.empty());
    auto found = index_.find(probe);
    return found == index_.end() ? kNoRecord : HandleOf(*found);
  }

  // Adds a record for `key`, which must not have one.
  RecordHandle Insert(std::string_view key, std::string_view value) {
    return Insert(Probe(key), value);
  }
  RecordHandle Insert(const Probe& probe, std::string_view value) {
    EXACTLY_ASSERT(unindexed_.empty());
    const RecordHandle handle = NewRecord(probe.key, value);
    const bool inserted = index_.insert(Entry(probe.hash, handle)).second;
    EXACTLY_ASSERT(inserted);
    return handle;
  }

  // Bulk loading: Load adds a record for `key` like Insert, but leaves it out of
  // the index until IndexLoaded; in between, the store may only Load more records
  // (the caller guarantees the keys are distinct: the state codec checks that
  // they ascend). IndexLoaded then inserts the waiting index entries in the order
  // of their place in the table, so that filling a table much larger than the
  // cache walks it once instead of missing the cache (and the TLB) at every key:
  // measured, that miss was 3/4 of loading a snapshot of 5M claims. The order
  // only makes the loading faster; the index is the same set in any order.
  RecordHandle Load(std::string_view key, std::string_view value) {
    const RecordHandle handle = NewRecord(key, value);
    unindexed_.push_back(Entry(KeyHash(key), handle));
    return handle;
  }
  void IndexLoaded();

  // Replaces the value of a live record; its handle and key stay.
  void Update(RecordHandle handle, std::string_view value) {
    char*& block = Slot(handle);
    const Header old = Read(block);
    const size_t old_bytes = old.offset + old.key_bytes + old.value_bytes;
    const size_t new_bytes =
        HeaderBytes(old.key_bytes, value.size()) + old.key_bytes + value.size();
    if (BlockArena::Capacity(new_bytes) == BlockArena::Capacity(old_bytes) &&
        HeaderBytes(old.key_bytes, value.size()) == old.offset) {
      char* at = WriteHeader(block, old.key_bytes, value.size());
      std::memmove(at + old.key_bytes, value.data(), value.size());
      return;
    }
    char* replacement = NewBlock(std::string_view(block + old.offset, old.key_bytes), value);
    arena_.Free(block, old_bytes);
    block = replacement;
  }

  void Erase(RecordHandle handle) {
    EXACTLY_ASSERT(unindexed_.empty());
    char*& block = Slot(handle);
    const size_t erased = index_.erase(Entry(KeyHash(Key(handle)), handle));
    EXACTLY_ASSERT(erased == 1);
    arena_.Free(block, BlockBytes(block));
    block = nullptr;
    free_handles_.push_back(handle);
    --size_;
  }

  // Whether `handle` names a record now (it may have been freed and reused).
  bool Contains(RecordHandle handle) const {
    return handle < next_handle_ && Slot(handle) != nullptr;
  }
  // One past the highest handle ever given out: every record's handle is below it.
  RecordHandle handle_end() const { return next_handle_; }
  std::string_view Key(RecordHandle handle) const {
    const char* block = Slot(handle);
    const Header header = Read(block);
    return std::string_view(block + header.offset, header.key_bytes);
  }
  std::string_view Value(RecordHandle handle) const {
    const char* block = Slot(handle);
    const Header header = Read(block);
    return std::string_view(block + header.offset + header.key_bytes, header.value_bytes);
  }
  // The value's bytes, to rewrite in place without changing their length.
  char* MutableValue(RecordHandle handle) {
    char* block = Slot(handle);
    const Header header = Read(block);
    return block + header.offset + header.key_bytes;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Calls `visit(handle)` for every record, in handle order (deterministic for a
  // given history of calls).
  template <class Visit>
  void ForEach(Visit&& visit) const {
    for (RecordHandle handle = 0; handle < next_handle_; ++handle) {
      if (Slot(handle) != nullptr) visit(handle);
    }
  }

  // The index grows all at once while set (IncrementalTable::set_grow_at_once).
  void SetGrowAtOnce(bool at_once) { index_.set_grow_at_once(at_once); }

  // Makes room in the index for `count` records (before a bulk load), and for
  // as many index entries waiting for IndexLoaded when `loading`.
  void Reserve(size_t count, bool loading = false) {
    index_.reserve(count);
    if (loading) unindexed_.reserve(count);
  }

  void Clear() {
    for (RecordHandle handle = 0; handle < next_handle_; ++handle) {
      char* block = Slot(handle);
      if (block != nullptr) arena_.Free(block, BlockBytes(block));
    }
    index_.clear();
    unindexed_.clear();
    arena_.Clear();
    pages_.clear();
    free_handles_.clear();
    next_handle_ = 0;
    size_ = 0;
  }

 private:
  static constexpr RecordHandle kHandlesPerPage = 4096;

  struct Header {
    size_t key_bytes = 0;
    size_t value_bytes = 0;
    size_t offset = 0;  // where the key begins
  };
  // An index entry: the key's 32-bit hash above the handle.
  using IndexEntry = uint64_t;
  static uint32_t KeyHash(std::string_view key) {
    return static_cast<uint32_t>(std::hash<std::string_view>{}(key));
  }
  static IndexEntry Entry(uint32_t hash, RecordHandle handle) {
    return static_cast<uint64_t>(hash) << 32 | handle;
  }
  static RecordHandle HandleOf(IndexEntry entry) {
    return static_cast<RecordHandle>(entry & 0xffffffffu);
  }
  static uint32_t HashOf(IndexEntry entry) { return static_cast<uint32_t>(entry >> 32); }
  // Spreads the 32 stored bits over 64 for the table (a multiplicative mix).
  static size_t Spread(uint32_t hash) { return static_cast<size_t>(hash) * 0x9E3779B97F4A7C15ull; }

  // The table places an entry by the high bits of this hash as it is (it is
  // marked avalanching: a multiplicative mix spreads them), which IndexLoaded
  // relies on to insert in the table's order.
  struct Hash {
    using is_transparent = void;
    using is_avalanching = void;
    size_t operator()(IndexEntry entry) const { return Spread(HashOf(entry)); }
    size_t operator()(const Probe& probe) const { return Spread(probe.hash); }
  };
  struct Equal {
    using is_transparent = void;
    const RecordStore* store;
    bool operator()(IndexEntry a, IndexEntry b) const { return a == b; }
    bool operator()(const Probe& probe, IndexEntry entry) const {
      return HashOf(entry) == probe.hash && store->Key(HandleOf(entry)) == probe.key;
    }
    bool operator()(IndexEntry entry, const Probe& probe) const { return (*this)(probe, entry); }
  };

  static size_t VarintBytes(size_t value) {
    size_t bytes = 1;
    while (value >= 0x80) {
      value >>= 7;
      ++bytes;
    }
    return bytes;
  }
  static size_t HeaderBytes(size_t key_bytes, size_t value_bytes) {
    return VarintBytes(key_bytes) + VarintBytes(value_bytes);
  }
  static char* WriteVarint(char* at, size_t value) {
    while (value >= 0x80) {
      *at++ = static_cast<char>((value & 0x7f) | 0x80);
      value >>= 7;
    }
    *at++ = static_cast<char>(value);
    return at;
  }
  static const char* ReadVarint(const char* at, size_t* value) {
    size_t result = 0;
    for (int shift = 0;; shift += 7) {
      const auto byte = static_cast<uint8_t>(*at++);
      result |= static_cast<size_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) break;
    }
    *value = result;
    return at;
  }
  // Writes the header; returns where the key goes.
  static char* WriteHeader(char* block, size_t key_bytes, size_t value_bytes) {
    return WriteVarint(WriteVarint(block, key_bytes), value_bytes);
  }
  static Header Read(const char* block) {
    Header header;
    const char* at = ReadVarint(ReadVarint(block, &header.key_bytes), &header.value_bytes);
    header.offset = static_cast<size_t>(at - block);
    return header;
  }
  static size_t BlockBytes(const char* block) {
    const Header header = Read(block);
    return header.offset + header.key_bytes + header.value_bytes;
  }

  // A new record outside the index.
  RecordHandle NewRecord(std::string_view key, std::string_view value) {
    RecordHandle handle;
    if (!free_handles_.empty()) {
      handle = free_handles_.back();
      free_handles_.pop_back();
    } else {
      EXACTLY_ASSERT(next_handle_ < kNoRecord);
      handle = next_handle_++;
      if (handle % kHandlesPerPage == 0) {
        pages_.push_back(std::make_unique<char*[]>(kHandlesPerPage));
      }
    }
    Slot(handle) = NewBlock(key, value);
    ++size_;
    return handle;
  }

  char* NewBlock(std::string_view key, std::string_view value) {
    char* block =
        arena_.Allocate(HeaderBytes(key.size(), value.size()) + key.size() + value.size());
    char* at = WriteHeader(block, key.size(), value.size());
    std::memcpy(at, key.data(), key.size());
    if (!value.empty()) std::memcpy(at + key.size(), value.data(), value.size());
    return block;
  }

  char*& Slot(RecordHandle handle) {
    return pages_[handle / kHandlesPerPage][handle % kHandlesPerPage];
  }
  char* Slot(RecordHandle handle) const {
    return pages_[handle / kHandlesPerPage][handle % kHandlesPerPage];
  }

  BlockArena arena_;
  std::vector<std::unique_ptr<char*[]>> pages_;  // handle -> block, kHandlesPerPage a page
  std::vector<RecordHandle> free_handles_;
  RecordHandle next_handle_ = 0;
  size_t size_ = 0;
  std::vector<IndexEntry> unindexed_;  // entries of Load()ed records, until IndexLoaded
  IncrementalTable<boost::unordered_flat_set<IndexEntry, Hash, Equal>> index_;
};

inline void RecordStore::IndexLoaded() {
  if (unindexed_.empty()) {
    unindexed_ = std::vector<IndexEntry>();  // what Reserve made room for
    return;
  }
  // A stable radix sort by the top 16 bits of the table's hash, one byte a pass
  // (256 counters a pass stay in the cache, where 65536 would not). In that order
  // the inserts move through the table front to back; within one of the 65536
  // ranges the table's groups for it are few enough to stay in the cache.
  std::vector<IndexEntry> sorted(unindexed_.size());
  for (const int shift : {48, 56}) {
    std::array<size_t, 257> starts{};
    for (const IndexEntry entry : unindexed_) ++starts[(Spread(HashOf(entry)) >> shift & 0xff) + 1];
    for (size_t i = 1; i < starts.size(); ++i) starts[i] += starts[i - 1];
    for (const IndexEntry entry : unindexed_) {
      sorted[starts[Spread(HashOf(entry)) >> shift & 0xff]++] = entry;
    }
    unindexed_.swap(sorted);
  }
  sorted = std::vector<IndexEntry>();
  index_.reserve(size_);
  for (const IndexEntry entry : unindexed_) {
    const bool inserted = index_.insert(entry).second;
    EXACTLY_ASSERT(inserted);
  }
  unindexed_ = std::vector<IndexEntry>();
}

}  // namespace exactly::core
