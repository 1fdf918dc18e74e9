//===- Packing.h - Bit packing of 1- to 8-bit quantized codes ---*- C++ -*-===//
//
// Packs rows of quantized codes into the little-endian bit stream described in
// docs/BIT_LAYOUT.md, and unpacks them again. Plain C++, no MLIR dependency.
//
// Summary of the layout: code i of a row occupies stream bits
// [i*bits, (i+1)*bits), least significant bit first, and stream bit j is bit
// (j % 8) of byte j / 8. A row takes packedRowBytes(count, bits) bytes and the
// unused high bits of its last byte are zero. Tensors are packed along their
// innermost dimension with every row starting on a byte boundary.
//
// `bits` must be in 1..8 for every function here; anything else is a
// programming error (asserted), since user input is validated before it
// reaches this library.
//
//===----------------------------------------------------------------------===//

#ifndef QNT_SUPPORT_PACKING_H
#define QNT_SUPPORT_PACKING_H

#include <cstddef>
#include <cstdint>

namespace mlir::qnt {

/// Bytes that `count` codes of `bits` bits occupy: ceil(count * bits / 8).
/// In a tensor packed row by row, row r starts at byte
/// r * packedRowBytes(rowLength, bits).
size_t packedRowBytes(size_t count, unsigned bits);

/// Smallest code representable in `bits` bits: -2^(bits-1) if `isSigned`,
/// else 0.
int32_t codeMin(unsigned bits, bool isSigned);

/// Largest code representable in `bits` bits: 2^(bits-1) - 1 if `isSigned`,
/// else 2^bits - 1.
int32_t codeMax(unsigned bits, bool isSigned);

/// Index of the first code in `codes[0, count)` that is not below 2^bits, or
/// `count` if all fit. Use this to validate codes before packUnsigned.
size_t findUnsignedOutOfRange(const uint8_t *codes, size_t count,
                              unsigned bits);

/// Index of the first code in `codes[0, count)` outside
/// [-2^(bits-1), 2^(bits-1) - 1], or `count` if all fit. Use this to validate
/// codes before packSigned.
size_t findSignedOutOfRange(const int8_t *codes, size_t count, unsigned bits);

/// Packs `count` unsigned codes of `bits` bits into `out`, which must hold
/// packedRowBytes(count, bits) bytes; every one of those bytes is written and
/// the padding bits of the last byte are zero.
///
/// Precondition: every code is < 2^bits. This is not checked; the high bits
/// of an out-of-range code are silently masked off. Validate with
/// findUnsignedOutOfRange first.
void packUnsigned(const uint8_t *codes, size_t count, unsigned bits,
                  uint8_t *out);

/// Unpacks `count` unsigned codes of `bits` bits from `packed` (which holds
/// packedRowBytes(count, bits) bytes; no byte past that is read) into
/// `codes`. Padding bits are ignored.
void unpackUnsigned(const uint8_t *packed, size_t count, unsigned bits,
                    uint8_t *codes);

/// Packs `count` signed codes into `out` (packedRowBytes(count, bits) bytes,
/// all written, padding bits zero), each as a `bits`-bit two's complement
/// field.
///
/// Precondition: every code is in [-2^(bits-1), 2^(bits-1) - 1]. This is not
/// checked; an out-of-range code is masked to its low `bits` bits, which
/// changes its value. Validate with findSignedOutOfRange first.
void packSigned(const int8_t *codes, size_t count, unsigned bits, uint8_t *out);

/// Unpacks `count` signed codes of `bits` bits from `packed` (which holds
/// packedRowBytes(count, bits) bytes; no byte past that is read) into
/// `codes`, sign-extending each two's complement field. Padding bits are
/// ignored.
void unpackSigned(const uint8_t *packed, size_t count, unsigned bits,
                  int8_t *codes);

/// Codes per unit of the CPU kernels' plane-major layout: a byte holds
/// 8 / bits codes of a width below 8; 8-bit (fp8) codes go four to a 32-bit
/// word. Only meaningful when `bits` divides 8.
inline size_t planeCodesPerUnit(unsigned bits) {
  return bits == 8 ? 4 : 8 / bits;
}

/// Number of codes in one block of the CPU kernels' plane-major layout:
/// `lanes` units of planeCodesPerUnit(bits) codes each.
inline size_t planeMajorBlockCodes(unsigned bits, size_t lanes) {
  return lanes * planeCodesPerUnit(bits);
}

/// Rewrites one packed row of `count` codes into the plane-major layout that
/// the CPU matmul kernels read (docs/BIT_LAYOUT.md, "Kernel layout"): within
/// each group of `groupSize` codes, each full block of
/// planeMajorBlockCodes(bits, lanes) codes is stored so that field p of the
/// block's unit j (a byte; for 8-bit codes a 4-byte word, field p its byte
/// p) holds code p * lanes + j of the block. A kernel then gets `lanes`
/// consecutive codes from one load and one or two shifts per field, with no
/// shuffle. The rest of each group and the row's padding keep the standard
/// layout. `in` and `out` hold packedRowBytes(count, bits) bytes each and must
/// not overlap.
///
/// Preconditions (asserted): bits is 1, 2, 4 or 8; groupSize * bits is a
/// multiple of 8 or groupSize == count, so that groups start on bytes.
void toPlaneMajorRow(const uint8_t *in, size_t count, unsigned bits,
                     size_t groupSize, size_t lanes, uint8_t *out);

/// Interleaves the rows of a [rows x rowBytes] byte matrix in tiles of
/// `tileRows` rows, so that a kernel working on one tile reads one contiguous
/// stream (docs/BIT_LAYOUT.md, "Kernel layout"): for tile t, block b of
/// `blockBytes` bytes of its row c goes to
///   t * tileRows * rowBytes + (b * tileRows + c) * blockBytes.
/// The last rows % tileRows rows stay row-major after the tiles (their
/// offsets are unchanged). `in` and `out` hold rows * rowBytes bytes each and
/// must not overlap. Preconditions (asserted): rowBytes is a multiple of
/// blockBytes; tileRows, blockBytes > 0.
void interleaveRowTiles(const uint8_t *in, size_t rows, size_t rowBytes,
                        size_t tileRows, size_t blockBytes, uint8_t *out);

} // namespace mlir::qnt

#endif // QNT_SUPPORT_PACKING_H
