// One chunk of heads of the CPU lowering of qnt.attention over the live
// positions of the KV cache, block by block, with a running softmax in
// vector registers (the loops around it: Attention.cpp).
#include "AttentionKernel.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "qnt/Conversion/Common.h"
#include <limits>

using namespace mlir;
using namespace mlir::qnt;

void qnt::decodeBlock(ImplicitLocOpBuilder &b, const AttentionKernel &k,
                      ArrayRef<Value> rows, Value g, Value scratch) {
  int64_t L = k.lanes, D = k.headSize;
  auto rowType = VectorType::get(
      {L}, k.half ? Type(b.getF16Type()) : Type(b.getI8Type()));
  auto floatsType = VectorType::get({L}, b.getF32Type());
  auto stepBytes = VectorType::get({2}, b.getI8Type());
  auto stepType = VectorType::get({1}, b.getF16Type());
  I8PositionLayout record{k.kvHeads, D};
  Value kv = cIndex(b, 0);
  for (int64_t which = 0; which < 2; ++which) {
    Value cache = which == 0 ? k.keys : k.values;
    Value records = which == 0 ? k.keyRecords : k.valueRecords;
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
      // The position's f16 step times head g's unsigned multiplier.
      Value bytes = vector::LoadOp::create(
          b, stepBytes, records,
          ValueRange{rows[j], cIndex(b, record.stepOffset())});
      Value half = vector::ExtractOp::create(
          b, vector::BitCastOp::create(b, stepType, bytes), 0);
      Value multiplier = memref::LoadOp::create(
          b, records,
          ValueRange{rows[j],
                     arith::AddIOp::create(
                         b, g, cIndex(b, record.multiplierOffset(0)))});
      Value scale = emitI8CacheScale(b, half, multiplier);
      memref::StoreOp::create(
          b, scale, scratch,
          ValueRange{kv, w, cIndex(b, k.block), cIndex(b, j)});
    }
  }
}

void qnt::groupRows(ImplicitLocOpBuilder &b, const AttentionKernel &k,
                    Value queryRows, Value r0, SmallVectorImpl<Value> &rows,
                    SmallVectorImpl<Value> &seen) {
  Value lastRow = arith::SubIOp::create(b, queryRows, cIndex(b, 1));
  for (int64_t i = 0; i < k.rowsPerGroup; ++i) {
    rows.push_back(
        i == 0 ? r0
               : arith::MinUIOp::create(
                     b, arith::AddIOp::create(b, r0, cIndex(b, i)), lastRow)
                     .getResult());
    seen.push_back(arith::MinUIOp::create(
        b,
        arith::AddIOp::create(
            b, arith::AddIOp::create(b, k.position, rows.back()),
            cIndex(b, 1)),
        cIndex(b, k.positions)));
  }
}

namespace {
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
/// about a sixth of the core's FMA rate). A single row takes H query heads
/// of a key-value head together for the same reason.
struct AttentionChunk {
  const AttentionKernel &k;
  Value r0, h0, state, scratch;
  SmallVectorImpl<Operation *> &exps;
  int64_t L, B, chunks, D;
  VectorType vecL, vecB;
  Value negInf, zero;
  static constexpr arith::FastMathFlags reassoc = arith::FastMathFlags::reassoc;
  int64_t R, H;
  // Set by emit(): the group's query rows, the positions each sees, the
  // last position any of them sees, the chunk's first key-value head, what
  // a cache row spans, and (i4) the window start of the group's rows, which
  // they share (emitAttentionChunk): positions before it are read from
  // their blocks.
  SmallVector<Value> rowOf, n;
  Value last, g0, closedEnd;
  int64_t rowElems = 0, lineElems = 0;

  AttentionChunk(ImplicitLocOpBuilder &b, const AttentionKernel &k, Value r0,
                 Value h0, Value state, Value scratch,
                 SmallVectorImpl<Operation *> &exps)
      : k(k), r0(r0), h0(h0), state(state), scratch(scratch), exps(exps),
        L(k.lanes), B(k.block), chunks(k.headSize / k.lanes), D(k.headSize),
        R(k.rowsPerGroup), H(k.headsPerGroup) {
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
      SmallVector<Value, 2> caches = {k.values, k.keys};
      for (int64_t kv = 0; kv < k.kvHeadsPerChunk; ++kv)
        for (int64_t i = 0; i < rowElems; i += lineElems)
          for (Value cache : caches)
            memref::PrefetchOp::create(
                pb, cache,
                ValueRange{row, arith::AddIOp::create(pb, g0, cIndex(pb, kv)),
                           cIndex(pb, i)},
                /*isWrite=*/false, /*localityHint=*/kPrefetchLocality,
                /*isDataCache=*/true);
      // An i8 record's multipliers and step follow all its heads' codes.
      if (k.quantized)
        for (Value records : {k.keyRecords, k.valueRecords})
          memref::PrefetchOp::create(
              pb, records,
              ValueRange{row,
                         cIndex(pb, I8PositionLayout{k.kvHeads, k.headSize}
                                        .multiplierOffset(0))},
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

  /// The online-softmax update of the states `stateRows` (one per row and
  /// head of the group, which read the same key-value head) with their
  /// block's scores: each value row is read once for all of them.
  void updateHeads(ImplicitLocOpBuilder &ib, ArrayRef<Value> stateRows,
                   ArrayRef<Value> scores, ArrayRef<Value> rows, Value g) {
    int64_t P = stateRows.size();
    // Weights of value codes: p times the rows' value scales.
    Value valueScales = k.quantized ? scalesOf(ib, 1) : Value();
    SmallVector<Value> weights;
    SmallVector<SmallVector<Value>> acc(P);
    for (int64_t i = 0; i < P; ++i) {
      Value row = stateRows[i];
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
      for (int64_t i = 0; i < P; ++i)
        weight.push_back(
            splat(ib, vecL, vector::ExtractOp::create(ib, weights[i], j)));
      for (int64_t c = 0; c < chunks; ++c) {
        Value value = loadKv(ib, rows, g, 1, j, c);
        for (int64_t i = 0; i < P; ++i)
          acc[i][c] = vector::FMAOp::create(ib, weight[i], value, acc[i][c]);
      }
    }
    for (int64_t i = 0; i < P; ++i) {
      Value row = stateRows[i];
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
          // H query heads of the key-value head at a time, each with the
          // R rows of the group.
          scf::ForOp::create(
              gb, cIndex(gb, 0), cIndex(gb, perKv), cIndex(gb, H),
              ValueRange{},
              [&](OpBuilder &hb, Location hloc, Value i, ValueRange) {
                ImplicitLocOpBuilder ib(hloc, hb);
                SmallVector<Value> scores, stateRows;
                for (int64_t e = 0; e < H; ++e) {
                  Value hh = arith::AddIOp::create(
                      ib, arith::MulIOp::create(ib, kvl, cIndex(ib, perKv)),
                      arith::AddIOp::create(ib, i, cIndex(ib, e)));
                  Value h = arith::AddIOp::create(ib, h0, hh);
                  if (k.prefetch)
                    prefetchRows(ib, t0, hh);
                  for (int64_t r = 0; r < R; ++r) {
                    scores.push_back(
                        headScores(ib, rowOf[r], h, rows, g, live[r], scale));
                    stateRows.push_back(stateRow(ib, hh, r));
                  }
                }
                updateHeads(ib, stateRows, scores, rows, g);
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
    groupRows(b, k, queryRows, r0, rowOf, n);
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
      closedEnd = emitI4WindowStart(b, n[0], k.kivi4.layout);
    // The chunk's key-value heads and the cache lines they span in a row.
    g0 = arith::DivUIOp::create(b, h0, cIndex(b, k.group));
    auto cacheType = cast<MemRefType>(k.values.getType());
    if (!k.kivi) {
      rowElems = cacheType.getDimSize(2);
      lineElems = 64 / (cacheType.getElementTypeBitWidth() / 8);
    }
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
} // namespace

void qnt::emitAttentionChunk(ImplicitLocOpBuilder &b, const AttentionKernel &k,
                             Value queryRows, Value r0, Value h0, Value state,
                             Value scratch, SmallVectorImpl<Operation *> &exps,
                             Value part, Value parts, Value partials) {
  if (!k.kivi || k.rowsPerGroup == 1) {
    AttentionChunk(b, k, r0, h0, state, scratch, exps)
        .emit(b, queryRows, part, parts, partials);
    return;
  }
  // An i4 cache: rows read the positions before their own window start
  // from 4-bit blocks, so a group's rows share its decoded blocks only when
  // their window starts are equal. They are, except in the group whose rows
  // straddle a multiple of the block (one in B / R groups of a prompt);
  // that group runs its rows one at a time.
  Value lastRow = arith::SubIOp::create(b, queryRows, cIndex(b, 1));
  auto windowStartOf = [&](Value row) {
    Value seen = arith::MinUIOp::create(
        b,
        arith::AddIOp::create(b, arith::AddIOp::create(b, k.position, row),
                              cIndex(b, 1)),
        cIndex(b, k.positions));
    return emitI4WindowStart(b, seen, k.kivi4.layout);
  };
  Value groupLast = arith::MinUIOp::create(
      b, arith::AddIOp::create(b, r0, cIndex(b, k.rowsPerGroup - 1)),
      lastRow);
  Value shared = arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                       windowStartOf(r0),
                                       windowStartOf(groupLast));
  scf::IfOp::create(
      b, shared,
      [&](OpBuilder &ob, Location loc) {
        ImplicitLocOpBuilder tb(loc, ob);
        AttentionChunk(tb, k, r0, h0, state, scratch, exps)
            .emit(tb, queryRows, part, parts, partials);
        scf::YieldOp::create(tb);
      },
      [&](OpBuilder &ob, Location loc) {
        ImplicitLocOpBuilder eb(loc, ob);
        AttentionKernel single = k;
        single.rowsPerGroup = 1;
        scf::ForOp::create(
            eb, cIndex(eb, 0), cIndex(eb, k.rowsPerGroup), cIndex(eb, 1),
            ValueRange{},
            [&](OpBuilder &fb, Location floc, Value i, ValueRange) {
              ImplicitLocOpBuilder ib(floc, fb);
              // Rows past the last one repeat it.
              Value row = arith::MinUIOp::create(
                  ib, arith::AddIOp::create(ib, r0, i), lastRow);
              AttentionChunk(ib, single, row, h0, state, scratch, exps)
                  .emit(ib, queryRows, part, parts, partials);
              scf::YieldOp::create(ib);
            });
        scf::YieldOp::create(eb);
      });
}
