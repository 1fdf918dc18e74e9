// CPU lowering of qnt.attention: one pass over the live positions of the KV
// cache per (group of query rows, chunk of heads), with a running softmax,
// in vector registers (one chunk: AttentionChunk.cpp); a decoding step's
// positions split into parts whose states are merged at the end.
#include "AttentionKernel.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "qnt/Conversion/Common.h"
#include <limits>

using namespace mlir;
using namespace mlir::qnt;

namespace {
/// A decoding step splits a single query row's live positions into parts
/// of about this many (and the heads into chunks), so that every thread has
/// work even when a chunk is all the heads; the parts' softmax states are
/// merged at the end.
constexpr int64_t kPartPositions = 128;
/// The part count is a multiple of this (up to one part per block), so
/// that 1, 2 or 4 threads share the parts evenly: 7 parts on 2 threads left
/// one thread 4/7 of the work (110M shape, i8 cache, 2 threads, positions
/// 896-1023, in turn: 2.59-2.72 ms per step against 2.73-2.83 with 7).
constexpr int64_t kPartMultiple = 4;

/// How many parts a single query row's `blocks` (>= 1) of positions are
/// split into: one per k.partBlocks, rounded up to a multiple of
/// kPartMultiple, at most one per block. Part p takes blocks
/// [p * blocks / parts, (p + 1) * blocks / parts).
Value partsOf(ImplicitLocOpBuilder &b, const AttentionKernel &k,
              Value blocks) {
  Value parts = arith::MulIOp::create(
      b,
      arith::CeilDivUIOp::create(b, blocks,
                                 cIndex(b, k.partBlocks * kPartMultiple)),
      cIndex(b, kPartMultiple));
  return arith::MinUIOp::create(b, parts, blocks);
}

/// Sets the heads per chunk of `k`. Rows of a prompt: the fewest heads
/// whose key-value bytes in a cache row fill 512 (8 cache lines: with less,
/// the hardware prefetchers fetch the neighbouring heads' lines for
/// nothing; 1.1B shape at positions 1920-2047: 54 ms per step against 63
/// with 256 bytes), as long as a row keeps 2 chunks to spread over threads.
/// One query row, whose positions are split into parts the threads share:
/// all the heads, so that the scan reads whole cache rows, one sequential
/// stream per cache (110M shape, f16 cache at position 960: 1.9 ms for the
/// attention of the 12 layers against 2.4 with chunks of 4 heads). Either
/// way a chunk never splits a key-value head's group of query heads
/// unevenly. (A decoded block, scratchType, is one key-value head's.)
void chooseChunk(AttentionKernel &k, int64_t rowBytes, bool oneRow) {
  k.chunk = 1;
  for (int64_t c = 1; c <= k.heads; ++c) {
    if (k.heads % c || (c % k.group && k.group % c))
      continue;
    if (!oneRow && c > 1 && k.heads / c < 2)
      break;
    int64_t kvHeads = std::max<int64_t>(1, c / k.group);
    k.chunk = c;
    if (!oneRow && kvHeads * rowBytes >= 512)
      break;
  }
  k.kvHeadsPerChunk = std::max<int64_t>(1, k.chunk / k.group);
}

/// Merges the parts' states partials[0 .. parts, head] of a single query
/// row into its output: each part's acc and l rescaled by exp(m_p - m),
/// with m the largest of the parts' maxima, summed, and acc divided by l.
void mergeParts(ImplicitLocOpBuilder &b, const AttentionKernel &k,
                Value partials, Value parts) {
  int64_t L = k.lanes, D = k.headSize, chunks = D / L;
  auto vecL = VectorType::get({L}, b.getF32Type());
  Value zero = cIndex(b, 0), one = cIndex(b, 1);
  scf::ForOp::create(
      b, zero, cIndex(b, k.heads), one, ValueRange{},
      [&](OpBuilder &hb, Location loc, Value h, ValueRange) {
        ImplicitLocOpBuilder ib(loc, hb);
        auto at = [&](Value p, int64_t e) {
          return memref::LoadOp::create(ib, partials,
                                        ValueRange{p, h, cIndex(ib, e)});
        };
        auto maxLoop = scf::ForOp::create(
            ib, zero, parts, one,
            ValueRange{f32Const(ib, -std::numeric_limits<float>::infinity())},
            [&](OpBuilder &pb, Location ploc, Value p, ValueRange m) {
              ImplicitLocOpBuilder lb(ploc, pb);
              scf::YieldOp::create(
                  lb, ValueRange{arith::MaximumFOp::create(lb, m[0], at(p, D))
                                     .getResult()});
            });
        Value m = maxLoop.getResult(0);
        SmallVector<Value> init = {f32Const(ib, 0.0f)};
        for (int64_t c = 0; c < chunks; ++c)
          init.push_back(splat(ib, vecL, f32Const(ib, 0.0f)));
        auto sumLoop = scf::ForOp::create(
            ib, zero, parts, one, init,
            [&](OpBuilder &pb, Location ploc, Value p, ValueRange sums) {
              ImplicitLocOpBuilder lb(ploc, pb);
              Value w = math::ExpOp::create(
                  lb, arith::SubFOp::create(lb, at(p, D), m));
              SmallVector<Value> next = {arith::AddFOp::create(
                  lb, sums[0], arith::MulFOp::create(lb, at(p, D + 1), w))};
              Value wv = splat(lb, vecL, w);
              for (int64_t c = 0; c < chunks; ++c)
                next.push_back(vector::FMAOp::create(
                    lb,
                    vector::LoadOp::create(
                        lb, vecL, partials,
                        ValueRange{p, h, cIndex(lb, c * L)}),
                    wv, sums[1 + c]));
              scf::YieldOp::create(lb, next);
            });
        Value inv = splat(
            ib, vecL,
            arith::DivFOp::create(ib, f32Const(ib, 1.0f),
                                  sumLoop.getResult(0)));
        for (int64_t c = 0; c < chunks; ++c)
          vector::StoreOp::create(
              ib, arith::MulFOp::create(ib, sumLoop.getResult(1 + c), inv),
              k.out, ValueRange{zero, h, cIndex(ib, c * L)});
        scf::YieldOp::create(ib);
      });
}
} // namespace

Value qnt::toStridedBuffer(ImplicitLocOpBuilder &b, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<int64_t> strides(type.getRank(), ShapedType::kDynamic);
  strides.back() = 1;
  auto layout =
      StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, strides);
  auto memrefType =
      MemRefType::get(type.getShape(), type.getElementType(), layout);
  return bufferization::ToBufferOp::create(b, memrefType, tensor,
                                           /*read_only=*/true);
}

int64_t qnt::widestDividingLanes(int64_t headSize, int64_t lanes) {
  int64_t l = lanes;
  while (l > 1 && headSize % l != 0)
    l /= 2;
  return l;
}

/// The static part of `op`'s kernel (shapes, cache format, lanes and
/// blocks), or an error on `op`.
static FailureOr<AttentionKernel> describeAttention(AttentionOp op,
                                                    int64_t lanes,
                                                    int64_t rowsPerGroup,
                                                    bool prefetch) {
  auto queryType = cast<RankedTensorType>(op.getQuery().getType());
  AttentionKernel k;
  k.heads = queryType.getDimSize(1);
  k.headSize = queryType.getDimSize(2);
  k.kvHeads = op.getKvHeads();
  k.group = k.heads / k.kvHeads;
  k.positions = op.getCachePositions();
  k.scale = op.getScale().convertToFloat();
  k.quantized = op.getCache() == CacheFormat::i8;
  k.half = op.getCache() == CacheFormat::f16;
  k.kivi = op.getCache() == CacheFormat::i4;
  k.widened = k.half && k.group > 1;
  k.lanes = widestDividingLanes(k.headSize, lanes);
  k.block = std::max<int64_t>(lanes, 4);
  k.rowsPerGroup = rowsPerGroup;
  k.rowsInLanes = KernelAttr::rowsInLanes(rowsPerGroup, lanes);
  // An i4 cache's blocks are contiguous per kv head, which the hardware
  // prefetchers follow.
  k.prefetch = prefetch && op.getCache() != CacheFormat::i4;
  if (k.kivi) {
    // A block of positions never straddles two cache blocks.
    k.kivi4.layout = {static_cast<int64_t>(*op.getCacheBlock()),
                      static_cast<int64_t>(*op.getCacheWindow()), k.headSize};
    k.kivi4.windowOffset = k.kivi4.layout.windowOffset(k.positions);
    k.block = std::min(k.block, k.kivi4.layout.block);
  }
  return k;
}

/// Group i of n in the order 0, n-1, 1, n-2, ...: a causal prompt's later
/// rows cost more, and a thread takes a contiguous range of the iterations,
/// so in this order every range holds as many costly groups as cheap ones.
/// (110M shape, 128-token prompt, 2 threads: 3 chunks of heads, so one
/// thread took the cheap half of the middle chunk's rows.)
static Value zigzag(ImplicitLocOpBuilder &b, Value i, Value n) {
  Value one = cIndex(b, 1), two = cIndex(b, 2);
  Value half = arith::DivUIOp::create(b, i, two);
  Value fromEnd = arith::SubIOp::create(
      b, arith::SubIOp::create(b, n, one), half);
  Value odd = arith::CmpIOp::create(
      b, arith::CmpIPredicate::ne, arith::RemUIOp::create(b, i, two),
      cIndex(b, 0));
  return arith::SelectOp::create(b, odd, fromEnd, half);
}

/// The stack buffers of one chunk of heads for a group of rows. In a
/// parallel loop they are made in the body (qnt-parallel-to-openmp makes
/// them once per thread), else once before the loops: an alloca in a loop
/// would grow the stack at every iteration.
static AttentionBuffers allocateBuffers(ImplicitLocOpBuilder &b,
                                        const AttentionKernel &k) {
  Type f32 = b.getF32Type();
  AttentionBuffers buffers;
  if (k.rowsInLanes) {
    // qt, ot [heads * D * W], m and l [heads, 2, W] for the query heads of
    // one key-value head (emitAttentionRows).
    int64_t heads = k.headsPerKvHead(), W = k.rowsPerGroup;
    auto transposed = MemRefType::get({heads * k.headSize * W}, f32);
    buffers.qt = memref::AllocaOp::create(b, transposed);
    buffers.ot = memref::AllocaOp::create(b, transposed);
    buffers.state =
        memref::AllocaOp::create(b, MemRefType::get({heads, 2, W}, f32));
    if (k.quantized || k.half)
      buffers.scratch =
          memref::AllocaOp::create(b, scratchType(k, b.getContext()));
    return buffers;
  }
  // acc, m and l of each head and row (emitAttentionChunk).
  buffers.state = memref::AllocaOp::create(
      b, MemRefType::get({k.chunk * k.rowsPerGroup, k.headSize + 2}, f32));
  if (k.decoded())
    buffers.scratch =
        memref::AllocaOp::create(b, scratchType(k, b.getContext()));
  return buffers;
}

/// The loops over chunks of heads and groups of `rows` query rows (or, with
/// kk.partBlocks, the parts of one row's positions, merged after them),
/// split across threads when `parallel`.
static void emitAttentionLoops(ImplicitLocOpBuilder &b,
                               const AttentionKernel &kk, Value rows,
                               bool parallel,
                               SmallVectorImpl<Operation *> &exps) {
  Value zero = cIndex(b, 0), one = cIndex(b, 1);
  Value chunksPerRow = cIndex(b, kk.heads / kk.chunk);
  Value inner, partials;
  if (kk.partBlocks) {
    Value seen = arith::MinUIOp::create(
        b, arith::AddIOp::create(b, kk.position, one),
        cIndex(b, kk.positions));
    inner = partsOf(
        b, kk, arith::CeilDivUIOp::create(b, seen, cIndex(b, kk.block)));
    partials = memref::AllocOp::create(
        b, MemRefType::get({kk.maxParts, kk.heads, kk.headSize + 2},
                           b.getF32Type()));
  } else {
    inner = arith::CeilDivUIOp::create(b, rows, cIndex(b, kk.rowsPerGroup));
  }
  auto body = [&](OpBuilder &ob, Location loc, Value i, Value c,
                  AttentionBuffers buffers) {
    ImplicitLocOpBuilder rb(loc, ob);
    if (!buffers.state)
      buffers = allocateBuffers(rb, kk);
    Value h0 = arith::MulIOp::create(rb, c, cIndex(rb, kk.chunk));
    if (partials) {
      emitAttentionChunk(rb, kk, rows, cIndex(rb, 0), h0, buffers.state,
                         buffers.scratch, exps, i, inner, partials);
      return;
    }
    Value r0 = arith::MulIOp::create(rb, parallel ? zigzag(rb, i, inner) : i,
                                     cIndex(rb, kk.rowsPerGroup));
    if (kk.rowsInLanes)
      emitAttentionRows(rb, kk, rows, r0, h0, buffers, exps);
    else
      emitAttentionChunk(rb, kk, rows, r0, h0, buffers.state, buffers.scratch,
                         exps);
  };
  // Chunks of heads outermost: the rows of a causal prompt cost more the
  // later they come, and threads take contiguous ranges of the flattened
  // iterations, so each thread gets whole chunks (all rows) where it can,
  // and a chunk split between threads is split evenly (zigzag). A chunk's
  // cache rows are also reused by all the prompt's rows in turn.
  if (parallel) {
    scf::ParallelOp::create(
        b, ValueRange{zero, zero}, ValueRange{chunksPerRow, inner},
        ValueRange{one, one}, [&](OpBuilder &ob, Location loc, ValueRange ivs) {
          body(ob, loc, ivs[1], ivs[0], AttentionBuffers());
        });
  } else {
    AttentionBuffers buffers = allocateBuffers(b, kk);
    scf::buildLoopNest(b, b.getLoc(), ValueRange{zero, zero},
                       ValueRange{chunksPerRow, inner}, ValueRange{one, one},
                       [&](OpBuilder &ob, Location loc, ValueRange ivs) {
                         body(ob, loc, ivs[1], ivs[0], buffers);
                       });
  }
  if (partials)
    mergeParts(b, kk, partials, inner);
}

LogicalResult qnt::lowerAttentionToVector(AttentionOp op, int64_t lanes,
                                          int64_t rowsPerGroup,
                                          int64_t headsPerGroup, bool prefetch,
                                          bool parallel) {
  FailureOr<AttentionKernel> described =
      describeAttention(op, lanes, rowsPerGroup, prefetch);
  if (failed(described))
    return failure();
  AttentionKernel k = *described;
  auto queryType = cast<RankedTensorType>(op.getQuery().getType());
  auto valuesType = cast<RankedTensorType>(op.getValues().getType());
  // The bytes of one kv head's row (an i8 record's codes and multiplier,
  // an i4 block's codes of one position).
  int64_t rowBytes =
      k.quantized ? k.headSize + 1
      : k.kivi    ? k.headSize / 2
                  : valuesType.getDimSize(2) *
                        valuesType.getElementType().getIntOrFloatBitWidth() /
                        8;

  ImplicitLocOpBuilder b(op.getLoc(), op);
  k.query = toStridedBuffer(b, op.getQuery());
  k.keys = toStridedBuffer(b, op.getKeys());
  k.values = toStridedBuffer(b, op.getValues());
  if (k.quantized) {
    // The codes of the i8 records as rows [S, KvH, D].
    auto codes = [&](Value records) -> Value {
      Value view = memref::SubViewOp::create(
          b, records,
          ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(k.positions),
                                 b.getIndexAttr(k.kvHeads * k.headSize)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
      return memref::ExpandShapeOp::create(
          b, ArrayRef<int64_t>{k.positions, k.kvHeads, k.headSize}, view,
          ArrayRef<ReassociationIndices>{{0}, {1, 2}});
    };
    k.keyRecords = k.keys;
    k.valueRecords = k.values;
    k.keys = codes(k.keyRecords);
    k.values = codes(k.valueRecords);
  }
  k.position = op.getPosition();
  if (k.kivi) {
    k.kivi4.keys = k.keys;
    k.kivi4.values = k.values;
    k.kivi4.recentKeys = toStridedBuffer(b, op.getRecentKeys());
    k.kivi4.recentValues = toStridedBuffer(b, op.getRecentValues());
    k.kivi4.position = k.position;
  }
  Value rows = memref::DimOp::create(b, k.query, 0);
  SmallVector<Value> dynSizes;
  if (queryType.isDynamicDim(0))
    dynSizes.push_back(rows);
  k.out = memref::AllocOp::create(
      b, MemRefType::get(queryType.getShape(), b.getF32Type()), dynSizes);

  SmallVector<Operation *> exps;
  auto emitLoops = [&](ImplicitLocOpBuilder &ib, const AttentionKernel &kk) {
    emitAttentionLoops(ib, kk, rows, parallel, exps);
  };
  // One query row (a decoding step: the prefill entry point with one token
  // when the row count is dynamic) streams the cache from memory, prefetches
  // it and splits its positions into parts; groups of rows reread each block
  // from cache and do not prefetch. A target with one row per group runs a
  // prompt's rows one by one.
  AttentionKernel decode = k, single = k, grouped = k;
  decode.rowsPerGroup = single.rowsPerGroup = 1;
  decode.rowsInLanes = single.rowsInLanes = false;
  chooseChunk(decode, rowBytes, /*oneRow=*/true);
  // One row's chunk is all the heads, so a kv head's query heads are the
  // op's group, which the verifier checks the tile's H divides.
  assert(decode.headsPerKvHead() % headsPerGroup == 0);
  decode.headsPerGroup = headsPerGroup;
  // A part starts at a block of positions, so within one key block of an
  // i4 cache (the kernel's blocks never straddle two).
  decode.partBlocks = std::max<int64_t>(1, kPartPositions / k.block);
  int64_t fullBlocks = llvm::divideCeil(k.positions, k.block);
  decode.maxParts = std::min<int64_t>(
      fullBlocks,
      llvm::divideCeil(fullBlocks, decode.partBlocks * kPartMultiple) *
          kPartMultiple);
  chooseChunk(single, rowBytes, /*oneRow=*/false);
  chooseChunk(grouped, rowBytes, /*oneRow=*/false);
  grouped.prefetch = false;
  const AttentionKernel &rowsKernel = k.rowsPerGroup == 1 ? single : grouped;
  if (queryType.getDimSize(0) == 1) {
    emitLoops(b, decode);
  } else if (!queryType.isDynamicDim(0)) {
    emitLoops(b, rowsKernel);
  } else {
    Value oneRow = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, rows,
                                         cIndex(b, 1));
    scf::IfOp::create(
        b, oneRow,
        [&](OpBuilder &tb, Location loc) {
          ImplicitLocOpBuilder ib(loc, tb);
          emitLoops(ib, decode);
          scf::YieldOp::create(ib);
        },
        [&](OpBuilder &eb, Location loc) {
          ImplicitLocOpBuilder ib(loc, eb);
          emitLoops(ib, rowsKernel);
          scf::YieldOp::create(ib);
        });
  }

  // exp of a vector would become one libm call per lane; upstream's
  // polynomial approximation (within a few ulp of expf) stays in registers.
  RewritePatternSet patterns(op.getContext());
  populateMathPolynomialApproximationPatterns(
      patterns,
      [](StringRef name) { return name == "exp" || name == "math.exp"; });
  FrozenRewritePatternSet frozen(std::move(patterns));
  GreedyRewriteConfig config;
  config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
  (void)applyOpPatternsGreedily(exps, frozen, config);

  replaceWithBuffer(b, op, k.out);
  return success();
}

namespace {
/// The #qnt.kernel<attention, ...> of `op`, or an error on it.
FailureOr<KernelAttr> attentionKernel(Operation *op) {
  auto kernel = op->getAttrOfType<KernelAttr>(kKernelAttrName);
  if (!kernel)
    return op->emitOpError()
           << "has no #qnt.kernel attribute (run qnt-select-kernels first)";
  return kernel;
}

struct LowerAttention final : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    FailureOr<KernelAttr> kernel = attentionKernel(op);
    return failed(kernel) ? failure()
                          : lowerAttentionToVector(op, kernel->getLanes(),
                                                   kernel->getTileRows(),
                                                   kernel->getTileCols(),
                                                   kernel->getPrefetch(),
                                                   kernel->getParallel());
  }
};

struct LowerPackCacheRows final : OpRewritePattern<PackCacheRowsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PackCacheRowsOp op,
                                PatternRewriter &rewriter) const override {
    FailureOr<KernelAttr> kernel = attentionKernel(op);
    return failed(kernel) ? failure()
                          : lowerPackCacheRowsToVector(op, kernel->getLanes());
  }
};
} // namespace

void qnt::populateQntAttentionToVectorPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerAttention, LowerPackCacheRows>(patterns.getContext());
  populateQntKiviCacheToVectorPatterns(patterns);
}
