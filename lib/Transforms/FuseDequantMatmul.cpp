// qnt-fuse-dequant-matmul: a linear layer whose weight comes from
// qnt.dequantize becomes one qnt.matmul on the packed weight.
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "qnt/IR/QntOps.h"
#include "qnt/Transforms/ConstantBytes.h"
#include "qnt/Transforms/LinearLayer.h"
#include "qnt/Transforms/Passes.h"
#include "qnt/Transforms/Transforms.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "qnt/Support/Quantizer.h"
#include "llvm/ADT/ScopeExit.h"
#include <cstring>

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTFUSEDEQUANTMATMULPASS
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;
using namespace mlir::qnt;

/// The tensor a 2-D transpose reads, if `value` is produced by one
/// (linalg.transpose with permutation [1, 0], or a linalg.generic that only
/// copies its input through transposed indexing maps); else null.
static Value transposeSource(Value value) {
  if (auto transpose = value.getDefiningOp<linalg::TransposeOp>()) {
    if (transpose.getPermutation() == ArrayRef<int64_t>{1, 0})
      return transpose.getInput();
    return {};
  }
  auto generic = value.getDefiningOp<linalg::GenericOp>();
  if (!generic || generic.getNumDpsInputs() != 1 ||
      generic.getNumDpsInits() != 1 || generic.getNumLoops() != 2 ||
      generic.getNumParallelLoops() != 2)
    return {};
  Block &body = generic.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (body.getOperations().size() != 1 ||
      yield.getValues().front() != body.getArgument(0))
    return {};
  MLIRContext *ctx = generic.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap swapped =
      AffineMap::getPermutationMap(ArrayRef<unsigned>{1, 0}, ctx);
  SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
  if ((maps[0] == swapped && maps[1] == identity) ||
      (maps[0] == identity && maps[1] == swapped))
    return generic.getDpsInputOperand(0)->get();
  return {};
}

/// True when the accumulator may be dropped because qnt.matmul, which
/// accumulates from +0.0, gives the same result: it is +0.0 everywhere
/// (a +0.0 fill or splat; -0.0 is not, since -0.0 + -0.0 stays -0.0), or
/// tensor.empty, whose contents are unspecified and so may be taken as +0.0.
static bool isDroppableInit(Value init) {
  if (init.getDefiningOp<tensor::EmptyOp>())
    return true;
  if (auto fill = init.getDefiningOp<linalg::FillOp>())
    return matchPattern(fill.getInputs()[0], m_PosZeroFloat());
  return matchPattern(init, m_PosZeroFloat());
}

namespace {
/// A linear layer that qnt.matmul can compute from a dequantized weight.
struct Fusion {
  LinearLayer layer;
  DequantizeOp dequant;
};
} // namespace

/// The qnt.dequantize whose [N, K] result `layer` reads as its weight, or
/// the reason there is none that qnt.matmul can take.
static FailureOr<DequantizeOp> matchDequantWeight(LinearLayer layer,
                                                  std::string &reason) {
  Value weight = layer.op.getDpsInputOperand(layer.weightIndex)->get();
  // A [K, N] operand must be a transpose of the [N, K] dequantized tensor;
  // a [K, N] packed weight would need its codes transposed.
  Value source = layer.weightIsKN ? transposeSource(weight) : weight;
  auto dequant = source ? source.getDefiningOp<DequantizeOp>() : nullptr;
  if (!dequant) {
    reason = layer.weightIsKN ? "weight [K, N] is not a 2-D transpose of a "
                                "qnt.dequantize result"
                              : "weight is not produced by qnt.dequantize";
    return failure();
  }
  PackedType packed = dequant.getInput().getType();
  if (packed.getShape() != ArrayRef<int64_t>{layer.n, layer.k}) {
    reason = "packed weight is not [N, K]";
    return failure();
  }
  SchemeAttr scheme = packed.getScheme();
  if ((scheme.getGranularity() == Granularity::per_group &&
       scheme.getAxis() != 1) ||
      (scheme.getGranularity() == Granularity::per_channel &&
       scheme.getAxis() != 0)) {
    reason = "scales must run per group along K (axis 1), per output channel "
             "(axis 0) or per tensor";
    return failure();
  }
  if (!layer.matchesQntMatmul) {
    reason = "x must be [..., M, K] with K innermost and the result "
             "[..., M, N]";
    return failure();
  }
  if (scheme.hasOffsets() && !dequant.getInput().getDefiningOp<ConstantOp>()) {
    reason = "a weight with offsets must be a qnt.constant (its codes and "
             "scales become the qnt.matmul's weight)";
    return failure();
  }
  return dequant;
}

/// Matches `op` as a linear layer on a dequantized weight whose x and result
/// types qnt.matmul accepts; else sets `reason`.
static FailureOr<Fusion> matchFusion(linalg::LinalgOp op, std::string &reason) {
  // The weight is the second input of matmul, batch_matmul and vecmat and
  // the first of matvec; a generic may have it on either side.
  for (unsigned w : {1u, 0u}) {
    FailureOr<LinearLayer> layer = matchLinearLayer(op, w);
    if (failed(layer))
      continue;
    FailureOr<DequantizeOp> dequant = matchDequantWeight(*layer, reason);
    if (failed(dequant))
      continue;
    Value x = op.getDpsInputOperand(layer->inputIndex)->get();
    auto xType = cast<RankedTensorType>(x.getType());
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    Type elementType = xType.getElementType();
    if (!isa<Float32Type, Float16Type, BFloat16Type>(elementType) ||
        resultType.getElementType() != elementType) {
      reason = "x and the result must have the same element type, f32, f16 "
               "or bf16";
      continue;
    }
    if (xType.getEncoding() || resultType.getEncoding()) {
      reason = "x or the result has a tensor encoding";
      continue;
    }
    if (dequant->getInput().getType().getScheme().hasOffsets() &&
        !elementType.isF32()) {
      reason = "a weight with offsets needs f32 x";
      continue;
    }
    return Fusion{*layer, *dequant};
  }
  return failure();
}

/// For unsigned codes with offsets (llama.cpp's Q4_1, Q5_1, K-quants):
/// the same weight with centered, signed codes c - 2^(b-1) (the bytes with
/// each field's top bit flipped) and the offsets o + scale * 2^(b-1) in
/// f32, made at compile time. The value s * c + o is unchanged, but the
/// int8-activation kernels round x once for the codes' products while the
/// offsets' products use x as it is: with codes all >= 0 that rounding
/// error would not cancel as it does for centered codes (measured on a
/// random Q4_1 model: 2.6% of the largest logit against 1.0% for Q4_0).
/// None when a payload cannot be read (a missing blob).
static std::optional<std::pair<Value, Value>>
centerOffsetCodes(RewriterBase &rewriter, ConstantOp constant) {
  PackedType type = constant.getType();
  SchemeAttr s = type.getScheme();
  if (s.isSigned() || type.getRank() != 2)
    return std::nullopt;
  std::vector<char> codeStorage, scaleStorage, offsetStorage;
  std::optional<ArrayRef<char>> codes =
      getElementsBytes(constant.getCodes(), codeStorage);
  std::optional<ArrayRef<char>> scales =
      getElementsBytes(constant.getScales(), scaleStorage);
  std::optional<ArrayRef<char>> offsets =
      getElementsBytes(*constant.getOffsets(), offsetStorage);
  SmallVector<int64_t> scalesShape = type.getScalesShape();
  int64_t count = scalesShape[0] * scalesShape[1];
  int64_t scaleBytes = s.getScaleType().isF32() ? 4 : 2;
  int64_t rows = type.getShape()[0], k = type.getShape()[1];
  int64_t rowBytes = type.getCodesShape().back();
  unsigned bits = s.getBits();
  if (!codes || !scales || !offsets ||
      static_cast<int64_t>(codes->size()) != rows * rowBytes ||
      static_cast<int64_t>(scales->size()) != count * scaleBytes ||
      offsets->size() != scales->size())
    return std::nullopt;

  // Field i of a row holds bits [i*b, (i+1)*b); flipping its top bit turns
  // the unsigned c into the two's complement field of c - 2^(b-1).
  AsmResourceBlob flipped = HeapAsmResourceBlob::allocateAndCopyWithAlign(
      *codes, alignof(uint64_t), /*dataIsMutable=*/true);
  MutableArrayRef<char> out = flipped.getMutableData();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < k; ++i) {
      int64_t bit = i * bits + bits - 1;
      out[r * rowBytes + bit / 8] ^= static_cast<char>(1u << (bit % 8));
    }
  AsmResourceBlob wide = HeapAsmResourceBlob::allocate(
      count * sizeof(float), alignof(float), /*dataIsMutable=*/true);
  auto *centered = reinterpret_cast<float *>(wide.getMutableData().data());
  float half = static_cast<float>(1u << (bits - 1));
  for (int64_t i = 0; i < count; ++i)
    centered[i] = readFloatElement(offsets->data(), i, s.getScaleType()) +
                  readFloatElement(scales->data(), i, s.getScaleType()) * half;

  MLIRContext *ctx = rewriter.getContext();
  std::string name = "offset_weight";
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getCodes()))
    name = resource.getRawHandle().getKey().str();
  auto codesAttr = DenseResourceElementsAttr::get(
      cast<ShapedType>(constant.getCodes().getType()), name + ".centered",
      std::move(flipped));
  auto offsetsAttr = DenseResourceElementsAttr::get(
      RankedTensorType::get(scalesShape, rewriter.getF32Type()),
      name + ".centered_offsets", std::move(wide));
  auto scheme = SchemeAttr::get(ctx, Format::si, bits, Mode::symmetric,
                                s.getGranularity(), s.getAxis(),
                                s.getGroupSize(), s.getScaleType());
  Value weight = ConstantOp::create(
      rewriter, constant.getLoc(), PackedType::get(ctx, type.getShape(), scheme),
      codesAttr, constant.getScales(), ElementsAttr(), ElementsAttr());
  Value offsetValues =
      arith::ConstantOp::create(rewriter, constant.getLoc(), offsetsAttr);
  return std::make_pair(weight, offsetValues);
}

/// The weight of an offset scheme as qnt.matmul takes it and its offsets as
/// an f32 tensor of the scales' shape: unsigned codes centered when their
/// payloads can be read (centerOffsetCodes), else the same codes and scales,
/// symmetric (scale * code), and the offsets as they are.
static std::pair<Value, Value> splitOffsets(RewriterBase &rewriter,
                                            Location loc, ConstantOp constant) {
  PackedType type = constant.getType();
  SchemeAttr s = type.getScheme();
  MLIRContext *ctx = rewriter.getContext();
  if (std::optional<std::pair<Value, Value>> centered =
          centerOffsetCodes(rewriter, constant))
    return *centered;
  auto scheme =
      SchemeAttr::get(ctx, s.getFormat(), s.getBits(), Mode::symmetric,
                      s.getGranularity(), s.getAxis(), s.getGroupSize(),
                      s.getScaleType());
  auto symmetric = PackedType::get(ctx, type.getShape(), scheme);
  Value weight = ConstantOp::create(rewriter, constant.getLoc(), symmetric,
                                    constant.getCodes(), constant.getScales(),
                                    ElementsAttr(), ElementsAttr());
  Value offsets = arith::ConstantOp::create(
      rewriter, constant.getLoc(), cast<TypedAttr>(*constant.getOffsets()));
  auto offsetsType = cast<RankedTensorType>(offsets.getType());
  if (!offsetsType.getElementType().isF32())
    offsets = arith::ExtFOp::create(
        rewriter, constant.getLoc(),
        RankedTensorType::get(offsetsType.getShape(), rewriter.getF32Type()),
        offsets);
  return {weight, offsets};
}

/// `result` plus the part of x * W^T that W's offsets contribute: with G
/// groups along K (1 for per-channel or per-tensor scales), the sums of x
/// over each group, xs[..., M, G], times the offsets [N or 1, G] along G.
/// Both are linalg.generic ops on f32; the contraction is marked
/// qnt.keep_float so that no quantizer takes the offsets for a weight.
static Value addOffsetProducts(RewriterBase &rewriter, Location loc, Value x,
                               Value offsets, Value result, PackedType type) {
  MLIRContext *ctx = rewriter.getContext();
  auto xType = cast<RankedTensorType>(x.getType());
  int64_t rank = xType.getRank(), k = xType.getShape().back();
  auto offsetsShape = cast<RankedTensorType>(offsets.getType()).getShape();
  int64_t rowsOfOffsets = offsetsShape[0], groups = offsetsShape[1];
  int64_t n = type.getShape()[0];
  Type f32 = rewriter.getF32Type();
  auto dynamicSizes = [&](Value t, int64_t count) {
    SmallVector<Value> sizes;
    for (int64_t i = 0; i < count; ++i)
      if (cast<RankedTensorType>(t.getType()).isDynamicDim(i))
        sizes.push_back(tensor::DimOp::create(rewriter, loc, t, i));
    return sizes;
  };
  auto zeros = [&](ArrayRef<int64_t> shape, ValueRange sizes) {
    Value empty = tensor::EmptyOp::create(rewriter, loc, shape, f32, sizes);
    Value zero = arith::ConstantOp::create(rewriter, loc,
                                           rewriter.getF32FloatAttr(0.0f));
    return linalg::FillOp::create(rewriter, loc, zero, empty).getResult(0);
  };
  auto mulAdd = [](OpBuilder &b, Location l, ValueRange a) {
    Value product = arith::MulFOp::create(b, l, a[0], a[1]);
    linalg::YieldOp::create(b, l,
                            ValueRange{arith::AddFOp::create(b, l, a[2],
                                                             product)});
  };
  auto sum = [](OpBuilder &b, Location l, ValueRange a) {
    linalg::YieldOp::create(b, l,
                            ValueRange{arith::AddFOp::create(b, l, a[1], a[0])});
  };
  SmallVector<Value> leadSizes = dynamicSizes(x, rank - 1);

  // xs[..., g] = sum_j x[..., g * (K / G) + j], over x viewed as
  // [..., G, K / G].
  SmallVector<int64_t> grouped(xType.getShape().drop_back());
  grouped.append({groups, k / groups});
  SmallVector<ReassociationIndices> reassociation;
  for (int64_t i = 0; i < rank - 1; ++i)
    reassociation.push_back({i});
  reassociation.push_back({rank - 1, rank});
  SmallVector<OpFoldResult> groupedSizes;
  for (int64_t i = 0, dyn = 0; i < rank - 1; ++i)
    groupedSizes.push_back(xType.isDynamicDim(i)
                               ? OpFoldResult(leadSizes[dyn++])
                               : OpFoldResult(rewriter.getIndexAttr(
                                     xType.getDimSize(i))));
  groupedSizes.push_back(rewriter.getIndexAttr(groups));
  groupedSizes.push_back(rewriter.getIndexAttr(k / groups));
  Value xg = tensor::ExpandShapeOp::create(
      rewriter, loc, RankedTensorType::get(grouped, f32), x, reassociation,
      groupedSizes);
  SmallVector<int64_t> sumsShape(xType.getShape().drop_back());
  sumsShape.push_back(groups);
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  iters.push_back(utils::IteratorType::reduction);
  Value sums =
      linalg::GenericOp::create(
          rewriter, loc, TypeRange{RankedTensorType::get(sumsShape, f32)},
          ValueRange{xg}, ValueRange{zeros(sumsShape, leadSizes)},
          ArrayRef<AffineMap>{
              AffineMap::getMultiDimIdentityMap(rank + 1, ctx),
              AffineMap::getMultiDimIdentityMap(rank + 1, ctx).dropResult(
                  rank)},
          iters, sum)
          .getResult(0);

  // corr[..., n] = sum_g xs[..., g] * offsets[n (or 0), g]; loops
  // (lead..., n, g).
  SmallVector<int64_t> outShape(xType.getShape().drop_back());
  outShape.push_back(n);
  SmallVector<AffineExpr> lead;
  for (int64_t i = 0; i < rank - 1; ++i)
    lead.push_back(rewriter.getAffineDimExpr(i));
  AffineExpr nDim = rewriter.getAffineDimExpr(rank - 1);
  AffineExpr gDim = rewriter.getAffineDimExpr(rank);
  SmallVector<AffineExpr> sumsMap(lead), outMap(lead);
  sumsMap.push_back(gDim);
  outMap.push_back(nDim);
  AffineExpr row =
      rowsOfOffsets == 1 ? rewriter.getAffineConstantExpr(0) : nDim;
  SmallVector<utils::IteratorType> corrIters(rank,
                                             utils::IteratorType::parallel);
  corrIters.push_back(utils::IteratorType::reduction);
  auto correction = linalg::GenericOp::create(
      rewriter, loc, TypeRange{RankedTensorType::get(outShape, f32)},
      ValueRange{sums, offsets}, ValueRange{zeros(outShape, leadSizes)},
      ArrayRef<AffineMap>{AffineMap::get(rank + 1, 0, sumsMap, ctx),
                          AffineMap::get(rank + 1, 0, {row, gDim}, ctx),
                          AffineMap::get(rank + 1, 0, outMap, ctx)},
      corrIters, mulAdd);
  correction->setAttr("qnt.keep_float", rewriter.getUnitAttr());
  return linalg::AddOp::create(rewriter, loc, ValueRange{result,
                                                          correction.getResult(0)},
                               ValueRange{zeros(outShape, leadSizes)})
      ->getResult(0);
}

/// Replaces `op` by the qnt.matmul that `fusion` describes (plus the add of
/// a non-zero accumulator). `fusion` may describe a detached copy of `op`
/// with the same x and init.
static MatmulOp replaceByMatmul(RewriterBase &rewriter, linalg::LinalgOp op,
                                Fusion fusion) {
  LinearLayer layer = fusion.layer;
  Value x = op.getDpsInputOperand(layer.inputIndex)->get();
  auto xType = cast<RankedTensorType>(x.getType());
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  Type elementType = xType.getElementType();

  // qnt.matmul wants a static K in x and the same leading dimensions in x
  // and the result. The linalg op already guarantees that the sizes agree
  // at run time, so refine x and the result by tensor.cast where one side
  // knows a size the other leaves dynamic.
  SmallVector<int64_t> shape;
  for (int64_t i = 0, e = xType.getRank() - 1; i < e; ++i) {
    int64_t size = xType.getDimSize(i);
    shape.push_back(ShapedType::isDynamic(size) ? resultType.getDimSize(i)
                                                : size);
  }
  shape.push_back(layer.k);
  auto castXType = RankedTensorType::get(shape, elementType);
  shape.back() = layer.n;
  auto matmulType = RankedTensorType::get(shape, elementType);

  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  if (castXType != xType)
    x = tensor::CastOp::create(rewriter, loc, castXType, x);
  Value weight = fusion.dequant.getInput();
  Value offsets;
  if (cast<PackedType>(weight.getType()).getScheme().hasOffsets())
    std::tie(weight, offsets) = splitOffsets(
        rewriter, loc, weight.getDefiningOp<ConstantOp>());
  auto matmul = MatmulOp::create(rewriter, loc, matmulType, x, weight,
                                 Value());
  Value result = matmul.getResult();
  if (offsets)
    result = addOffsetProducts(rewriter, loc, x, offsets, result,
                               cast<PackedType>(weight.getType()));
  if (matmulType != resultType)
    result = tensor::CastOp::create(rewriter, loc, resultType, result);
  Value init = op.getDpsInitOperand(0)->get();
  if (!isDroppableInit(init))
    result = linalg::AddOp::create(rewriter, loc, ValueRange{result, init},
                                   ValueRange{init})
                 ->getResult(0);
  // The dequantize (and transpose) stay for their other users; the greedy
  // driver erases them once this was their last one.
  rewriter.replaceOp(op, result);
  return matmul;
}

/// The rank-2 tensor that `value` repeats along new dimensions, if it is
/// produced by linalg.broadcast or by a tensor.expand_shape that only adds
/// unit dimensions; `added` gets the positions of the new dimensions.
static Value repeatedSource(Value value, SmallVectorImpl<int64_t> &added) {
  added.clear();
  if (auto broadcast = value.getDefiningOp<linalg::BroadcastOp>()) {
    if (broadcast.getInput().getType().getRank() != 2)
      return {};
    llvm::append_range(added, broadcast.getDimensions());
    return broadcast.getInput();
  }
  auto expand = value.getDefiningOp<tensor::ExpandShapeOp>();
  if (!expand || expand.getSrcType().getRank() != 2)
    return {};
  ArrayRef<int64_t> shape = expand.getResultType().getShape();
  for (const ReassociationIndices &group : expand.getReassociationIndices()) {
    // Each source dimension becomes its group's one non-unit dimension (or,
    // if all are 1, any of them: all are indexed by 0 only).
    std::optional<int64_t> kept;
    for (int64_t d : group) {
      if (shape[d] == 1)
        continue;
      if (kept)
        return {};
      kept = d;
    }
    if (!kept)
      kept = group.back();
    for (int64_t d : group)
      if (d != *kept)
        added.push_back(d);
  }
  return expand.getSrc();
}

/// A detached linalg.generic equal to `op` but reading `source` as input
/// `input`, whose indexing map drops the results at `added`.
static linalg::GenericOp cloneReading(linalg::LinalgOp op, unsigned input,
                                      Value source, ArrayRef<int64_t> added) {
  OpBuilder builder(op.getContext()); // no insertion point: detached
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  maps[input] = maps[input].dropResults(added);
  SmallVector<Value> inputs(op.getDpsInputs());
  inputs[input] = source;
  auto generic = linalg::GenericOp::create(
      builder, op.getLoc(), op->getResultTypes(), inputs, op.getDpsInits(),
      maps, op.getIteratorTypesArray());
  IRMapping mapping;
  op->getRegion(0).cloneInto(&generic.getRegion(), mapping);
  return generic;
}

FailureOr<MatmulOp> qnt::fuseDequantIntoMatmul(RewriterBase &rewriter,
                                               linalg::LinalgOp op) {
  std::string reason = "not a linear layer (see matchLinearLayer)";
  FailureOr<Fusion> fusion = matchFusion(op, reason);
  if (succeeded(fusion))
    return replaceByMatmul(rewriter, op, *fusion);

  // A weight repeated along batch dimensions (a rank-3 operand) is no
  // linear layer itself; the same contraction reading the repeated [N, K]
  // tensor directly may be. Match a detached copy that does so.
  for (unsigned i = 0, e = op.getNumDpsInputs(); i < e && e == 2; ++i) {
    SmallVector<int64_t> added;
    Value source = repeatedSource(op.getDpsInputOperand(i)->get(), added);
    if (!source)
      continue;
    // Every dropped index must still be a loop of the output, so that no
    // loop is left without a bound and none that repeats work is dropped.
    AffineMap map = op.getMatchingIndexingMap(op.getDpsInputOperand(i));
    AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
    if (!llvm::all_of(added, [&](int64_t r) {
          auto dim = dyn_cast<AffineDimExpr>(map.getResult(r));
          return dim && outMap.isFunctionOfDim(dim.getPosition());
        }))
      continue;
    linalg::GenericOp copy = cloneReading(op, i, source, added);
    llvm::scope_exit eraseCopy([&] { copy->erase(); });
    fusion = matchFusion(copy, reason);
    if (succeeded(fusion) && fusion->layer.weightIndex == i)
      return replaceByMatmul(rewriter, op, *fusion);
  }
  return rewriter.notifyMatchFailure(op, reason);
}

namespace {
/// Rewrites linear layers on dequantized weights into qnt.matmul.
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
