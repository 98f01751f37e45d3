// IncrementalMap: a flat hash map (or set) that grows without stopping the engine.
//
// boost::unordered_flat_map doubles by moving every entry in one call: measured
// at 155 ms for 1.7 million string keys and 3.3 s for 6.9 million, during which
// no client is answered. The claims and remembered-transfer tables reach tens of
// millions, so they use this map instead: when the table is full it becomes the
// "draining" table, a new one twice its size takes the inserts, and every insert
// moves a few entries across until the old table is empty (the way Redis' dict
// grows). Lookups look in both.
//
// IncrementalTable works over any boost flat map or set (the record stores index
// handles in a flat set, record_store.h); IncrementalMap names the map case.
// Like the flat map, an insert invalidates iterators (it may move entries);
// erase invalidates only the erased entry. Iteration order is unspecified but
// deterministic for a given history of calls. Not thread-safe.
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>
#include <cstddef>
#include <iterator>
#include <type_traits>
#include <utility>

#include "base/assert.h"

namespace exactly::core {

template <class Map>
class IncrementalTable {
 public:
  using key_type = typename Map::key_type;
  using value_type = typename Map::value_type;
  using hasher = typename Map::hasher;
  using key_equal = typename Map::key_equal;
  using size_type = std::size_t;

  // The hash and equality may carry state (a pointer to the records they hash).
  explicit IncrementalTable(const hasher& hash = hasher(), const key_equal& equal = key_equal())
      : current_(0, hash, equal), draining_(0, hash, equal) {}

  // Entries moved from the draining table per insert. The new table holds twice
  // the old one's entries, so the old table is empty long before it fills.
  static constexpr size_t kMovesPerInsert = 16;

  template <bool kConst>
  class Iterator {
    using Owner = std::conditional_t<kConst, const IncrementalTable, IncrementalTable>;
    using Inner = std::conditional_t<kConst, typename Map::const_iterator, typename Map::iterator>;

   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = typename Map::value_type;
    using difference_type = std::ptrdiff_t;
    using reference = std::conditional_t<kConst, const value_type&, value_type&>;
    using pointer = std::conditional_t<kConst, const value_type*, value_type*>;

    Iterator() = default;
    Iterator(Owner* owner, Inner inner, bool draining)
        : owner_(owner), inner_(inner), draining_(draining) {}
    // iterator -> const_iterator
    template <bool kOtherConst, class = std::enable_if_t<kConst && !kOtherConst>>
    Iterator(const Iterator<kOtherConst>& other)  // NOLINT(google-explicit-constructor)
        : owner_(other.owner_), inner_(other.inner_), draining_(other.draining_) {}

    reference operator*() const { return *inner_; }
    pointer operator->() const { return &*inner_; }
    Iterator& operator++() {
      ++inner_;
      // The draining table is walked first, then the current one.
      if (draining_ && inner_ == owner_->draining_.end()) {
        draining_ = false;
        inner_ = owner_->current_.begin();
      }
      return *this;
    }
    Iterator operator++(int) {
      Iterator before = *this;
      ++*this;
      return before;
    }
    // Every end() of a flat map is the same value, so one end serves both tables.
    bool operator==(const Iterator& other) const { return inner_ == other.inner_; }
    bool operator!=(const Iterator& other) const { return !(*this == other); }

   private:
    friend class IncrementalTable;
    template <bool>
    friend class Iterator;
    Owner* owner_ = nullptr;
    Inner inner_{};
    bool draining_ = false;  // inner_ points into the draining table
  };
  using iterator = Iterator<false>;
  using const_iterator = Iterator<true>;

  size_t size() const { return current_.size() + draining_.size(); }
  bool empty() const { return size() == 0; }
  bool growing() const { return !draining_.empty(); }

  iterator begin() {
    if (!draining_.empty()) return iterator(this, draining_.begin(), true);
    return iterator(this, current_.begin(), false);
  }
  iterator end() { return iterator(this, current_.end(), false); }
  const_iterator begin() const {
    if (!draining_.empty()) return const_iterator(this, draining_.begin(), true);
    return const_iterator(this, current_.begin(), false);
  }
  const_iterator end() const { return const_iterator(this, current_.end(), false); }

  template <class K>
  iterator find(const K& key) {
    auto found = current_.find(key);
    if (found != current_.end()) return iterator(this, found, false);
    if (!draining_.empty()) {
      auto old = draining_.find(key);
      if (old != draining_.end()) return iterator(this, old, true);
    }
    return end();
  }
  template <class K>
  const_iterator find(const K& key) const {
    return const_cast<IncrementalTable*>(this)->find(key);
  }
  template <class K>
  bool contains(const K& key) const {
    return current_.contains(key) || (!draining_.empty() && draining_.contains(key));
  }

  // The value of a key that must be there.
  template <class K>
  const auto& at(const K& key) const {
    const_iterator found = find(key);
    EXACTLY_ASSERT(found != end());
    return found->second;
  }

  template <class K, class... Args>
  std::pair<iterator, bool> try_emplace(K&& key, Args&&... args) {
    // First, since starting to grow moves current_'s entries (this key among
    // them, perhaps) into the draining table.
    PrepareInsert();
    if (!draining_.empty()) {
      auto old = draining_.find(key);
      if (old != draining_.end()) return {iterator(this, old, true), false};
    }
    auto [it, inserted] = current_.try_emplace(std::forward<K>(key), std::forward<Args>(args)...);
    return {iterator(this, it, false), inserted};
  }
  // For sets: inserts `value` unless an equal one is there.
  std::pair<iterator, bool> insert(const value_type& value) {
    PrepareInsert();
    if (!draining_.empty()) {
      auto old = draining_.find(value);
      if (old != draining_.end()) return {iterator(this, old, true), false};
    }
    auto [it, inserted] = current_.insert(value);
    return {iterator(this, it, false), inserted};
  }
  // While set, the table grows the way the flat map does, all at once (a table
  // growing when it is set finishes at once). For a replay, which no client
  // waits on: growing by halves costs every insert during it a second lookup
  // and moves the entries a few at a time, while a whole rehash moves them
  // through both tables front to back.
  void set_grow_at_once(bool at_once) { grow_at_once_ = at_once; }

  // Makes room for `count` entries without growing again (used before a bulk load).
  void reserve(size_t count) {
    if (draining_.empty() && count > current_.size()) current_.reserve(count);
  }

  template <class K, class V>
  std::pair<iterator, bool> emplace(K&& key, V&& value) {
    return try_emplace(std::forward<K>(key), std::forward<V>(value));
  }
  template <class K>
  auto& operator[](K&& key) {
    return try_emplace(std::forward<K>(key)).first->second;
  }

  void erase(iterator pos) {
    EXACTLY_ASSERT(pos.owner_ == this);
    if (!pos.draining_) {
      current_.erase(pos.inner_);
      return;
    }
    if (pos.inner_ == cursor_) ++cursor_;
    draining_.erase(pos.inner_);
    if (draining_.empty()) cursor_ = {};
  }

  // Erases `key` if present; returns how many entries went (0 or 1).
  template <class K, class = std::enable_if_t<!std::is_convertible_v<const K&, iterator>>>
  size_t erase(const K& key) {
    iterator found = find(key);
    if (found == end()) return 0;
    erase(found);
    return 1;
  }

  void clear() {
    current_.clear();
    draining_.clear();
    cursor_ = {};
  }

 private:
  // Before an insert into current_: moves a few draining entries across, and
  // when current_ is full (its next insert would rehash it all), starts growing,
  // unless growing at once, when the flat map's insert rehashes it.
  void PrepareInsert() {
    if (!draining_.empty()) {
      MoveSome(grow_at_once_ ? draining_.size() : kMovesPerInsert);
    } else if (!grow_at_once_ && current_.size() + 1 > current_.max_load() && current_.size() > 0) {
      StartGrowing();
    }
    // The new table has room for twice the old entries, and every insert moves
    // kMovesPerInsert of them, so it never has to rehash while one drains.
    EXACTLY_ASSERT(draining_.empty() || current_.size() + 1 <= current_.max_load());
  }

  void StartGrowing() {
    draining_ = std::move(current_);
    current_ = Map(0, draining_.hash_function(), draining_.key_eq());
    current_.reserve(draining_.size() * 2);
    cursor_ = draining_.begin();
  }

  void MoveSome(size_t count) {
    for (size_t moved = 0; moved < count && !draining_.empty(); ++moved) {
      auto next = cursor_;
      ++next;
      // Keys of a flat map are const: the key is copied, the value moved.
      current_.insert(std::move(*cursor_));
      draining_.erase(cursor_);
      cursor_ = next;
    }
    if (draining_.empty()) {
      draining_ = Map(0, current_.hash_function(), current_.key_eq());  // give its memory back
      cursor_ = {};
    }
  }

  Map current_;
  Map draining_;
  typename Map::iterator cursor_{};  // next draining entry to move
  bool grow_at_once_ = false;
};

template <class Key, class Value, class Hash, class Eq>
using IncrementalMap = IncrementalTable<boost::unordered_flat_map<Key, Value, Hash, Eq>>;

}  // namespace exactly::core
