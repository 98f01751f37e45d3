// Binary encoding of batch records (see record_codec.h for the format).
#include "core/record_codec.h"

#include "base/assert.h"
#include "core/byte_codec.h"

namespace exactly::core {
namespace {

enum FieldBit : uint64_t {
  kKeyBit = 1 << 0,
  kOwnerBit = 1 << 1,
  kIdBit = 1 << 2,
  kFromBit = 1 << 3,
  kToBit = 1 << 4,
  kAmountBit = 1 << 5,
  kMinBit = 1 << 6,
  kMaxBit = 1 << 7,
  kTimeBit = 1 << 8,
  kPersistBit = 1 << 9,
  kNoteBit = 1 << 10,
  kCountBit = 1 << 11,
  kExpiresBit = 1 << 12,
  kWindowBit = 1 << 13,
  kRememberBit = 1 << 14,
  kGroupBit = 1 << 15,
  kLeaseBit = 1 << 16,
  kWaitBit = 1 << 17,
  kTtlMsBit = 1 << 18,
  kTokenBit = 1 << 19,
  kWaiterBit = 1 << 20,
  kAllBits = (1 << 21) - 1,
};

uint64_t PresentBits(const Command& command, bool has_group) {
  const Command defaults;
  uint64_t bits = 0;
  if (!command.key.empty()) bits |= kKeyBit;
  if (!command.owner.empty()) bits |= kOwnerBit;
  if (!command.id.empty()) bits |= kIdBit;
  if (!command.from.empty()) bits |= kFromBit;
  if (!command.to.empty()) bits |= kToBit;
  if (command.amount != 0) bits |= kAmountBit;
  if (command.min != defaults.min) bits |= kMinBit;
  if (command.max != defaults.max) bits |= kMaxBit;
  if (command.time.kind != TimeSpec::Kind::kNone) bits |= kTimeBit;
  if (command.persist) bits |= kPersistBit;
  if (!command.note.empty()) bits |= kNoteBit;
  if (command.count != 0) bits |= kCountBit;
  if (command.expires_ms != kNoTimeMs) bits |= kExpiresBit;
  if (command.window_ms != kNoTimeMs) bits |= kWindowBit;
  if (command.remember_until_ms != kNoTimeMs) bits |= kRememberBit;
  if (has_group) bits |= kGroupBit;
  if (command.lease_ms != 0) bits |= kLeaseBit;
  if (command.wait_ms != 0) bits |= kWaitBit;
  if (command.ttl_ms != 0) bits |= kTtlMsBit;
  if (command.token != 0) bits |= kTokenBit;
  if (command.waiter != 0) bits |= kWaiterBit;
  return bits;
}

void WriteBound(ByteWriter& writer, const Bound& bound) {
  writer.U8(bound.infinite ? 1 : 0);
  writer.I64(bound.value);
}

void WriteFields(ByteWriter& writer, const Command& command, uint64_t bits) {
  EXACTLY_ASSERT(command.resolved);
  writer.U8(static_cast<uint8_t>(command.kind));
  writer.U64(bits);
  if (bits & kKeyBit) writer.Bytes(command.key);
  if (bits & kOwnerBit) writer.Bytes(command.owner);
  if (bits & kIdBit) writer.Bytes(command.id);
  if (bits & kFromBit) writer.Bytes(command.from);
  if (bits & kToBit) writer.Bytes(command.to);
  if (bits & kAmountBit) writer.I64(command.amount);
  if (bits & kMinBit) WriteBound(writer, command.min);
  if (bits & kMaxBit) WriteBound(writer, command.max);
  if (bits & kTimeBit) {
    writer.U8(static_cast<uint8_t>(command.time.kind));
    writer.I64(command.time.ttl_ms);
    writer.I64(command.time.until_ms);
    writer.U8(static_cast<uint8_t>(command.time.period));
    writer.I64(command.time.at_minutes);
    writer.I64(command.time.tz_minutes);
  }
  if (bits & kNoteBit) writer.Bytes(command.note);
  if (bits & kCountBit) writer.I64(command.count);
  if (bits & kExpiresBit) writer.I64(command.expires_ms);
  if (bits & kWindowBit) writer.I64(command.window_ms);
  if (bits & kRememberBit) writer.I64(command.remember_until_ms);
  if (bits & kLeaseBit) writer.I64(command.lease_ms);
  if (bits & kWaitBit) writer.I64(command.wait_ms);
  if (bits & kTtlMsBit) writer.I64(command.ttl_ms);
  if (bits & kTokenBit) writer.U64(command.token);
  if (bits & kWaiterBit) writer.U64(command.waiter);
}

bool ReadBound(ByteReader& reader, Bound* bound) {
  uint8_t infinite = 0;
  if (!reader.U8(&infinite) || infinite > 1) return false;
  bound->infinite = infinite == 1;
  return reader.I64(&bound->value);
}

bool ReadInt32(ByteReader& reader, int32_t* value) {
  int64_t wide = 0;
  if (!reader.I64(&wide) || wide < INT32_MIN || wide > INT32_MAX) return false;
  *value = static_cast<int32_t>(wide);
  return true;
}

bool ReadCommand(ByteReader& reader, bool inside_group, Command* command) {
  uint8_t kind = 0;
  uint64_t bits = 0;
  if (!reader.U8(&kind) || kind == 0 || kind > static_cast<uint8_t>(kCommandKindLast)) return false;
  if (!reader.U64(&bits) || (bits & ~static_cast<uint64_t>(kAllBits)) != 0) return false;
  command->kind = static_cast<CommandKind>(kind);
  command->resolved = true;
  if ((bits & kKeyBit) && !reader.Bytes(&command->key)) return false;
  if ((bits & kOwnerBit) && !reader.Bytes(&command->owner)) return false;
  if ((bits & kIdBit) && !reader.Bytes(&command->id)) return false;
  if ((bits & kFromBit) && !reader.Bytes(&command->from)) return false;
  if ((bits & kToBit) && !reader.Bytes(&command->to)) return false;
  if ((bits & kAmountBit) && !reader.I64(&command->amount)) return false;
  if ((bits & kMinBit) && !ReadBound(reader, &command->min)) return false;
  if ((bits & kMaxBit) && !ReadBound(reader, &command->max)) return false;
  if (bits & kTimeBit) {
    uint8_t time_kind = 0;
    uint8_t period = 0;
    TimeSpec& time = command->time;
    if (!reader.U8(&time_kind) || time_kind > static_cast<uint8_t>(TimeSpec::Kind::kPer)) {
      return false;
    }
    time.kind = static_cast<TimeSpec::Kind>(time_kind);
    if (!reader.I64(&time.ttl_ms) || !reader.I64(&time.until_ms)) return false;
    if (!reader.U8(&period) || period == 0 || period > static_cast<uint8_t>(Period::kMonth)) {
      return false;
    }
    time.period = static_cast<Period>(period);
    if (!ReadInt32(reader, &time.at_minutes) || !ReadInt32(reader, &time.tz_minutes)) {
      return false;
    }
  }
  command->persist = (bits & kPersistBit) != 0;
  if ((bits & kNoteBit) && !reader.Bytes(&command->note)) return false;
  if ((bits & kCountBit) && !reader.I64(&command->count)) return false;
  if ((bits & kExpiresBit) && !reader.I64(&command->expires_ms)) return false;
  if ((bits & kWindowBit) && !reader.I64(&command->window_ms)) return false;
  if ((bits & kRememberBit) && !reader.I64(&command->remember_until_ms)) return false;
  if ((bits & kLeaseBit) && !reader.I64(&command->lease_ms)) return false;
  if ((bits & kWaitBit) && !reader.I64(&command->wait_ms)) return false;
  if ((bits & kTtlMsBit) && !reader.I64(&command->ttl_ms)) return false;
  if ((bits & kTokenBit) && !reader.U64(&command->token)) return false;
  if ((bits & kWaiterBit) && !reader.U64(&command->waiter)) return false;
  const bool is_group = command->kind == CommandKind::kGroup;
  if (is_group != ((bits & kGroupBit) != 0)) return false;
  if (is_group) {
    if (inside_group) return false;
    uint64_t count = 0;
    if (!reader.U64(&count)) return false;
    while (count-- > 0) {
      // Each command takes at least two bytes, so a bogus count fails at the end
      // of the payload instead of allocating.
      Command& sub = command->group.emplace_back();
      if (!ReadCommand(reader, /*inside_group=*/true, &sub)) return false;
    }
  }
  return true;
}

}  // namespace

void RecordWriter::Begin(int64_t timestamp_ms) {
  ByteWriter writer(out_);
  writer.U8(kRecordVersion);
  writer.I64(timestamp_ms);
}

void RecordWriter::Add(const Command& command) {
  if (command.kind == CommandKind::kGroup) {
    std::vector<uint8_t> keep(command.group.size(), 1);
    AddGroup(command, keep);
    return;
  }
  ByteWriter writer(out_);
  WriteFields(writer, command, PresentBits(command, /*has_group=*/false));
}

void RecordWriter::AddGroup(const Command& group, std::span<const uint8_t> keep) {
  EXACTLY_ASSERT(group.kind == CommandKind::kGroup);
  EXACTLY_ASSERT(keep.size() == group.group.size());
  ByteWriter writer(out_);
  WriteFields(writer, group, PresentBits(group, /*has_group=*/true));
  uint64_t kept = 0;
  for (uint8_t flag : keep) kept += flag != 0 ? 1 : 0;
  writer.U64(kept);
  for (size_t i = 0; i < keep.size(); ++i) {
    if (keep[i] == 0) continue;
    const Command& sub = group.group[i];
    EXACTLY_ASSERT(sub.kind != CommandKind::kGroup);
    WriteFields(writer, sub, PresentBits(sub, /*has_group=*/false));
  }
}

base::Result<DecodedRecord> DecodeRecord(std::string_view payload) {
  DecodedRecord record;
  EXACTLY_RETURN_IF_ERROR(DecodeRecordInto(payload, &record));
  return record;
}

base::Status DecodeRecordInto(std::string_view payload, DecodedRecord* record) {
  ByteReader reader(payload);
  uint8_t version = 0;
  if (!reader.U8(&version)) return base::Status::Corruption("empty batch record");
  if (version != kRecordVersion) {
    return base::Status::Corruption("unknown batch record version " + std::to_string(version));
  }
  if (!reader.I64(&record->timestamp_ms)) return base::Status::Corruption("truncated record");
  size_t count = 0;
  while (!reader.at_end()) {
    // A command kept from the previous record is reset to the defaults; moving
    // an empty string into a string keeps the target's buffer.
    if (count < record->commands.size()) {
      record->commands[count] = Command();
    } else {
      record->commands.emplace_back();
    }
    ++count;
    if (!ReadCommand(reader, /*inside_group=*/false, &record->commands[count - 1])) {
      record->commands.resize(count);
      return base::Status::Corruption("malformed command " + std::to_string(count) + " in record");
    }
  }
  record->commands.resize(count);
  return base::Status::Ok();
}

size_t RecordBytesBound(const Command& command) {
  // A varint takes at most 10 bytes. Every field of WriteFields counted as present:
  // kind, bits, six length-prefixed strings, amount, two bounds, the time spec,
  // nine integers and a group's count.
  constexpr size_t kVarint = 10;
  constexpr size_t kFixed = 1 + kVarint + 6 * kVarint + kVarint + 2 * (1 + kVarint) +
                            (1 + kVarint + kVarint + 1 + kVarint + kVarint) + 9 * kVarint + kVarint;
  size_t bytes = kFixed + command.key.size() + command.owner.size() + command.id.size() +
                 command.from.size() + command.to.size() + command.note.size();
  for (const Command& sub : command.group) bytes += RecordBytesBound(sub);
  return bytes;
}

std::string EncodeRecord(int64_t timestamp_ms, std::span<const Command> commands) {
  std::string out;
  RecordWriter writer(&out);
  writer.Begin(timestamp_ms);
  for (const Command& command : commands) writer.Add(command);
  return out;
}

}  // namespace exactly::core
