// qnt-decompose-attention: qnt.attention as linalg ops over the live slice
// of the cache, and qnt.pack_cache_rows as linalg ops (for targets without
// kernels of their own: the GPU).
#include "DecomposeAttention.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "qnt/Conversion/Common.h"
#include "qnt/Transforms/Passes.h"
#include "qnt/Transforms/Transforms.h"
#include <limits>

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTDECOMPOSEATTENTIONPASS
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;
using namespace mlir::qnt;
using namespace mlir::qnt::decompose;
using utils::IteratorType;

Value decompose::generic(ImplicitLocOpBuilder &b, RankedTensorType type,
                        Value init, ValueRange inputs,
                        ArrayRef<AffineMap> maps,
                        ArrayRef<IteratorType> iterators, BodyFn body) {
  return linalg::GenericOp::create(
             b, TypeRange{type}, inputs, ValueRange{init}, maps, iterators,
             [&](OpBuilder &ob, Location loc, ValueRange args) {
               ImplicitLocOpBuilder ib(loc, ob);
               linalg::YieldOp::create(ib, body(ib, args));
             })
      .getResult(0);
}

Value decompose::f32Const(ImplicitLocOpBuilder &b, float v) {
  return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
}

Value decompose::halfAt(ImplicitLocOpBuilder &b, Value bytes, Value row,
                        Value byte) {
  auto byteAt = [&](Value j) {
    return arith::ExtUIOp::create(
        b, b.getI16Type(),
        tensor::ExtractOp::create(b, bytes, ValueRange{row, j}));
  };
  Value low = byteAt(byte);
  Value next = b.createOrFold<arith::AddIOp>(
      byte, arith::ConstantIndexOp::create(b, 1));
  Value high = arith::ShLIOp::create(
      b, byteAt(next), arith::ConstantOp::create(b, b.getI16IntegerAttr(8)));
  return arith::BitcastOp::create(b, b.getF16Type(),
                                  arith::OrIOp::create(b, low, high));
}

namespace {
/// The f32 scales [n, KvH] of the i8 cache records `records` [S, bytes]
/// (the first n positions): each position's f16 step times each head's
/// multiplier byte.
Value rowScales(ImplicitLocOpBuilder &b, Value records, Value n,
                int64_t kvHeads, int64_t headSize) {
  MLIRContext *ctx = b.getContext();
  constexpr int64_t kDyn = ShapedType::kDynamic;
  I8PositionLayout record{kvHeads, headSize};
  auto scalesType = RankedTensorType::get({kDyn, kvHeads}, b.getF32Type());
  return generic(
      b, scalesType,
      tensor::EmptyOp::create(b, scalesType.getShape(), b.getF32Type(),
                              ValueRange{n}),
      ValueRange{}, {AffineMap::getMultiDimIdentityMap(2, ctx)},
      {IteratorType::parallel, IteratorType::parallel},
      [&](ImplicitLocOpBuilder &ib, ValueRange) -> Value {
        Value t = linalg::IndexOp::create(ib, 0);
        Value g = linalg::IndexOp::create(ib, 1);
        auto at = [&](int64_t j) {
          return arith::ConstantIndexOp::create(ib, j);
        };
        Value half = halfAt(ib, records, t, at(record.stepOffset()));
        Value multiplier = tensor::ExtractOp::create(
            ib, records,
            ValueRange{t, arith::AddIOp::create(
                              ib, g, at(record.multiplierOffset(0)))});
        return emitI8CacheScale(ib, half, multiplier);
      });
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
  int64_t kvHeads = op.getKvHeads(), seq = op.getCachePositions();
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
  bool i4 = op.getCache() == CacheFormat::i4;
  Type cacheElem = kType.getElementType();
  auto liveSlice = [&](Value cache) -> Value {
    auto rowsType = RankedTensorType::get({kDyn, kvHeads, hs}, cacheElem);
    if (!quantized)
      return tensor::ExtractSliceOp::create(
          b, rowsType, cache,
          ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0),
                                 b.getIndexAttr(0)},
          ArrayRef<OpFoldResult>{live, b.getIndexAttr(kvHeads),
                                 b.getIndexAttr(hs)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                                 b.getIndexAttr(1)});
    // The codes of the i8 records' heads, as rows.
    Value codes = tensor::ExtractSliceOp::create(
        b, RankedTensorType::get({kDyn, kvHeads * hs}, cacheElem), cache,
        ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{live, b.getIndexAttr(kvHeads * hs)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
    return tensor::ExpandShapeOp::create(
        b, rowsType, codes, ArrayRef<ReassociationIndices>{{0}, {1, 2}},
        ArrayRef<OpFoldResult>{live, b.getIndexAttr(kvHeads),
                               b.getIndexAttr(hs)});
  };
  // An i8 cache: the codes are read in place of the values, and each row's
  // scale multiplies the scores (keys) and the probabilities (values). An
  // i4 cache: each value decoded where it is read (readI4Cache), since
  // rows read a position from its block or its window by their own window
  // start.
  Value keys, values;
  if (!i4) {
    keys = liveSlice(op.getKeys());
    values = liveSlice(op.getValues());
  }
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
  std::optional<I4CacheLayout> layout;
  if (i4)
    layout = I4CacheLayout{static_cast<int64_t>(*op.getCacheBlock()),
                           static_cast<int64_t>(*op.getCacheWindow()), hs};
  // In a generic over (r, h, t, i): channel i of position t of the kv head
  // of query head h, as row r reads it, from `cache` or its inputs `a`.
  auto cacheValue = [&](ImplicitLocOpBuilder &ib, ValueRange a, Value cache,
                        Value recent) -> Value {
    if (!i4)
      return element(ib, a[1]);
    Value g = arith::DivUIOp::create(ib, linalg::IndexOp::create(ib, 1),
                                     arith::ConstantIndexOp::create(ib, group));
    return readI4Cache(ib, *layout, seq, cache, recent, pos,
                       linalg::IndexOp::create(ib, 0), linalg::IndexOp::create(ib, 2),
                       g, linalg::IndexOp::create(ib, 3));
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
  AffineMap cacheMap = AffineMap::get(4, 0, {t, h.floorDiv(group), i}, ctx);
  // The generic's inputs: `first`, then the cache's live slice (not for
  // an i4 cache, whose values readI4Cache reads).
  auto withCache = [&](Value first, Value cache) -> SmallVector<Value> {
    if (i4)
      return {first};
    return {first, cache};
  };
  auto mapsWithCache = [&](AffineMap first,
                           AffineMap result) -> SmallVector<AffineMap> {
    if (i4)
      return {first, result};
    return {first, cacheMap, result};
  };
  Value dots = generic(
      b, scoresType, filled(empty3(), 0.0f),
      withCache(op.getQuery(), keys),
      mapsWithCache(AffineMap::get(4, 0, {r, h, i}, ctx),
                    AffineMap::get(4, 0, {r, h, t}, ctx)),
      {IteratorType::parallel, IteratorType::parallel, IteratorType::parallel,
       IteratorType::reduction},
      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        Value k = cacheValue(ib, a, op.getKeys(), op.getRecentKeys());
        return arith::AddFOp::create(ib, a.back(),
                                     arith::MulFOp::create(ib, a[0], k));
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
      b, qType, filled(outInit, 0.0f), withCache(probs, values),
      mapsWithCache(AffineMap::get(4, 0, {r, h, t}, ctx),
                    AffineMap::get(4, 0, {r, h, i}, ctx)),
      {IteratorType::parallel, IteratorType::parallel, IteratorType::reduction,
       IteratorType::parallel},
      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        Value v = cacheValue(ib, a, op.getValues(), op.getRecentValues());
        return arith::AddFOp::create(ib, a.back(),
                                     arith::MulFOp::create(ib, a[0], v));
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
  // amax[t, h] = max_i |x[t, h, i]|, then each token's step u[t] (as f32)
  // from the largest: docs/BIT_LAYOUT.md, "KV cache rows".
  int64_t tokens = rowsType.getDimSize(0);
  auto amaxType = RankedTensorType::get({tokens, heads}, f32);
  auto stepType = RankedTensorType::get({tokens}, f32);
  auto zeros = [&](RankedTensorType type) {
    return linalg::FillOp::create(
               b, f32Const(b, 0.0f),
               ValueRange{tensor::EmptyOp::create(b, type.getShape(), f32,
                                                  dyn)})
        .getResult(0);
  };
  AffineExpr t, h, i;
  bindDims(ctx, t, h, i);
  Value amax = generic(
      b, amaxType, zeros(amaxType), ValueRange{op.getRows()},
      {AffineMap::get(3, 0, {t, h, i}, ctx), AffineMap::get(3, 0, {t, h}, ctx)},
      {IteratorType::parallel, IteratorType::parallel,
       IteratorType::reduction},
      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        return arith::MaximumFOp::create(ib, a[1],
                                         math::AbsFOp::create(ib, a[0]));
      });
  Value largest = generic(
      b, stepType, zeros(stepType), ValueRange{amax},
      {AffineMap::get(2, 0, {t, h}, ctx), AffineMap::get(2, 0, {t}, ctx)},
      {IteratorType::parallel, IteratorType::reduction},
      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        return arith::MaximumFOp::create(ib, a[1], a[0]);
      });
  Value steps = generic(
      b, stepType,
      tensor::EmptyOp::create(b, stepType.getShape(), f32, dyn),
      ValueRange{largest},
      {AffineMap::get(1, 0, {t}, ctx), AffineMap::get(1, 0, {t}, ctx)},
      {IteratorType::parallel},
      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        return arith::ExtFOp::create(ib, ib.getF32Type(),
                                     emitI8CacheStep(ib, a[0]));
      });
  // Byte j of token t's record: head j / D's code of x[t, j / D, j % D],
  // head j - KvH * D's multiplier, or byte j - KvH * (D + 1) of the step.
  I8PositionLayout record{heads, d};
  Value rows = op.getRows();
  Value packed = generic(
      b, resultType,
      tensor::EmptyOp::create(b, resultType.getShape(), b.getI8Type(), dyn),
      ValueRange{steps},
      {AffineMap::get(2, 0, {t}, ctx),
       AffineMap::getMultiDimIdentityMap(2, ctx)},
      {IteratorType::parallel, IteratorType::parallel},
      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        Value u = a[0];
        Value tok = linalg::IndexOp::create(ib, 0);
        Value j = linalg::IndexOp::create(ib, 1);
        auto at = [&](int64_t v) {
          return arith::ConstantIndexOp::create(ib, v);
        };
        Value codeBytes = at(record.multiplierOffset(0));
        Value isCode =
            arith::CmpIOp::create(ib, arith::CmpIPredicate::ult, j, codeBytes);
        Value isMultiplier = arith::CmpIOp::create(
            ib, arith::CmpIPredicate::ult, j, at(record.stepOffset()));
        // The head this byte belongs to (any valid one for step bytes).
        Value head = arith::SelectOp::create(
            ib, isCode, arith::DivUIOp::create(ib, j, at(d)),
            arith::MinUIOp::create(
                ib, arith::SubIOp::create(ib, j, codeBytes), at(heads - 1)));
        Value mult = emitI8CacheMultiplier(
            ib, tensor::ExtractOp::create(ib, amax, ValueRange{tok, head}),
            u);
        Value x = tensor::ExtractOp::create(
            ib, rows,
            ValueRange{tok, head,
                       arith::RemUIOp::create(
                           ib, arith::MinUIOp::create(ib, j, at(heads * d - 1)),
                           at(d))});
        Value q = math::RoundEvenOp::create(
            ib, arith::MulFOp::create(ib, x, emitI8CacheInverse(ib, u, mult)));
        q = arith::MinimumFOp::create(
            ib, arith::MaximumFOp::create(ib, q, f32Const(ib, -127.0f)),
            f32Const(ib, 127.0f));
        Value code = arith::FPToSIOp::create(ib, ib.getI8Type(), q);
        Value multByte = arith::FPToUIOp::create(ib, ib.getI8Type(), mult);
        Value stepBits = arith::ExtUIOp::create(
            ib, ib.getI32Type(),
            arith::BitcastOp::create(
                ib, ib.getI16Type(),
                arith::TruncFOp::create(ib, ib.getF16Type(), u)));
        Value shift = arith::MulIOp::create(
            ib,
            arith::IndexCastOp::create(
                ib, ib.getI32Type(),
                arith::SubIOp::create(
                    ib, arith::MaxUIOp::create(ib, j, at(record.stepOffset())),
                    at(record.stepOffset()))),
            arith::ConstantOp::create(ib, ib.getI32IntegerAttr(8)));
        Value stepByte = arith::TruncIOp::create(
            ib, ib.getI8Type(), arith::ShRUIOp::create(ib, stepBits, shift));
        return arith::SelectOp::create(
            ib, isCode, code,
            arith::SelectOp::create(ib, isMultiplier, multByte, stepByte));
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


struct DecomposePackWindowRowsPattern final
    : OpRewritePattern<PackWindowRowsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PackWindowRowsOp op,
                                PatternRewriter &rewriter) const override {
    return decomposePackWindowRows(rewriter, op);
  }
};

struct DecomposePackCacheBlocksPattern final
    : OpRewritePattern<PackCacheBlocksOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PackCacheBlocksOp op,
                                PatternRewriter &rewriter) const override {
    return decomposePackCacheBlocks(rewriter, op);
  }
};

struct DecomposeAttention final
    : qnt::impl::QntDecomposeAttentionPassBase<DecomposeAttention> {
  using Base::Base;
  void runOnOperation() override {
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
  patterns.add<DecomposeAttentionPattern, DecomposePackCacheRowsPattern,
               DecomposePackWindowRowsPattern,
               DecomposePackCacheBlocksPattern>(patterns.getContext());
}
