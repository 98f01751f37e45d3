// Varint byte writer and bounds-checked reader shared by record_codec and
// state_codec, so both formats spell integers and strings the same way.
//
// Unsigned integers are LEB128 varints; signed ones are zigzag-encoded first so
// that -1 (the wire's "no time") costs one byte. Strings are a varint length
// followed by the bytes. The reader never trusts a length beyond what remains.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace exactly::core {

// The most bytes a varint of 64 bits takes.
inline constexpr size_t kVarintBytesMax = 10;

class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(out) {}

  void U8(uint8_t value) { out_->push_back(static_cast<char>(value)); }
  void U64(uint64_t value) {
    // Encoded on the stack and appended once: a push_back per byte checks the
    // capacity per byte, which showed in replay profiles.
    char bytes[kVarintBytesMax];
    size_t size = 0;
    while (value >= 0x80) {
      bytes[size++] = static_cast<char>((value & 0x7f) | 0x80);
      value >>= 7;
    }
    bytes[size++] = static_cast<char>(value);
    out_->append(bytes, size);
  }
  void I64(int64_t value) {
    U64((static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63));
  }
  void Bytes(std::string_view bytes) {
    U64(bytes.size());
    out_->append(bytes);
  }

 private:
  std::string* out_;
};

// Reads what ByteWriter wrote. Every read reports failure (false) instead of
// running past the end; after a failure the reader stays failed.
class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : rest_(bytes) {}

  bool U8(uint8_t* value) {
    if (rest_.empty()) return Fail();
    *value = static_cast<uint8_t>(rest_[0]);
    rest_.remove_prefix(1);
    return true;
  }
  bool U64(uint64_t* value) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (rest_.empty()) return Fail();
      const auto byte = static_cast<uint8_t>(rest_[0]);
      rest_.remove_prefix(1);
      if (shift == 63 && byte > 1) return Fail();
      result |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *value = result;
        return true;
      }
    }
    return Fail();
  }
  bool I64(int64_t* value) {
    uint64_t raw = 0;
    if (!U64(&raw)) return false;
    *value = static_cast<int64_t>((raw >> 1) ^ (~(raw & 1) + 1));
    return true;
  }
  bool Bytes(std::string* value) {
    uint64_t size = 0;
    if (!U64(&size)) return false;
    if (size > rest_.size()) return Fail();
    value->assign(rest_.data(), size);
    rest_.remove_prefix(size);
    return true;
  }

  // Like Bytes, but `value` points into the reader's bytes (no copy).
  bool View(std::string_view* value) {
    uint64_t size = 0;
    if (!U64(&size)) return false;
    if (size > rest_.size()) return Fail();
    *value = rest_.substr(0, size);
    rest_.remove_prefix(size);
    return true;
  }
  // The bytes not read yet.
  std::string_view rest() const { return rest_; }

  bool failed() const { return failed_; }
  bool at_end() const { return rest_.empty(); }

 private:
  bool Fail() {
    failed_ = true;
    return false;
  }

  std::string_view rest_;
  bool failed_ = false;
};

}  // namespace exactly::core
