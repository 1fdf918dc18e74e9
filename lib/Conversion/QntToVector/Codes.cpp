// Packed codes for the CPU kernels of convert-qnt-to-vector: codes unpacked
// into vector registers (their layouts: Relayout.cpp).
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
    code = decodeLutCodes(b, word, scheme, LookupIsa::generic);
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
