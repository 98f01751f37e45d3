// Tests of the journal's header codecs and file names.
#include "storage/journal_format.h"

#include <gtest/gtest.h>

#include <cstring>

namespace exactly::storage {
namespace {

TEST(JournalFormatTest, SegmentNamesSortByLsnAndRoundTrip) {
  EXPECT_EQ(SegmentFileName(Lsn{1}), "journal-00000000000000000001.log");
  EXPECT_EQ(ParseSegmentFileName("journal-00000000000000000042.log"), Lsn{42});
  EXPECT_EQ(ParseSegmentFileName(SegmentFileName(Lsn{UINT64_MAX})), Lsn{UINT64_MAX});
  EXPECT_FALSE(ParseSegmentFileName("journal-0000000000000000042.log"));
  EXPECT_FALSE(ParseSegmentFileName("journal-0000000000000000004x.log"));
  EXPECT_FALSE(ParseSegmentFileName("journal-99999999999999999999.log"));  // overflows u64
  EXPECT_FALSE(ParseSegmentFileName("snapshot-00000000000000000001.snap"));
}

TEST(JournalFormatTest, RecordHeaderRoundTripsAndEveryBitFlipIsCaught) {
  std::string bytes;
  EncodeRecord(Lsn{7}, 4242, "payload", &bytes);
  ASSERT_EQ(bytes.size(), kRecordHeaderBytes + 7);
  std::optional<RecordHeader> header = DecodeRecordHeader(bytes);
  ASSERT_TRUE(header);
  EXPECT_EQ(header->write_offset, 4242u);
  EXPECT_EQ(header->lsn, Lsn{7});
  EXPECT_EQ(header->payload_length, 7u);
  EXPECT_EQ(header->payload_checksum, PayloadChecksum("payload"));
  for (size_t bit = 0; bit < kRecordHeaderBytes * 8; ++bit) {
    std::string damaged = bytes;
    damaged[bit / 8] ^= static_cast<char>(1 << (bit % 8));
    EXPECT_FALSE(DecodeRecordHeader(damaged)) << "bit " << bit;
  }
}

TEST(JournalFormatTest, SegmentHeaderRoundTripsAndRejectsDamage) {
  std::string bytes;
  EncodeSegmentHeader(Lsn{1234}, &bytes);
  ASSERT_EQ(bytes.size(), kSegmentHeaderBytes);
  EXPECT_EQ(bytes.substr(0, 4), "EXJL");
  std::optional<SegmentHeader> header = DecodeSegmentHeader(bytes);
  ASSERT_TRUE(header);
  EXPECT_EQ(header->first_lsn, Lsn{1234});
  EXPECT_EQ(header->version, kJournalVersion);
  EXPECT_FALSE(IsUnknownVersionSegmentHeader(bytes));
  for (size_t bit = 0; bit < kSegmentHeaderChecksumOffset * 8 + 32; ++bit) {
    std::string damaged = bytes;
    damaged[bit / 8] ^= static_cast<char>(1 << (bit % 8));
    EXPECT_FALSE(DecodeSegmentHeader(damaged)) << "bit " << bit;
  }
}

TEST(JournalFormatTest, ZeroFilledHeaderDoesNotVerify) {
  EXPECT_FALSE(DecodeRecordHeader(std::string(kRecordHeaderBytes, '\0')));
  EXPECT_FALSE(DecodeRecordHeader(std::string(kRecordHeaderBytesV1, '\0'), kJournalVersionV1));
}

// Version 1, as the builds before version 2 wrote it: 24-byte record headers
// without a write offset, checksum over bytes 4..24.
TEST(JournalFormatTest, VersionOneHeadersStillDecode) {
  std::string segment = "EXJL";
  PutU32(kJournalVersionV1, &segment);
  PutU64(9, &segment);
  PutU32(HeaderChecksum(segment), &segment);
  PutU32(0, &segment);
  std::optional<SegmentHeader> decoded = DecodeSegmentHeader(segment);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->version, kJournalVersionV1);
  EXPECT_EQ(decoded->first_lsn, Lsn{9});

  std::string fields;
  PutU32(7, &fields);
  PutU64(9, &fields);
  PutU64(PayloadChecksum("payload"), &fields);
  std::string record;
  PutU32(HeaderChecksum(fields), &record);
  record += fields + "payload";
  EXPECT_EQ(RecordHeaderBytes(kJournalVersionV1), kRecordHeaderBytesV1);
  std::optional<RecordHeader> header = DecodeRecordHeader(record, kJournalVersionV1);
  ASSERT_TRUE(header);
  EXPECT_EQ(header->lsn, Lsn{9});
  EXPECT_EQ(header->payload_length, 7u);
  EXPECT_FALSE(header->write_offset);
  // Read in the version 2 layout the same bytes do not verify.
  EXPECT_FALSE(DecodeRecordHeader(record + std::string(8, '\0')));
}

TEST(JournalFormatTest, UnknownSegmentVersionIsToldApartFromDamage) {
  std::string bytes = "EXJL";
  PutU32(kJournalVersion + 1, &bytes);
  PutU64(1, &bytes);
  PutU32(HeaderChecksum(bytes), &bytes);
  PutU32(0, &bytes);
  EXPECT_FALSE(DecodeSegmentHeader(bytes));
  EXPECT_TRUE(IsUnknownVersionSegmentHeader(bytes));
  bytes[9] ^= 1;
  EXPECT_FALSE(IsUnknownVersionSegmentHeader(bytes));
}

TEST(JournalFormatTest, LengthOverTheMaximumIsRejectedEvenWithAValidChecksum) {
  std::string bytes;
  EncodeRecord(Lsn{1}, kSegmentHeaderBytes, "", &bytes);
  uint32_t length = kRecordPayloadBytesMax + 1;
  std::memcpy(bytes.data() + 4, &length, 4);
  uint32_t checksum = HeaderChecksum(std::string_view(bytes).substr(4, kRecordHeaderBytes - 4));
  std::memcpy(bytes.data(), &checksum, 4);
  EXPECT_FALSE(DecodeRecordHeader(bytes));
}

}  // namespace
}  // namespace exactly::storage
