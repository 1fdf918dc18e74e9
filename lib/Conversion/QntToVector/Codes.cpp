// Packed codes for the CPU kernels of convert-qnt-to-vector: compile-time
// copies in the kernels' layouts, and codes unpacked into vector registers.
#include "Kernels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "qnt/Conversion/Common.h"
#include "qnt/IR/QntOps.h"
#include "qnt/Support/Packing.h"
#include "llvm/Support/CheckedArithmetic.h"
#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

using namespace mlir;
using namespace mlir::qnt;

FailureOr<Value> qnt::materializeRelaidCodes(
    ConstantOp op, ShapedType resultType,
    llvm::function_ref<void(const uint8_t *, int64_t, int64_t, uint8_t *)>
        relayout) {
  SmallVector<char> storage;
  FailureOr<ArrayRef<char>> bytes = readCodeBytes(op, storage);
  if (failed(bytes))
    return failure();
  int64_t rowBytes = op.getType().getCodesShape().back();
  int64_t rows = rowBytes ? static_cast<int64_t>(bytes->size()) / rowBytes : 0;
  size_t size = std::max<size_t>(bytes->size(), resultType.getNumElements());
  AsmResourceBlob blob = HeapAsmResourceBlob::allocate(size, alignof(uint64_t));
  uint8_t *out = reinterpret_cast<uint8_t *>(blob.getMutableData().data());
  std::memset(out + bytes->size(), 0, size - bytes->size());
  relayout(reinterpret_cast<const uint8_t *>(bytes->data()), rows, rowBytes,
           out);
  auto attr = DenseResourceElementsAttr::get(resultType, "qnt_kernel_codes",
                                             std::move(blob));
  OpBuilder b(op);
  b.setInsertionPointAfter(op);
  return arith::ConstantOp::create(b, op.getLoc(), attr).getResult();
}

/// A copy of `op`'s codes in the plane-major layout of the f32 matmul kernels
/// (toPlaneMajorRow).
FailureOr<Value> qnt::materializePlaneMajorCodes(ConstantOp op,
                                                 int64_t groupSize,
                                                 int64_t lanes) {
  PackedType type = op.getType();
  int64_t count = type.getShape().back();
  unsigned bits = type.getScheme().getBits();
  return materializeRelaidCodes(
      op, cast<ShapedType>(op.getCodes().getType()),
      [&](const uint8_t *in, int64_t rows, int64_t rowBytes, uint8_t *out) {
        for (int64_t r = 0; r < rows; ++r)
          toPlaneMajorRow(in + r * rowBytes, count, bits, groupSize, lanes,
                          out + r * rowBytes);
      });
}

/// The codes of `op` in the layout of the activations=i8 kernels, 1-D: each
/// row in the plane-major layout with `lanes`-byte blocks (widths below 8),
/// every byte XORed with `flip` (see Int8Kernel::flip), then the rows
/// interleaved in tiles of `tileRows` rows at `lanes`-byte granularity
/// (interleaveRowTiles), so that a register tile streams through one
/// contiguous range; then `tileRows` rows of zeros, so that prefetching one
/// tile ahead never leaves the buffer and needs no bounds check.
FailureOr<Value>
qnt::materializeInt8KernelCodes(ConstantOp op, int64_t groupSize, int64_t lanes,
                                int64_t tileRows, uint8_t flip) {
  PackedType type = op.getType();
  int64_t count = type.getShape().back();
  unsigned bits = type.getScheme().getBits();
  // The codes, then tileRows rows of zeros (checked: both come from the IR
  // and the pass options).
  std::optional<int64_t> size = llvm::checkedMulAdd(
      tileRows, type.getCodesShape().back(),
      cast<ShapedType>(op.getCodes().getType()).getNumElements());
  if (!size)
    return op.emitOpError() << "the re-laid codes with " << tileRows
                            << " rows of padding need more than 2^63 bytes";
  auto resultType =
      RankedTensorType::get({*size}, IntegerType::get(op.getContext(), 8));
  return materializeRelaidCodes(
      op, resultType,
      [&](const uint8_t *in, int64_t rows, int64_t rowBytes, uint8_t *out) {
        // One tile at a time through a small buffer: no second full copy.
        std::vector<uint8_t> tile(tileRows * rowBytes);
        for (int64_t r0 = 0; r0 < rows; r0 += tileRows) {
          int64_t n = std::min(tileRows, rows - r0);
          for (int64_t r = 0; r < n; ++r) {
            const uint8_t *src = in + (r0 + r) * rowBytes;
            uint8_t *dst = tile.data() + r * rowBytes;
            if (bits < 8)
              toPlaneMajorRow(src, count, bits, groupSize, lanes, dst);
            else
              std::memcpy(dst, src, rowBytes);
            if (flip)
              for (int64_t j = 0; j < rowBytes; ++j)
                dst[j] ^= flip;
          }
          interleaveRowTiles(tile.data(), n, rowBytes,
                             n == tileRows ? tileRows : 1, lanes,
                             out + r0 * rowBytes);
        }
      });
}

/// Field `p` (bits [p*bits, (p+1)*bits)) of every byte of `bytes`, as i8
/// codes: sign-extended when `isSigned`, zero-extended otherwise. `bits`
/// divides 8.
Value qnt::extractPlane(ImplicitLocOpBuilder &b, Value bytes, int64_t p,
                        unsigned bits, bool isSigned) {
  auto type = cast<VectorType>(bytes.getType());
  auto splat = [&](int64_t value) -> Value {
    return arith::ConstantOp::create(
        b, DenseElementsAttr::get(type, b.getI8IntegerAttr(value)));
  };
  int64_t perByte = 8 / bits;
  Value plane = bytes;
  if (isSigned) {
    // Move the field to the top, then shift down arithmetically.
    int64_t up = 8 - bits * (p + 1);
    if (up)
      plane = arith::ShLIOp::create(b, plane, splat(up));
    return arith::ShRSIOp::create(b, plane, splat(8 - bits));
  }
  if (p)
    plane = arith::ShRUIOp::create(b, plane, splat(p * bits));
  if (p != perByte - 1)
    plane = arith::AndIOp::create(b, plane, splat((1 << bits) - 1));
  return plane;
}

/// Converts a vector of integer codes to f32.
static Value codesToF32(ImplicitLocOpBuilder &b, Value ints, bool isSigned) {
  auto fType = VectorType::get(cast<VectorType>(ints.getType()).getShape(),
                               b.getF32Type());
  if (isSigned)
    return arith::SIToFPOp::create(b, fType, ints);
  return arith::UIToFPOp::create(b, fType, ints);
}

/// Unpacks a vector of packed bytes into `count` codes as f32.
///
/// Widths that divide 8 (1, 2, 4, 8) never cross a byte: each "plane" p holds
/// the p-th code of every byte, extracted with one uniform shift and mask, and
/// the planes are interleaved back into code order with shuffles. Other widths
/// (3, 5, 6, 7) gather, for every code, the byte it starts in and the next one
/// into an i16, shift by the code's bit offset and mask.
Value qnt::unpackCodes(ImplicitLocOpBuilder &b, Value bytes, int64_t count,
                       unsigned bits, bool isSigned) {
  return codesToF32(b, unpackCodeInts(b, bytes, count, bits, isSigned),
                    isSigned);
}

Value qnt::unpackCodeInts(ImplicitLocOpBuilder &b, Value bytes, int64_t count,
                          unsigned bits, bool isSigned) {
  Type i16 = b.getI16Type();
  auto toFloat = [](Value ints) { return ints; }; // the codes stay integers
  auto splat = [&](Type elem, int64_t width, int64_t value) -> Value {
    auto type = VectorType::get({width}, elem);
    return arith::ConstantOp::create(
        b, DenseElementsAttr::get(type, b.getIntegerAttr(elem, value)));
  };
  int64_t numBytes = count * bits / 8;

  if (8 % bits == 0) {
    if (bits == 8)
      return toFloat(bytes);
    int64_t perByte = 8 / bits;
    SmallVector<Value> planes;
    for (int64_t p = 0; p < perByte; ++p)
      planes.push_back(extractPlane(b, bytes, p, bits, isSigned));
    // Concatenate the planes, then pick code i = plane (i % perByte), byte
    // (i / perByte).
    while (planes.size() > 1) {
      SmallVector<Value> next;
      for (size_t i = 0; i < planes.size(); i += 2) {
        int64_t len = cast<VectorType>(planes[i].getType()).getNumElements();
        SmallVector<int64_t> cat;
        for (int64_t j = 0; j < 2 * len; ++j)
          cat.push_back(j);
        next.push_back(
            vector::ShuffleOp::create(b, planes[i], planes[i + 1], cat));
      }
      planes = next;
    }
    SmallVector<int64_t> order;
    for (int64_t i = 0; i < count; ++i)
      order.push_back((i % perByte) * numBytes + i / perByte);
    Value codes = vector::ShuffleOp::create(b, planes[0], planes[0], order);
    return toFloat(codes);
  }

  SmallVector<int64_t> lo, hi;
  SmallVector<int16_t> shifts;
  for (int64_t i = 0; i < count; ++i) {
    int64_t bit = i * bits;
    lo.push_back(bit / 8);
    hi.push_back(std::min<int64_t>(bit / 8 + 1, numBytes - 1));
    shifts.push_back(static_cast<int16_t>(bit % 8));
  }
  auto i16Type = VectorType::get({count}, i16);
  Value loBytes = vector::ShuffleOp::create(b, bytes, bytes, lo);
  Value hiBytes = vector::ShuffleOp::create(b, bytes, bytes, hi);
  Value word = arith::OrIOp::create(
      b, arith::ExtUIOp::create(b, i16Type, loBytes),
      arith::ShLIOp::create(b, arith::ExtUIOp::create(b, i16Type, hiBytes),
                            splat(i16, count, 8)));
  Value shiftVec = arith::ConstantOp::create(
      b, DenseElementsAttr::get(i16Type, ArrayRef<int16_t>(shifts)));
  word = arith::ShRUIOp::create(b, word, shiftVec);
  if (isSigned) {
    word = arith::ShLIOp::create(b, word, splat(i16, count, 16 - bits));
    word = arith::ShRSIOp::create(b, word, splat(i16, count, 16 - bits));
  } else {
    word = arith::AndIOp::create(b, word, splat(i16, count, (1 << bits) - 1));
  }
  return toFloat(word);
}

/// Reads code `k` of row `row` (a list of leading indices) from packed bytes,
/// as an i16 (sign-extended when `isSigned`).
static Value emitScalarCode(ImplicitLocOpBuilder &b, Value codes,
                            ValueRange lead, Value k, unsigned bits,
                            bool isSigned, int64_t rowBytes) {
  Type i16 = b.getI16Type();
  Value bit = arith::MulIOp::create(b, k, cIndex(b, bits));
  Value byte = arith::DivUIOp::create(b, bit, cIndex(b, 8));
  Value hiByte = arith::MinUIOp::create(
      b, arith::AddIOp::create(b, byte, cIndex(b, 1)), cIndex(b, rowBytes - 1));
  SmallVector<Value> loIdx(lead), hiIdx(lead);
  loIdx.push_back(byte);
  hiIdx.push_back(hiByte);
  Value lo =
      arith::ExtUIOp::create(b, i16, memref::LoadOp::create(b, codes, loIdx));
  Value hi =
      arith::ExtUIOp::create(b, i16, memref::LoadOp::create(b, codes, hiIdx));
  Value word = arith::OrIOp::create(
      b, lo,
      arith::ShLIOp::create(b, hi, arith::ConstantIntOp::create(b, i16, 8)));
  Value shift = arith::IndexCastOp::create(
      b, i16, arith::RemUIOp::create(b, bit, cIndex(b, 8)));
  word = arith::ShRUIOp::create(b, word, shift);
  Value up = arith::ConstantIntOp::create(b, i16, 16 - bits);
  word = arith::ShLIOp::create(b, word, up);
  return isSigned ? arith::ShRSIOp::create(b, word, up).getResult()
                  : arith::ShRUIOp::create(b, word, up).getResult();
}

/// The f32 value of element `idx` of a packed tensor of `type`, read from
/// its payload buffers (codes, scales, zero points or null, offsets or
/// null).
Value qnt::decodeElement(ImplicitLocOpBuilder &b, PackedType type, Value codes,
                         Value scales, Value zps, Value offsets,
                         ValueRange idx) {
  SchemeAttr scheme = type.getScheme();
  int64_t rank = type.getRank();
  Value word =
      emitScalarCode(b, codes, idx.drop_back(), idx.back(), scheme.getBits(),
                     scheme.isSigned(), type.getCodesShape().back());
  Type f32 = b.getF32Type();
  Value code;
  if (!scheme.isInteger())
    code = decodeLutCodes(b, word, scheme.getFormat(), LookupIsa::generic);
  else if (scheme.isSigned())
    code = arith::SIToFPOp::create(b, f32, word);
  else
    code = arith::UIToFPOp::create(b, f32, word);
  SmallVector<Value> sIdx;
  for (int64_t i = 0; i < rank; ++i) {
    switch (scheme.getGranularity()) {
    case Granularity::per_tensor:
      sIdx.push_back(cIndex(b, 0));
      break;
    case Granularity::per_channel:
      sIdx.push_back(i == scheme.getAxis() ? idx[i] : cIndex(b, 0));
      break;
    case Granularity::per_group:
      sIdx.push_back(i == scheme.getAxis()
                         ? arith::DivUIOp::create(
                               b, idx[i], cIndex(b, scheme.getGroupSize()))
                               .getResult()
                         : idx[i]);
      break;
    }
  }
  if (zps)
    code = arith::SubFOp::create(b, code, memref::LoadOp::create(b, zps, sIdx));
  Value s = decodeScale(b, memref::LoadOp::create(b, scales, sIdx), scheme);
  if (FloatAttr tensorScale = scheme.getTensorScale())
    s = arith::MulFOp::create(b, s,
                              arith::ConstantOp::create(b, f32, tensorScale));
  Value v = arith::MulFOp::create(b, s, code);
  if (offsets)
    v = arith::AddFOp::create(
        b, v, toF32(b, memref::LoadOp::create(b, offsets, sIdx)));
  return v;
}
