// qnt-decompose-attention: qnt.attention as linalg ops over the live slice
// of the cache (for targets without a kernel of their own: the GPU).
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
} // namespace

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
  auto liveSlice = [&](Value cache) {
    return tensor::ExtractSliceOp::create(
        b, RankedTensorType::get({kDyn, kvHeads, hs}, f32), cache,
        ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0),
                               b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{live, b.getIndexAttr(kvHeads),
                               b.getIndexAttr(hs)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                               b.getIndexAttr(1)});
  };
  Value keys = liveSlice(op.getKeys()), values = liveSlice(op.getValues());
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
  float scale = op.getScale().convertToFloat();
  float negInf = -std::numeric_limits<float>::infinity();

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
        return arith::AddFOp::create(ib, a[2],
                                     arith::MulFOp::create(ib, a[0], a[1]));
      });
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
  Value probs = generic(
      b, scoresType, empty3(), ValueRange{exps, sums}, {id3, rowOf3, id3},
      par3, [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        return arith::DivFOp::create(ib, a[0], a[1]);
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
        return arith::AddFOp::create(ib, a[2],
                                     arith::MulFOp::create(ib, a[0], a[1]));
      });
  rewriter.replaceOp(op, out);
  return out;
}

namespace {
struct DecomposeAttentionPattern final : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    return decomposeAttention(rewriter, op);
  }
};

struct DecomposeAttention final
    : qnt::impl::QntDecomposeAttentionPassBase<DecomposeAttention> {
  using Base::Base;
  void runOnOperation() override {
    WalkResult quantized = getOperation()->walk([](AttentionOp op) {
      if (op.getCache() == CacheFormat::f32)
        return WalkResult::advance();
      op.emitOpError() << "qnt-decompose-attention reads f32 caches only, "
                          "not #qnt.cache_format<"
                       << stringifyCacheFormat(op.getCache()) << ">";
      return WalkResult::interrupt();
    });
    if (quantized.wasInterrupted())
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
  patterns.add<DecomposeAttentionPattern>(patterns.getContext());
}
