// Binary encoding of batch records (see record_codec.h for the format).
#include "core/record_codec.h"

#include <iterator>
#include <type_traits>
#include <utility>
#include <variant>

#include "base/assert.h"
#include "core/byte_codec.h"

namespace exactly::core {
namespace {

constexpr uint64_t kAllBits = (uint64_t{1} << (bits::kLast + 1)) - 1;
constexpr uint64_t Bit(uint8_t bit) { return uint64_t{1} << bit; }

// The encoding of each field type. A field is present when it differs from its
// kind's default (a time spec: when it has a kind), as it was before the commands
// were typed.
void WriteValue(ByteWriter& writer, const std::string& value) { writer.Bytes(value); }
void WriteValue(ByteWriter& writer, int64_t value) { writer.I64(value); }
void WriteValue(ByteWriter& writer, uint64_t value) { writer.U64(value); }
void WriteValue(ByteWriter&, bool) {}  // presence is the value
void WriteValue(ByteWriter& writer, const Bound& bound) {
  writer.U8(bound.infinite ? 1 : 0);
  writer.I64(bound.value);
}
void WriteValue(ByteWriter& writer, const TimeSpec& time) {
  writer.U8(static_cast<uint8_t>(time.kind));
  writer.I64(time.ttl_ms);
  writer.I64(time.until_ms);
  writer.U8(static_cast<uint8_t>(time.period));
  writer.I64(time.at_minutes);
  writer.I64(time.tz_minutes);
}

template <class T>
bool Present(const T& value, const T& default_value) {
  return !(value == default_value);
}
bool Present(const TimeSpec& time, const TimeSpec&) { return time.kind != TimeSpec::Kind::kNone; }

bool ReadInt32(ByteReader& reader, int32_t* value) {
  int64_t wide = 0;
  if (!reader.I64(&wide) || wide < INT32_MIN || wide > INT32_MAX) return false;
  *value = static_cast<int32_t>(wide);
  return true;
}

bool ReadValue(ByteReader& reader, std::string* value) { return reader.Bytes(value); }
bool ReadValue(ByteReader& reader, int64_t* value) { return reader.I64(value); }
bool ReadValue(ByteReader& reader, uint64_t* value) { return reader.U64(value); }
bool ReadValue(ByteReader&, bool* value) {
  *value = true;
  return true;
}
bool ReadValue(ByteReader& reader, Bound* bound) {
  uint8_t infinite = 0;
  if (!reader.U8(&infinite) || infinite > 1) return false;
  bound->infinite = infinite == 1;
  return reader.I64(&bound->value);
}
bool ReadValue(ByteReader& reader, TimeSpec* time) {
  uint8_t time_kind = 0;
  uint8_t period = 0;
  if (!reader.U8(&time_kind) || time_kind > static_cast<uint8_t>(TimeSpec::Kind::kPer)) {
    return false;
  }
  time->kind = static_cast<TimeSpec::Kind>(time_kind);
  if (!reader.I64(&time->ttl_ms) || !reader.I64(&time->until_ms)) return false;
  if (!reader.U8(&period) || period == 0 || period > static_cast<uint8_t>(Period::kMonth)) {
    return false;
  }
  time->period = static_cast<Period>(period);
  return ReadInt32(reader, &time->at_minutes) && ReadInt32(reader, &time->tz_minutes);
}

// A field that a record of an earlier build may carry for a kind whose struct has no
// such member (every bit had one encoding for all kinds): read by its bit's type and
// dropped. Returns false if the value is malformed.
bool SkipValue(ByteReader& reader, uint8_t bit) {
  switch (bit) {
    case bits::kKey:
    case bits::kOwner:
    case bits::kId:
    case bits::kFrom:
    case bits::kTo:
    case bits::kNote: {
      std::string_view ignored;
      return reader.View(&ignored);
    }
    case bits::kMin:
    case bits::kMax: {
      Bound ignored;
      return ReadValue(reader, &ignored);
    }
    case bits::kTime: {
      TimeSpec ignored;
      return ReadValue(reader, &ignored);
    }
    case bits::kPersist:
      return true;
    case bits::kToken:
    case bits::kWaiter: {
      uint64_t ignored = 0;
      return reader.U64(&ignored);
    }
    default: {
      int64_t ignored = 0;
      return reader.I64(&ignored);
    }
  }
}

// The header fields (bits 12..14) a command stores beside its kind's own.
constexpr std::pair<uint8_t, int64_t Command::*> kResolvedFields[] = {
    {bits::kExpires, &Command::expires_ms},
    {bits::kWindow, &Command::window_ms},
    {bits::kRemember, &Command::remember_until_ms},
};

template <class S>
uint64_t PresentBits(const S& typed) {
  [[maybe_unused]] static const S kDefaults{};
  uint64_t present = 0;
  ForEachField<S>([&](const auto& field) {
    if (field.bit == kNotLogged) return;
    if (Present(typed.*field.member, kDefaults.*field.member)) present |= Bit(field.bit);
  });
  return present;
}

// The fields of `typed` whose bits lie in [from, to), in list (= bit) order.
template <class S>
void WriteTyped(ByteWriter& writer, const S& typed, uint64_t present, uint8_t from, uint8_t to) {
  ForEachField<S>([&](const auto& field) {
    if (field.bit == kNotLogged || field.bit < from || field.bit >= to) return;
    if ((present & Bit(field.bit)) != 0) WriteValue(writer, typed.*field.member);
  });
}

void WriteFields(ByteWriter& writer, const Command& command, bool has_group) {
  EXACTLY_ASSERT(command.resolved);
  EXACTLY_ASSERT(static_cast<size_t>(command.kind) == command.args.index() + 1);
  writer.U8(static_cast<uint8_t>(command.kind));
  std::visit(
      [&](const auto& typed) {
        uint64_t present = PresentBits(typed);
        for (const auto& [bit, member] : kResolvedFields) {
          if (command.*member != kNoTimeMs) present |= Bit(bit);
        }
        if (has_group) present |= Bit(bits::kGroup);
        writer.U64(present);
        // Bit order: the kind's fields below the header block, the header's
        // times, then the kind's fields above it.
        WriteTyped(writer, typed, present, 0, bits::kExpires);
        for (const auto& [bit, member] : kResolvedFields) {
          if ((present & Bit(bit)) != 0) writer.I64(command.*member);
        }
        WriteTyped(writer, typed, present, bits::kGroup + 1, bits::kLast + 1);
      },
      command.args);
}

// Reads the value of present bit `bit` into the field of `typed` that has it.
template <class S>
bool ReadTypedField(ByteReader& reader, uint8_t bit, S* typed) {
  bool found = false;
  bool ok = true;
  ForEachField<S>([&](const auto& field) {
    if (field.bit != bit) return;
    found = true;
    ok = ReadValue(reader, &(typed->*field.member));
  });
  return found ? ok : SkipValue(reader, bit);
}

// Sets the alternative of `args` to kind `kind`, default-valued.
template <size_t... I>
void EmplaceKind(CommandArgs* args, CommandKind kind, std::index_sequence<I...>) {
  ((static_cast<size_t>(kind) == I + 1 ? (void)args->template emplace<I>() : void()), ...);
}

bool ReadCommand(ByteReader& reader, bool inside_group, Command* command) {
  uint8_t kind = 0;
  uint64_t present = 0;
  if (!reader.U8(&kind) || kind == 0 || kind > static_cast<uint8_t>(kCommandKindLast)) return false;
  if (!reader.U64(&present) || (present & ~kAllBits) != 0) return false;
  // Back to the kind's defaults. A command kept from the previous record (replay
  // decodes every record into one DecodedRecord) keeps its strings' buffers when it
  // is of the same kind: moving an empty string into a string keeps the target's.
  command->kind = static_cast<CommandKind>(kind);
  if (command->args.index() + 1 == kind) {
    std::visit([](auto& typed) { typed = std::decay_t<decltype(typed)>{}; }, command->args);
  } else {
    EmplaceKind(&command->args, command->kind,
                std::make_index_sequence<std::variant_size_v<CommandArgs>>());
  }
  command->group.clear();
  command->resolved = true;
  command->expires_ms = kNoTimeMs;
  command->window_ms = kNoTimeMs;
  command->remember_until_ms = kNoTimeMs;
  command->iflock_name.clear();
  command->iflock_token = 0;
  const bool fields_ok = std::visit(
      [&](auto& typed) {
        for (uint8_t bit = 0; bit <= bits::kLast; ++bit) {
          if ((present & Bit(bit)) == 0 || bit == bits::kGroup) continue;
          if (bit >= bits::kExpires && bit < bits::kGroup) {
            if (!reader.I64(&(command->*kResolvedFields[bit - bits::kExpires].second))) {
              return false;
            }
          } else if (!ReadTypedField(reader, bit, &typed)) {
            return false;
          }
        }
        return true;
      },
      command->args);
  if (!fields_ok) return false;
  const bool is_group = command->kind == CommandKind::kGroup;
  if (is_group != ((present & Bit(bits::kGroup)) != 0)) return false;
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

// The most bytes a value of each field type takes (a varint takes at most 10).
constexpr size_t kVarint = 10;
size_t ValueBytesMax(const std::string& value) { return kVarint + value.size(); }
size_t ValueBytesMax(int64_t) { return kVarint; }
size_t ValueBytesMax(uint64_t) { return kVarint; }
size_t ValueBytesMax(bool) { return 0; }
size_t ValueBytesMax(const Bound&) { return 1 + kVarint; }
size_t ValueBytesMax(const TimeSpec&) { return 1 + kVarint + kVarint + 1 + kVarint + kVarint; }

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
  WriteFields(writer, command, /*has_group=*/false);
}

void RecordWriter::AddGroup(const Command& group, std::span<const uint8_t> keep) {
  EXACTLY_ASSERT(group.kind == CommandKind::kGroup);
  EXACTLY_ASSERT(keep.size() == group.group.size());
  ByteWriter writer(out_);
  WriteFields(writer, group, /*has_group=*/true);
  uint64_t kept = 0;
  for (uint8_t flag : keep) kept += flag != 0 ? 1 : 0;
  writer.U64(kept);
  for (size_t i = 0; i < keep.size(); ++i) {
    if (keep[i] == 0) continue;
    const Command& sub = group.group[i];
    EXACTLY_ASSERT(sub.kind != CommandKind::kGroup);
    WriteFields(writer, sub, /*has_group=*/false);
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
    if (count == record->commands.size()) record->commands.emplace_back();
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
  // Kind, presence bits, the three resolved times and a group's count, then every
  // logged field of the kind's list counted as present.
  size_t bytes = 1 + kVarint + std::size(kResolvedFields) * kVarint + kVarint;
  std::visit(
      [&](const auto& typed) {
        using S = std::decay_t<decltype(typed)>;
        ForEachField<S>([&](const auto& field) {
          if (field.bit != kNotLogged) bytes += ValueBytesMax(typed.*field.member);
        });
      },
      command.args);
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
