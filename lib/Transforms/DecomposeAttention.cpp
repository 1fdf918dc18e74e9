// qnt-decompose-attention: qnt.attention as linalg ops over the live slice
// of the cache, and qnt.pack_cache_rows as linalg ops (for targets without
// kernels of their own: the GPU).
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "qnt/Transforms/Passes.h"
#include "qnt/Transforms/Transforms.h"
#include <limits>

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTDECOMPOSEATTENTIONPASS
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;
using namespace mlir::qnt;
using utils::IteratorType;

namespace {
using BodyFn = function_ref<Value(ImplicitLocOpBuilder &, ValueRange)>;

Value generic(ImplicitLocOpBuilder &b, RankedTensorType type, Value init,
              ValueRange inputs, ArrayRef<AffineMap> maps,
              ArrayRef<IteratorType> iterators, BodyFn body) {
  return linalg::GenericOp::create(
             b, TypeRange{type}, inputs, ValueRange{init}, maps, iterators,
             [&](OpBuilder &ob, Location loc, ValueRange args) {
               ImplicitLocOpBuilder ib(loc, ob);
               linalg::YieldOp::create(ib, body(ib, args));
             })
      .getResult(0);
}

Value f32Const(ImplicitLocOpBuilder &b, float v) {
  return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
}

/// The f32 scales [n, KvH] of i8 cache rows `rows` [S, KvH, D + 4] (the
/// first n positions): bytes D .. D + 3 of each row, little-endian.
Value rowScales(ImplicitLocOpBuilder &b, Value rows, Value n, int64_t kvHeads,
                int64_t headSize) {
  MLIRContext *ctx = b.getContext();
  constexpr int64_t kDyn = ShapedType::kDynamic;
  auto scalesType = RankedTensorType::get({kDyn, kvHeads}, b.getF32Type());
  return linalg::GenericOp::create(
             b, TypeRange{scalesType}, ValueRange{},
             ValueRange{tensor::EmptyOp::create(b, scalesType.getShape(),
                                                b.getF32Type(), ValueRange{n})},
             ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(2, ctx)},
             ArrayRef<IteratorType>{IteratorType::parallel,
                                    IteratorType::parallel},
             [&](OpBuilder &ob, Location loc, ValueRange) {
               ImplicitLocOpBuilder ib(loc, ob);
               Value t = linalg::IndexOp::create(ib, 0);
               Value g = linalg::IndexOp::create(ib, 1);
               Value bits = arith::ConstantOp::create(ib, ib.getI32IntegerAttr(0));
               for (int64_t j = 0; j < 4; ++j) {
                 Value byte = tensor::ExtractOp::create(
                     ib, rows,
                     ValueRange{t, g,
                                arith::ConstantIndexOp::create(ib, headSize + j)});
                 Value wide = arith::ExtUIOp::create(ib, ib.getI32Type(), byte);
                 if (j)
                   wide = arith::ShLIOp::create(
                       ib, wide,
                       arith::ConstantOp::create(ib, ib.getI32IntegerAttr(8 * j)));
                 bits = arith::OrIOp::create(ib, bits, wide);
               }
               linalg::YieldOp::create(
                   ib, arith::BitcastOp::create(ib, ib.getF32Type(), bits)
                           .getResult());
             })
      .getResult(0);
}
} // namespace

/// softmax(scale * dots) over the positions of each row r and head,
/// positions t > pos + r masked: dots is [rows, heads, live].
static Value maskedSoftmax(ImplicitLocOpBuilder &b, Value dots, Value pos,
                           float scale, Value rows, Value live,
                           int64_t heads) {
  MLIRContext *ctx = b.getContext();
  constexpr int64_t kDyn = ShapedType::kDynamic;
  Type f32 = b.getF32Type();
  float negInf = -std::numeric_limits<float>::infinity();
  auto scoresType = RankedTensorType::get({kDyn, heads, kDyn}, f32);
  auto rowsType = RankedTensorType::get({kDyn, heads}, f32);
  auto empty3 = [&] {
    return tensor::EmptyOp::create(b, scoresType.getShape(), f32,
                                   ValueRange{rows, live});
  };
  auto filled = [&](Value init, float v) {
    return linalg::FillOp::create(b, f32Const(b, v), init).getResult(0);
  };
  auto empty2 = [&] {
    return tensor::EmptyOp::create(b, rowsType.getShape(), f32,
                                   ValueRange{rows});
  };
  AffineExpr r3, h3, t3;
  bindDims(ctx, r3, h3, t3);
  AffineMap id3 = AffineMap::getMultiDimIdentityMap(3, ctx);
  AffineMap rowOf3 = AffineMap::get(3, 0, {r3, h3}, ctx);
  SmallVector<IteratorType> par3(3, IteratorType::parallel);
  SmallVector<IteratorType> reduce3 = {IteratorType::parallel,
                                       IteratorType::parallel,
                                       IteratorType::reduction};
  // Row r sees positions t <= pos + r.
  Value scores = generic(
      b, scoresType, empty3(), ValueRange{dots}, {id3, id3}, par3,
      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        Value seen = arith::AddIOp::create(ib, pos,
                                           linalg::IndexOp::create(ib, 0));
        Value visible = arith::CmpIOp::create(
            ib, arith::CmpIPredicate::ule, linalg::IndexOp::create(ib, 2),
            seen);
        return arith::SelectOp::create(
            ib, visible, arith::MulFOp::create(ib, a[0], f32Const(ib, scale)),
            f32Const(ib, negInf));
      });
  Value maxes = generic(b, rowsType, filled(empty2(), negInf),
                        ValueRange{scores}, {id3, rowOf3}, reduce3,
                        [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                          return arith::MaximumFOp::create(ib, a[0], a[1]);
                        });
  Value exps = generic(
      b, scoresType, empty3(), ValueRange{scores, maxes}, {id3, rowOf3, id3},
      par3, [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        return math::ExpOp::create(ib, arith::SubFOp::create(ib, a[0], a[1]));
      });
  Value sums = generic(b, rowsType, filled(empty2(), 0.0f), ValueRange{exps},
                       {id3, rowOf3}, reduce3,
                       [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                         return arith::AddFOp::create(ib, a[1], a[0]);
                       });
  return generic(
      b, scoresType, empty3(), ValueRange{exps, sums}, {id3, rowOf3, id3},
      par3, [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        return arith::DivFOp::create(ib, a[0], a[1]);
      });
}

FailureOr<Value> qnt::decomposeAttention(RewriterBase &rewriter,
                                         AttentionOp op) {
  ImplicitLocOpBuilder b(op.getLoc(), rewriter);
  b.setInsertionPoint(op);
  MLIRContext *ctx = op.getContext();
  auto qType = cast<RankedTensorType>(op.getQuery().getType());
  auto kType = cast<RankedTensorType>(op.getKeys().getType());
  int64_t heads = qType.getDimSize(1), hs = qType.getDimSize(2);
  int64_t kvHeads = kType.getDimSize(1), seq = kType.getDimSize(0);
  int64_t group = heads / kvHeads;
  constexpr int64_t kDyn = ShapedType::kDynamic;
  Type f32 = b.getF32Type();
  Value pos = op.getPosition();
  Value rows = tensor::DimOp::create(b, op.getQuery(), 0);
  // The positions the last row sees, min(pos + T, S): nothing past them is
  // read.
  Value live = arith::MinSIOp::create(
      b, arith::AddIOp::create(b, pos, rows),
      arith::ConstantIndexOp::create(b, seq));
  bool quantized = op.getCache() == CacheFormat::i8;
  Type cacheElem = kType.getElementType();
  auto liveSlice = [&](Value cache) {
    return tensor::ExtractSliceOp::create(
        b, RankedTensorType::get({kDyn, kvHeads, hs}, cacheElem), cache,
        ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0),
                               b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{live, b.getIndexAttr(kvHeads),
                               b.getIndexAttr(hs)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                               b.getIndexAttr(1)});
  };
  // An i8 cache: the codes are read in place of the values, and each row's
  // scale multiplies the scores (keys) and the probabilities (values).
  Value keys = liveSlice(op.getKeys()), values = liveSlice(op.getValues());
  Value keyScales, valueScales;
  if (quantized) {
    keyScales = rowScales(b, op.getKeys(), live, kvHeads, hs);
    valueScales = rowScales(b, op.getValues(), live, kvHeads, hs);
  }
  // An f16 cache: each value extended to f32 where it is read.
  auto element = [&](ImplicitLocOpBuilder &ib, Value v) -> Value {
    if (quantized)
      return arith::SIToFPOp::create(ib, ib.getF32Type(), v);
    if (op.getCache() == CacheFormat::f16)
      return arith::ExtFOp::create(ib, ib.getF32Type(), v);
    return v;
  };
  auto scoresType = RankedTensorType::get({kDyn, heads, kDyn}, f32);
  auto empty3 = [&] {
    return tensor::EmptyOp::create(b, scoresType.getShape(), f32,
                                   ValueRange{rows, live});
  };
  auto filled = [&](Value init, float v) {
    return linalg::FillOp::create(b, f32Const(b, v), init).getResult(0);
  };

  // scores[r, h, t] = sum_i q[r, h, i] * k[t, h / g, i]
  AffineExpr r, h, t, i;
  bindDims(ctx, r, h, t, i);
  Value dots = generic(
      b, scoresType, filled(empty3(), 0.0f), ValueRange{op.getQuery(), keys},
      {AffineMap::get(4, 0, {r, h, i}, ctx),
       AffineMap::get(4, 0, {t, h.floorDiv(group), i}, ctx),
       AffineMap::get(4, 0, {r, h, t}, ctx)},
      {IteratorType::parallel, IteratorType::parallel, IteratorType::parallel,
       IteratorType::reduction},
      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        return arith::AddFOp::create(
            ib, a[2], arith::MulFOp::create(ib, a[0], element(ib, a[1])));
      });
  AffineExpr r3, h3, t3;
  bindDims(ctx, r3, h3, t3);
  AffineMap id3 = AffineMap::getMultiDimIdentityMap(3, ctx);
  SmallVector<IteratorType> par3(3, IteratorType::parallel);
  // An i8 cache's row scales, by position and kv head.
  AffineMap scaleOf3 = AffineMap::get(3, 0, {t3, h3.floorDiv(group)}, ctx);
  if (quantized)
    dots = generic(b, scoresType, empty3(), ValueRange{dots, keyScales},
                   {id3, scaleOf3, id3}, par3,
                   [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                     return arith::MulFOp::create(ib, a[0], a[1]);
                   });
  Value probs =
      maskedSoftmax(b, dots, pos, op.getScale().convertToFloat(), rows, live,
                    heads);
  if (quantized)
    probs = generic(b, scoresType, empty3(), ValueRange{probs, valueScales},
                    {id3, scaleOf3, id3}, par3,
                    [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                      return arith::MulFOp::create(ib, a[0], a[1]);
                    });
  // out[r, h, i] = sum_t p[r, h, t] * v[t, h / g, i]
  Value outInit = tensor::EmptyOp::create(b, qType.getShape(), f32,
                                          qType.isDynamicDim(0)
                                              ? ValueRange{rows}
                                              : ValueRange{});
  Value out = generic(
      b, qType, filled(outInit, 0.0f), ValueRange{probs, values},
      {AffineMap::get(4, 0, {r, h, t}, ctx),
       AffineMap::get(4, 0, {t, h.floorDiv(group), i}, ctx),
       AffineMap::get(4, 0, {r, h, i}, ctx)},
      {IteratorType::parallel, IteratorType::parallel, IteratorType::reduction,
       IteratorType::parallel},
      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        return arith::AddFOp::create(
            ib, a[2], arith::MulFOp::create(ib, a[0], element(ib, a[1])));
      });
  rewriter.replaceOp(op, out);
  return out;
}

FailureOr<Value> qnt::decomposePackCacheRows(RewriterBase &rewriter,
                                             PackCacheRowsOp op) {
  ImplicitLocOpBuilder b(op.getLoc(), rewriter);
  b.setInsertionPoint(op);
  if (op.getFormat() == CacheFormat::f32) {
    rewriter.replaceOp(op, op.getRows());
    return op.getRows();
  }
  MLIRContext *ctx = op.getContext();
  auto rowsType = cast<RankedTensorType>(op.getRows().getType());
  auto resultType = cast<RankedTensorType>(op.getResult().getType());
  int64_t heads = rowsType.getDimSize(1), d = rowsType.getDimSize(2);
  Type f32 = b.getF32Type();
  SmallVector<Value> dyn;
  if (rowsType.isDynamicDim(0))
    dyn.push_back(tensor::DimOp::create(b, op.getRows(), 0));
  if (op.getFormat() == CacheFormat::f16) {
    // Each value rounded to the nearest half float.
    Value half = generic(
        b, resultType,
        tensor::EmptyOp::create(b, resultType.getShape(), b.getF16Type(), dyn),
        ValueRange{op.getRows()},
        {AffineMap::getMultiDimIdentityMap(3, ctx),
         AffineMap::getMultiDimIdentityMap(3, ctx)},
        {IteratorType::parallel, IteratorType::parallel,
         IteratorType::parallel},
        [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
          return arith::TruncFOp::create(ib, ib.getF16Type(), a[0]);
        });
    rewriter.replaceOp(op, half);
    return half;
  }
  // amax[t, h] = max_i |x[t, h, i]|
  auto amaxType = RankedTensorType::get({rowsType.getDimSize(0), heads}, f32);
  Value amaxInit =
      linalg::FillOp::create(
          b, f32Const(b, 0.0f),
          ValueRange{tensor::EmptyOp::create(b, amaxType.getShape(), f32, dyn)})
          .getResult(0);
  AffineExpr t, h, i;
  bindDims(ctx, t, h, i);
  Value amax = generic(
      b, amaxType, amaxInit, ValueRange{op.getRows()},
      {AffineMap::get(3, 0, {t, h, i}, ctx), AffineMap::get(3, 0, {t, h}, ctx)},
      {IteratorType::parallel, IteratorType::parallel,
       IteratorType::reduction},
      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        return arith::MaximumFOp::create(ib, a[1],
                                         math::AbsFOp::create(ib, a[0]));
      });
  // Byte j of a row: code round(x[j] * 127 / amax) for j < D, else byte
  // j - D of the scale amax / 127.
  Value rows = op.getRows();
  Value packed = generic(
      b, resultType,
      tensor::EmptyOp::create(b, resultType.getShape(), b.getI8Type(), dyn),
      ValueRange{amax},
      {AffineMap::get(3, 0, {t, h}, ctx),
       AffineMap::getMultiDimIdentityMap(3, ctx)},
      {IteratorType::parallel, IteratorType::parallel,
       IteratorType::parallel},
      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        Value m = a[0];
        Value j = linalg::IndexOp::create(ib, 2);
        Value dIndex = arith::ConstantIndexOp::create(ib, d);
        Value isCode =
            arith::CmpIOp::create(ib, arith::CmpIPredicate::ult, j, dIndex);
        Value x = tensor::ExtractOp::create(
            ib, rows,
            ValueRange{linalg::IndexOp::create(ib, 0),
                       linalg::IndexOp::create(ib, 1),
                       arith::MinUIOp::create(
                           ib, j, arith::ConstantIndexOp::create(ib, d - 1))});
        Value zero = f32Const(ib, 0.0f);
        Value inv = arith::SelectOp::create(
            ib, arith::CmpFOp::create(ib, arith::CmpFPredicate::OGT, m, zero),
            arith::DivFOp::create(ib, f32Const(ib, 127.0f), m), zero);
        Value code = arith::FPToSIOp::create(
            ib, ib.getI8Type(),
            math::RoundEvenOp::create(ib, arith::MulFOp::create(ib, x, inv)));
        Value scaleBits = arith::BitcastOp::create(
            ib, ib.getI32Type(),
            arith::DivFOp::create(ib, m, f32Const(ib, 127.0f)));
        Value shift = arith::MulIOp::create(
            ib,
            arith::IndexCastOp::create(ib, ib.getI32Type(),
                                       arith::SubIOp::create(ib, j, dIndex)),
            arith::ConstantOp::create(ib, ib.getI32IntegerAttr(8)));
        Value byte = arith::TruncIOp::create(
            ib, ib.getI8Type(), arith::ShRUIOp::create(ib, scaleBits, shift));
        return arith::SelectOp::create(ib, isCode, code, byte);
      });
  rewriter.replaceOp(op, packed);
  return packed;
}

namespace {
struct DecomposeAttentionPattern final : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    return decomposeAttention(rewriter, op);
  }
};

struct DecomposePackCacheRowsPattern final
    : OpRewritePattern<PackCacheRowsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PackCacheRowsOp op,
                                PatternRewriter &rewriter) const override {
    return decomposePackCacheRows(rewriter, op);
  }
};


struct DecomposeAttention final
    : qnt::impl::QntDecomposeAttentionPassBase<DecomposeAttention> {
  using Base::Base;
  void runOnOperation() override {
    // The i4 cache (#qnt.cache_format<i4>) has the CPU kernel only.
    WalkResult kivi = getOperation()->walk([](Operation *op) {
      auto attention = dyn_cast<AttentionOp>(op);
      auto pack = dyn_cast<PackCacheRowsOp>(op);
      if (!isa<PackKeyBlocksOp, PackKeyWindowOp>(op) &&
          !(attention && attention.getCache() == CacheFormat::i4) &&
          !(pack && pack.getFormat() == CacheFormat::i4))
        return WalkResult::advance();
      op->emitOpError() << "qnt-decompose-attention: the i4 KV cache has no "
                           "decomposed (GPU) form; it runs on the CPU only";
      return WalkResult::interrupt();
    });
    if (kivi.wasInterrupted())
      return signalPassFailure();
    RewritePatternSet patterns(&getContext());
    populateDecomposeAttentionPatterns(patterns);
    if (failed(applyPatternsGreedily(
            getOperation(), std::move(patterns),
            GreedyRewriteConfig().enableFolding(false))))
      return signalPassFailure();
  }
};
} // namespace

void qnt::populateDecomposeAttentionPatterns(RewritePatternSet &patterns) {
  patterns.add<DecomposeAttentionPattern, DecomposePackCacheRowsPattern>(
      patterns.getContext());
}
