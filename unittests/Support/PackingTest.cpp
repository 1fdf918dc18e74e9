//===- PackingTest.cpp - Tests for the bit packing of quantized codes -----===//
//
// The byte patterns below are derived by hand in docs/BIT_LAYOUT.md; keep the
// two in sync.
//
//===----------------------------------------------------------------------===//

#include "qnt/Support/Packing.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

using namespace mlir::qnt;

namespace {

using Bytes = std::vector<uint8_t>;

const size_t kLengths[] = {0, 1, 7, 8, 9, 15, 17, 63, 64, 65, 1000, 4099};

/// Packs unsigned codes into a buffer pre-filled with 0xFF, so any byte the
/// packer forgets to write, or padding it leaves set, shows up as set bits.
Bytes packU(const Bytes &codes, unsigned bits) {
  Bytes out(packedRowBytes(codes.size(), bits), 0xFF);
  packUnsigned(codes.data(), codes.size(), bits, out.data());
  return out;
}

Bytes packS(const std::vector<int8_t> &codes, unsigned bits) {
  Bytes out(packedRowBytes(codes.size(), bits), 0xFF);
  packSigned(codes.data(), codes.size(), bits, out.data());
  return out;
}

/// Round-trips through an exactly sized packed buffer, so AddressSanitizer
/// catches a read or write past the row.
void expectUnsignedRoundTrip(const Bytes &codes, unsigned bits) {
  Bytes packed = packU(codes, bits);
  // Pre-fill with a value no code of this width can take.
  Bytes back(codes.size(), 0xAA);
  unpackUnsigned(packed.data(), codes.size(), bits, back.data());
  EXPECT_EQ(back, codes);
}

void expectSignedRoundTrip(const std::vector<int8_t> &codes, unsigned bits) {
  Bytes packed = packS(codes, bits);
  std::vector<int8_t> back(codes.size(), 0x55);
  unpackSigned(packed.data(), codes.size(), bits, back.data());
  EXPECT_EQ(back, codes);
}

/// The padding bits of the last byte of a packed row must be zero.
void expectZeroPadding(const Bytes &packed, size_t count, unsigned bits) {
  unsigned usedBits = (count * bits) % 8;
  if (packed.empty() || usedBits == 0)
    return;
  uint8_t padMask = static_cast<uint8_t>(0xFFu << usedBits);
  EXPECT_EQ(packed.back() & padMask, 0) << "count " << count;
}

//===----------------------------------------------------------------------===//
// Round trips
//===----------------------------------------------------------------------===//

TEST(PackingTest, RoundTripUnsignedRandom) {
  std::mt19937 rng(12345);
  for (unsigned bits = 1; bits <= 8; ++bits) {
    std::uniform_int_distribution<int> dist(0, codeMax(bits, false));
    for (size_t len : kLengths) {
      SCOPED_TRACE(testing::Message() << "bits " << bits << ", len " << len);
      Bytes codes(len);
      for (uint8_t &c : codes)
        c = static_cast<uint8_t>(dist(rng));
      expectUnsignedRoundTrip(codes, bits);
    }
  }
}

TEST(PackingTest, RoundTripSignedRandom) {
  std::mt19937 rng(54321);
  for (unsigned bits = 1; bits <= 8; ++bits) {
    std::uniform_int_distribution<int> dist(codeMin(bits, true),
                                            codeMax(bits, true));
    for (size_t len : kLengths) {
      SCOPED_TRACE(testing::Message() << "bits " << bits << ", len " << len);
      std::vector<int8_t> codes(len);
      for (int8_t &c : codes)
        c = static_cast<int8_t>(dist(rng));
      expectSignedRoundTrip(codes, bits);
    }
  }
}

TEST(PackingTest, RoundTripUnsignedExtremes) {
  for (unsigned bits = 1; bits <= 8; ++bits) {
    uint8_t lo = static_cast<uint8_t>(codeMin(bits, false));
    uint8_t hi = static_cast<uint8_t>(codeMax(bits, false));
    for (size_t len : kLengths) {
      SCOPED_TRACE(testing::Message() << "bits " << bits << ", len " << len);
      expectUnsignedRoundTrip(Bytes(len, lo), bits);
      expectUnsignedRoundTrip(Bytes(len, hi), bits);
      Bytes alternating(len);
      for (size_t i = 0; i < len; ++i)
        alternating[i] = i % 2 ? hi : lo;
      expectUnsignedRoundTrip(alternating, bits);
    }
  }
}

TEST(PackingTest, RoundTripSignedExtremes) {
  for (unsigned bits = 1; bits <= 8; ++bits) {
    int8_t lo = static_cast<int8_t>(codeMin(bits, true));
    int8_t hi = static_cast<int8_t>(codeMax(bits, true));
    for (size_t len : kLengths) {
      SCOPED_TRACE(testing::Message() << "bits " << bits << ", len " << len);
      expectSignedRoundTrip(std::vector<int8_t>(len, lo), bits);
      expectSignedRoundTrip(std::vector<int8_t>(len, hi), bits);
      std::vector<int8_t> alternating(len);
      for (size_t i = 0; i < len; ++i)
        alternating[i] = i % 2 ? hi : lo;
      expectSignedRoundTrip(alternating, bits);
    }
  }
}

//===----------------------------------------------------------------------===//
// Hand-derived byte patterns (docs/BIT_LAYOUT.md, "Worked examples")
//===----------------------------------------------------------------------===//

TEST(PackingTest, KnownBytes4Bit) {
  // Code 0 is the low nibble of byte 0, code 1 the high nibble.
  EXPECT_EQ(packU({1, 2, 3}, 4), (Bytes{0x21, 0x03}));
  EXPECT_EQ(packS({-1, 3}, 4), (Bytes{0x3F}));
  EXPECT_EQ(packS({-8, 7, -1}, 4), (Bytes{0x78, 0x0F}));
}

TEST(PackingTest, KnownBytes3Bit) {
  // Code 2 straddles bytes 0 and 1: low two bits in bits 6-7 of byte 0, high
  // bit in bit 0 of byte 1.
  EXPECT_EQ(packU({7, 0, 5}, 3), (Bytes{0x47, 0x01}));
  // A full block of 8 codes fills exactly 3 bytes; codes 2 and 5 cross.
  EXPECT_EQ(packU({0, 1, 2, 3, 4, 5, 6, 7}, 3), (Bytes{0x88, 0xC6, 0xFA}));
  EXPECT_EQ(packS({-4, 3, -1}, 3), (Bytes{0xDC, 0x01}));
}

TEST(PackingTest, KnownBytes5Bit) {
  EXPECT_EQ(packU({1, 31, 16}, 5), (Bytes{0xE1, 0x43}));
  EXPECT_EQ(packS({-16, 15, -1}, 5), (Bytes{0xF0, 0x7D}));
}

TEST(PackingTest, KnownBytes6Bit) {
  EXPECT_EQ(packU({63, 1, 42, 5}, 6), (Bytes{0x7F, 0xA0, 0x16}));
}

TEST(PackingTest, KnownBytes7Bit) {
  EXPECT_EQ(packU({100, 1, 127}, 7), (Bytes{0xE4, 0xC0, 0x1F}));
  EXPECT_EQ(packS({-64, 63, -1}, 7), (Bytes{0xC0, 0xDF, 0x1F}));
}

TEST(PackingTest, KnownBytes1And2And8Bit) {
  EXPECT_EQ(packU({1, 0, 1, 1, 0, 0, 0, 0, 1}, 1), (Bytes{0x0D, 0x01}));
  EXPECT_EQ(packU({1, 2, 3, 0, 3}, 2), (Bytes{0x39, 0x03}));
  EXPECT_EQ(packU({0, 255, 0x12}, 8), (Bytes{0x00, 0xFF, 0x12}));
  EXPECT_EQ(packS({-1, 127, -128}, 8), (Bytes{0xFF, 0x7F, 0x80}));
}

TEST(PackingTest, KnownBytesUnpack) {
  // The same patterns read back, including sign extension.
  Bytes u(3);
  unpackUnsigned(Bytes{0x47, 0x01}.data(), 3, 3, u.data());
  EXPECT_EQ(u, (Bytes{7, 0, 5}));
  std::vector<int8_t> s(3);
  unpackSigned(Bytes{0xF0, 0x7D}.data(), 3, 5, s.data());
  EXPECT_EQ(s, (std::vector<int8_t>{-16, 15, -1}));
  unpackSigned(Bytes{0xC0, 0xDF, 0x1F}.data(), 3, 7, s.data());
  EXPECT_EQ(s, (std::vector<int8_t>{-64, 63, -1}));
}

TEST(PackingTest, UnpackIgnoresPaddingBits) {
  // 0x8F: code 0 = 0xF in the low nibble, garbage in the padding nibble.
  uint8_t u = 0;
  unpackUnsigned(Bytes{0x8F}.data(), 1, 4, &u);
  EXPECT_EQ(u, 0xF);
  int8_t s = 0;
  unpackSigned(Bytes{0xFB}.data(), 1, 3, &s);
  EXPECT_EQ(s, 3); // Low three bits 0b011; bits 3-7 are padding.
}

//===----------------------------------------------------------------------===//
// Padding and buffer sizes
//===----------------------------------------------------------------------===//

TEST(PackingTest, PaddingBitsAreZero) {
  for (unsigned bits = 1; bits <= 8; ++bits) {
    for (size_t len : kLengths) {
      SCOPED_TRACE(testing::Message() << "bits " << bits << ", len " << len);
      // All-ones codes would leak into the padding if a field were too wide.
      Bytes packed =
          packU(Bytes(len, static_cast<uint8_t>(codeMax(bits, false))), bits);
      ASSERT_EQ(packed.size(), packedRowBytes(len, bits));
      expectZeroPadding(packed, len, bits);
      std::vector<int8_t> minusOne(len, -1);
      expectZeroPadding(packS(minusOne, bits), len, bits);
    }
  }
}

TEST(PackingTest, OutOfRangeCodesAreMasked) {
  // Not a supported use (callers validate first), but the documented
  // behaviour: high bits are dropped and never spill into the next field.
  EXPECT_EQ(packU({0x1F, 0x00}, 4), (Bytes{0x0F}));
  EXPECT_EQ(packS({9, 0}, 4), (Bytes{0x09}));
  EXPECT_EQ(packU({0xFF, 0, 0}, 3), (Bytes{0x07, 0x00}));
}

TEST(PackingTest, PackedRowBytes) {
  EXPECT_EQ(packedRowBytes(0, 4), 0u);
  EXPECT_EQ(packedRowBytes(1, 1), 1u);
  EXPECT_EQ(packedRowBytes(8, 1), 1u);
  EXPECT_EQ(packedRowBytes(9, 1), 2u);
  EXPECT_EQ(packedRowBytes(3, 4), 2u);
  EXPECT_EQ(packedRowBytes(4, 4), 2u);
  EXPECT_EQ(packedRowBytes(3, 3), 2u);
  EXPECT_EQ(packedRowBytes(13, 3), 5u);
  EXPECT_EQ(packedRowBytes(3, 7), 3u);
  EXPECT_EQ(packedRowBytes(5, 8), 5u);
  EXPECT_EQ(packedRowBytes(4099, 3), 1538u);
  EXPECT_EQ(packedRowBytes(11008, 4), 5504u);
  // A whole block of 8 codes is always exactly `bits` bytes.
  for (unsigned bits = 1; bits <= 8; ++bits) {
    EXPECT_EQ(packedRowBytes(8, bits), bits);
    EXPECT_EQ(packedRowBytes(800, bits), 100u * bits);
  }
}

//===----------------------------------------------------------------------===//
// Range helpers
//===----------------------------------------------------------------------===//

TEST(PackingTest, CodeRange) {
  const int32_t signedMin[] = {-1, -2, -4, -8, -16, -32, -64, -128};
  const int32_t signedMax[] = {0, 1, 3, 7, 15, 31, 63, 127};
  const int32_t unsignedMax[] = {1, 3, 7, 15, 31, 63, 127, 255};
  for (unsigned bits = 1; bits <= 8; ++bits) {
    SCOPED_TRACE(testing::Message() << "bits " << bits);
    EXPECT_EQ(codeMin(bits, true), signedMin[bits - 1]);
    EXPECT_EQ(codeMax(bits, true), signedMax[bits - 1]);
    EXPECT_EQ(codeMin(bits, false), 0);
    EXPECT_EQ(codeMax(bits, false), unsignedMax[bits - 1]);
  }
}

TEST(PackingTest, FindUnsignedOutOfRange) {
  Bytes codes = {0, 7, 3, 8, 9};
  EXPECT_EQ(findUnsignedOutOfRange(codes.data(), codes.size(), 3), 3u);
  EXPECT_EQ(findUnsignedOutOfRange(codes.data(), codes.size(), 4), 5u);
  EXPECT_EQ(findUnsignedOutOfRange(codes.data(), 3, 3), 3u);
  EXPECT_EQ(findUnsignedOutOfRange(codes.data(), codes.size(), 1), 1u);
  EXPECT_EQ(findUnsignedOutOfRange(codes.data(), 0, 1), 0u);
  Bytes all(256);
  for (unsigned i = 0; i < 256; ++i)
    all[i] = static_cast<uint8_t>(i);
  for (unsigned bits = 1; bits <= 8; ++bits)
    EXPECT_EQ(findUnsignedOutOfRange(all.data(), all.size(), bits),
              size_t(1) << bits);
}

TEST(PackingTest, FindSignedOutOfRange) {
  std::vector<int8_t> codes = {0, -4, 3, -5, 4};
  EXPECT_EQ(findSignedOutOfRange(codes.data(), codes.size(), 3), 3u);
  EXPECT_EQ(findSignedOutOfRange(codes.data(), codes.size(), 4), 5u);
  EXPECT_EQ(findSignedOutOfRange(codes.data(), 3, 3), 3u);
  // A too-large positive code is found as well as a too-small negative one.
  std::vector<int8_t> high = {-4, 3, 4, -5};
  EXPECT_EQ(findSignedOutOfRange(high.data(), high.size(), 3), 2u);
  // 1-bit signed codes are {-1, 0}.
  std::vector<int8_t> oneBit = {-1, 0, -1, 1};
  EXPECT_EQ(findSignedOutOfRange(oneBit.data(), oneBit.size(), 1), 3u);
  std::vector<int8_t> full = {-128, 127, 0};
  EXPECT_EQ(findSignedOutOfRange(full.data(), full.size(), 8), 3u);
  EXPECT_EQ(findSignedOutOfRange(full.data(), full.size(), 7), 0u);
}

//===----------------------------------------------------------------------===//
// Tensors: rows start on byte boundaries
//===----------------------------------------------------------------------===//

TEST(PackingTest, RowsStartOnByteBoundaries) {
  constexpr size_t rows = 3, cols = 13;
  constexpr unsigned bits = 3;
  const size_t rowBytes = packedRowBytes(cols, bits);
  ASSERT_EQ(rowBytes, 5u); // 39 bits: one padding bit per row.

  Bytes codes(rows * cols);
  for (size_t i = 0; i < codes.size(); ++i)
    codes[i] = static_cast<uint8_t>((i * 5 + 1) % 8);
  Bytes tensor(rows * rowBytes, 0xFF);
  for (size_t r = 0; r < rows; ++r)
    packUnsigned(codes.data() + r * cols, cols, bits,
                 tensor.data() + r * rowBytes);

  for (size_t r = 0; r < rows; ++r) {
    SCOPED_TRACE(testing::Message() << "row " << r);
    Bytes row(codes.begin() + r * cols, codes.begin() + (r + 1) * cols);
    Bytes expected = packU(row, bits);
    Bytes actual(tensor.begin() + r * rowBytes,
                 tensor.begin() + (r + 1) * rowBytes);
    EXPECT_EQ(actual, expected);
    // Bit 7 of the row's last byte is padding, not the next row's first bit.
    EXPECT_EQ(actual.back() & 0x80, 0);
    // The row's first code sits in bits 0-2 of its first byte.
    EXPECT_EQ(actual.front() & 0x7, row.front());
    Bytes back(cols);
    unpackUnsigned(tensor.data() + r * rowBytes, cols, bits, back.data());
    EXPECT_EQ(back, row);
  }
  // Row-wise packing is not one continuous stream: it differs from packing
  // all 39 codes in one go, whose rows would not start on byte boundaries.
  EXPECT_NE(tensor, packU(codes, bits));
}


// Hand-derived (docs/BIT_LAYOUT.md, "Kernel layout"): 4-bit codes 0..7 in one
// block of 4 lanes. Standard bytes hold (0,1) (2,3) (4,5) (6,7); plane-major
// bytes hold codes (j, 4 + j) in their (low, high) nibbles.
TEST(PackingTest, PlaneMajorHandExample) {
  Bytes codes = {0, 1, 2, 3, 4, 5, 6, 7};
  Bytes packed = packU(codes, 4);
  ASSERT_EQ(packed, (Bytes{0x10, 0x32, 0x54, 0x76}));
  Bytes out(packed.size(), 0xAA);
  toPlaneMajorRow(packed.data(), codes.size(), 4, /*groupSize=*/8,
                  /*lanes=*/4, out.data());
  EXPECT_EQ(out, (Bytes{0x40, 0x51, 0x62, 0x73}));
}

// Hand-derived: 8-bit (fp8) codes go four to a 32-bit word. 18 bytes in one
// group, 2 lanes: two blocks of 8 codes (byte p of word j holds code 2p + j
// of the block), then 2 codes in the standard layout.
TEST(PackingTest, PlaneMajorBytesInWords) {
  Bytes row = {10, 11, 12, 13, 14, 15, 16, 17, 20, 21,
               22, 23, 24, 25, 26, 27, 30, 31};
  Bytes out(row.size(), 0xAA);
  toPlaneMajorRow(row.data(), row.size(), 8, /*groupSize=*/row.size(),
                  /*lanes=*/2, out.data());
  EXPECT_EQ(out, (Bytes{10, 12, 14, 16, 11, 13, 15, 17, 20, 22, 24, 26, 21,
                        23, 25, 27, 30, 31}));
  EXPECT_EQ(planeCodesPerUnit(8), 4u);
  EXPECT_EQ(planeMajorBlockCodes(8, 16), 64u);
  EXPECT_EQ(planeMajorBlockCodes(4, 16), 32u);
}

// Reads code `i` of a plane-major row the way the kernels do, from the rule
// alone: block, lane and field, or the standard layout outside full blocks.
unsigned planeMajorCode(const Bytes &row, size_t count, unsigned bits,
                        size_t groupSize, size_t lanes, size_t i) {
  size_t perByte = 8 / bits, blockCodes = lanes * perByte;
  size_t g0 = i / groupSize * groupSize;
  size_t groupEnd = std::min(count, g0 + groupSize);
  size_t fullEnd = g0 + (groupEnd - g0) / blockCodes * blockCodes;
  unsigned mask = (1u << bits) - 1;
  if (i >= fullEnd)
    return (row[i * bits / 8] >> (i * bits % 8)) & mask;
  size_t c0 = g0 + (i - g0) / blockCodes * blockCodes, inBlock = i - c0;
  size_t lane = inBlock % lanes, field = inBlock / lanes;
  return (row[c0 * bits / 8 + lane] >> (field * bits)) & mask;
}

TEST(PackingTest, PlaneMajorHoldsEveryCodeOnce) {
  std::mt19937 rng(7);
  for (unsigned bits : {1u, 2u, 4u}) {
    for (size_t lanes : {8u, 16u}) {
      for (size_t count : {32u, 96u, 128u, 200u, 4096u}) {
        for (size_t groupSize : {size_t(32), size_t(64), size_t(128), count}) {
          if (groupSize > count || (groupSize != count && count % groupSize))
            continue;
          SCOPED_TRACE(testing::Message() << bits << " bits, " << lanes
                                          << " lanes, " << count << " codes, g"
                                          << groupSize);
          Bytes codes(count);
          for (auto &c : codes)
            c = rng() & ((1u << bits) - 1);
          Bytes packed = packU(codes, bits);
          Bytes out(packed.size(), 0xFF);
          toPlaneMajorRow(packed.data(), count, bits, groupSize, lanes,
                          out.data());
          for (size_t i = 0; i < count; ++i)
            ASSERT_EQ(planeMajorCode(out, count, bits, groupSize, lanes, i),
                      codes[i])
                << "code " << i;
          // The padding bits of the last byte stay zero.
          if (count * bits % 8)
            EXPECT_EQ(out.back() >> (count * bits % 8), 0);
        }
      }
    }
  }
}

} // namespace

TEST(PackingTest, InterleaveRowTilesHandExample) {
  // 5 rows of 4 bytes (row r, byte j holds 10 * r + j), tiles of 2 rows,
  // blocks of 2 bytes: rows 0-1 and 2-3 interleave block by block, row 4
  // (the remainder) stays as it is.
  std::vector<uint8_t> in;
  for (int r = 0; r < 5; ++r)
    for (int j = 0; j < 4; ++j)
      in.push_back(static_cast<uint8_t>(10 * r + j));
  std::vector<uint8_t> out(in.size());
  interleaveRowTiles(in.data(), 5, 4, 2, 2, out.data());
  std::vector<uint8_t> expected = {0,  1,  10, 11, 2,  3,  12, 13, //
                                   20, 21, 30, 31, 22, 23, 32, 33, //
                                   40, 41, 42, 43};
  EXPECT_EQ(out, expected);
}

TEST(PackingTest, InterleaveRowTilesIsAPermutation) {
  // Every byte lands at the offset the kernels compute for it:
  // tile base + byte offset * tileRows + row in tile * blockBytes.
  const size_t rows = 11, rowBytes = 96, tileRows = 4, blockBytes = 32;
  std::vector<uint8_t> in(rows * rowBytes), out(in.size());
  for (size_t i = 0; i < in.size(); ++i)
    in[i] = static_cast<uint8_t>(i * 7 + i / 251);
  interleaveRowTiles(in.data(), rows, rowBytes, tileRows, blockBytes,
                     out.data());
  for (size_t r = 0; r < rows; ++r) {
    bool tiled = r < rows - rows % tileRows;
    size_t t = r / tileRows * tileRows;
    for (size_t j = 0; j < rowBytes; ++j) {
      size_t at = tiled ? t * rowBytes + (j / blockBytes) * blockBytes * tileRows +
                              (r - t) * blockBytes + j % blockBytes
                        : r * rowBytes + j;
      ASSERT_EQ(out[at], in[r * rowBytes + j]) << "row " << r << " byte " << j;
    }
  }
}
