//===- Packing.cpp - Bit packing of 1- to 8-bit quantized codes -----------===//
//
// Implements the layout of docs/BIT_LAYOUT.md. Widths that divide 8 (1, 2, 4)
// build one output byte from whole codes; 8 is a copy; the other widths (3, 5,
// 6, 7) go through a 64-bit word, 8 codes = `bits` bytes at a time, because 8
// codes always end on a byte boundary. Partial blocks at the end of a row are
// handled by the same word-based code with a runtime length.
//
// Every loop body has its width as a template parameter so that the shifts and
// inner loops are constants the compiler can unroll and vectorize. Bytes are
// assembled with shifts rather than memcpy of a uint64_t, which keeps the code
// independent of host endianness and never touches a byte past the row.
//
//===----------------------------------------------------------------------===//

#include "qnt/Support/Packing.h"

#include <cassert>
#include <algorithm>
#include <cstring>
#include <type_traits>

using namespace mlir::qnt;

namespace {

constexpr unsigned kBlockCodes = 8;

constexpr uint8_t lowMask(unsigned bits) {
  return static_cast<uint8_t>((1u << bits) - 1u);
}

// Only used in asserts, hence unused in release builds.
[[maybe_unused]] constexpr bool isValidWidth(unsigned bits) {
  return bits >= 1 && bits <= 8;
}

/// Turns a raw `Bits`-bit field into the code type: unchanged for unsigned
/// codes, sign-extended for signed ones. The xor/subtract form avoids relying
/// on implementation-defined narrowing or right shifts of negative values.
template <unsigned Bits, typename CodeT>
inline CodeT decodeField(unsigned field) {
  if constexpr (std::is_signed_v<CodeT>) {
    constexpr int signBit = 1 << (Bits - 1);
    return static_cast<CodeT>(static_cast<int>(field ^ signBit) - signBit);
  } else {
    return static_cast<CodeT>(field);
  }
}

//===----------------------------------------------------------------------===//
// Partial blocks (fewer than 8 codes), any width.
//===----------------------------------------------------------------------===//

/// Packs `n` < 8 codes into ceil(n * Bits / 8) bytes. At most 7 * 8 = 56 bits,
/// so a 64-bit word always holds them.
template <unsigned Bits>
void packTail(const uint8_t *codes, size_t n, uint8_t *out) {
  constexpr uint8_t mask = lowMask(Bits);
  uint64_t word = 0;
  for (size_t i = 0; i < n; ++i)
    word |= static_cast<uint64_t>(codes[i] & mask) << (i * Bits);
  size_t bytes = (n * Bits + 7) / 8;
  for (size_t k = 0; k < bytes; ++k)
    out[k] = static_cast<uint8_t>(word >> (8 * k));
}

template <unsigned Bits, typename CodeT>
void unpackTail(const uint8_t *packed, size_t n, CodeT *codes) {
  constexpr uint8_t mask = lowMask(Bits);
  size_t bytes = (n * Bits + 7) / 8;
  uint64_t word = 0;
  for (size_t k = 0; k < bytes; ++k)
    word |= static_cast<uint64_t>(packed[k]) << (8 * k);
  for (size_t i = 0; i < n; ++i)
    codes[i] = decodeField<Bits, CodeT>(
        static_cast<unsigned>(word >> (i * Bits)) & mask);
}

//===----------------------------------------------------------------------===//
// Widths 1, 2, 4: whole codes per byte.
//===----------------------------------------------------------------------===//

template <unsigned Bits>
void packPerByte(const uint8_t *codes, size_t count, uint8_t *out) {
  constexpr unsigned perByte = 8 / Bits;
  constexpr uint8_t mask = lowMask(Bits);
  size_t fullBytes = count / perByte;
  for (size_t j = 0; j < fullBytes; ++j) {
    const uint8_t *c = codes + j * perByte;
    unsigned byte = 0;
    for (unsigned k = 0; k < perByte; ++k)
      byte |= static_cast<unsigned>(c[k] & mask) << (k * Bits);
    out[j] = static_cast<uint8_t>(byte);
  }
  packTail<Bits>(codes + fullBytes * perByte, count % perByte, out + fullBytes);
}

template <unsigned Bits, typename CodeT>
void unpackPerByte(const uint8_t *packed, size_t count, CodeT *codes) {
  constexpr unsigned perByte = 8 / Bits;
  constexpr uint8_t mask = lowMask(Bits);
  size_t fullBytes = count / perByte;
  for (size_t j = 0; j < fullBytes; ++j) {
    unsigned byte = packed[j];
    CodeT *c = codes + j * perByte;
    for (unsigned k = 0; k < perByte; ++k)
      c[k] = decodeField<Bits, CodeT>((byte >> (k * Bits)) & mask);
  }
  unpackTail<Bits>(packed + fullBytes, count % perByte,
                   codes + fullBytes * perByte);
}

//===----------------------------------------------------------------------===//
// Widths 3, 5, 6, 7: blocks of 8 codes = Bits bytes through a 64-bit word.
//===----------------------------------------------------------------------===//

template <unsigned Bits>
void packBlocks(const uint8_t *codes, size_t count, uint8_t *out) {
  constexpr uint8_t mask = lowMask(Bits);
  size_t blocks = count / kBlockCodes;
  for (size_t b = 0; b < blocks; ++b) {
    const uint8_t *c = codes + b * kBlockCodes;
    uint8_t *o = out + b * Bits;
    uint64_t word = 0;
    for (unsigned i = 0; i < kBlockCodes; ++i)
      word |= static_cast<uint64_t>(c[i] & mask) << (i * Bits);
    for (unsigned k = 0; k < Bits; ++k)
      o[k] = static_cast<uint8_t>(word >> (8 * k));
  }
  packTail<Bits>(codes + blocks * kBlockCodes, count % kBlockCodes,
                 out + blocks * Bits);
}

template <unsigned Bits, typename CodeT>
void unpackBlocks(const uint8_t *packed, size_t count, CodeT *codes) {
  constexpr uint8_t mask = lowMask(Bits);
  size_t blocks = count / kBlockCodes;
  for (size_t b = 0; b < blocks; ++b) {
    const uint8_t *p = packed + b * Bits;
    CodeT *c = codes + b * kBlockCodes;
    uint64_t word = 0;
    for (unsigned k = 0; k < Bits; ++k)
      word |= static_cast<uint64_t>(p[k]) << (8 * k);
    for (unsigned i = 0; i < kBlockCodes; ++i)
      c[i] = decodeField<Bits, CodeT>(
          static_cast<unsigned>(word >> (i * Bits)) & mask);
  }
  unpackTail<Bits>(packed + blocks * Bits, count % kBlockCodes,
                   codes + blocks * kBlockCodes);
}

//===----------------------------------------------------------------------===//
// Dispatch on the width.
//===----------------------------------------------------------------------===//

/// Packs fields that are already two's complement or unsigned bit patterns;
/// signed and unsigned packing differ only in how the caller views the bytes.
void packFields(const uint8_t *codes, size_t count, unsigned bits,
                uint8_t *out) {
  assert(isValidWidth(bits) && "code width must be in 1..8");
  // Empty rows may come with null pointers, which memcpy must not see.
  if (count == 0)
    return;
  switch (bits) {
  case 1:
    return packPerByte<1>(codes, count, out);
  case 2:
    return packPerByte<2>(codes, count, out);
  case 3:
    return packBlocks<3>(codes, count, out);
  case 4:
    return packPerByte<4>(codes, count, out);
  case 5:
    return packBlocks<5>(codes, count, out);
  case 6:
    return packBlocks<6>(codes, count, out);
  case 7:
    return packBlocks<7>(codes, count, out);
  case 8:
    std::memcpy(out, codes, count);
    return;
  }
}

template <typename CodeT>
void unpackFields(const uint8_t *packed, size_t count, unsigned bits,
                  CodeT *codes) {
  assert(isValidWidth(bits) && "code width must be in 1..8");
  if (count == 0)
    return;
  switch (bits) {
  case 1:
    return unpackPerByte<1>(packed, count, codes);
  case 2:
    return unpackPerByte<2>(packed, count, codes);
  case 3:
    return unpackBlocks<3>(packed, count, codes);
  case 4:
    return unpackPerByte<4>(packed, count, codes);
  case 5:
    return unpackBlocks<5>(packed, count, codes);
  case 6:
    return unpackBlocks<6>(packed, count, codes);
  case 7:
    return unpackBlocks<7>(packed, count, codes);
  case 8:
    // An 8-bit field is the code's own byte, signed or not.
    std::memcpy(codes, packed, count);
    return;
  }
}

} // namespace

size_t mlir::qnt::packedRowBytes(size_t count, unsigned bits) {
  assert(isValidWidth(bits) && "code width must be in 1..8");
  // count * bits cannot overflow for any buffer that fits in memory.
  return (count * bits + 7) / 8;
}

int32_t mlir::qnt::codeMin(unsigned bits, bool isSigned) {
  assert(isValidWidth(bits) && "code width must be in 1..8");
  return isSigned ? -(int32_t(1) << (bits - 1)) : 0;
}

int32_t mlir::qnt::codeMax(unsigned bits, bool isSigned) {
  assert(isValidWidth(bits) && "code width must be in 1..8");
  return isSigned ? (int32_t(1) << (bits - 1)) - 1 : (int32_t(1) << bits) - 1;
}

size_t mlir::qnt::findUnsignedOutOfRange(const uint8_t *codes, size_t count,
                                         unsigned bits) {
  int32_t hi = codeMax(bits, /*isSigned=*/false);
  for (size_t i = 0; i < count; ++i)
    if (codes[i] > hi)
      return i;
  return count;
}

size_t mlir::qnt::findSignedOutOfRange(const int8_t *codes, size_t count,
                                       unsigned bits) {
  int32_t lo = codeMin(bits, /*isSigned=*/true);
  int32_t hi = codeMax(bits, /*isSigned=*/true);
  for (size_t i = 0; i < count; ++i)
    if (codes[i] < lo || codes[i] > hi)
      return i;
  return count;
}

void mlir::qnt::packUnsigned(const uint8_t *codes, size_t count, unsigned bits,
                             uint8_t *out) {
  packFields(codes, count, bits, out);
}

void mlir::qnt::unpackUnsigned(const uint8_t *packed, size_t count,
                               unsigned bits, uint8_t *codes) {
  unpackFields(packed, count, bits, codes);
}

void mlir::qnt::packSigned(const int8_t *codes, size_t count, unsigned bits,
                           uint8_t *out) {
  // int8_t is two's complement, so its low `bits` bits are exactly the field;
  // reading it through uint8_t is allowed by the aliasing rules.
  packFields(reinterpret_cast<const uint8_t *>(codes), count, bits, out);
}

void mlir::qnt::unpackSigned(const uint8_t *packed, size_t count, unsigned bits,
                             int8_t *codes) {
  unpackFields(packed, count, bits, codes);
}

void mlir::qnt::toPlaneMajorRow(const uint8_t *in, size_t count, unsigned bits,
                                size_t groupSize, size_t lanes, uint8_t *out) {
  assert((bits == 1 || bits == 2 || bits == 4 || bits == 8) &&
         "plane-major needs 8 % bits == 0");
  assert(groupSize > 0 && lanes > 0);
  assert((groupSize == count || groupSize * bits % 8 == 0) &&
         "groups must start on a byte");
  const size_t perByte = 8 / bits;
  const size_t blockCodes = planeMajorBlockCodes(bits, lanes);
  const unsigned mask = lowMask(bits);
  std::memcpy(out, in, packedRowBytes(count, bits));
  for (size_t g0 = 0; g0 < count; g0 += groupSize) {
    size_t groupEnd = std::min(count, g0 + groupSize);
    // Compared as a difference: c0 + blockCodes may not fit in size_t.
    for (size_t c0 = g0; blockCodes <= groupEnd - c0; c0 += blockCodes) {
      const uint8_t *src = in + c0 * bits / 8;
      uint8_t *dst = out + c0 * bits / 8;
      if (bits == 8) {
        // Byte p of word j: code p * lanes + j.
        for (size_t j = 0; j < lanes; ++j)
          for (size_t p = 0; p < 4; ++p)
            dst[4 * j + p] = src[p * lanes + j];
        continue;
      }
      for (size_t j = 0; j < lanes; ++j) {
        unsigned byte = 0;
        for (size_t p = 0; p < perByte; ++p) {
          size_t i = p * lanes + j; // code index inside the block
          unsigned field = (src[i / perByte] >> ((i % perByte) * bits)) & mask;
          byte |= field << (p * bits);
        }
        dst[j] = static_cast<uint8_t>(byte);
      }
    }
  }
}

void mlir::qnt::interleaveRowTiles(const uint8_t *in, size_t rows,
                                   size_t rowBytes, size_t tileRows,
                                   size_t blockBytes, uint8_t *out) {
  assert(tileRows > 0 && blockBytes > 0 && rowBytes % blockBytes == 0);
  size_t tiledRows = rows - rows % tileRows;
  size_t blocks = rowBytes / blockBytes;
  for (size_t t = 0; t < tiledRows; t += tileRows) {
    const uint8_t *src = in + t * rowBytes;
    uint8_t *dst = out + t * rowBytes;
    for (size_t b = 0; b < blocks; ++b)
      for (size_t c = 0; c < tileRows; ++c)
        std::memcpy(dst + (b * tileRows + c) * blockBytes,
                    src + c * rowBytes + b * blockBytes, blockBytes);
  }
  std::memcpy(out + tiledRows * rowBytes, in + tiledRows * rowBytes,
              (rows - tiledRows) * rowBytes);
}
