// Lowering of qnt ops to CPU loop nests that unpack packed codes in vector
// registers (convert-qnt-to-vector).
#include "qnt/Conversion/Passes.h"
#include "Kernels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "qnt/Conversion/Common.h"
#include "qnt/IR/QntOps.h"
#include "qnt/Support/Packing.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/CheckedArithmetic.h"
#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

namespace mlir::qnt {
#define GEN_PASS_DEF_CONVERTQNTTOVECTORPASS
#include "qnt/Conversion/Passes.h.inc"
} // namespace mlir::qnt

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

namespace {

/// A copy of `op`'s codes in the plane-major layout of the f32 matmul kernels
/// (toPlaneMajorRow).
static FailureOr<Value> materializePlaneMajorCodes(ConstantOp op,
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
static FailureOr<Value> materializeInt8KernelCodes(ConstantOp op,
                                                   int64_t groupSize,
                                                   int64_t lanes,
                                                   int64_t tileRows,
                                                   uint8_t flip) {
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
static Value extractPlane(ImplicitLocOpBuilder &b, Value bytes, int64_t p,
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
static Value unpackCodes(ImplicitLocOpBuilder &b, Value bytes, int64_t count,
                         unsigned bits, bool isSigned) {
  Type i16 = b.getI16Type();
  auto toFloat = [&](Value ints) { return codesToF32(b, ints, isSigned); };
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

/// Steps of a group's inner loop up to which it is emitted straight-line.
constexpr int64_t kMaxUnrolledSteps = 8;

/// base, base + 1, ..., base + count - 1: the rows of x or of the weight
/// in a register tile.
static SmallVector<Value> consecutiveIndices(ImplicitLocOpBuilder &b,
                                             Value base, int64_t count) {
  SmallVector<Value> indices{base};
  for (int64_t i = 1; i < count; ++i)
    indices.push_back(arith::AddIOp::create(b, base, cIndex(b, i)));
  return indices;
}

/// One step of a group's inner loop: accumulates the codes from k0 on into
/// `acc` and returns the new accumulators; `prefetch` asks it to prefetch.
using GroupStep = llvm::function_ref<SmallVector<Value>(
    ImplicitLocOpBuilder &, Value k0, ValueRange acc, bool prefetch)>;

/// Emits `count` steps of `width` codes from `groupStart + start`,
/// straight-line when short (a group of int4-g128 is a few steps, and a loop
/// around them costs more than their bodies' slack), else as an scf.for.
/// `prefetchAt(offset)` says whether the step at that static offset in the
/// group prefetches (nullopt: the steps of a loop). Returns the accumulators.
static SmallVector<Value>
emitGroupSteps(ImplicitLocOpBuilder &gb, Value groupStart, int64_t count,
               int64_t start, int64_t width, SmallVector<Value> acc,
               llvm::function_ref<bool(std::optional<int64_t>)> prefetchAt,
               GroupStep step) {
  if (count <= 0)
    return acc;
  if (count <= kMaxUnrolledSteps) {
    for (int64_t i = 0; i < count; ++i) {
      int64_t offset = start + i * width;
      Value k0 = arith::AddIOp::create(gb, groupStart, cIndex(gb, offset));
      acc = step(gb, k0, acc, prefetchAt(offset));
    }
    return acc;
  }
  auto loop = scf::ForOp::create(
      gb, cIndex(gb, 0), cIndex(gb, count), cIndex(gb, 1), acc,
      [&](OpBuilder &ib, Location iloc, Value i, ValueRange g) {
        ImplicitLocOpBuilder cb(iloc, ib);
        Value k0 = arith::AddIOp::create(
            cb, groupStart,
            arith::AddIOp::create(
                cb, cIndex(cb, start),
                arith::MulIOp::create(cb, i, cIndex(cb, width))));
        scf::YieldOp::create(cb, step(cb, k0, g, prefetchAt(std::nullopt)));
      });
  return SmallVector<Value>(loop.getResults());
}

/// Stores a finished register tile: each accumulator vector reduced, minus
/// its correction (if `corrections` is not empty), plus the bias.
static void storeTile(ImplicitLocOpBuilder &b, const MatmulKernel &kern,
                      ArrayRef<Value> rowIdx, ArrayRef<Value> colIdx,
                      ValueRange sums, ValueRange corrections) {
  int64_t cols = colIdx.size();
  for (size_t r = 0; r < rowIdx.size(); ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      // Reassociation lets LLVM reduce the lanes as a tree (log2(lanes)
      // shuffles and adds) instead of one scalar add per lane; the order is
      // fixed by the lowering, so results stay deterministic.
      Value sum = vector::ReductionOp::create(
          b, b.getF32Type(), vector::CombiningKind::ADD, sums[r * cols + c],
          Value(), arith::FastMathFlags::reassoc);
      if (!corrections.empty())
        sum = arith::SubFOp::create(b, sum, corrections[r * cols + c]);
      if (kern.bias)
        sum = arith::AddFOp::create(
            b, sum,
            toF32(b, memref::LoadOp::create(b, kern.bias, colIdx[c])));
      memref::StoreOp::create(b, fromF32(b, sum, kern.xElem), kern.out,
                              ValueRange{rowIdx[r], colIdx[c]});
    }
  }
}

/// The weight rows of a register tile: `tileCols` consecutive rows from each
/// of `tileStarts`, in that order.
static SmallVector<Value> tileColumns(ImplicitLocOpBuilder &b,
                                      ArrayRef<Value> tileStarts,
                                      int64_t tileCols) {
  SmallVector<Value> cols;
  for (Value start : tileStarts)
    llvm::append_range(cols, consecutiveIndices(b, start, tileCols));
  return cols;
}

static void emitTileInt8(ImplicitLocOpBuilder &b, const MatmulKernel &kern,
                         Value m0, ArrayRef<Value> tileStarts, int64_t rows,
                         int64_t tileCols);

/// Emits one register tile: `rows` rows of x starting at m0 times the weight
/// tiles of `tileCols` rows starting at each of `tileStarts` (one start, or
/// several far-apart ones: see the `streams` option), over all of K.
static void emitTile(ImplicitLocOpBuilder &b, const MatmulKernel &kern,
                     Value m0, ArrayRef<Value> tileStarts, int64_t rows,
                     int64_t tileCols) {
  if (kern.int8)
    return emitTileInt8(b, kern, m0, tileStarts, rows, tileCols);
  Type f32 = b.getF32Type();
  int64_t chunk = kern.chunk;
  auto accType = VectorType::get({chunk}, f32);
  Value zeroAcc = arith::ConstantOp::create(
      b, DenseElementsAttr::get(accType, b.getF32FloatAttr(0.0f)));
  SmallVector<Value> rowIdx = consecutiveIndices(b, m0, rows);
  SmallVector<Value> colIdx = tileColumns(b, tileStarts, tileCols);
  int64_t cols = colIdx.size();
  int64_t numAcc = rows * cols;

  int64_t numGroups = kern.k / kern.groupSize;
  // Each group: plane-major blocks first, then standard-layout chunks, then
  // a masked tail.
  int64_t perByte = kern.planeBlocks ? 8 / kern.bits : 0;
  int64_t planeCodes = kern.planeBlocks * chunk * perByte;
  int64_t fullChunks = (kern.groupSize - planeCodes) / chunk;
  int64_t tail = (kern.groupSize - planeCodes) % chunk;
  int64_t chunkBytes = chunk * kern.bits / 8;

  // Weight rows are contiguous, so the rows of the next tile are the next
  // bytes the kernel will stream: touching them one tile ahead hides the DRAM
  // latency that the hardware prefetcher, trained on short rows, does not.
  auto prefetchNextTile = [&](ImplicitLocOpBuilder &cb, Value byteOff) {
    Value last = cIndex(cb, kern.n - 1);
    for (int64_t c = 0; c < cols; ++c) {
      Value row = arith::MinUIOp::create(
          cb, arith::AddIOp::create(cb, colIdx[c], cIndex(cb, tileCols)),
          last);
      memref::PrefetchOp::create(cb, kern.codes, ValueRange{row, byteOff},
                                 /*isWrite=*/false, /*localityHint=*/3,
                                 /*isDataCache=*/true);
    }
  };

  // Accumulates one plane-major block starting at code k0: `chunk` bytes
  // whose field p holds codes k0 + p*chunk + [0, chunk). Each field becomes
  // one f32 vector with a widening load, two shifts and a conversion, so the
  // codes never need a cross-lane shuffle to line up with x.
  auto emitBlock = [&](ImplicitLocOpBuilder &cb, Value k0, Value group,
                       ValueRange gacc, bool prefetch) {
    Value byteOff = arith::DivUIOp::create(
        cb, arith::MulIOp::create(cb, k0, cIndex(cb, kern.bits)),
        cIndex(cb, 8));
    if (prefetch)
      prefetchNextTile(cb, byteOff);
    auto bytesType = VectorType::get({chunk}, cb.getI8Type());
    auto wordsType = VectorType::get({chunk}, cb.getI32Type());
    auto xType = VectorType::get({chunk}, kern.xElem);
    auto splat32 = [&](int64_t v) -> Value {
      return arith::ConstantOp::create(
          cb, DenseElementsAttr::get(wordsType, cb.getI32IntegerAttr(v)));
    };
    SmallVector<Value> zps;
    for (int64_t c = 0; c < cols && kern.zeroPoints; ++c)
      zps.push_back(vector::BroadcastOp::create(
          cb, accType,
          memref::LoadOp::create(cb, kern.zeroPoints,
                                 kern.scaleIndices(cb, colIdx[c], group))));
    SmallVector<Value> next(gacc.begin(), gacc.end());
    for (int64_t p = 0; p < perByte; ++p) {
      SmallVector<Value> codes;
      for (int64_t c = 0; c < cols; ++c) {
        Value bytes = vector::LoadOp::create(cb, bytesType, kern.codes,
                                             ValueRange{colIdx[c], byteOff});
        // Field p of each byte, widened to i32 where x86 has native shifts.
        Value field;
        if (kern.isSigned) {
          field = arith::ExtSIOp::create(cb, wordsType, bytes);
          int64_t up = 32 - kern.bits * (p + 1);
          field = arith::ShLIOp::create(cb, field, splat32(up));
          field = arith::ShRSIOp::create(cb, field, splat32(32 - kern.bits));
        } else {
          field = arith::ExtUIOp::create(cb, wordsType, bytes);
          if (p)
            field = arith::ShRUIOp::create(cb, field, splat32(p * kern.bits));
          if (p != perByte - 1)
            field = arith::AndIOp::create(cb, field,
                                          splat32((1 << kern.bits) - 1));
        }
        Value f = arith::SIToFPOp::create(cb, accType, field);
        if (kern.zeroPoints)
          f = arith::SubFOp::create(cb, f, zps[c]);
        codes.push_back(f);
      }
      Value kp = arith::AddIOp::create(cb, k0, cIndex(cb, p * chunk));
      for (int64_t r = 0; r < rows; ++r) {
        Value xv = toF32(cb, vector::LoadOp::create(cb, xType, kern.x,
                                                    ValueRange{rowIdx[r], kp}));
        for (int64_t c = 0; c < cols; ++c)
          next[r * cols + c] =
              vector::FMAOp::create(cb, codes[c], xv, next[r * cols + c]);
      }
    }
    return next;
  };

  // Accumulates code * x for one chunk of `valid` codes starting at k0.
  auto emitChunk = [&](ImplicitLocOpBuilder &cb, Value k0, Value group,
                       ValueRange gacc, int64_t valid, bool prefetch) {
    Value byteOff = arith::DivUIOp::create(
        cb, arith::MulIOp::create(cb, k0, cIndex(cb, kern.bits)),
        cIndex(cb, 8));
    if (prefetch)
      prefetchNextTile(cb, byteOff);
    auto bytesType = VectorType::get({chunkBytes}, cb.getI8Type());
    auto xType = VectorType::get({chunk}, kern.xElem);
    Value bytesMask, xMask;
    if (valid != chunk) {
      int64_t validBytes = (valid * kern.bits + 7) / 8;
      bytesMask = vector::ConstantMaskOp::create(
          cb, VectorType::get({chunkBytes}, cb.getI1Type()),
          ArrayRef<int64_t>{validBytes});
      xMask = vector::ConstantMaskOp::create(
          cb, VectorType::get({chunk}, cb.getI1Type()),
          ArrayRef<int64_t>{valid});
    }
    SmallVector<Value> codes;
    for (int64_t c = 0; c < cols; ++c) {
      Value bytes;
      if (bytesMask) {
        Value pass = arith::ConstantOp::create(
            cb, DenseElementsAttr::get(bytesType, cb.getI8IntegerAttr(0)));
        bytes = vector::MaskedLoadOp::create(cb, bytesType, kern.codes,
                                             ValueRange{colIdx[c], byteOff},
                                             bytesMask, pass);
      } else {
        bytes = vector::LoadOp::create(cb, bytesType, kern.codes,
                                       ValueRange{colIdx[c], byteOff});
      }
      Value f = unpackCodes(cb, bytes, chunk, kern.bits, kern.isSigned);
      if (kern.zeroPoints) {
        Value zp = memref::LoadOp::create(
            cb, kern.zeroPoints, kern.scaleIndices(cb, colIdx[c], group));
        f = arith::SubFOp::create(cb, f,
                                  vector::BroadcastOp::create(cb, accType, zp));
      }
      codes.push_back(f);
    }
    SmallVector<Value> next(gacc.begin(), gacc.end());
    for (int64_t r = 0; r < rows; ++r) {
      Value xv;
      if (xMask) {
        Value pass = arith::ConstantOp::create(
            cb, DenseElementsAttr::get(xType, cb.getFloatAttr(kern.xElem, 0)));
        xv = vector::MaskedLoadOp::create(cb, xType, kern.x,
                                          ValueRange{rowIdx[r], k0}, xMask,
                                          pass);
      } else {
        xv = vector::LoadOp::create(cb, xType, kern.x,
                                    ValueRange{rowIdx[r], k0});
      }
      xv = toF32(cb, xv);
      for (int64_t c = 0; c < cols; ++c)
        next[r * cols + c] =
            vector::FMAOp::create(cb, codes[c], xv, next[r * cols + c]);
    }
    return next;
  };

  SmallVector<Value> init(numAcc, zeroAcc);
  auto groupLoop = scf::ForOp::create(
      b, cIndex(b, 0), cIndex(b, numGroups), cIndex(b, 1), init,
      [&](OpBuilder &ob, Location loc, Value group, ValueRange acc) {
        ImplicitLocOpBuilder gb(loc, ob);
        Value groupStart =
            arith::MulIOp::create(gb, group, cIndex(gb, kern.groupSize));
        SmallVector<Value> gacc(numAcc, zeroAcc);
        // One prefetch per cache line of the group (at least one per
        // group); every step of a loop prefetches.
        auto prefetchAt = [&](std::optional<int64_t> offset) {
          return kern.prefetch &&
                 (!offset || (*offset * kern.bits / 8) % kCacheLineBytes == 0);
        };
        gacc = emitGroupSteps(
            gb, groupStart, kern.planeBlocks, 0, chunk * perByte, gacc,
            prefetchAt,
            [&](ImplicitLocOpBuilder &cb, Value k0, ValueRange g,
                bool prefetch) { return emitBlock(cb, k0, group, g, prefetch); });
        gacc = emitGroupSteps(gb, groupStart, fullChunks, planeCodes, chunk, gacc,
                              prefetchAt,
                              [&](ImplicitLocOpBuilder &cb, Value k0,
                                  ValueRange g, bool prefetch) {
                                return emitChunk(cb, k0, group, g, chunk,
                                                 prefetch);
                              });
        if (tail > 0) {
          Value k0 = arith::AddIOp::create(
              gb, groupStart, cIndex(gb, planeCodes + fullChunks * chunk));
          gacc = emitChunk(gb, k0, group, gacc, tail, /*prefetch=*/false);
        }
        // The group scale is applied once per group: acc += s * sum(code*x).
        SmallVector<Value> next;
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t c = 0; c < cols; ++c) {
            Value s = toF32(gb, memref::LoadOp::create(
                                    gb, kern.scales,
                                    kern.scaleIndices(gb, colIdx[c], group)));
            Value sv = vector::BroadcastOp::create(gb, accType, s);
            next.push_back(vector::FMAOp::create(gb, sv, gacc[r * cols + c],
                                                 acc[r * cols + c]));
          }
        }
        scf::YieldOp::create(gb, next);
      });

  storeTile(b, kern, rowIdx, colIdx, groupLoop.getResults(), ValueRange());
}

//===----------------------------------------------------------------------===//
// activations=i8: integer dot products against x quantized at run time
//===----------------------------------------------------------------------===//

} // namespace

void qnt::emitQuantizeActivations(ImplicitLocOpBuilder &b,
                                  const MatmulKernel &kern,
                                  const Int8Kernel &q) {
  Type f32 = b.getF32Type();
  const int64_t step = kActivationStep;
  auto fType = VectorType::get({step}, f32);
  auto iType = VectorType::get({step}, b.getI32Type());
  auto qType = VectorType::get({step}, b.getI8Type());
  auto xType = VectorType::get({step}, kern.xElem);
  int64_t blocksPerGroup = kern.groupSize / q.block;
  int64_t numGroups = kern.k / kern.groupSize;
  auto fConst = [&](ImplicitLocOpBuilder &cb, float v) -> Value {
    return arith::ConstantOp::create(cb, cb.getF32FloatAttr(v));
  };
  auto fSplat = [&](ImplicitLocOpBuilder &cb, float v) -> Value {
    return arith::ConstantOp::create(
        cb, DenseElementsAttr::get(fType, cb.getF32FloatAttr(v)));
  };
  // for (k = k0; k < k0 + q.block; k += step) carried = body(k, carried).
  auto overSteps = [&](ImplicitLocOpBuilder &cb, Value k0, ValueRange init,
                       function_ref<SmallVector<Value>(
                           ImplicitLocOpBuilder &, Value, ValueRange)>
                           body) -> SmallVector<Value> {
    auto loop = scf::ForOp::create(
        cb, cIndex(cb, 0), cIndex(cb, q.block), cIndex(cb, step), init,
        [&](OpBuilder &sob, Location sloc, Value i, ValueRange carried) {
          ImplicitLocOpBuilder sb(sloc, sob);
          scf::YieldOp::create(
              sb, body(sb, arith::AddIOp::create(sb, k0, i), carried));
        });
    return SmallVector<Value>(loop.getResults());
  };
  // One row of x; the rows of a prompt are split across threads.
  auto quantizeRow = [&](OpBuilder &ob, Location loc, Value m) {
        ImplicitLocOpBuilder mb(loc, ob);
        auto loadX = [&](ImplicitLocOpBuilder &cb, Value k) {
          return toF32(cb, vector::LoadOp::create(cb, xType, kern.x,
                                                  ValueRange{m, k}));
        };
        scf::ForOp::create(
            mb, cIndex(mb, 0), cIndex(mb, numGroups), cIndex(mb, 1),
            ValueRange{},
            [&](OpBuilder &gob, Location gloc, Value g, ValueRange) {
              ImplicitLocOpBuilder gb(gloc, gob);
              auto blocks = scf::ForOp::create(
                  gb, cIndex(gb, 0), cIndex(gb, blocksPerGroup),
                  cIndex(gb, 1), ValueRange{fConst(gb, 0.0f)},
                  [&](OpBuilder &bob, Location bloc, Value i,
                      ValueRange sum) {
                    ImplicitLocOpBuilder cb(bloc, bob);
                    Value block = arith::AddIOp::create(
                        cb, arith::MulIOp::create(
                                cb, g, cIndex(cb, blocksPerGroup)),
                        i);
                    Value k0 =
                        arith::MulIOp::create(cb, block, cIndex(cb, q.block));
                    Value amax = overSteps(
                        cb, k0, ValueRange{fConst(cb, 0.0f)},
                        [&](ImplicitLocOpBuilder &sb, Value k,
                            ValueRange carried) -> SmallVector<Value> {
                          // NaN-propagating: a NaN in x makes the block's
                          // scale NaN, and so the outputs of its row, as
                          // with f32 activations (it would otherwise be
                          // clamped to a silent -127).
                          Value stepMax = vector::ReductionOp::create(
                              sb, vector::CombiningKind::MAXIMUMF,
                              math::AbsFOp::create(sb, loadX(sb, k)));
                          return {arith::MaximumFOp::create(sb, carried[0],
                                                            stepMax)};
                        })[0];
                    // 127 / max|x|, or 0 for an all-zero block (no inf).
                    Value positive = arith::CmpFOp::create(
                        cb, arith::CmpFPredicate::OGT, amax, fConst(cb, 0));
                    Value inv = arith::SelectOp::create(
                        cb, positive,
                        arith::DivFOp::create(cb, fConst(cb, 127.0f), amax),
                        fConst(cb, 0.0f));
                    Value invV = vector::BroadcastOp::create(cb, fType, inv);
                    Value total = overSteps(
                        cb, k0, ValueRange{arith::ConstantOp::create(
                                    cb, cb.getI32IntegerAttr(0))},
                        [&](ImplicitLocOpBuilder &sb, Value k,
                            ValueRange carried) -> SmallVector<Value> {
                          Value scaled =
                              arith::MulFOp::create(sb, loadX(sb, k), invV);
                          // The clamp only guards against rounding at the
                          // top end (x * (127 / amax) may exceed 127 by an
                          // ulp).
                          scaled = arith::MinNumFOp::create(
                              sb,
                              arith::MaxNumFOp::create(sb, scaled,
                                                       fSplat(sb, -127.0f)),
                              fSplat(sb, 127.0f));
                          Value ints = arith::FPToSIOp::create(
                              sb, iType, math::RoundEvenOp::create(sb, scaled));
                          vector::StoreOp::create(
                              sb, arith::TruncIOp::create(sb, qType, ints),
                              q.xq, ValueRange{m, k});
                          if (!q.needsSums)
                            return {carried[0]};
                          return {arith::AddIOp::create(
                              sb, carried[0],
                              vector::ReductionOp::create(
                                  sb, vector::CombiningKind::ADD, ints))};
                        })[0];
                    Value sx =
                        arith::DivFOp::create(cb, amax, fConst(cb, 127.0f));
                    memref::StoreOp::create(cb, sx, q.xScales,
                                            ValueRange{m, block});
                    Value next = sum[0];
                    if (q.needsSums)
                      next = arith::AddFOp::create(
                          cb, sum[0],
                          arith::MulFOp::create(
                              cb, sx, arith::SIToFPOp::create(cb, f32, total)));
                    scf::YieldOp::create(cb, next);
                  });
              if (q.needsSums)
                memref::StoreOp::create(gb, blocks.getResult(0), q.xSums,
                                        ValueRange{m, g});
              scf::YieldOp::create(gb);
            });
  };
  auto serial = [&](OpBuilder &ob, Location loc) {
    scf::ForOp::create(ob, loc, cIndex(b, 0), kern.m, cIndex(b, 1),
                       ValueRange{},
                       [&](OpBuilder &fb, Location floc, Value m, ValueRange) {
                         quantizeRow(fb, floc, m);
                         scf::YieldOp::create(fb, floc);
                       });
  };
  if (!kern.parallel) {
    serial(b, b.getLoc());
    return;
  }
  // A single row (a decoding step) stays on this thread: a parallel region
  // would cost more than the row.
  Value several = arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, kern.m,
                                        cIndex(b, 1));
  scf::IfOp::create(
      b, several,
      [&](OpBuilder &tb, Location tloc) {
        scf::ParallelOp::create(
            tb, tloc, ValueRange{cIndex(b, 0)}, ValueRange{kern.m},
            ValueRange{cIndex(b, 1)},
            [&](OpBuilder &pb, Location ploc, ValueRange ivs) {
              quantizeRow(pb, ploc, ivs[0]);
            });
        scf::YieldOp::create(tb, tloc);
      },
      [&](OpBuilder &eb, Location eloc) {
        serial(eb, eloc);
        scf::YieldOp::create(eb, eloc);
      });
}

namespace {

/// emitTile for activations=i8: the same register tile, with the codes of
/// each x block multiplied by xq in integers and scaled by sx once per block
/// and by the weight scale once per group.
static void emitTileInt8(ImplicitLocOpBuilder &b, const MatmulKernel &kern,
                         Value m0, ArrayRef<Value> tileStarts, int64_t rows,
                         int64_t tileCols) {
  const Int8Kernel &q = *kern.int8;
  Type f32 = b.getF32Type();
  int64_t L = q.fieldBytes;
  int64_t perByte = 8 / kern.bits;
  int64_t loadCodes = L * perByte; // codes of one load of L bytes
  // A step of a group covers whole loads and whole x blocks (both powers of
  // two dividing the group), so where x blocks end is known at compile time.
  int64_t stepCodes = std::max(loadCodes, q.block);
  // One iteration of the group loop: a weight group, or the groups of one
  // load when they are smaller (q.groupsPerLoad).
  int64_t loopCodes = kern.groupSize * q.groupsPerLoad;
  int64_t stepsPerGroup = loopCodes / stepCodes;
  int64_t numGroups = kern.k / loopCodes;
  auto accType = VectorType::get({L / 4}, f32);
  auto bytesType = VectorType::get({L}, b.getI8Type());
  Value zeroAcc = arith::ConstantOp::create(
      b, DenseElementsAttr::get(accType, b.getF32FloatAttr(0.0f)));
  Value zeroScalar = arith::ConstantOp::create(b, b.getF32FloatAttr(0.0f));
  SmallVector<Value> rowIdx = consecutiveIndices(b, m0, rows);
  SmallVector<Value> colIdx = tileColumns(b, tileStarts, tileCols);
  int64_t cols = colIdx.size();
  int64_t numAcc = rows * cols;
  bool signedCodes = kern.bits == 8;
  // One load of L bytes per weight row, `perByte` fields of L codes each,
  // at code k0, `inStep` codes into its step: adds the integer dot products
  // to `isum`, and at the end of each x block adds isum * sx to `next`.
  auto emitLoad = [&](ImplicitLocOpBuilder &cb, Value k0, int64_t inStep,
                      SmallVector<Value> &isum, SmallVector<Value> &next,
                      bool prefetch) {
    Value byteOff = arith::DivUIOp::create(
        cb, arith::MulIOp::create(cb, k0, cIndex(cb, kern.bits)),
        cIndex(cb, 8));
    // Each tile's rows are interleaved in L-byte blocks (rows of a
    // single-row tile are plain): row c of the tile starting at n0 has its
    // bytes at byteOff at n0 * rowBytes + byteOff * tileCols + c * L of the
    // 1-D codes.
    Value tileOff = arith::MulIOp::create(cb, byteOff, cIndex(cb, tileCols));
    SmallVector<Value> bytes;
    for (Value n0 : tileStarts) {
      Value stream = arith::AddIOp::create(
          cb, arith::MulIOp::create(cb, n0, cIndex(cb, q.rowBytes)), tileOff);
      for (int64_t c = 0; c < tileCols; ++c) {
        Value at = c ? arith::AddIOp::create(cb, stream, cIndex(cb, c * L))
                           .getResult()
                     : stream;
        bytes.push_back(vector::LoadOp::create(cb, bytesType, kern.codes, at));
      }
      // The same bytes of the stream's next tile: one tile ahead (within
      // the tile of zeros that ends the codes, for the last tile).
      if (!prefetch)
        continue;
      for (int64_t line = 0;
           line < std::max<int64_t>(1, tileCols * L / kCacheLineBytes); ++line)
        memref::PrefetchOp::create(
            cb, kern.codes,
            ValueRange{arith::AddIOp::create(
                cb, stream,
                cIndex(cb, tileCols * q.rowBytes + line * kCacheLineBytes))},
            /*isWrite=*/false, /*localityHint=*/3, /*isDataCache=*/true);
    }
    for (int64_t p = 0; p < perByte; ++p) {
      SmallVector<Value> d;
      for (int64_t c = 0; c < cols; ++c)
        d.push_back(kern.bits == 8 ? bytes[c]
                                   : extractPlane(cb, bytes[c], p, kern.bits,
                                                  /*isSigned=*/false));
      Value kp = arith::AddIOp::create(cb, k0, cIndex(cb, p * L));
      for (int64_t r = 0; r < rows; ++r) {
        Value xv = vector::LoadOp::create(cb, bytesType, q.xq,
                                          ValueRange{rowIdx[r], kp});
        for (int64_t c = 0; c < cols; ++c) {
          Value &s = isum[r * cols + c];
          if (q.sumsInI16) {
            Value part = Dot2I8Op::create(
                cb, VectorType::get({L / 2}, cb.getI16Type()), d[c], xv,
                /*a_signed=*/signedCodes);
            s = s ? arith::AddIOp::create(cb, s, part).getResult() : part;
          } else {
            // Accumulated by the op itself (vpdpbusd where the CPU has it).
            s = Dot4I8Op::create(cb, VectorType::get({L / 4}, cb.getI32Type()),
                                 d[c], xv, /*acc=*/s,
                                 /*a_signed=*/signedCodes);
          }
        }
      }
      // The field ends an x block: scale its integer sums by sx.
      if ((inStep + (p + 1) * L) % q.block != 0)
        continue;
      Value xBlock = arith::DivUIOp::create(
          cb, arith::AddIOp::create(cb, kp, cIndex(cb, L - 1)),
          cIndex(cb, q.block));
      // Small groups: this block is also a weight group, whose scales
      // multiply the block's sums here.
      SmallVector<Value> sw;
      if (q.groupsPerLoad > 1)
        for (int64_t c = 0; c < cols; ++c)
          sw.push_back(vector::BroadcastOp::create(
              cb, accType,
              toF32(cb, memref::LoadOp::create(
                            cb, kern.scales,
                            kern.scaleIndices(cb, colIdx[c], xBlock)))));
      for (int64_t r = 0; r < rows; ++r) {
        Value sx = vector::BroadcastOp::create(
            cb, accType,
            memref::LoadOp::create(cb, q.xScales,
                                   ValueRange{rowIdx[r], xBlock}));
        for (int64_t c = 0; c < cols; ++c) {
          Value &s = isum[r * cols + c];
          if (q.sumsInI16)
            s = SumPairsI16Op::create(
                cb, VectorType::get({L / 4}, cb.getI32Type()), s);
          Value sums = arith::SIToFPOp::create(cb, accType, s);
          next[r * cols + c] =
              sw.empty()
                  ? vector::FMAOp::create(cb, sums, sx, next[r * cols + c])
                        .getResult()
                  : vector::FMAOp::create(
                        cb, arith::MulFOp::create(cb, sums, sx), sw[c],
                        next[r * cols + c])
                        .getResult();
          s = Value();
        }
      }
    }
  };
  auto emitStep = [&](ImplicitLocOpBuilder &cb, Value k0, ValueRange gacc,
                      bool prefetch) {
    SmallVector<Value> next(gacc.begin(), gacc.end());
    SmallVector<Value> isum(numAcc);
    for (int64_t inStep = 0; inStep < stepCodes; inStep += loadCodes)
      emitLoad(cb,
               inStep ? arith::AddIOp::create(cb, k0, cIndex(cb, inStep))
                            .getResult()
                      : k0,
               inStep, isum, next, prefetch);
    return next;
  };

  // Iteration values: numAcc vector accumulators, then (with sums) numAcc
  // scalar corrections sum_g s * (z - o) * xsum.
  SmallVector<Value> init(numAcc, zeroAcc);
  if (q.needsSums)
    init.append(numAcc, zeroScalar);
  auto groupLoop = scf::ForOp::create(
      b, cIndex(b, 0), cIndex(b, numGroups), cIndex(b, 1), init,
      [&](OpBuilder &ob, Location loc, Value group, ValueRange acc) {
        ImplicitLocOpBuilder gb(loc, ob);
        Value groupStart =
            arith::MulIOp::create(gb, group, cIndex(gb, loopCodes));
        bool smallGroups = q.groupsPerLoad > 1;
        // Large groups: their blocks' sums in gacc, times the group's scale
        // at the end; small groups are scaled block by block (emitLoad).
        SmallVector<Value> gacc =
            smallGroups ? SmallVector<Value>(acc.take_front(numAcc))
                        : SmallVector<Value>(numAcc, zeroAcc);
        // Every load prefetches (with the prefetch option).
        gacc = emitGroupSteps(
            gb, groupStart, stepsPerGroup, 0, stepCodes, gacc,
            [&](std::optional<int64_t>) { return kern.prefetch; },
            [&](ImplicitLocOpBuilder &cb, Value k0, ValueRange g,
                bool prefetch) { return emitStep(cb, k0, g, prefetch); });
        SmallVector<Value> next;
        if (smallGroups) {
          next = gacc;
        } else {
          SmallVector<Value> scales;
          for (int64_t c = 0; c < cols; ++c)
            scales.push_back(toF32(
                gb, memref::LoadOp::create(
                        gb, kern.scales,
                        kern.scaleIndices(gb, colIdx[c], group))));
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < cols; ++c)
              next.push_back(vector::FMAOp::create(
                  gb, vector::BroadcastOp::create(gb, accType, scales[c]),
                  gacc[r * cols + c], acc[r * cols + c]));
        }
        if (q.needsSums) {
          // s * (z - o) per weight row and group, times each row's xsum of
          // the group, added to the row's correction.
          SmallVector<Value> corr(acc.drop_front(numAcc));
          Value minusO = arith::ConstantOp::create(
              gb, gb.getF32FloatAttr(float(-q.offset)));
          for (int64_t i = 0; i < q.groupsPerLoad; ++i) {
            Value g = arith::AddIOp::create(
                gb, arith::MulIOp::create(gb, group, cIndex(gb, q.groupsPerLoad)),
                cIndex(gb, i));
            SmallVector<Value> scaledZ;
            for (int64_t c = 0; c < cols; ++c) {
              Value scale = toF32(
                  gb, memref::LoadOp::create(
                          gb, kern.scales, kern.scaleIndices(gb, colIdx[c], g)));
              Value z = minusO;
              if (kern.zeroPoints)
                z = arith::AddFOp::create(
                    gb,
                    memref::LoadOp::create(gb, kern.zeroPoints,
                                           kern.scaleIndices(gb, colIdx[c], g)),
                    z);
              scaledZ.push_back(arith::MulFOp::create(gb, scale, z));
            }
            for (int64_t r = 0; r < rows; ++r) {
              Value xsum = memref::LoadOp::create(gb, q.xSums,
                                                  ValueRange{rowIdx[r], g});
              for (int64_t c = 0; c < cols; ++c)
                corr[r * cols + c] = arith::AddFOp::create(
                    gb, corr[r * cols + c],
                    arith::MulFOp::create(gb, scaledZ[c], xsum));
            }
          }
          next.append(corr);
        }
        scf::YieldOp::create(gb, next);
      });

  ValueRange results = groupLoop.getResults();
  storeTile(b, kern, rowIdx, colIdx, results.take_front(numAcc),
            q.needsSums ? results.drop_front(numAcc) : ValueRange());
}

/// Emits the loops over weight rows (N) and x rows (M) of one matmul, with
/// full register tiles first and single-row/column tiles for the remainders.
///
/// With `streams` > 1 the tiles of weight rows are split into that many equal,
/// contiguous parts, and the single-row tiles of x (all of a GEMV) read one
/// tile of each part at once. One sequential stream keeps too few DRAM
/// requests in flight to reach a core's read bandwidth, several far-apart
/// ones do (docs/PERFORMANCE.md, "Streams"). Full tiles of x keep one weight
/// tile each: their accumulators already fill the registers.
static void emitMatmulLoops(ImplicitLocOpBuilder &b, const MatmulKernel &kern,
                            int64_t rows, int64_t cols, int64_t streams,
                            bool parallel) {
  auto xRowLoop = [&](ImplicitLocOpBuilder &nb, Value lb, Value ub,
                      int64_t step, ArrayRef<Value> starts, int64_t tileCols) {
    scf::ForOp::create(nb, lb, ub, cIndex(nb, step), ValueRange{},
                       [&](OpBuilder &ob, Location loc, Value m0, ValueRange) {
                         ImplicitLocOpBuilder mb(loc, ob);
                         emitTile(mb, kern, m0, starts, step, tileCols);
                         scf::YieldOp::create(mb);
                       });
  };
  auto emitRows = [&](ImplicitLocOpBuilder &nb, ArrayRef<Value> starts,
                      int64_t tileCols) {
    if (rows == 1)
      return xRowLoop(nb, cIndex(nb, 0), kern.m, 1, starts, tileCols);
    Value mMain = arith::SubIOp::create(
        nb, kern.m, arith::RemUIOp::create(nb, kern.m, cIndex(nb, rows)));
    for (Value n0 : starts)
      xRowLoop(nb, cIndex(nb, 0), mMain, rows, n0, tileCols);
    xRowLoop(nb, mMain, kern.m, 1, starts, tileCols);
  };
  // Tiles of `tileCols` weight rows from `begin` on, `parts` of `span` rows
  // each read together.
  auto emitCols = [&](int64_t begin, int64_t span, int64_t tileCols,
                      int64_t parts) {
    if (span <= 0)
      return;
    auto body = [&](ImplicitLocOpBuilder &nb, Value n0) {
      SmallVector<Value> starts{n0};
      for (int64_t p = 1; p < parts; ++p)
        starts.push_back(arith::AddIOp::create(nb, n0, cIndex(nb, p * span)));
      emitRows(nb, starts, tileCols);
    };
    Value lb = cIndex(b, begin), ub = cIndex(b, begin + span),
          step = cIndex(b, tileCols);
    if (parallel) {
      scf::ParallelOp::create(
          b, ValueRange{lb}, ValueRange{ub}, ValueRange{step},
          [&](OpBuilder &ob, Location loc, ValueRange ivs) {
            ImplicitLocOpBuilder nb(loc, ob);
            body(nb, ivs[0]);
          });
      return;
    }
    scf::ForOp::create(b, lb, ub, step, ValueRange{},
                       [&](OpBuilder &ob, Location loc, Value n0, ValueRange) {
                         ImplicitLocOpBuilder nb(loc, ob);
                         body(nb, n0);
                         scf::YieldOp::create(nb);
                       });
  };
  int64_t nMain = kern.n - kern.n % cols;
  int64_t span = nMain / cols / streams * cols;
  if (streams > 1 && span > 0) {
    emitCols(0, span, cols, streams);
    emitCols(streams * span, nMain - streams * span, cols, 1);
  } else {
    emitCols(0, nMain, cols, 1);
  }
  emitCols(nMain, kern.n - nMain, 1, 1);
}

/// Reads code `k` of row `row` (a list of leading indices) from packed bytes.
static Value emitScalarCode(ImplicitLocOpBuilder &b, Value codes,
                            ValueRange lead, Value k, unsigned bits,
                            bool isSigned, int64_t rowBytes) {
  Type i16 = b.getI16Type();
  Value bit = arith::MulIOp::create(b, k, cIndex(b, bits));
  Value byte = arith::DivUIOp::create(b, bit, cIndex(b, 8));
  Value hiByte = arith::MinUIOp::create(
      b, arith::AddIOp::create(b, byte, cIndex(b, 1)),
      cIndex(b, rowBytes - 1));
  SmallVector<Value> loIdx(lead), hiIdx(lead);
  loIdx.push_back(byte);
  hiIdx.push_back(hiByte);
  Value lo = arith::ExtUIOp::create(b, i16,
                                    memref::LoadOp::create(b, codes, loIdx));
  Value hi = arith::ExtUIOp::create(b, i16,
                                    memref::LoadOp::create(b, codes, hiIdx));
  Value word = arith::OrIOp::create(
      b, lo,
      arith::ShLIOp::create(b, hi, arith::ConstantIntOp::create(b, i16, 8)));
  Value shift = arith::IndexCastOp::create(
      b, i16, arith::RemUIOp::create(b, bit, cIndex(b, 8)));
  word = arith::ShRUIOp::create(b, word, shift);
  Value up = arith::ConstantIntOp::create(b, i16, 16 - bits);
  word = arith::ShLIOp::create(b, word, up);
  word = isSigned ? arith::ShRSIOp::create(b, word, up).getResult()
                  : arith::ShRUIOp::create(b, word, up).getResult();
  Type f32 = b.getF32Type();
  return isSigned ? arith::SIToFPOp::create(b, f32, word).getResult()
                  : arith::UIToFPOp::create(b, f32, word).getResult();
}

/// The buffers of x quantized to int8 (q.xq, q.xScales and, when needed,
/// q.xSums, sized by kern.m rows), and the code that fills them.
static void quantizeActivations(ImplicitLocOpBuilder &b,
                                const MatmulKernel &kern, Int8Kernel &q) {
  auto alloc = [&](int64_t cols, Type elem) -> Value {
    return memref::AllocOp::create(
        b, MemRefType::get({ShapedType::kDynamic, cols}, elem),
        ValueRange{kern.m}, b.getI64IntegerAttr(kCacheLineBytes));
  };
  q.xq = alloc(kern.k, b.getI8Type());
  q.xScales = alloc(kern.k / q.block, b.getF32Type());
  if (q.needsSums)
    q.xSums = alloc(kern.k / kern.groupSize, b.getF32Type());
  emitQuantizeActivations(b, kern, q);
}

/// The code offset of the integer kernels (Int8Kernel::flip and offset):
/// signed 1/2/4-bit codes get their sign bits flipped (d = c + 2^(bits-1),
/// so o = -2^(bits-1)), unsigned 8-bit codes their top bit (d = c - 128,
/// o = 128); the rest are fed as they are. The x sums are needed where
/// o - z can be nonzero.
static void setCodeOffset(Int8Kernel &q, const MatmulKernel &kern,
                          bool zeroPoints) {
  q.flip = 0;
  q.offset = 0;
  if (kern.bits < 8 && kern.isSigned) {
    for (unsigned p = 0; p < 8 / kern.bits; ++p)
      q.flip |= uint8_t(1u << (p * kern.bits + kern.bits - 1));
    q.offset = -(int64_t(1) << (kern.bits - 1));
  }
  if (kern.bits == 8 && !kern.isSigned) {
    q.flip = 0x80;
    q.offset = 128;
  }
  q.needsSums = zeroPoints || q.offset != 0;
}

struct ConvertQntToVector final
    : qnt::impl::ConvertQntToVectorPassBase<ConvertQntToVector> {
  using Base::Base;
  /// Checks the options before any pass of the pipeline runs.
  LogicalResult initialize(MLIRContext *context) override;
  void runOnOperation() override;

  LogicalResult lowerMatmul(MatmulOp op, const Payload &payload);
  /// lowerMatmul with activations=i8 through the column kernels.
  LogicalResult lowerColumnMatmul(MatmulOp op, MatmulKernel &kern,
                                  int64_t block, const Payload &payload);
  /// Codes in the kernels' plane-major layout, made once per qnt.constant.
  FailureOr<Value> planeMajorCodesFor(ConstantOp op, int64_t groupSize,
                                      int64_t lanes);
  llvm::DenseMap<Operation *, Value> planeMajorCodes;
  /// Codes in the activations=i8 kernels' layout, made once per qnt.constant.
  llvm::DenseMap<Operation *, Value> int8Codes;
  /// x quantized for int8 activations, per input tensor, x block and group
  /// (for the sums): matmuls of one input (q, k and v; gate and up) share
  /// it. The buffers were filled before the first of them, in its block.
  struct QuantizedX {
    Block *block;
    Value xq, xScales, xSums;
  };
  llvm::DenseMap<std::tuple<Value, int64_t, int64_t>, QuantizedX> quantizedX;
  /// quantizeActivations, or the buffers of an earlier matmul of `input`.
  void quantizeOnce(ImplicitLocOpBuilder &b, Value input,
                    const MatmulKernel &kern, Int8Kernel &q);
  LogicalResult lowerDequantize(DequantizeOp op, const Payload &payload);
  LogicalResult lowerGatherRows(GatherRowsOp op, const Payload &payload);
  /// qnt.gather_rows of a table whose column copy a matmul made (a tied
  /// classifier): rows decoded from that copy, so no other copy of the
  /// codes stays in the library.
  void lowerGatherRowsFromColumns(GatherRowsOp op, const ColumnCopy &copy);

  /// The column kernels' copies of weight constants (makeColumnCopy).
  llvm::DenseMap<Operation *, ColumnCopy> columnCopies;
};

LogicalResult ConvertQntToVector::lowerMatmul(MatmulOp op,
                                              const Payload &payload) {
  PackedType wType = op.getWeight().getType();
  SchemeAttr scheme = wType.getScheme();
  if (!scheme.isInteger())
    return op.emitOpError() << "CPU lowering supports integer formats only, not "
                            << stringifyFormat(scheme.getFormat());
  MatmulKernel kern;
  kern.scheme = scheme;
  kern.bits = scheme.getBits();
  kern.isSigned = scheme.isSigned();
  kern.n = wType.getShape()[0];
  kern.k = wType.getShape()[1];
  kern.groupSize = scheme.getGranularity() == Granularity::per_group
                       ? scheme.getGroupSize()
                       : kern.k;
  if (kern.groupSize != kern.k && (kern.groupSize * kern.bits) % 8 != 0)
    return op.emitOpError()
           << "group size " << kern.groupSize << " with " << kern.bits
           << "-bit codes starts groups inside a byte; the CPU lowering needs "
              "groups of a multiple of 8 codes";
  kern.chunk = chunk;
  kern.prefetch = prefetch;
  kern.parallel = parallel;
  kern.xElem = op.getInput().getType().getElementType();
  if (activations == "i8" && columnKernels && 8 % kern.bits == 0 &&
      kern.k % kern.groupSize == 0 && kern.groupSize % kActivationStep == 0) {
    int64_t block = activationBlockFor(actBlock, kern.bits, kern.groupSize);
    if (columnKernelApplies(kern, block,
                            op.getResult().getType().getElementType()))
      return lowerColumnMatmul(op, kern, block, payload);
  }
  Value codes = payload.codes;
  // activations=i8 reads whole groups as loads of 32 (else 16) bytes, each a
  // plane-major block for widths below 8, and x blocks of 32 codes.
  Int8Kernel int8;
  int64_t int8Lanes = 0;
  if (activations == "i8" && 8 % kern.bits == 0 &&
      kern.k % kern.groupSize == 0 && kern.groupSize % kActivationStep == 0) {
    int64_t perByte = 8 / kern.bits;
    for (int64_t lanes : {int64_t(32), int64_t(16)})
      if (!int8Lanes && kern.groupSize % (lanes * perByte) == 0 &&
          (kern.bits < 8 || lanes == 32))
        int8Lanes = lanes;
    // Groups smaller than a 32-byte load of 1/2/4-bit codes (int4 g32):
    // loads of 32 bytes whose fields are whole groups, each its own x block,
    // rather than 16-byte loads (half the vector width, twice the work per
    // code).
    int64_t loadCodes = 32 * perByte;
    if (int8Lanes != 32 && kern.bits < 8 && loadCodes % kern.groupSize == 0 &&
        kern.groupSize % 32 == 0 && kern.k % loadCodes == 0 &&
        activationBlockFor(actBlock, kern.bits, kern.groupSize) ==
            kern.groupSize) {
      int8Lanes = 32;
      int8.groupsPerLoad = loadCodes / kern.groupSize;
    }
  }
  if (int8Lanes) {
    setCodeOffset(int8, kern, payload.zeroPoints != nullptr);
    auto constant = op.getWeight().getDefiningOp<ConstantOp>();
    auto it = int8Codes.find(constant);
    if (it == int8Codes.end()) {
      // The plane-major layout works in blocks of one load, within groups
      // or (small groups) across them.
      FailureOr<Value> repacked = materializeInt8KernelCodes(
          constant, kern.groupSize * int8.groupsPerLoad, int8Lanes,
          colsPerTile, int8.flip);
      if (failed(repacked))
        return failure();
      it = int8Codes.try_emplace(constant, *repacked).first;
    }
    codes = it->second;
    int8.rowBytes = wType.getCodesShape().back();
    int8.fieldBytes = int8Lanes;
    int8.block = activationBlockFor(actBlock, kern.bits, kern.groupSize);
    // Each dot product adds at most 2 * (2^bits - 1) * 127 to an i16 lane
    // (d unsigned below 8 bits, |xq| <= 127); a block has block / L of them.
    int64_t dotsPerBlock = int8.block / int8Lanes;
    int8.sumsInI16 = kern.bits < 8 && dotsPerBlock > 1 &&
                     dotsPerBlock * 2 * ((int64_t(1) << kern.bits) - 1) * 127 <=
                         std::numeric_limits<int16_t>::max();
    kern.int8 = &int8;
  } else if (kern.bits < 8 && 8 % kern.bits == 0) {
    // Widths that divide 8 read full blocks of each group in the plane-major
    // layout. The lanes shrink (in steps of 8, keeping whole bytes) until one
    // block fits in a group; the rest of each group uses the standard layout.
    int64_t perByte = 8 / kern.bits;
    int64_t lanes = kern.chunk;
    while (lanes > 8 && lanes * perByte > kern.groupSize)
      lanes -= 8;
    if (lanes * perByte <= kern.groupSize) {
      FailureOr<Value> repacked = planeMajorCodesFor(
          op.getWeight().getDefiningOp<ConstantOp>(), kern.groupSize, lanes);
      if (failed(repacked))
        return failure();
      codes = *repacked;
      kern.chunk = lanes;
      kern.planeBlocks = kern.groupSize / (lanes * perByte);
    }
  }
  kern.xElem = op.getInput().getType().getElementType();

  ImplicitLocOpBuilder b(op.getLoc(), op);
  kern.x = to2D(b, toBuffer(b, op.getInput()));
  kern.codes = toBuffer(b, codes);
  kern.scales = toBuffer(b, payload.scales);
  if (payload.zeroPoints)
    kern.zeroPoints = toBuffer(b, payload.zeroPoints);
  if (op.getBias())
    kern.bias = toBuffer(b, op.getBias());

  Value outBuf = allocMatmulResult(b, op);
  kern.out = to2D(b, outBuf);
  kern.m = memref::DimOp::create(b, kern.x, 0);
  if (kern.int8)
    quantizeOnce(b, op.getInput(), kern, int8);

  emitMatmulLoops(b, kern, rowsPerTile, colsPerTile, streams, parallel);

  replaceWithBuffer(b, op, outBuf);
  return success();
}

void ConvertQntToVector::quantizeOnce(ImplicitLocOpBuilder &b, Value input,
                                      const MatmulKernel &kern,
                                      Int8Kernel &q) {
  auto key = std::make_tuple(input, q.block,
                             q.needsSums ? kern.groupSize : int64_t(0));
  auto it = quantizedX.find(key);
  if (it != quantizedX.end() && it->second.block == b.getInsertionBlock()) {
    q.xq = it->second.xq;
    q.xScales = it->second.xScales;
    q.xSums = it->second.xSums;
    return;
  }
  quantizeActivations(b, kern, q);
  quantizedX[key] = {b.getInsertionBlock(), q.xq, q.xScales, q.xSums};
}

LogicalResult ConvertQntToVector::lowerColumnMatmul(MatmulOp op,
                                                     MatmulKernel &kern,
                                                     int64_t block,
                                                     const Payload &payload) {
  Int8Kernel int8;
  int8.block = block;
  setCodeOffset(int8, kern, payload.zeroPoints != nullptr);
  // vpdpbusd multiplies unsigned by signed bytes exactly: 8-bit codes go in
  // as unsigned bytes (signed ones flipped, d = c + 128, o = -128), which
  // spares the sign trick of a signed operand (three instructions per dot
  // product with AVX-512). vpmaddubsw would saturate their pair sums.
  bool unsignedBytes = kern.bits == 8 && (intDot == "avx512vnni" ||
                                          intDot == "avxvnni");
  if (unsignedBytes) {
    int8.flip = kern.isSigned ? 0x80 : 0;
    int8.offset = kern.isSigned ? -128 : 0;
    int8.needsSums = payload.zeroPoints || int8.offset != 0;
  }
  ImplicitLocOpBuilder b(op.getLoc(), op);
  kern.x = to2D(b, toBuffer(b, op.getInput()));
  kern.scales = toBuffer(b, payload.scales);
  if (op.getBias())
    kern.bias = toBuffer(b, op.getBias());
  Value outBuf = allocMatmulResult(b, op);
  kern.out = to2D(b, outBuf);
  kern.m = memref::DimOp::create(b, kern.x, 0);
  quantizeOnce(b, op.getInput(), kern, int8);
  // 16 columns per register with 64-byte vectors (chunk=16, AVX-512), else 8.
  // One copy per weight constant, whatever reads it.
  auto constant = op.getWeight().getDefiningOp<ConstantOp>();
  auto it = columnCopies.find(constant);
  if (it == columnCopies.end()) {
    FailureOr<ColumnCopy> copy = makeColumnCopy(
        kern, int8, constant, payload, chunk >= 16 ? 16 : 8,
        /*signedBytes=*/kern.bits == 8 && !unsignedBytes);
    if (failed(copy))
      return failure();
    it = columnCopies.try_emplace(constant, *copy).first;
  }
  emitColumnKernel(b, kern, int8, it->second, rowsPerTile, parallel);
  replaceWithBuffer(b, op, outBuf);
  return success();
}

FailureOr<Value> ConvertQntToVector::planeMajorCodesFor(ConstantOp op,
                                                       int64_t groupSize,
                                                       int64_t lanes) {
  auto it = planeMajorCodes.find(op);
  if (it != planeMajorCodes.end())
    return it->second;
  FailureOr<Value> codes = materializePlaneMajorCodes(op, groupSize, lanes);
  if (succeeded(codes))
    planeMajorCodes[op] = *codes;
  return codes;
}

/// The f32 value of element `idx` of a packed tensor of `type`, read from
/// its payload buffers (codes, scales, zero points or null, offsets or
/// null).
static Value decodeElement(ImplicitLocOpBuilder &b, PackedType type,
                           Value codes, Value scales, Value zps,
                           Value offsets, ValueRange idx) {
  SchemeAttr scheme = type.getScheme();
  int64_t rank = type.getRank();
  Value code =
      emitScalarCode(b, codes, idx.drop_back(), idx.back(), scheme.getBits(),
                     scheme.isSigned(), type.getCodesShape().back());
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
      sIdx.push_back(
          i == scheme.getAxis()
              ? arith::DivUIOp::create(b, idx[i],
                                       cIndex(b, scheme.getGroupSize()))
                    .getResult()
              : idx[i]);
      break;
    }
  }
  if (zps)
    code = arith::SubFOp::create(b, code, memref::LoadOp::create(b, zps, sIdx));
  Value s = toF32(b, memref::LoadOp::create(b, scales, sIdx));
  Value v = arith::MulFOp::create(b, s, code);
  if (offsets)
    v = arith::AddFOp::create(
        b, v, toF32(b, memref::LoadOp::create(b, offsets, sIdx)));
  return v;
}

LogicalResult ConvertQntToVector::lowerDequantize(DequantizeOp op,
                                                  const Payload &payload) {
  PackedType type = op.getInput().getType();
  SchemeAttr scheme = type.getScheme();
  if (!scheme.isInteger())
    return op.emitOpError() << "CPU lowering supports integer formats only, not "
                            << stringifyFormat(scheme.getFormat());
  ImplicitLocOpBuilder b(op.getLoc(), op);
  RankedTensorType resultType = op.getResult().getType();
  Value codes = toBuffer(b, payload.codes);
  Value scales = toBuffer(b, payload.scales);
  Value zps = payload.zeroPoints ? toBuffer(b, payload.zeroPoints) : Value();
  Value offsets = payload.offsets ? toBuffer(b, payload.offsets) : Value();
  auto outType =
      MemRefType::get(resultType.getShape(), resultType.getElementType());
  Value out = memref::AllocOp::create(b, outType);
  int64_t rank = type.getRank();
  SmallVector<Value> lbs(rank, cIndex(b, 0)), steps(rank, cIndex(b, 1)), ubs;
  for (int64_t d : type.getShape())
    ubs.push_back(cIndex(b, d));
  scf::buildLoopNest(
      b, b.getLoc(), lbs, ubs, steps,
      [&](OpBuilder &ob, Location loc, ValueRange ivs) {
        ImplicitLocOpBuilder lb(loc, ob);
        Value v = decodeElement(lb, type, codes, scales, zps, offsets, ivs);
        memref::StoreOp::create(lb, fromF32(lb, v, resultType.getElementType()),
                                out, ivs);
      });
  replaceWithBuffer(b, op, out);
  return success();
}

LogicalResult ConvertQntToVector::lowerGatherRows(GatherRowsOp op,
                                                  const Payload &payload) {
  PackedType type = op.getTable().getType();
  if (!type.getScheme().isInteger())
    return op.emitOpError() << "CPU lowering supports integer formats only, not "
                            << stringifyFormat(type.getScheme().getFormat());
  ImplicitLocOpBuilder b(op.getLoc(), op);
  Value codes = toBuffer(b, payload.codes);
  Value scales = toBuffer(b, payload.scales);
  Value zps = payload.zeroPoints ? toBuffer(b, payload.zeroPoints) : Value();
  Value offsets = payload.offsets ? toBuffer(b, payload.offsets) : Value();
  Value ids = toBuffer(b, op.getIds());
  Value count = memref::DimOp::create(b, ids, 0);
  auto resultType = cast<RankedTensorType>(op.getResult().getType());
  SmallVector<Value> dynSizes;
  if (resultType.isDynamicDim(0))
    dynSizes.push_back(count);
  Value out = memref::AllocOp::create(
      b, MemRefType::get(resultType.getShape(), b.getF32Type()), dynSizes);
  int64_t rows = type.getShape()[0], k = type.getShape()[1];
  // Row t of the result: the decoded table row of ids[t], clamped to the
  // table (one row per decoding step: a few microseconds, scalar).
  scf::buildLoopNest(
      b, b.getLoc(), ValueRange{cIndex(b, 0)}, ValueRange{count},
      ValueRange{cIndex(b, 1)},
      [&](OpBuilder &ob, Location loc, ValueRange ivs) {
        ImplicitLocOpBuilder lb(loc, ob);
        Value id = arith::IndexCastOp::create(
            lb, lb.getIndexType(), memref::LoadOp::create(lb, ids, ivs[0]));
        id = arith::MaxSIOp::create(lb, id, cIndex(lb, 0));
        id = arith::MinSIOp::create(lb, id, cIndex(lb, rows - 1));
        scf::ForOp::create(
            lb, cIndex(lb, 0), cIndex(lb, k), cIndex(lb, 1), ValueRange{},
            [&](OpBuilder &jb, Location jloc, Value j, ValueRange) {
              ImplicitLocOpBuilder eb(jloc, jb);
              Value v = decodeElement(eb, type, codes, scales, zps, offsets,
                                      ValueRange{id, j});
              memref::StoreOp::create(eb, v, out, ValueRange{ivs[0], j});
              scf::YieldOp::create(eb);
            });
      });
  replaceWithBuffer(b, op, out);
  return success();
}

void ConvertQntToVector::lowerGatherRowsFromColumns(GatherRowsOp op,
                                                    const ColumnCopy &copy) {
  ImplicitLocOpBuilder b(op.getLoc(), op);
  Value ids = toBuffer(b, op.getIds());
  auto resultType = cast<RankedTensorType>(op.getResult().getType());
  SmallVector<Value> dynSizes;
  if (resultType.isDynamicDim(0))
    dynSizes.push_back(memref::DimOp::create(b, ids, 0));
  Value out = memref::AllocOp::create(
      b, MemRefType::get(resultType.getShape(), b.getF32Type()), dynSizes);
  PackedType type = op.getTable().getType();
  emitGatherFromColumnCopy(b, copy, ids, out, type.getShape()[0],
                           type.getShape()[1]);
  replaceWithBuffer(b, op, out);
}

LogicalResult ConvertQntToVector::initialize(MLIRContext *context) {
  std::string error = checkConvertQntToVectorOptions(
      "convert-qnt-to-vector", chunk, rowsPerTile, colsPerTile, streams,
      actBlock, activations, intDot);
  if (!error.empty())
    return emitError(UnknownLoc::get(context)) << error;
  return success();
}

void ConvertQntToVector::runOnOperation() {
  ModuleOp module = getOperation();
  // Every packed value must come from a qnt.constant: the payload tensors
  // are what the kernels read.
  llvm::DenseMap<Operation *, Payload> payloads;
  auto payloadFor = [&](Operation *user,
                        Value packed) -> FailureOr<Payload> {
    auto constant = packed.getDefiningOp<ConstantOp>();
    if (!constant)
      return user->emitOpError()
             << "packed operand must come from qnt.constant to be lowered "
                "for the CPU (function arguments and qnt.quantize results are "
                "not supported yet)";
    auto it = payloads.find(constant);
    if (it != payloads.end())
      return it->second;
    FailureOr<Payload> payload = materializePayload(constant);
    if (succeeded(payload))
      payloads[constant] = *payload;
    return payload;
  };

  // Gathers last: one reads the column copy of its table when a matmul of
  // the same constant made one.
  SmallVector<Operation *> work, gathers;
  module.walk([&](Operation *op) {
    if (isa<MatmulOp, DequantizeOp, AttentionOp, PackCacheRowsOp>(op))
      work.push_back(op);
    if (isa<GatherRowsOp>(op))
      gathers.push_back(op);
  });
  work.append(gathers);
  for (Operation *op : work) {
    LogicalResult result = failure();
    if (auto attention = dyn_cast<AttentionOp>(op)) {
      result = lowerAttentionToVector(attention, chunk, parallel);
    } else if (auto pack = dyn_cast<PackCacheRowsOp>(op)) {
      result = lowerPackCacheRowsToVector(pack, chunk);
    } else if (auto matmul = dyn_cast<MatmulOp>(op)) {
      FailureOr<Payload> payload = payloadFor(op, matmul.getWeight());
      result = succeeded(payload) ? lowerMatmul(matmul, *payload) : failure();
    } else if (auto gather = dyn_cast<GatherRowsOp>(op)) {
      auto copy = columnCopies.find(gather.getTable().getDefiningOp());
      if (copy != columnCopies.end() &&
          !gather.getTable().getType().getScheme().hasOffsets()) {
        lowerGatherRowsFromColumns(gather, copy->second);
        continue;
      }
      FailureOr<Payload> payload = payloadFor(op, gather.getTable());
      result = succeeded(payload) ? lowerGatherRows(gather, *payload)
                                  : failure();
    } else if (auto dequant = dyn_cast<DequantizeOp>(op)) {
      FailureOr<Payload> payload = payloadFor(op, dequant.getInput());
      result =
          succeeded(payload) ? lowerDequantize(dequant, *payload) : failure();
    }
    if (failed(result))
      return signalPassFailure();
  }

  bool failedAny = false;
  module.walk([&](Operation *op) {
    if (auto constant = dyn_cast<ConstantOp>(op)) {
      if (constant->use_empty()) {
        constant.erase();
        return WalkResult::skip();
      }
    }
    if (isa<QntDialect>(op->getDialect()) && !isIntDotOp(op)) {
      op->emitOpError("cannot be lowered for the CPU yet");
      failedAny = true;
    }
    return WalkResult::advance();
  });
  if (failedAny)
    signalPassFailure();
}

} // namespace

std::string qnt::checkConvertQntToVectorOptions(
    StringRef owner, int64_t chunk, int64_t rowsPerTile, int64_t colsPerTile,
    int64_t streams, int64_t actBlock, StringRef activations,
    StringRef intDot) {
  for (auto [name, value, range] :
       {std::make_tuple("chunk", chunk, kChunkRange),
        std::make_tuple("rows-per-tile", rowsPerTile, kTileRange),
        std::make_tuple("cols-per-tile", colsPerTile, kTileRange),
        std::make_tuple("streams", streams, kStreamsRange)})
    if (std::string error = range.check(owner, name, value); !error.empty())
      return error;
  if (!isValidActivationBlock(actBlock))
    return (owner + " option act-block=" + Twine(actBlock) +
            " must be 0 (chosen per matmul), 32, 64, 128 or 256")
        .str();
  if (activations != "f32" && activations != "i8")
    return (owner + " option activations='" + activations +
            "' must be 'f32' or 'i8'")
        .str();
  if (!isValidIntDotIsa(intDot))
    return (owner + " option int-dot='" + intDot +
            "' must be 'avx512vnni', 'avxvnni', 'avx2' or 'generic'")
        .str();
  return "";
}

bool qnt::isValidActivationBlock(int64_t codes) {
  // 0 picks per matmul (activationBlockFor). Otherwise powers of two, so x
  // blocks and code loads nest; at most 256, because a kernel step emits one
  // block's loads straight-line (8 for 8-bit codes).
  return codes == 0 || (codes >= kActivationStep && codes <= 256 &&
                        llvm::isPowerOf2_64(codes));
}

int64_t qnt::activationBlockFor(int64_t requested, unsigned bits,
                                int64_t groupSize) {
  if (requested == 0) {
    // Weights of 4 bits or fewer round ~16x more coarsely than int8 x, so
    // an x block as long as their group (up to 128) adds little error (+0.2
    // to +2.6% of the output error even with outlier channels, against +25
    // to +190% for 8-bit weights: docs/QUANTIZER.md) and saves one conversion
    // and multiply-add per block and weight row. Wider weights keep 32.
    if (bits <= 4)
      for (int64_t block : {int64_t(128), int64_t(64)})
        if (groupSize % block == 0)
          return block;
    return kActivationStep;
  }
  // Groups that the requested block does not divide keep the smallest.
  return groupSize % requested == 0 ? requested : kActivationStep;
}
