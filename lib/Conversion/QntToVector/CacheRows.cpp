// CPU lowering of qnt.pack_cache_rows: the rows a step writes into its KV
// cache, encoded in the cache's format (f16: rounded halves; i8: codes and
// a scale per token and kv head; i4 values: KiviCache.cpp).
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
  if (op.getFormat() == CacheFormat::i4)
    return lowerPackValueRowsToVector(op);
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
  // Per token t and head h: amax = max |x|, codes round(x * (127 / amax))
  // (0 for a zero row), then the scale amax / 127 in the row's last 4 bytes.
  forEachRow([&](ImplicitLocOpBuilder &ib, Value t, Value h) {
    SmallVector<Value> x;
    Value amax;
    for (int64_t c = 0; c < D; c += L) {
      x.push_back(vector::LoadOp::create(ib, vecL, rows,
                                         ValueRange{t, h, cIndex(ib, c)}));
      Value a = math::AbsFOp::create(ib, x.back());
      amax = amax ? arith::MaximumFOp::create(ib, amax, a).getResult() : a;
    }
    Value m =
        vector::ReductionOp::create(ib, vector::CombiningKind::MAXIMUMF, amax);
    Value zero = arith::ConstantOp::create(ib, ib.getF32FloatAttr(0.0f));
    Value positive =
        arith::CmpFOp::create(ib, arith::CmpFPredicate::OGT, m, zero);
    Value inv = arith::SelectOp::create(
        ib, positive, arith::DivFOp::create(ib, arith::ConstantOp::create(ib, ib.getF32FloatAttr(127.0f)), m), zero);
    Value invV = vector::BroadcastOp::create(ib, vecL, inv);
    for (int64_t c = 0; c < D; c += L) {
      Value q = math::RoundEvenOp::create(
          ib, arith::MulFOp::create(ib, x[c / L], invV));
      vector::StoreOp::create(ib, arith::FPToSIOp::create(ib, codesType, q),
                              out, ValueRange{t, h, cIndex(ib, c)});
    }
    Value scale = arith::DivFOp::create(ib, m, arith::ConstantOp::create(ib, ib.getF32FloatAttr(127.0f)));
    Value bytes = vector::BitCastOp::create(
        ib, VectorType::get({4}, ib.getI8Type()),
        vector::BroadcastOp::create(ib, VectorType::get({1}, f32), scale));
    vector::StoreOp::create(ib, bytes, out, ValueRange{t, h, cIndex(ib, D)});
  });
  replaceWithBuffer(b, op, out);
  return success();
}
