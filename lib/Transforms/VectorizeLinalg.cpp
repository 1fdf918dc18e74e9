// qnt-vectorize-linalg: the linalg ops of a bufferized function (everything
// but the qnt kernels) tiled and turned into vector ops for the host CPU.
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SmallBitVector.h"
#include "qnt/IR/QntOps.h"
#include "qnt/Transforms/Passes.h"

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTVECTORIZELINALGPASS
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;

namespace {
/// Tile sizes for `op` (0: dimension not tiled) with vectors of `width`
/// lanes, or nothing when the op is not worth or not able to be vectorized.
std::optional<SmallVector<int64_t>> chooseTileSizes(linalg::LinalgOp op,
                                                    int64_t width) {
  // Loop ranges come from operand shapes; a loop that no operand dimension
  // gives alone (only inside `d floordiv 2`, say) has none.
  if (!op.getShapesToLoopsMap())
    return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  unsigned rank = ranges.size();
  if (rank == 0)
    return std::nullopt;
  // Dynamic loops (the rows of a prompt) are tiled by 1, so their tiles
  // are static, unless innermost or a reduction's lanes (below), where
  // peeling leaves the full tiles static and a dynamic remainder.
  bool dynamic = llvm::any_of(ranges, ShapedType::isDynamic);
  // Loops used inside a non-trivial index (attention's key head
  // `h floordiv group`) are tiled by 1; in the tile the index is then a
  // constant (see pinUnitLoops) and the maps are ones the vectorizer takes.
  llvm::SmallBitVector pinned(rank);
  for (AffineMap map : op.getIndexingMapsArray())
    for (AffineExpr result : map.getResults())
      if (!isa<AffineDimExpr, AffineConstantExpr>(result))
        result.walk([&](AffineExpr e) {
          if (auto dim = dyn_cast<AffineDimExpr>(e))
            pinned.set(dim.getPosition());
        });
  // The vectorizer's own checks on the whole op: a body it cannot handle
  // (a gather through memref.load, calls) stays scalar. Checking before
  // tiling means no loops are made for nothing.
  // (With pinned loops the check waits for the tile.)
  if (pinned.none() && !dynamic &&
      failed(linalg::vectorizeOpPrecondition(op)))
    return std::nullopt;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  SmallVector<int64_t> tiles(rank, 1);
  unsigned inner = rank - 1;
  if (iterators[inner] == utils::IteratorType::parallel) {
    // Elementwise ops and fills: one vector per tile along the innermost
    // (contiguous) dimension.
    tiles[inner] = width;
  } else {
    // A reduction along the innermost dimension. With an outer parallel
    // dimension of at least `width` iterations (attention's scores[h, t] =
    // sum_i q[h, i] k[t, i]) or a dynamic one (the rows of a prompt:
    // RMSNorm's sums of squares), a width x width block whose
    // multi_reduction is lowered across rows: each lane accumulates one
    // output, in order. (A dynamic loop's last partial tile, and so all of
    // a decoding step's one row, is a scalar loop that adds in the same
    // order.) Otherwise (a whole row to one value: softmax) chunks of the
    // row, each reduced in order onto the accumulator.
    std::optional<unsigned> lanes;
    for (unsigned d = inner; d-- > 0;)
      if (iterators[d] == utils::IteratorType::parallel &&
          (ranges[d] >= width || ShapedType::isDynamic(ranges[d])) &&
          !pinned.test(d)) {
        lanes = d;
        break;
      }
    if (lanes) {
      tiles[*lanes] = width;
      tiles[inner] = width;
    } else {
      tiles[inner] = 4 * width;
    }
  }
  if (pinned.test(inner))
    return std::nullopt; // a tile of one element is no vector
  for (unsigned d : pinned.set_bits())
    tiles[d] = 1;
  // A tile covering the whole dimension needs no loop.
  for (unsigned d = 0; d < rank; ++d)
    if (!ShapedType::isDynamic(ranges[d]) && tiles[d] >= ranges[d])
      tiles[d] = 0;
  return tiles;
}

/// Iterations a dynamic loop is taken to have when weighing threads: the
/// dynamic loops of a model are the rows of a prompt, which prefill feeds
/// in chunks of up to 128 tokens.
constexpr int64_t kAssumedDynamicRange = 128;

/// Whether `op` is worth splitting across threads (2^16 iterations or more,
/// a dynamic loop taken as kAssumedDynamicRange: the float matmuls of a
/// model and its elementwise ops over a prompt, not those on one row) and
/// `tiles` leave no partial tile in its parallel loops (a parallel loop
/// cannot be peeled; a partial tile would stay scalar).
bool worthThreads(linalg::LinalgOp op, ArrayRef<int64_t> tiles) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  int64_t work = 1;
  for (auto [range, tile, iterator] : llvm::zip(ranges, tiles, iterators)) {
    if (ShapedType::isDynamic(range)) {
      // Every tile of a parallel loop over a dynamic range by more than 1
      // has a dynamic size, which would stay scalar.
      if (tile > 1)
        return false;
      work *= kAssumedDynamicRange;
      continue;
    }
    work *= range;
    if (iterator == utils::IteratorType::parallel && tile > 1 &&
        range % tile != 0)
      return false;
  }
  return work >= (int64_t(1) << 16);
}

/// In a linalg.generic, a loop with one iteration only ever has index 0:
/// writes 0 for it inside the compound results of the indexing maps, so
/// `d0 floordiv 2` of a tile with one head becomes 0 (a projected
/// permutation with a constant result).
void pinUnitLoops(linalg::LinalgOp op) {
  auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
  if (!generic)
    return;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  MLIRContext *ctx = op->getContext();
  SmallVector<AffineExpr> replacements;
  for (unsigned d = 0; d < ranges.size(); ++d)
    replacements.push_back(ranges[d] == 1 ? getAffineConstantExpr(0, ctx)
                                          : getAffineDimExpr(d, ctx));
  // Plain dimensions stay: they tie each loop to an operand's shape.
  SmallVector<Attribute> maps;
  for (AffineMap map : op.getIndexingMapsArray()) {
    SmallVector<AffineExpr> results;
    for (AffineExpr result : map.getResults())
      results.push_back(isa<AffineDimExpr>(result)
                            ? result
                            : simplifyAffineExpr(result.replaceDims(replacements),
                                                 map.getNumDims(), 0));
    maps.push_back(
        AffineMapAttr::get(AffineMap::get(map.getNumDims(), 0, results, ctx)));
  }
  generic.setIndexingMapsAttr(ArrayAttr::get(ctx, maps));
}

/// The patterns that lower the vectorizer's ops to the 1-D loads, stores and
/// arithmetic convert-vector-to-llvm takes, with multi_reductions lowered as
/// `reductions` says.
FrozenRewritePatternSet
vectorLoweringPatterns(MLIRContext *ctx,
                       vector::VectorMultiReductionLowering reductions) {
  RewritePatternSet patterns(ctx);
  vector::populateVectorMultiReductionLoweringPatterns(patterns, reductions);
  vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
  vector::populateCastAwayVectorLeadingOneDimPatterns(patterns);
  vector::populateVectorTransferDropUnitDimsPatterns(patterns);
  vector::populateVectorTransposeLoweringPatterns(
      patterns, vector::VectorTransposeLowering::EltWise);
  vector::populateVectorBroadcastLoweringPatterns(patterns);
  vector::populateVectorShapeCastLoweringPatterns(patterns);
  populateVectorToSCFConversionPatterns(
      patterns, VectorTransferToSCFOptions().enableFullUnroll());
  return FrozenRewritePatternSet(std::move(patterns));
}

/// Applies `patterns` to `ops` and the ops nested in them, and to the ops
/// the patterns create, not to anything else of the function.
void applyToOps(ArrayRef<Operation *> roots,
                const FrozenRewritePatternSet &patterns) {
  SmallVector<Operation *> ops;
  for (Operation *root : roots)
    root->walk([&](Operation *inner) { ops.push_back(inner); });
  (void)applyOpPatternsGreedily(
      ops, patterns,
      GreedyRewriteConfig().setStrictness(
          GreedyRewriteStrictness::ExistingAndNewOps));
}

struct VectorizeLinalg final
    : qnt::impl::QntVectorizeLinalgPassBase<VectorizeLinalg> {
  using Base::Base;
  /// The pattern sets, made once per pass instance, not once per function.
  LogicalResult initialize(MLIRContext *ctx) override {
    if (std::string error = qnt::kVectorWidthRange.check(
            "qnt-vectorize-linalg", "vector-width", vectorWidth);
        vectorWidth != 0 && !error.empty())
      return emitError(UnknownLoc::get(ctx)) << error;
    RewritePatternSet patterns(ctx);
    for (Dialect *dialect : ctx->getLoadedDialects())
      dialect->getCanonicalizationPatterns(patterns);
    for (RegisteredOperationName name : ctx->getRegisteredOperations())
      name.getCanonicalizationPatterns(patterns, ctx);
    canonicalization = FrozenRewritePatternSet(std::move(patterns));
    lowerAcrossRows = vectorLoweringPatterns(
        ctx, vector::VectorMultiReductionLowering::InnerParallel);
    lowerAlongRows = vectorLoweringPatterns(
        ctx, vector::VectorMultiReductionLowering::InnerReduction);
    return success();
  }
  void runOnOperation() override;

  FrozenRewritePatternSet canonicalization, lowerAcrossRows, lowerAlongRows;
};
} // namespace

void VectorizeLinalg::runOnOperation() {
  func::FuncOp func = getOperation();
  MLIRContext *ctx = &getContext();
  IRRewriter rewriter(ctx);
  // vector-width=0: one register of the target (read only; no pass changes
  // the module's attributes while functions are processed).
  int64_t width = vectorWidth;
  if (width == 0) {
    qnt::TargetAttr target = qnt::getTarget(func);
    width = target ? target.getF32Lanes() : 8;
  }

  SmallVector<linalg::LinalgOp> candidates;
  func.walk([&](linalg::LinalgOp op) {
    if (op.hasPureBufferSemantics())
      candidates.push_back(op);
  });

  // Ops to vectorize carry this attribute from here to step 3: the tiled
  // ops, their peeled copies and the ops small enough to be one vector op.
  // (Canonicalization may fold loops away, so loops cannot be remembered.)
  StringAttr mark = StringAttr::get(ctx, qnt::kVectorizeTileAttrName);

  // 1. Tile.
  SmallVector<Operation *> newLoops;
  for (linalg::LinalgOp op : candidates) {
    std::optional<SmallVector<int64_t>> tiles =
        chooseTileSizes(op, width);
    if (!tiles)
      continue;
    if (llvm::all_of(*tiles, [](int64_t t) { return t == 0; })) {
      op->setAttr(mark, UnitAttr::get(ctx));
      continue;
    }
    rewriter.setInsertionPoint(op);
    linalg::LinalgTilingOptions options;
    options.setTileSizes(*tiles);
    if (parallel && worthThreads(op, *tiles))
      options.setLoopType(linalg::LinalgTilingLoopType::ParallelLoops);
    FailureOr<linalg::TiledLinalgOp> tiled =
        linalg::tileLinalgOp(rewriter, op, options);
    if (failed(tiled))
      continue;
    rewriter.eraseOp(op);
    tiled->op->setAttr(mark, UnitAttr::get(ctx));
    // Peel the last partial tile of each tiled loop off the full tiles: the
    // full tiles get static shapes and vectorize without masks; so does the
    // remainder when the shape is static (a narrower vector).
    SmallVector<scf::ForOp> loops;
    for (Operation *loop : tiled->loops)
      if (auto forOp = dyn_cast<scf::ForOp>(loop))
        loops.push_back(forOp);
    // Peeling puts each remainder loop right after its main loop; at the
    // outermost level that is between `outermost` and `after`.
    Operation *outermost = tiled->loops.front();
    Operation *after = outermost->getNextNode();
    linalg::peelLoops(rewriter, loops);
    for (Operation *o = outermost; o != after; o = o->getNextNode())
      newLoops.push_back(o);
  }

  // 2. Fold the constant tile sizes of the full tiles into their subviews
  // (dynamic sizes -> static shapes, through memref.cast), only in the new
  // loops: the qnt kernels around are not touched.
  applyToOps(newLoops, canonicalization);

  // 3. Vectorize every marked op of static shape. Failure, or a dynamic
  // shape, leaves the op for convert-linalg-to-loops.
  SmallVector<linalg::LinalgOp> toVectorize;
  func.walk([&](linalg::LinalgOp op) {
    if (!op->removeAttr(mark))
      return;
    if (op.hasDynamicShape())
      return;
    if (!llvm::all_of(op.getIndexingMapsArray(), [](AffineMap map) {
          return map.isProjectedPermutation(/*allowZeroInResults=*/true);
        }))
      pinUnitLoops(op);
    toVectorize.push_back(op);
  });
  // The vector ops of each vectorized op, by how its reductions are lowered.
  SmallVector<Operation *> acrossRows, alongRows;
  for (linalg::LinalgOp op : toVectorize) {
    // A reduction along the innermost loop with several parallel rows (a
    // width x width block) is lowered across rows: lane i accumulates row i,
    // in order. Anything else reduces along its one row, also in order.
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    bool rows = iterators.back() == utils::IteratorType::reduction &&
                llvm::any_of(llvm::seq<size_t>(0, ranges.size()), [&](size_t d) {
                  return iterators[d] == utils::IteratorType::parallel &&
                         ranges[d] > 1;
                });
    SmallVector<Operation *> &vectorRoots = rows ? acrossRows : alongRows;
    rewriter.setInsertionPoint(op);
    // The vector ops go where the op was: remember its neighbours.
    Block *block = op->getBlock();
    Operation *before = op->getPrevNode();
    FailureOr<linalg::VectorizationResult> result =
        linalg::vectorize(rewriter, op);
    if (failed(result))
      continue;
    Operation *first = before ? before->getNextNode() : &block->front();
    Operation *last = op->getNextNode();
    rewriter.eraseOp(op);
    for (Operation *o = first; o && o != last; o = o->getNextNode())
      vectorRoots.push_back(o);
  }

  // 4. Lower the new vector ops to the 1-D loads, stores and arithmetic that
  // convert-vector-to-llvm takes, keeping reductions in loop order:
  // multi_reductions across rows become elementwise ops on the rows
  // (acc + x0, + x1, ...), along a row a vector.reduction that
  // convert-vector-to-llvm lowers without reassociation (acc + x0 + x1 ...).
  applyToOps(acrossRows, lowerAcrossRows);
  applyToOps(alongRows, lowerAlongRows);
}
