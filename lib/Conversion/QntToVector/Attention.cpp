// CPU lowering of qnt.attention: one pass over the live positions of the KV
// cache per (group of query rows, head), with a running softmax, in vector
// registers.
#include "Kernels.h"
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
/// How many blocks of positions ahead a single query row prefetches the
/// cache.
constexpr int64_t kPrefetchBlocks = 2;

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

/// What one lowered qnt.attention reads and writes, and its vector shape.
struct AttentionKernel {
  Value query, keys, values, out; // memrefs [T, H, D], [S, KvH, D] x2, [T, H, D]
  Value position;                 // index of row 0
  int64_t heads, group, headSize, positions;
  int64_t lanes;  // f32 lanes per vector; divides headSize
  int64_t block;  // positions scored together (one vector of scores)
  int64_t chunk;  // heads processed together, position by position
  int64_t rowsPerGroup = 1; // query rows processed together over each block
  bool prefetch = false; // prefetch the blocks ahead (prefetchRows)
  int64_t kvHeadsPerChunk; // key-value heads a chunk reads
  // A single query row: blocks per part of its positions (partsOf) before
  // the count is rounded up, and the parts of a full cache.
  int64_t partBlocks = 0, maxParts = 0;
  float scale;
  // i8 cache rows (#qnt.cache_format<i8>): D codes, then the f32 scale.
  // Each block's rows of one key-value head are converted to f32 once into
  // a scratch buffer [2 (keys, values), B + 1, max(D, B)] just before the
  // query heads of its group read them: rows 0 .. B-1 the codes of the
  // block's positions, row B their scales.
  bool quantized = false;
  // f16 cache rows (#qnt.cache_format<f16>): extended to f32 in registers
  // as they are read, or, where several query heads share a key-value head
  // (`widened`), into the scratch once per block like i8 rows (without
  // scales): a conversion costs an FMA's share of the core, and a group's
  // heads would each repeat it.
  bool half = false, widened = false;
  // An i4 cache (#qnt.cache_format<i4>): each block's keys and values
  // decoded to f32 (scales applied) into the same scratch by
  // decodeKiviBlock; kivi.block is the key block.
  bool kivi = false;
  KiviCacheReader kivi4;
  /// Whether a block is decoded into the scratch before it is read.
  bool decoded() const { return quantized || kivi || widened; }
  /// Query heads of the chunk that read one key-value head.
  int64_t headsPerKvHead() const { return std::min(group, chunk); }
};

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

/// The scratch buffer of one key-value head's decoded block (decoded()
/// caches only); the leading 1 is the kv index decodeKiviBlock writes.
MemRefType scratchType(const AttentionKernel &k, MLIRContext *ctx) {
  return MemRefType::get({1, 2, k.block + 1, std::max(k.headSize, k.block)},
                         Float32Type::get(ctx));
}

/// Converts the i8 or f16 rows `rows` (one per position of the block) of
/// key-value head g into `scratch`: codes or halves as f32, and each i8
/// row's scale.
void decodeBlock(ImplicitLocOpBuilder &b, const AttentionKernel &k,
                 ArrayRef<Value> rows, Value g, Value scratch) {
  int64_t L = k.lanes, D = k.headSize;
  auto rowType = VectorType::get(
      {L}, k.half ? Type(b.getF16Type()) : Type(b.getI8Type()));
  auto floatsType = VectorType::get({L}, b.getF32Type());
  auto scaleBytes = VectorType::get({4}, b.getI8Type());
  auto scaleType = VectorType::get({1}, b.getF32Type());
  Value kv = cIndex(b, 0);
  for (int64_t which = 0; which < 2; ++which) {
    Value cache = which == 0 ? k.keys : k.values;
    Value w = cIndex(b, which);
    for (size_t j = 0; j < rows.size(); ++j) {
      for (int64_t c = 0; c < D; c += L) {
        Value row = vector::LoadOp::create(
            b, rowType, cache, ValueRange{rows[j], g, cIndex(b, c)});
        Value floats =
            k.half ? arith::ExtFOp::create(b, floatsType, row).getResult()
                   : arith::SIToFPOp::create(b, floatsType, row).getResult();
        vector::StoreOp::create(b, floats, scratch,
                                ValueRange{kv, w, cIndex(b, j), cIndex(b, c)});
      }
      if (!k.quantized)
        continue;
      Value bytes = vector::LoadOp::create(
          b, scaleBytes, cache, ValueRange{rows[j], g, cIndex(b, D)});
      Value scale = vector::ExtractOp::create(
          b, vector::BitCastOp::create(b, scaleType, bytes), 0);
      memref::StoreOp::create(
          b, scale, scratch,
          ValueRange{kv, w, cIndex(b, k.block), cIndex(b, j)});
    }
  }
}

Value splat(ImplicitLocOpBuilder &b, VectorType type, Value scalar) {
  return vector::BroadcastOp::create(b, type, scalar);
}

Value f32Const(ImplicitLocOpBuilder &b, float v) {
  return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
}

/// Emits rows r0 .. r0 + R - 1 (R = k.rowsPerGroup; rows past the last one
/// repeat it) of the result for the heads h0 .. h0 + k.chunk - 1, one block
/// of positions at a time for all of them (position-major: the heads of a
/// chunk read neighbouring bytes of each cache row). Per row and head, the
/// block's scores, the running maximum m, the running sum l of exp(s - m)
/// and the running weighted sum of value rows, all rescaled by
/// exp(m_old - m_new) when the maximum grows (the "online softmax"), kept in
/// `state` between blocks; at the end out = acc / l. The R rows of a group
/// share each block's cache rows (read once from memory, then from L1) and
/// are independent chains of latency the core overlaps: one row alone
/// waits on its softmax and its accumulators (a prompt's attention ran at
/// about a sixth of the core's FMA rate).
struct AttentionChunk {
  const AttentionKernel &k;
  Value r0, h0, state, scratch;
  SmallVectorImpl<Operation *> &exps;
  int64_t L, B, chunks, D;
  VectorType vecL, vecB;
  Value negInf, zero;
  static constexpr arith::FastMathFlags reassoc = arith::FastMathFlags::reassoc;
  int64_t R;
  // Set by emit(): the group's query rows, the positions each sees, the
  // last position any of them sees, the chunk's first key-value head, what
  // a cache row spans, and (i4, one row per group) the end of the closed
  // key blocks the row sees.
  SmallVector<Value> rowOf, n;
  Value last, g0, closedEnd;
  int64_t rowElems = 0, lineElems = 0;

  AttentionChunk(ImplicitLocOpBuilder &b, const AttentionKernel &k, Value r0,
                 Value h0, Value state, Value scratch,
                 SmallVectorImpl<Operation *> &exps)
      : k(k), r0(r0), h0(h0), state(state), scratch(scratch), exps(exps),
        L(k.lanes), B(k.block), chunks(k.headSize / k.lanes), D(k.headSize),
        R(k.rowsPerGroup) {
    Type f32 = b.getF32Type();
    vecL = VectorType::get({L}, f32);
    vecB = VectorType::get({B}, f32);
    negInf = f32Const(b, -std::numeric_limits<float>::infinity());
    zero = f32Const(b, 0.0f);
  }

  /// fn(builder, hh, h0 + hh) for each head hh of the chunk, in a loop.
  /// For row i of the group, state[hh * R + i, 0 .. D) = acc,
  /// state[hh * R + i, D] = m, state[hh * R + i, D + 1] = l.
  void forHeads(ImplicitLocOpBuilder &ob,
                function_ref<void(ImplicitLocOpBuilder &, Value, Value)> fn) {
    scf::ForOp::create(ob, cIndex(ob, 0), cIndex(ob, k.chunk), cIndex(ob, 1),
                       ValueRange{},
                       [&](OpBuilder &hb, Location loc, Value hh, ValueRange) {
                         ImplicitLocOpBuilder ib(loc, hb);
                         fn(ib, hh, arith::AddIOp::create(ib, h0, hh));
                         scf::YieldOp::create(ib);
                       });
  }

  /// Prefetches the chunk's key and value lines of the block `ahead` blocks
  /// after the one at t0 (a chunk reads a few cache lines every kvHeads * D
  /// floats, a stride the hardware prefetchers follow poorly), spread over
  /// the chunk's heads: a burst of them would fill the core's miss buffers
  /// and stall the block's arithmetic behind them. This is head hh's share.
  void prefetchRows(ImplicitLocOpBuilder &pb, Value t0, Value hh,
                    int64_t ahead = kPrefetchBlocks) {
    int64_t perHead = (B + k.chunk - 1) / k.chunk;
    for (int64_t jj = 0; jj < perHead; ++jj) {
      Value j = arith::AddIOp::create(
          pb, arith::MulIOp::create(pb, hh, cIndex(pb, perHead)),
          cIndex(pb, jj));
      Value row = arith::MinUIOp::create(
          pb,
          arith::AddIOp::create(
              pb, t0, arith::AddIOp::create(pb, j, cIndex(pb, ahead * B))),
          last);
      // i4 keys lie in blocks, not rows: only the values are prefetched.
      SmallVector<Value, 2> caches = {k.values};
      if (!k.kivi)
        caches.push_back(k.keys);
      for (int64_t kv = 0; kv < k.kvHeadsPerChunk; ++kv)
        for (int64_t i = 0; i < rowElems; i += lineElems)
          for (Value cache : caches)
            memref::PrefetchOp::create(
                pb, cache,
                ValueRange{row, arith::AddIOp::create(pb, g0, cIndex(pb, kv)),
                           cIndex(pb, i)},
                /*isWrite=*/false, /*localityHint=*/kPrefetchLocality,
                /*isDataCache=*/true);
    }
  }

  /// Lanes c * L .. of the key (which = 0) or value (1) of position j of the
  /// block for key-value head g: from the cache rows, or from their decoded
  /// copy in the scratch.
  Value loadKv(ImplicitLocOpBuilder &ib, ArrayRef<Value> rows, Value g,
               int64_t which, int64_t j, int64_t c) {
    if (k.decoded())
      return vector::LoadOp::create(
          ib, vecL, scratch,
          ValueRange{cIndex(ib, 0), cIndex(ib, which), cIndex(ib, j),
                     cIndex(ib, c * L)});
    Value cache = which == 0 ? k.keys : k.values;
    SmallVector<Value, 3> at = {rows[j], g, cIndex(ib, c * L)};
    if (k.half) {
      Value halves = vector::LoadOp::create(
          ib, VectorType::get({L}, ib.getF16Type()), cache, at);
      return arith::ExtFOp::create(ib, vecL, halves).getResult();
    }
    return vector::LoadOp::create(ib, vecL, cache, at).getResult();
  }

  /// The decoded block's row scales of keys (which = 0) or values (1).
  Value scalesOf(ImplicitLocOpBuilder &ib, int64_t which) {
    return vector::LoadOp::create(ib, vecB, scratch,
                                  ValueRange{cIndex(ib, 0), cIndex(ib, which),
                                             cIndex(ib, B), cIndex(ib, 0)});
  }

  /// The state row of head hh and row i of the group.
  Value stateRow(ImplicitLocOpBuilder &ib, Value hh, int64_t i) {
    return arith::AddIOp::create(
        ib, arith::MulIOp::create(ib, hh, cIndex(ib, R)), cIndex(ib, i));
  }

  /// Query row r's scores of the block for head h (masked to the live
  /// positions).
  Value headScores(ImplicitLocOpBuilder &ib, Value r, Value h,
                   ArrayRef<Value> rows, Value g, Value live,
                   Value scale) {
    SmallVector<Value> q;
    for (int64_t c = 0; c < chunks; ++c)
      q.push_back(arith::MulFOp::create(
          ib,
          vector::LoadOp::create(ib, vecL, k.query,
                                 ValueRange{r, h, cIndex(ib, c * L)}),
          scale));
    // Per position, the lane-wise products summed over the head's chunks;
    // then the lanes of every position summed.
    SmallVector<Value> partials;
    for (int64_t j = 0; j < B; ++j) {
      Value dot;
      for (int64_t c = 0; c < chunks; ++c) {
        Value key = loadKv(ib, rows, g, 0, j, c);
        dot = dot ? vector::FMAOp::create(ib, q[c], key, dot).getResult()
                  : arith::MulFOp::create(ib, q[c], key).getResult();
      }
      partials.push_back(dot);
    }
    Value scores;
    if (L == B) {
      scores = sumLanesOfEach(ib, partials);
    } else {
      scores = splat(ib, vecB, negInf);
      for (int64_t j = 0; j < B; ++j)
        scores = vector::InsertOp::create(
            ib,
            vector::ReductionOp::create(ib, vector::CombiningKind::ADD,
                                        partials[j], reassoc),
            scores, j);
    }
    // Scores of codes times the rows' key scales.
    if (k.quantized)
      scores = arith::MulFOp::create(ib, scores, scalesOf(ib, 0));
    return arith::SelectOp::create(ib, live, scores, splat(ib, vecB, negInf));
  }

  /// The online-softmax update of head hh's state with the block's scores,
  /// for every row of the group: each value row is read once for all of
  /// them.
  void updateHeads(ImplicitLocOpBuilder &ib, Value hh, ArrayRef<Value> scores,
                   ArrayRef<Value> rows, Value g) {
    // Weights of value codes: p times the rows' value scales.
    Value valueScales = k.quantized ? scalesOf(ib, 1) : Value();
    SmallVector<Value> weights;
    SmallVector<SmallVector<Value>> acc(R);
    for (int64_t i = 0; i < R; ++i) {
      Value row = stateRow(ib, hh, i);
      Value mOld =
          memref::LoadOp::create(ib, state, ValueRange{row, cIndex(ib, D)});
      Value lOld = memref::LoadOp::create(ib, state,
                                          ValueRange{row, cIndex(ib, D + 1)});
      // Scores are finite or -inf (masked): a maximum that skips NaNs
      // needs no NaN checks. A NaN in q or k still reaches the output
      // through p.
      Value blockMax = vector::ReductionOp::create(
          ib, vector::CombiningKind::MAXNUMF, scores[i],
          arith::FastMathFlags::nnan);
      Value m = arith::MaximumFOp::create(ib, mOld, blockMax);
      // exp(-inf) = 0 on the first block: nothing to rescale yet.
      Value rescale =
          math::ExpOp::create(ib, arith::SubFOp::create(ib, mOld, m));
      auto p = math::ExpOp::create(
          ib, arith::SubFOp::create(ib, scores[i], splat(ib, vecB, m)));
      exps.push_back(p);
      Value l = arith::AddFOp::create(
          ib, arith::MulFOp::create(ib, lOld, rescale),
          vector::ReductionOp::create(ib, vector::CombiningKind::ADD, p,
                                      reassoc));
      memref::StoreOp::create(ib, m, state, ValueRange{row, cIndex(ib, D)});
      memref::StoreOp::create(ib, l, state,
                              ValueRange{row, cIndex(ib, D + 1)});
      Value rescaleV = splat(ib, vecL, rescale);
      for (int64_t c = 0; c < chunks; ++c)
        acc[i].push_back(arith::MulFOp::create(
            ib,
            vector::LoadOp::create(ib, vecL, state,
                                   ValueRange{row, cIndex(ib, c * L)}),
            rescaleV));
      weights.push_back(
          k.quantized ? arith::MulFOp::create(ib, p, valueScales).getResult()
                      : p.getResult());
    }
    for (int64_t j = 0; j < B; ++j) {
      SmallVector<Value> weight;
      for (int64_t i = 0; i < R; ++i)
        weight.push_back(
            splat(ib, vecL, vector::ExtractOp::create(ib, weights[i], j)));
      for (int64_t c = 0; c < chunks; ++c) {
        Value value = loadKv(ib, rows, g, 1, j, c);
        for (int64_t i = 0; i < R; ++i)
          acc[i][c] = vector::FMAOp::create(ib, weight[i], value, acc[i][c]);
      }
    }
    for (int64_t i = 0; i < R; ++i) {
      Value row = stateRow(ib, hh, i);
      for (int64_t c = 0; c < chunks; ++c)
        vector::StoreOp::create(ib, acc[i][c], state,
                                ValueRange{row, cIndex(ib, c * L)});
    }
  }

  /// One block of B positions from blk * B, for every head of the chunk.
  void emitBlock(ImplicitLocOpBuilder &lb, Value blk) {
    Value t0 = arith::MulIOp::create(lb, blk, cIndex(lb, B));
    // Positions past the last one of the row are read at the last one
    // (never past the cache) and masked out of the softmax.
    SmallVector<Value> rows;
    for (int64_t j = 0; j < B; ++j)
      rows.push_back(arith::MinUIOp::create(
          lb, arith::AddIOp::create(lb, t0, cIndex(lb, j)), last));
    // Each row's live positions (create_mask clamps a negative count to
    // none: a block past a row's last position masks all of it).
    SmallVector<Value> live;
    for (int64_t i = 0; i < R; ++i)
      live.push_back(vector::CreateMaskOp::create(
          lb, VectorType::get({B}, lb.getI1Type()),
          ValueRange{arith::SubIOp::create(lb, n[i], t0)}));
    Value scale = splat(lb, vecL, f32Const(lb, k.scale));
    // Per key-value head of the chunk: its block decoded (decoded()), then
    // the query heads that read it.
    int64_t perKv = k.headsPerKvHead();
    scf::ForOp::create(
        lb, cIndex(lb, 0), cIndex(lb, k.kvHeadsPerChunk), cIndex(lb, 1),
        ValueRange{},
        [&](OpBuilder &kb, Location kloc, Value kvl, ValueRange) {
          ImplicitLocOpBuilder gb(kloc, kb);
          Value g = arith::AddIOp::create(gb, g0, kvl);
          if (k.quantized || k.widened)
            decodeBlock(gb, k, rows, g, scratch);
          if (k.kivi)
            decodeKiviBlock(gb, k.kivi4, rows, t0, closedEnd, g, 1, scratch);
          scf::ForOp::create(
              gb, cIndex(gb, 0), cIndex(gb, perKv), cIndex(gb, 1),
              ValueRange{},
              [&](OpBuilder &hb, Location hloc, Value i, ValueRange) {
                ImplicitLocOpBuilder ib(hloc, hb);
                Value hh = arith::AddIOp::create(
                    ib, arith::MulIOp::create(ib, kvl, cIndex(ib, perKv)), i);
                Value h = arith::AddIOp::create(ib, h0, hh);
                if (k.prefetch)
                  prefetchRows(ib, t0, hh);
                SmallVector<Value> scores;
                for (int64_t r = 0; r < R; ++r)
                  scores.push_back(
                      headScores(ib, rowOf[r], h, rows, g, live[r], scale));
                updateHeads(ib, hh, scores, rows, g);
                scf::YieldOp::create(ib);
              });
          scf::YieldOp::create(gb);
        });
  }

  /// Emits the chunk over all the positions its rows see, into k.out; or,
  /// given `part` of `parts` (partsOf, computed once by the caller), over
  /// that part's blocks only (one query row), leaving each head's
  /// unnormalized state (acc, m, l) in partials[part, head].
  void emit(ImplicitLocOpBuilder &b, Value queryRows, Value part,
            Value parts, Value partials) {
    forHeads(b, [&](ImplicitLocOpBuilder &ib, Value hh, Value) {
      for (int64_t i = 0; i < R; ++i) {
        Value row = stateRow(ib, hh, i);
        for (int64_t c = 0; c < chunks; ++c)
          vector::StoreOp::create(ib, splat(ib, vecL, zero), state,
                                  ValueRange{row, cIndex(ib, c * L)});
        memref::StoreOp::create(ib, negInf, state,
                                ValueRange{row, cIndex(ib, D)});
        memref::StoreOp::create(ib, zero, state,
                                ValueRange{row, cIndex(ib, D + 1)});
      }
    });
    // Row i of the group is min(r0 + i, T - 1); it sees the positions
    // below min(position + row + 1, S), the last row the most.
    Value lastRow = arith::SubIOp::create(b, queryRows, cIndex(b, 1));
    for (int64_t i = 0; i < R; ++i) {
      rowOf.push_back(
          i == 0 ? r0
                 : arith::MinUIOp::create(
                       b, arith::AddIOp::create(b, r0, cIndex(b, i)), lastRow)
                       .getResult());
      n.push_back(arith::MinUIOp::create(
          b,
          arith::AddIOp::create(
              b, arith::AddIOp::create(b, k.position, rowOf.back()),
              cIndex(b, 1)),
          cIndex(b, k.positions)));
    }
    last = arith::SubIOp::create(b, n.back(), cIndex(b, 1));
    Value firstBlock = cIndex(b, 0);
    Value endBlock = arith::CeilDivUIOp::create(b, n.back(), cIndex(b, B));
    if (part) {
      // An even share of the blocks (partsOf).
      Value blocks = endBlock;
      auto boundary = [&](Value p) -> Value {
        return arith::DivUIOp::create(b, arith::MulIOp::create(b, p, blocks),
                                      parts);
      };
      firstBlock = boundary(part);
      endBlock = boundary(arith::AddIOp::create(b, part, cIndex(b, 1)));
    }
    if (k.kivi)
      closedEnd = arith::MulIOp::create(
          b, arith::DivUIOp::create(b, n[0], cIndex(b, k.kivi4.block)),
          cIndex(b, k.kivi4.block));
    // The chunk's key-value heads and the cache lines they span in a row.
    g0 = arith::DivUIOp::create(b, h0, cIndex(b, k.group));
    auto cacheType = cast<MemRefType>(k.values.getType());
    rowElems = cacheType.getDimSize(2);
    lineElems = 64 / (cacheType.getElementTypeBitWidth() / 8);
    // The loop prefetches kPrefetchBlocks ahead: the blocks before those
    // are asked for here, or every chunk would start on lines no one has
    // prefetched.
    if (k.prefetch)
      forHeads(b, [&](ImplicitLocOpBuilder &ib, Value hh, Value) {
        Value t0 = arith::MulIOp::create(ib, firstBlock, cIndex(ib, B));
        for (int64_t ahead = 0; ahead < kPrefetchBlocks; ++ahead)
          prefetchRows(ib, t0, hh, ahead);
      });
    auto blockLoop = scf::ForOp::create(
        b, firstBlock, endBlock, cIndex(b, 1), ValueRange{},
        [&](OpBuilder &ob, Location loc, Value blk, ValueRange) {
          ImplicitLocOpBuilder lb(loc, ob);
          emitBlock(lb, blk);
          scf::YieldOp::create(lb);
        });
    b.setInsertionPointAfter(blockLoop);
    if (part) {
      forHeads(b, [&](ImplicitLocOpBuilder &ib, Value hh, Value h) {
        Value row = stateRow(ib, hh, 0);
        for (int64_t c = 0; c < chunks; ++c)
          vector::StoreOp::create(
              ib,
              vector::LoadOp::create(ib, vecL, state,
                                     ValueRange{row, cIndex(ib, c * L)}),
              partials, ValueRange{part, h, cIndex(ib, c * L)});
        for (int64_t e = D; e < D + 2; ++e)
          memref::StoreOp::create(
              ib,
              memref::LoadOp::create(ib, state, ValueRange{row, cIndex(ib, e)}),
              partials, ValueRange{part, h, cIndex(ib, e)});
      });
      return;
    }
    forHeads(b, [&](ImplicitLocOpBuilder &ib, Value hh, Value h) {
      // Rows past the last one repeat it and store the same values.
      for (int64_t i = 0; i < R; ++i) {
        Value row = stateRow(ib, hh, i);
        Value l = memref::LoadOp::create(ib, state,
                                         ValueRange{row, cIndex(ib, D + 1)});
        Value inv =
            splat(ib, vecL, arith::DivFOp::create(ib, f32Const(ib, 1.0f), l));
        for (int64_t c = 0; c < chunks; ++c)
          vector::StoreOp::create(
              ib,
              arith::MulFOp::create(
                  ib,
                  vector::LoadOp::create(ib, vecL, state,
                                         ValueRange{row, cIndex(ib, c * L)}),
                  inv),
              k.out, ValueRange{rowOf[i], h, cIndex(ib, c * L)});
      }
    });
  }
};

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

void emitChunk(ImplicitLocOpBuilder &b, const AttentionKernel &k,
               Value queryRows, Value r0, Value h0, Value state,
               Value scratch, SmallVectorImpl<Operation *> &exps,
               Value part = {}, Value parts = {}, Value partials = {}) {
  AttentionChunk(b, k, r0, h0, state, scratch, exps)
      .emit(b, queryRows, part, parts, partials);
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

LogicalResult qnt::lowerAttentionToVector(AttentionOp op, int64_t lanes,
                                          int64_t rowsPerGroup, bool prefetch,
                                          bool parallel) {
  auto queryType = cast<RankedTensorType>(op.getQuery().getType());
  auto valuesType = cast<RankedTensorType>(op.getValues().getType());
  AttentionKernel k;
  k.heads = queryType.getDimSize(1);
  k.headSize = queryType.getDimSize(2);
  k.group = k.heads / valuesType.getDimSize(1);
  k.positions = valuesType.getDimSize(0);
  k.scale = op.getScale().convertToFloat();
  k.quantized = op.getCache() == CacheFormat::i8;
  k.half = op.getCache() == CacheFormat::f16;
  k.kivi = op.getCache() == CacheFormat::i4;
  k.widened = k.half && k.group > 1;
  k.lanes = widestDividingLanes(k.headSize, lanes);
  k.block = std::max<int64_t>(lanes, 4);
  k.rowsPerGroup = rowsPerGroup;
  k.prefetch = prefetch;
  if (k.kivi && rowsPerGroup != 1)
    return op.emitOpError() << "an i4 cache takes one query row per group "
                               "(#qnt.kernel tile 1x1), not "
                            << rowsPerGroup;
  if (k.kivi) {
    // A block of positions never straddles two key blocks.
    k.kivi4.block = *op.getCacheBlock();
    k.kivi4.headSize = k.headSize;
    k.kivi4.windowOffset =
        KeyBlockLayout{k.kivi4.block, k.headSize}.windowOffset(k.positions);
    k.block = std::min(k.block, k.kivi4.block);
  }
  int64_t rowBytes = valuesType.getDimSize(2) *
                     valuesType.getElementType().getIntOrFloatBitWidth() / 8;

  ImplicitLocOpBuilder b(op.getLoc(), op);
  k.query = toStridedBuffer(b, op.getQuery());
  k.keys = toStridedBuffer(b, op.getKeys());
  k.values = toStridedBuffer(b, op.getValues());
  k.position = op.getPosition();
  if (k.kivi)
    k.kivi4 = {k.keys, k.values, toStridedBuffer(b, op.getRecentKeys()),
               k.position, k.kivi4.block, k.headSize, k.kivi4.windowOffset};
  Value rows = memref::DimOp::create(b, k.query, 0);
  SmallVector<Value> dynSizes;
  if (queryType.isDynamicDim(0))
    dynSizes.push_back(rows);
  k.out = memref::AllocOp::create(
      b, MemRefType::get(queryType.getShape(), b.getF32Type()), dynSizes);

  SmallVector<Operation *> exps;
  // The loops over chunks of heads and groups of rows (or, with
  // kk.partBlocks, the parts of one row's positions), for kernel `kk`.
  auto emitLoops = [&](ImplicitLocOpBuilder &b, const AttentionKernel &kk) {
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
    // The state of one chunk's heads for a group of rows: acc, m and l
    // (emitChunk). In a parallel loop it is made in the body
    // (qnt-parallel-to-openmp makes it once per thread), else once before
    // the loops.
    auto stateType = MemRefType::get(
        {kk.chunk * kk.rowsPerGroup, kk.headSize + 2}, b.getF32Type());
    auto body = [&](OpBuilder &ob, Location loc, Value i, Value c,
                    Value state, Value scratch) {
      ImplicitLocOpBuilder rb(loc, ob);
      if (!state)
        state = memref::AllocaOp::create(rb, stateType);
      if (!scratch && kk.decoded())
        scratch =
            memref::AllocaOp::create(rb, scratchType(kk, rb.getContext()));
      Value h0 = arith::MulIOp::create(rb, c, cIndex(rb, kk.chunk));
      if (partials)
        emitChunk(rb, kk, rows, cIndex(rb, 0), h0, state, scratch, exps, i,
                  inner, partials);
      else
        emitChunk(rb, kk, rows,
                  arith::MulIOp::create(rb, i, cIndex(rb, kk.rowsPerGroup)),
                  h0, state, scratch, exps);
    };
    // Chunks of heads outermost: the rows of a causal prompt cost more the
    // later they come, and threads take contiguous ranges of the flattened
    // iterations, so each thread gets whole chunks (all rows) where it can.
    // A chunk's cache rows are also reused by all the prompt's rows in turn.
    if (parallel) {
      scf::ParallelOp::create(
          b, ValueRange{zero, zero}, ValueRange{chunksPerRow, inner},
          ValueRange{one, one},
          [&](OpBuilder &ob, Location loc, ValueRange ivs) {
            body(ob, loc, ivs[1], ivs[0], Value(), Value());
          });
    } else {
      Value state = memref::AllocaOp::create(b, stateType);
      Value scratch;
      if (kk.decoded())
        scratch =
            memref::AllocaOp::create(b, scratchType(kk, b.getContext()));
      scf::buildLoopNest(b, b.getLoc(), ValueRange{zero, zero},
                         ValueRange{chunksPerRow, inner}, ValueRange{one, one},
                         [&](OpBuilder &ob, Location loc, ValueRange ivs) {
                           body(ob, loc, ivs[1], ivs[0], state, scratch);
                         });
    }
    if (partials)
      mergeParts(b, kk, partials, inner);
  };
  // One query row (a decoding step: the prefill entry point with one token
  // when the row count is dynamic) streams the cache from memory, prefetches
  // it and splits its positions into parts; groups of rows reread each block
  // from cache and do not prefetch. A target with one row per group runs a
  // prompt's rows one by one.
  AttentionKernel decode = k, single = k, grouped = k;
  decode.rowsPerGroup = single.rowsPerGroup = 1;
  chooseChunk(decode, rowBytes, /*oneRow=*/true);
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
      patterns, [](StringRef name) { return name == "exp" || name == "math.exp"; });
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
