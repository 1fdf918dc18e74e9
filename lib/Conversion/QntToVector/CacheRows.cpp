// CPU lowering of qnt.pack_cache_rows: the rows a step writes into its KV
// cache, encoded in the cache's format (f16: rounded halves; i8: codes, a
// multiplier per token and kv head and a step per token). An i4 cache is
// written by other ops (KiviCache.cpp).
#include "Kernels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "qnt/Conversion/Common.h"

using namespace mlir;
using namespace mlir::qnt;

LogicalResult qnt::lowerPackCacheRowsToVector(PackCacheRowsOp op,
                                              int64_t lanes) {
  ImplicitLocOpBuilder b(op.getLoc(), op);
  if (op.getFormat() == CacheFormat::f32) {
    op.getResult().replaceAllUsesWith(op.getRows());
    op.erase();
    return success();
  }
  auto rowsType = cast<RankedTensorType>(op.getRows().getType());
  auto resultType = cast<RankedTensorType>(op.getResult().getType());
  int64_t D = rowsType.getDimSize(2);
  int64_t L = widestDividingLanes(D, lanes);
  Type f32 = b.getF32Type();
  auto vecL = VectorType::get({L}, f32);
  auto codesType = VectorType::get({L}, b.getI8Type());
  Value rows = toStridedBuffer(b, op.getRows());
  Value out = allocResultLike(b, resultType, rows);
  auto forEachRow =
      [&](function_ref<void(ImplicitLocOpBuilder &, Value, Value)> fn) {
        scf::buildLoopNest(b, b.getLoc(),
                           ValueRange{cIndex(b, 0), cIndex(b, 0)},
                           ValueRange{memref::DimOp::create(b, rows, 0),
                                      memref::DimOp::create(b, rows, 1)},
                           ValueRange{cIndex(b, 1), cIndex(b, 1)},
                           [&](OpBuilder &ob, Location loc, ValueRange ivs) {
                             ImplicitLocOpBuilder ib(loc, ob);
                             fn(ib, ivs[0], ivs[1]);
                           });
      };
  if (op.getFormat() == CacheFormat::f16) {
    // Each value rounded to the nearest half float.
    auto halfType = VectorType::get({L}, b.getF16Type());
    forEachRow([&](ImplicitLocOpBuilder &ib, Value t, Value h) {
      for (int64_t c = 0; c < D; c += L)
        vector::StoreOp::create(
            ib,
            arith::TruncFOp::create(
                ib, halfType,
                vector::LoadOp::create(ib, vecL, rows,
                                       ValueRange{t, h, cIndex(ib, c)})),
            out, ValueRange{t, h, cIndex(ib, c)});
    });
    replaceWithBuffer(b, op, out);
    return success();
  }
  // Per token t: amax[h] = max |x[h]| per head, the step u = the f16 at
  // or above max_h amax[h] / (127 * 255), the multipliers m[h] = min(255,
  // ceil(amax[h] / (127 * u))), codes round(x * (1 / (u * m[h]))) clamped
  // to +-127 (0 for a zero step); docs/BIT_LAYOUT.md, "KV cache rows".
  int64_t kvHeads = rowsType.getDimSize(1);
  I8PositionLayout record{kvHeads, D};
  scf::buildLoopNest(
      b, b.getLoc(), ValueRange{cIndex(b, 0)},
      ValueRange{memref::DimOp::create(b, rows, 0)}, ValueRange{cIndex(b, 1)},
      [&](OpBuilder &ob, Location loc, ValueRange ivs) {
        ImplicitLocOpBuilder ib(loc, ob);
        Value t = ivs[0];
        auto load = [&](int64_t h, int64_t c) -> Value {
          return vector::LoadOp::create(
              ib, vecL, rows, ValueRange{t, cIndex(ib, h), cIndex(ib, c)});
        };
        SmallVector<Value> amax;
        Value largest;
        for (int64_t h = 0; h < kvHeads; ++h) {
          Value a;
          for (int64_t c = 0; c < D; c += L) {
            Value x = math::AbsFOp::create(ib, load(h, c));
            a = a ? arith::MaximumFOp::create(ib, a, x).getResult() : x;
          }
          amax.push_back(vector::ReductionOp::create(
              ib, vector::CombiningKind::MAXIMUMF, a));
          largest = largest ? arith::MaximumFOp::create(ib, largest,
                                                        amax.back())
                                  .getResult()
                            : amax.back();
        }
        auto splatF32 = [&](float v) -> Value {
          return vector::BroadcastOp::create(
              ib, vecL, arith::ConstantOp::create(ib, ib.getF32FloatAttr(v)));
        };
        Value lo = splatF32(-127.0f), hi = splatF32(127.0f);
        Value half = emitI8CacheStep(ib, largest);
        Value u = arith::ExtFOp::create(ib, f32, half);
        for (int64_t h = 0; h < kvHeads; ++h) {
          Value mult = emitI8CacheMultiplier(ib, amax[h], u);
          Value inv = emitI8CacheInverse(ib, u, mult);
          Value invV = vector::BroadcastOp::create(ib, vecL, inv);
          for (int64_t c = 0; c < D; c += L) {
            Value q = math::RoundEvenOp::create(
                ib, arith::MulFOp::create(ib, load(h, c), invV));
            q = arith::MinimumFOp::create(
                ib, arith::MaximumFOp::create(ib, q, lo), hi);
            vector::StoreOp::create(
                ib, arith::FPToSIOp::create(ib, codesType, q), out,
                ValueRange{t, cIndex(ib, record.codesOffset(h) + c)});
          }
          memref::StoreOp::create(
              ib, arith::FPToUIOp::create(ib, ib.getI8Type(), mult), out,
              ValueRange{t, cIndex(ib, record.multiplierOffset(h))});
        }
        Value stepBytes = vector::BitCastOp::create(
            ib, VectorType::get({2}, ib.getI8Type()),
            vector::BroadcastOp::create(
                ib, VectorType::get({1}, ib.getF16Type()), half));
        vector::StoreOp::create(
            ib, stepBytes, out,
            ValueRange{t, cIndex(ib, record.stepOffset())});
      });
  replaceWithBuffer(b, op, out);
  return success();
}
