// qnt-quantize-kv-cache: the KV caches of a model stored in a quantized row
// format; qnt.attention reads the packed rows, qnt.pack_cache_rows writes them.
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "qnt/Conversion/Common.h"
#include "qnt/IR/QntOps.h"
#include "qnt/Transforms/Passes.h"
#include "qnt/Transforms/Transforms.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallPtrSet.h"

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
             << " must be f32, f16, i8 or i4";
    if (!isValidCacheBlock(block))
      return emitError(UnknownLoc::get(context))
             << "qnt-quantize-kv-cache option block="
             << static_cast<int64_t>(block)
             << " must be a power of two from 8 to 256";
    if (!isValidCacheWindow(window, block))
      return emitError(UnknownLoc::get(context))
             << "qnt-quantize-kv-cache option window="
             << static_cast<int64_t>(window) << " must be a multiple of the "
             << "block " << static_cast<int64_t>(block) << " from "
             << static_cast<int64_t>(block) << " to 4096";
    return success();
  }
  void runOnOperation() override;
};

/// How one cache type is rewritten (keys and values alike in every
/// format).
struct CacheLayout {
  RankedTensorType packed; // [L, S, KvH, R], i8 [L, S, bytes], i4
                           // [L, KvH, bytes]
  int64_t kvHeads, headSize, positions;
  int64_t block = 0, window = 0; // of an i4 cache, else 0
};
} // namespace

/// The layouts of a float cache [L, S, KvH * D] read as `kvHeads` heads of
/// `headSize` in `format` (i4: blocks of `block`, a window of `window`).
static CacheLayout layoutOf(RankedTensorType source, int64_t kvHeads,
                              int64_t headSize, CacheFormat format,
                              int64_t block, int64_t window) {
  MLIRContext *ctx = source.getContext();
  int64_t layers = source.getDimSize(0), positions = source.getDimSize(1);
  if (format == CacheFormat::i8) {
    CacheLayout records{
        RankedTensorType::get(
            {layers, positions,
             I8PositionLayout{kvHeads, headSize}.bytes()},
            IntegerType::get(ctx, 8)),
        kvHeads, headSize, positions};
    return records;
  }
  if (format == CacheFormat::i4) {
    I4CacheLayout layout{block, window, headSize};
    CacheLayout blocks{RankedTensorType::get({layers, kvHeads,
                                              layout.bytes(positions)},
                                             IntegerType::get(ctx, 8)),
                       kvHeads, headSize, positions, block, window};
    return blocks;
  }
  CacheLayout rows{RankedTensorType::get(
                       {layers, positions, kvHeads,
                        getCacheRowSize(format, headSize)},
                       getCacheElementType(format, ctx)),
                   kvHeads, headSize, positions};
  return rows;
}

/// The caches of `module`: the source types of the layer slices that
/// qnt.attention reads, each with its layouts in `format`.
static LogicalResult findCaches(Operation *module, CacheFormat format,
                                int64_t block, int64_t window,
                                llvm::DenseMap<Type, CacheLayout> &caches) {
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
      if (format == CacheFormat::i4 &&
          (keys.getDimSize(2) % 2 != 0 || source.getDimSize(1) % block ||
           source.getDimSize(1) < window)) {
        op.emitOpError() << "qnt-quantize-kv-cache: an i4 cache needs an "
                            "even head size and positions a multiple of "
                            "the block "
                         << block << " and at least the window " << window
                         << " (it has head size " << keys.getDimSize(2)
                         << " and " << source.getDimSize(1) << " positions)";
        return WalkResult::interrupt();
      }
      CacheLayout layout = layoutOf(source, keys.getDimSize(1),
                                    keys.getDimSize(2), format, block,
                                    window);
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

static int64_t bytesOf(RankedTensorType type) {
  return type.getNumElements() * (type.getElementTypeBitWidth() / 8);
}

FailureOr<KvCacheSize> qnt::getKvCacheSize(Operation *module,
                                           CacheFormat format, int64_t block,
                                           int64_t window) {
  llvm::DenseMap<Type, CacheLayout> caches;
  if (failed(findCaches(module, format, block, window, caches)))
    return failure();
  KvCacheSize size;
  if (format == CacheFormat::i4)
    size.block = block;
  for (auto &[type, values] : caches) {
    // Each type is one key and one value cache: per block of positions
    // their rows or blocks; an i4 cache's windows whatever the context.
    int64_t rowBytes = bytesOf(values.packed) / values.positions;
    int64_t bytes = rowBytes * size.block, fixed = 0;
    if (format == CacheFormat::i4) {
      I4CacheLayout layout{block, window, values.headSize};
      int64_t heads = values.packed.getDimSize(0) * values.kvHeads;
      bytes = heads * layout.blockBytes();
      fixed = 2 * heads * layout.windowBytes();
    }
    size.bytesPerBlock += 2 * bytes;
    size.fixedBytes += fixed;
    size.positions = std::max(size.positions, values.positions);
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

/// The rows a cache write inserts, as [T, KvH, D] floats whatever unit
/// dimensions its source has.
static Value rowsAsHeads(IRRewriter &rewriter, tensor::InsertSliceOp insert,
                         const CacheLayout &layout) {
  Location loc = insert.getLoc();
  Value rows = insert.getSource();
  auto rowsType = cast<RankedTensorType>(rows.getType());
  SmallVector<int64_t> flat = {ShapedType::kDynamic,
                               layout.kvHeads * layout.headSize};
  if (rowsType.getRank() != 2)
    rows = tensor::CollapseShapeOp::create(
        rewriter, loc, rows, SmallVector<ReassociationIndices>{{0, 1}, {2}});
  if (cast<RankedTensorType>(rows.getType()).getShape() != ArrayRef(flat))
    rows = tensor::CastOp::create(
        rewriter, loc, RankedTensorType::get(flat, rewriter.getF32Type()),
        rows);
  return tensor::ExpandShapeOp::create(
      rewriter, loc,
      RankedTensorType::get(
          {ShapedType::kDynamic, layout.kvHeads, layout.headSize},
          rewriter.getF32Type()),
      rows, SmallVector<ReassociationIndices>{{0}, {1, 2}},
      SmallVector<OpFoldResult>{insert.getMixedSizes()[1],
                                rewriter.getIndexAttr(layout.kvHeads),
                                rewriter.getIndexAttr(layout.headSize)});
}

/// Replaces the write of new key or value rows into a cache by the rows
/// packed in `format` (qnt.pack_cache_rows) written into the packed cache.
static void rewriteRowsInsert(IRRewriter &rewriter,
                              tensor::InsertSliceOp insert,
                              const CacheLayout &layout, CacheFormat format) {
  MLIRContext *ctx = rewriter.getContext();
  auto index = [&](int64_t v) { return rewriter.getIndexAttr(v); };
  rewriter.setInsertionPoint(insert);
  Location loc = insert.getLoc();
  Value heads = rowsAsHeads(rewriter, insert, layout);
  // [T, KvH, R] rows, or an i8 cache's [T, bytes] records.
  SmallVector<int64_t> shape = {ShapedType::kDynamic};
  llvm::append_range(shape, layout.packed.getShape().drop_front(2));
  Value packed = PackCacheRowsOp::create(
      rewriter, loc,
      RankedTensorType::get(shape, layout.packed.getElementType()), heads,
      CacheFormatAttr::get(ctx, format));
  SmallVector<OpFoldResult> offsets = insert.getMixedOffsets();
  SmallVector<OpFoldResult> at = {offsets[0], offsets[1]};
  SmallVector<OpFoldResult> sizes = {index(1), insert.getMixedSizes()[1]};
  for (int64_t d : layout.packed.getShape().drop_front(2)) {
    at.push_back(index(0));
    sizes.push_back(index(d));
  }
  auto newInsert = tensor::InsertSliceOp::create(
      rewriter, loc, packed, insert.getDest(), at, sizes,
      SmallVector<OpFoldResult>(at.size(), index(1)));
  rewriter.replaceOp(insert, newInsert.getResult());
}

/// The attention ops that read the layer slice of `cache` through an
/// extract_slice and expand_shape, each with whether it reads it as keys.
static SmallVector<std::pair<AttentionOp, bool>> readersOf(Value cache) {
  SmallVector<std::pair<AttentionOp, bool>> readers;
  for (Operation *user : cache.getUsers())
    if (auto extract = dyn_cast<tensor::ExtractSliceOp>(user))
      for (Operation *expand : extract->getUsers())
        for (Operation *reader : expand->getUsers())
          if (auto attention = dyn_cast<AttentionOp>(reader))
            readers.push_back(
                {attention, attention.getKeys() == expand->getResult(0)});
  return readers;
}

namespace {
/// Builds the index arithmetic and byte slices of writes into the layer
/// `layer` of an i4 cache [L, KvH, N].
struct I4CacheWriter {
  IRRewriter &rewriter;
  Location loc;
  const CacheLayout &cache;
  I4CacheLayout layout;
  OpFoldResult layer;

  Value c(int64_t v) {
    return arith::ConstantIndexOp::create(rewriter, loc, v).getResult();
  }
  OpFoldResult index(int64_t v) { return rewriter.getIndexAttr(v); }
  Value windowStart(Value live) {
    ImplicitLocOpBuilder b(loc, rewriter);
    return emitI4WindowStart(b, live, layout);
  }
  /// The layer's bytes [KvH, size] from byte `offset` of each kv head.
  Value extract(Value from, OpFoldResult offset, int64_t size) {
    return tensor::ExtractSliceOp::create(
        rewriter, loc,
        RankedTensorType::get({cache.kvHeads, size}, rewriter.getI8Type()),
        from, SmallVector<OpFoldResult>{layer, index(0), offset},
        SmallVector<OpFoldResult>{index(1), index(cache.kvHeads), index(size)},
        SmallVector<OpFoldResult>(3, index(1)));
  }
  /// Writes `bytes` [KvH, n] into the layer at byte `offset` of every kv
  /// head.
  Value insert(Value bytes, Value into, OpFoldResult offset) {
    Value n = tensor::DimOp::create(rewriter, loc, bytes, 1);
    return tensor::InsertSliceOp::create(
        rewriter, loc, bytes, into,
        SmallVector<OpFoldResult>{layer, index(0), offset},
        SmallVector<OpFoldResult>{index(1), index(cache.kvHeads), n},
        SmallVector<OpFoldResult>(3, index(1)));
  }
  /// Bytes [KvH, size] of `bytes` [KvH, ?] from byte `offset`.
  Value bytesOf(Value bytes, Value offset, Value size) {
    return tensor::ExtractSliceOp::create(
        rewriter, loc,
        RankedTensorType::get({cache.kvHeads, ShapedType::kDynamic},
                              rewriter.getI8Type()),
        bytes, SmallVector<OpFoldResult>{index(0), offset},
        SmallVector<OpFoldResult>{index(cache.kvHeads), size},
        SmallVector<OpFoldResult>{index(1), index(1)});
  }
};
} // namespace

/// Replaces the write of new key or value rows into an i4 cache: the rows
/// in window form (qnt.pack_window_rows); the blocks that leave the window
/// (qnt.pack_cache_blocks, from the old window and the rows) before the
/// attention that reads the layer; the rows that stay in the window copied
/// into its ring after it (in two parts where the ring wraps). The
/// attention reads the rows in window form as its recent keys or values.
static LogicalResult rewriteI4Insert(IRRewriter &rewriter,
                                     tensor::InsertSliceOp insert,
                                     const CacheLayout &cache) {
  SmallVector<std::pair<AttentionOp, bool>> readers =
      readersOf(insert.getResult());
  rewriter.setInsertionPoint(insert);
  Location loc = insert.getLoc();
  I4CacheWriter w{rewriter, loc, cache,
                  I4CacheLayout{cache.block, cache.window, cache.headSize},
                  insert.getMixedOffsets()[0]};
  const I4CacheLayout &layout = w.layout;
  int64_t windowOffset = layout.windowOffset(cache.positions);
  int64_t slot = layout.slotBytes();
  Value heads = rowsAsHeads(rewriter, insert, cache);
  Value pos = getValueOrCreateConstantIndexOp(rewriter, loc,
                                              insert.getMixedOffsets()[1]);
  auto bytesType = RankedTensorType::get(
      {cache.kvHeads, ShapedType::kDynamic}, rewriter.getI8Type());
  Value recent = PackWindowRowsOp::create(rewriter, loc, bytesType, heads);
  Value window = w.extract(insert.getDest(), w.index(windowOffset),
                           layout.windowBytes());
  Value blocks = PackCacheBlocksOp::create(
      rewriter, loc, bytesType, window, recent, pos,
      rewriter.getI64IntegerAttr(layout.block),
      rewriter.getI64IntegerAttr(layout.window));
  Value firstBlock = arith::MulIOp::create(
      rewriter, loc,
      arith::DivUIOp::create(rewriter, loc, w.windowStart(pos),
                             w.c(layout.block)),
      w.c(layout.blockBytes()));
  Value closed = w.insert(blocks, insert.getDest(), firstBlock);

  // After the last reader (they are in one block with the write), the rows
  // from lo = max(pos, windowStart(end)) to the end into slots p % W.
  Operation *after = insert;
  for (auto [reader, keys] : readers) {
    if (reader->getBlock() != insert->getBlock())
      return reader.emitOpError()
             << "qnt-quantize-kv-cache: an i4 cache must be read in the "
                "block that writes it";
    if (after->isBeforeInBlock(reader))
      after = reader;
  }
  rewriter.setInsertionPointAfter(after);
  Value end = arith::AddIOp::create(
      rewriter, loc, pos, tensor::DimOp::create(rewriter, loc, heads, 0));
  Value lo = arith::MaxUIOp::create(rewriter, loc, pos, w.windowStart(end));
  Value count = arith::SubIOp::create(rewriter, loc, end, lo);
  Value s0 = arith::RemUIOp::create(rewriter, loc, lo, w.c(layout.window));
  Value first = arith::MinUIOp::create(
      rewriter, loc, count,
      arith::SubIOp::create(rewriter, loc, w.c(layout.window), s0));
  Value second = arith::SubIOp::create(rewriter, loc, count, first);
  auto bytes = [&](Value positions) {
    return arith::MulIOp::create(rewriter, loc, positions, w.c(slot))
        .getResult();
  };
  Value src = bytes(arith::SubIOp::create(rewriter, loc, lo, pos));
  Value written = w.insert(
      w.bytesOf(recent, src, bytes(first)), closed,
      arith::AddIOp::create(rewriter, loc, w.c(windowOffset), bytes(s0))
          .getResult());
  written = w.insert(
      w.bytesOf(recent,
                arith::AddIOp::create(rewriter, loc, src, bytes(first)),
                bytes(second)),
      written, w.index(windowOffset));

  // The readers see the blocks and the old window; all later uses, the new
  // window.
  for (auto [reader, keys] : readers) {
    if (keys)
      reader.getRecentKeysMutable().assign(recent);
    else
      reader.getRecentValuesMutable().assign(recent);
    reader.setCacheBlockAttr(rewriter.getI64IntegerAttr(layout.block));
    reader.setCacheWindowAttr(rewriter.getI64IntegerAttr(layout.window));
  }
  llvm::SmallPtrSet<Operation *, 4> readerSlices;
  for (auto [reader, keys] : readers)
    readerSlices.insert((keys ? reader.getKeys() : reader.getValues())
                            .getDefiningOp()
                            ->getOperand(0)
                            .getDefiningOp());
  Operation *windowWrite = written.getDefiningOp();
  rewriter.replaceUsesWithIf(insert.getResult(), written, [&](OpOperand &use) {
    return !readerSlices.contains(use.getOwner());
  });
  rewriter.replaceOp(insert, closed);
  for (Operation *user : written.getUsers())
    if (user->getBlock() == windowWrite->getBlock() &&
        user->isBeforeInBlock(windowWrite))
      return user->emitOpError() << "qnt-quantize-kv-cache: an i4 cache "
                                    "is used before the attention that "
                                    "reads it";
  return success();
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
  RankedTensorType packed = layout.packed;
  Value slice;
  if (layout.block) {
    // i4: the layer's bytes [KvH, N].
    slice = tensor::ExtractSliceOp::create(
        rewriter, extract.getLoc(),
        RankedTensorType::get({packed.getDimSize(1), packed.getDimSize(2)},
                              packed.getElementType()),
        extract.getSource(),
        SmallVector<OpFoldResult>{offsets[0], index(0), index(0)},
        SmallVector<OpFoldResult>{index(1), index(packed.getDimSize(1)),
                                  index(packed.getDimSize(2))},
        SmallVector<OpFoldResult>(3, index(1)));
  } else {
    // The layer's rows [S, KvH, R], or an i8 cache's records [S, bytes].
    ArrayRef<int64_t> inner = packed.getShape().drop_front(2);
    SmallVector<int64_t> shape = {packed.getDimSize(1)};
    llvm::append_range(shape, inner);
    SmallVector<OpFoldResult> at = {offsets[0], offsets[1]};
    SmallVector<OpFoldResult> sizes = {index(1), extract.getMixedSizes()[1]};
    for (int64_t d : inner) {
      at.push_back(index(0));
      sizes.push_back(index(d));
    }
    slice = tensor::ExtractSliceOp::create(
        rewriter, extract.getLoc(),
        RankedTensorType::get(shape, packed.getElementType()),
        extract.getSource(), at, sizes,
        SmallVector<OpFoldResult>(at.size(), index(1)));
  }
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

  llvm::DenseMap<Type, CacheLayout> caches;
  if (failed(findCaches(module, *cacheFormat, block, window, caches)))
    return signalPassFailure();
  if (caches.empty())
    return;

  auto isCache = [&](Value v) { return caches.count(v.getType()) != 0; };
  if (failed(checkCacheUses(module, isCache)))
    return signalPassFailure();
  // Collect the ops to rewrite and the cache values (block arguments and
  // results), then give every cache value its type's new one.
  SmallVector<std::pair<tensor::InsertSliceOp, CacheLayout>> inserts;
  SmallVector<std::pair<tensor::ExtractSliceOp, CacheLayout>> extracts;
  SmallVector<std::pair<Value, RankedTensorType>> retyped;
  auto collect = [&](Value v) {
    auto it = caches.find(v.getType());
    if (it != caches.end())
      retyped.push_back({v, it->second.packed});
  };
  module.walk([&](Operation *op) {
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument arg : block.getArguments())
          collect(arg);
    for (Value result : op->getResults())
      collect(result);
    if (auto insert = dyn_cast<tensor::InsertSliceOp>(op);
        insert && isCache(insert.getDest()))
      inserts.push_back({insert, caches.at(insert.getDest().getType())});
    if (auto extract = dyn_cast<tensor::ExtractSliceOp>(op);
        extract && isCache(extract.getSource()))
      extracts.push_back({extract, caches.at(extract.getSource().getType())});
  });
  for (auto &[value, type] : retyped)
    value.setType(type);

  IRRewriter rewriter(&getContext());
  for (auto &[insert, layout] : inserts) {
    if (!layout.block) {
      rewriteRowsInsert(rewriter, insert, layout, *cacheFormat);
      continue;
    }
    if (failed(rewriteI4Insert(rewriter, insert, layout)))
      return signalPassFailure();
  }
  for (auto &[extract, layout] : extracts)
    rewriteRowsExtract(rewriter, extract, layout, *cacheFormat);
  updateFunctionTypes(module);
  // An i4 cache's type [layers, kv heads, bytes] does not show its
  // positions; the library says them (qnt_context) for the runner.
  if (*cacheFormat == CacheFormat::i4) {
    int64_t positions = 0;
    for (auto &[type, layout] : caches)
      positions = std::max(positions, layout.positions);
    module->setAttr(kContextAttrName,
                    IntegerAttr::get(IntegerType::get(module.getContext(), 64),
                                     positions));
  }
}
