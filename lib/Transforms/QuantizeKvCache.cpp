// qnt-quantize-kv-cache: the KV caches of a model stored in a quantized row
// format; qnt.attention reads the packed rows, qnt.pack_cache_rows writes them.
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "qnt/IR/QntOps.h"
#include "qnt/Transforms/Passes.h"
#include "qnt/Transforms/Transforms.h"
#include "llvm/ADT/DenseMap.h"

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTQUANTIZEKVCACHEPASS
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;
using namespace mlir::qnt;

namespace {
/// The layer slice `[positions, kv heads * head size]` of a cache that an
/// attention operand is expanded from, or null.
tensor::ExtractSliceOp cacheSliceOf(Value operand) {
  auto expand = operand.getDefiningOp<tensor::ExpandShapeOp>();
  if (!expand)
    return nullptr;
  auto slice = expand.getSrc().getDefiningOp<tensor::ExtractSliceOp>();
  if (!slice || slice.getSourceType().getRank() != 3)
    return nullptr;
  return slice;
}

/// Whether `offsets`, `sizes`, `strides` of a slice of a [L, S, W] cache
/// select one layer, some positions and all W columns, with unit strides.
bool isLayerRowsSlice(OffsetSizeAndStrideOpInterface op, int64_t width) {
  auto isConst = [](OpFoldResult v, int64_t c) {
    std::optional<int64_t> k = getConstantIntValue(v);
    return k && *k == c;
  };
  SmallVector<OpFoldResult> offsets = op.getMixedOffsets(),
                            sizes = op.getMixedSizes(),
                            strides = op.getMixedStrides();
  return offsets.size() == 3 && isConst(sizes[0], 1) &&
         isConst(offsets[2], 0) && isConst(sizes[2], width) &&
         llvm::all_of(strides, [&](OpFoldResult s) { return isConst(s, 1); });
}

struct QuantizeKvCache final
    : qnt::impl::QntQuantizeKvCachePassBase<QuantizeKvCache> {
  using Base::Base;
  LogicalResult initialize(MLIRContext *context) override {
    if (!symbolizeCacheFormat(format))
      return emitError(UnknownLoc::get(context))
             << "qnt-quantize-kv-cache option format=" << format
             << " must be f32, f16 or i8";
    return success();
  }
  void runOnOperation() override;
};

/// How one cache type is rewritten.
struct CacheLayout {
  RankedTensorType packed; // [L, S, KvH, R] in the cache format
  int64_t kvHeads, headSize;
};
} // namespace

/// The caches of `module`: the source types of the layer slices that
/// qnt.attention reads, each with its layout in `format`.
static LogicalResult findCaches(Operation *module, CacheFormat format,
                                llvm::DenseMap<Type, CacheLayout> &caches) {
  MLIRContext *ctx = module->getContext();
  WalkResult found = module->walk([&](AttentionOp op) -> WalkResult {
    if (op.getCache() != CacheFormat::f32)
      return WalkResult::advance();
    auto keys = cast<RankedTensorType>(op.getKeys().getType());
    for (Value operand : {op.getKeys(), op.getValues()}) {
      tensor::ExtractSliceOp slice = cacheSliceOf(operand);
      RankedTensorType source = slice ? slice.getSourceType() : nullptr;
      if (!slice || !source.hasStaticShape() ||
          source.getDimSize(2) != keys.getDimSize(1) * keys.getDimSize(2) ||
          !isLayerRowsSlice(slice, source.getDimSize(2))) {
        op.emitOpError() << "qnt-quantize-kv-cache: the keys and values "
                            "must be layer slices of a [layers, positions, "
                            "kv heads * head size] cache";
        return WalkResult::interrupt();
      }
      CacheLayout layout{
          RankedTensorType::get(
              {source.getDimSize(0), source.getDimSize(1), keys.getDimSize(1),
               getCacheRowSize(format, keys.getDimSize(2))},
              getCacheElementType(format, ctx)),
          keys.getDimSize(1), keys.getDimSize(2)};
      auto [it, inserted] = caches.try_emplace(source, layout);
      if (!inserted && it->second.packed != layout.packed) {
        op.emitOpError() << "qnt-quantize-kv-cache: cache " << source
                         << " is read with two different head shapes";
        return WalkResult::interrupt();
      }
    }
    return WalkResult::advance();
  });
  return failure(found.wasInterrupted());
}

FailureOr<KvCacheSize> qnt::getKvCacheSize(Operation *module,
                                           CacheFormat format) {
  llvm::DenseMap<Type, CacheLayout> caches;
  if (failed(findCaches(module, format, caches)))
    return failure();
  KvCacheSize size;
  for (auto &[type, layout] : caches) {
    RankedTensorType packed = layout.packed;
    // Keys and values have the same type: one entry, two buffers.
    size.bytesPerPosition += 2 * packed.getDimSize(0) * packed.getDimSize(2) *
                             packed.getDimSize(3) *
                             (packed.getElementTypeBitWidth() / 8);
    size.positions = std::max(size.positions, packed.getDimSize(1));
  }
  return size;
}

/// Whether every use of a cache (a value `isCache` says is one) is one the
/// pass rewrites or one that only passes it on; else an error on the use.
static LogicalResult checkCacheUses(ModuleOp module,
                                    llvm::function_ref<bool(Value)> isCache) {
  WalkResult checked = module.walk([&](Operation *op) -> WalkResult {
    if (!llvm::any_of(op->getOperands(), isCache))
      return WalkResult::advance();
    if (isa<func::ReturnOp, func::CallOp, scf::ForOp, scf::YieldOp>(op))
      return WalkResult::advance();
    if (auto insert = dyn_cast<tensor::InsertSliceOp>(op))
      if (isCache(insert.getDest()) && !isCache(insert.getSource()) &&
          isLayerRowsSlice(insert, insert.getDestType().getDimSize(2)))
        return WalkResult::advance();
    if (auto extract = dyn_cast<tensor::ExtractSliceOp>(op))
      if (llvm::all_of(extract->getUsers(), [&](Operation *user) {
            auto expand = dyn_cast<tensor::ExpandShapeOp>(user);
            return expand &&
                   llvm::all_of(expand->getUsers(), [&](Operation *u) {
                     auto attention = dyn_cast<AttentionOp>(u);
                     return attention &&
                            attention.getQuery() != expand.getResult();
                   });
          }))
        return WalkResult::advance();
    op->emitOpError() << "qnt-quantize-kv-cache: cannot rewrite this use of "
                         "a KV cache";
    return WalkResult::interrupt();
  });
  return failure(checked.wasInterrupted());
}

/// Replaces the write of new key or value rows into a cache by the rows
/// packed in `format` (qnt.pack_cache_rows) written into the packed cache.
static void rewriteRowsInsert(IRRewriter &rewriter,
                              tensor::InsertSliceOp insert,
                              const CacheLayout &layout, CacheFormat format) {
  MLIRContext *ctx = rewriter.getContext();
  auto index = [&](int64_t v) { return rewriter.getIndexAttr(v); };
  int64_t row = layout.packed.getDimSize(3);
  rewriter.setInsertionPoint(insert);
  Location loc = insert.getLoc();
  // The new rows as [T, KvH, D], whatever unit dimensions the source has.
  Value rows = insert.getSource();
  auto rowsType = cast<RankedTensorType>(rows.getType());
  OpFoldResult count = insert.getMixedSizes()[1];
  SmallVector<int64_t> flat = {ShapedType::kDynamic,
                               layout.kvHeads * layout.headSize};
  if (rowsType.getRank() != 2)
    rows = tensor::CollapseShapeOp::create(
        rewriter, loc, rows, SmallVector<ReassociationIndices>{{0, 1}, {2}});
  if (cast<RankedTensorType>(rows.getType()).getShape() != ArrayRef(flat))
    rows = tensor::CastOp::create(
        rewriter, loc, RankedTensorType::get(flat, rewriter.getF32Type()),
        rows);
  Value heads = tensor::ExpandShapeOp::create(
      rewriter, loc,
      RankedTensorType::get(
          {ShapedType::kDynamic, layout.kvHeads, layout.headSize},
          rewriter.getF32Type()),
      rows, SmallVector<ReassociationIndices>{{0}, {1, 2}},
      SmallVector<OpFoldResult>{count, index(layout.kvHeads),
                                index(layout.headSize)});
  Value packed = PackCacheRowsOp::create(
      rewriter, loc,
      RankedTensorType::get({ShapedType::kDynamic, layout.kvHeads, row},
                            layout.packed.getElementType()),
      heads, CacheFormatAttr::get(ctx, format));
  SmallVector<OpFoldResult> offsets = insert.getMixedOffsets();
  auto newInsert = tensor::InsertSliceOp::create(
      rewriter, loc, packed, insert.getDest(),
      SmallVector<OpFoldResult>{offsets[0], offsets[1], index(0), index(0)},
      SmallVector<OpFoldResult>{index(1), count, index(layout.kvHeads),
                                index(row)},
      SmallVector<OpFoldResult>(4, index(1)));
  rewriter.replaceOp(insert, newInsert.getResult());
}

/// Replaces the read of a cache's live rows for attention by a slice of
/// the packed cache, and tells the attention the format.
static void rewriteRowsExtract(IRRewriter &rewriter,
                               tensor::ExtractSliceOp extract,
                               const CacheLayout &layout, CacheFormat format) {
  MLIRContext *ctx = rewriter.getContext();
  auto index = [&](int64_t v) { return rewriter.getIndexAttr(v); };
  rewriter.setInsertionPoint(extract);
  SmallVector<OpFoldResult> offsets = extract.getMixedOffsets();
  int64_t positions = layout.packed.getDimSize(1),
          row = layout.packed.getDimSize(3);
  auto sliceType = RankedTensorType::get({positions, layout.kvHeads, row},
                                         layout.packed.getElementType());
  Value slice = tensor::ExtractSliceOp::create(
      rewriter, extract.getLoc(), sliceType, extract.getSource(),
      SmallVector<OpFoldResult>{offsets[0], offsets[1], index(0), index(0)},
      SmallVector<OpFoldResult>{index(1), extract.getMixedSizes()[1],
                                index(layout.kvHeads), index(row)},
      SmallVector<OpFoldResult>(4, index(1)));
  for (Operation *user : llvm::make_early_inc_range(extract->getUsers())) {
    for (Operation *reader : user->getUsers())
      cast<AttentionOp>(reader).setCacheAttr(CacheFormatAttr::get(ctx, format));
    rewriter.replaceOp(user, slice);
  }
  rewriter.eraseOp(extract);
}

/// Function types follow their arguments and returned values.
static void updateFunctionTypes(ModuleOp module) {
  MLIRContext *ctx = module.getContext();
  module.walk([&](func::FuncOp func) {
    if (func.isExternal())
      return;
    SmallVector<Type> results = llvm::to_vector(func.getResultTypes());
    func.walk([&](func::ReturnOp ret) {
      results = llvm::to_vector(ret.getOperandTypes());
    });
    func.setType(FunctionType::get(
        ctx, func.getBody().front().getArgumentTypes(), results));
  });
}

void QuantizeKvCache::runOnOperation() {
  std::optional<CacheFormat> cacheFormat = symbolizeCacheFormat(format);
  if (*cacheFormat == CacheFormat::f32)
    return;
  ModuleOp module = getOperation();
  MLIRContext *ctx = &getContext();

  llvm::DenseMap<Type, CacheLayout> caches;
  if (failed(findCaches(module, *cacheFormat, caches)))
    return signalPassFailure();
  if (caches.empty())
    return;

  auto isCache = [&](Value v) { return caches.count(v.getType()) != 0; };
  if (failed(checkCacheUses(module, isCache)))
    return signalPassFailure();

  // Collect the ops to rewrite, then give every cache value its new type.
  SmallVector<tensor::InsertSliceOp> inserts;
  SmallVector<tensor::ExtractSliceOp> extracts;
  module.walk([&](Operation *op) {
    if (auto insert = dyn_cast<tensor::InsertSliceOp>(op);
        insert && isCache(insert.getDest()))
      inserts.push_back(insert);
    if (auto extract = dyn_cast<tensor::ExtractSliceOp>(op);
        extract && isCache(extract.getSource()))
      extracts.push_back(extract);
  });
  DenseMap<Type, CacheLayout> layoutOfPacked;
  for (auto &[type, layout] : caches)
    layoutOfPacked.try_emplace(layout.packed, layout);
  auto layoutOf = [&](Value v) { return layoutOfPacked.at(v.getType()); };
  auto retype = [&](Value v) {
    auto it = caches.find(v.getType());
    if (it != caches.end())
      v.setType(it->second.packed);
  };
  module.walk([&](Operation *op) {
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument arg : block.getArguments())
          retype(arg);
    for (Value result : op->getResults())
      retype(result);
  });

  IRRewriter rewriter(ctx);
  for (tensor::InsertSliceOp insert : inserts)
    rewriteRowsInsert(rewriter, insert, layoutOf(insert.getResult()),
                      *cacheFormat);
  for (tensor::ExtractSliceOp extract : extracts)
    rewriteRowsExtract(rewriter, extract, layoutOf(extract.getSource()),
                       *cacheFormat);
  updateFunctionTypes(module);
}
