// qnt-fuse-dequant-matmul: a linear layer whose weight comes from
// qnt.dequantize becomes one qnt.matmul on the packed weight.
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "qnt/IR/QntOps.h"
#include "qnt/Transforms/LinearLayer.h"
#include "qnt/Transforms/Passes.h"
#include "qnt/Transforms/Transforms.h"

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTFUSEDEQUANTMATMULPASS
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;
using namespace mlir::qnt;

/// The tensor a 2-D transpose reads, if `value` is produced by one
/// (linalg.transpose with permutation [1, 0], or a linalg.generic that only
/// copies its input through transposed indexing maps).
static Value transposeSource(Value value) {
  if (auto transpose = value.getDefiningOp<linalg::TransposeOp>()) {
    if (transpose.getPermutation() == ArrayRef<int64_t>{1, 0})
      return transpose.getInput();
    return {};
  }
  auto generic = value.getDefiningOp<linalg::GenericOp>();
  if (!generic || generic.getNumDpsInputs() != 1 ||
      generic.getNumDpsInits() != 1 || generic.getNumLoops() != 2 ||
      generic.getNumReductionLoops() != 0)
    return {};
  Block &body = generic.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (body.getOperations().size() != 1 ||
      yield.getValues().front() != body.getArgument(0))
    return {};
  MLIRContext *ctx = generic.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap swapped = AffineMap::getPermutationMap(ArrayRef<unsigned>{1, 0}, ctx);
  SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
  if ((maps[0] == swapped && maps[1] == identity) ||
      (maps[0] == identity && maps[1] == swapped))
    return generic.getDpsInputOperand(0)->get();
  return {};
}

/// True when the accumulator starts at +0.0 everywhere, so dropping it is
/// exact (qnt.matmul accumulates from +0.0).
static bool isZeroInit(Value init) {
  if (auto fill = init.getDefiningOp<linalg::FillOp>())
    return matchPattern(fill.getInputs()[0], m_PosZeroFloat());
  return matchPattern(init, m_PosZeroFloat());
}

FailureOr<MatmulOp> qnt::fuseDequantIntoMatmul(RewriterBase &rewriter,
                                               linalg::LinalgOp op) {
  for (unsigned w : {1u, 0u}) {
    FailureOr<LinearLayer> layer = matchLinearLayer(op, w);
    if (failed(layer))
      continue;
    Value weight = op.getDpsInputOperand(w)->get();
    Value source = layer->weightIsKN ? transposeSource(weight) : weight;
    auto dequant = source ? source.getDefiningOp<DequantizeOp>() : nullptr;
    if (!dequant)
      continue;
    if (!layer->matchesQntMatmul)
      return rewriter.notifyMatchFailure(
          op, "x must be [..., M, K] and the result [..., M, N]");
    PackedType packed = dequant.getInput().getType();
    SchemeAttr scheme = packed.getScheme();
    if (packed.getShape() != ArrayRef<int64_t>{layer->n, layer->k})
      return rewriter.notifyMatchFailure(op, "packed weight is not [N, K]");
    if ((scheme.getGranularity() == Granularity::per_group &&
         scheme.getAxis() != 1) ||
        (scheme.getGranularity() == Granularity::per_channel &&
         scheme.getAxis() != 0))
      return rewriter.notifyMatchFailure(
          op, "scales must be per group along K or per output channel");
    Value x = op.getDpsInputOperand(layer->inputIndex)->get();
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    if (cast<RankedTensorType>(x.getType()).getElementType() !=
        resultType.getElementType())
      return rewriter.notifyMatchFailure(
          op, "x and the result have different element types");

    Location loc = op.getLoc();
    Value init = op.getDpsInitOperand(0)->get();
    auto matmul = MatmulOp::create(rewriter, loc, resultType, x,
                                   dequant.getInput(), Value());
    Value result = matmul.getResult();
    if (!isZeroInit(init))
      result = linalg::AddOp::create(rewriter, loc, ValueRange{result, init},
                                     ValueRange{init})
                   ->getResult(0);
    rewriter.replaceOp(op, result);
    return matmul;
  }
  return rewriter.notifyMatchFailure(
      op, "not a linear layer whose weight comes from qnt.dequantize");
}

namespace {
struct FuseDequantMatmulPattern final
    : OpInterfaceRewritePattern<linalg::LinalgOp> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;
  LogicalResult matchAndRewrite(linalg::LinalgOp op,
                                PatternRewriter &rewriter) const override {
    return fuseDequantIntoMatmul(rewriter, op);
  }
};

struct FuseDequantMatmul final
    : qnt::impl::QntFuseDequantMatmulPassBase<FuseDequantMatmul> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFuseDequantMatmulPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace

void qnt::populateFuseDequantMatmulPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseDequantMatmulPattern>(patterns.getContext());
}
