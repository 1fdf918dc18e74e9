// A prompt's attention with its query rows in the lanes of a vector (the
// kernel of an attention whose tile has as many rows as lanes; the loops
// around it: Attention.cpp).
//
// Why: with rows as separate chains (AttentionChunk.cpp), a row's scores
// of a block are dot products along the head, each summed across the lanes
// of its vector, and every cache element is converted and broadcast again
// for each row: about 20 vector operations per score, for 8 FMAs. With W
// rows in the lanes, the score of position j for all of them is a sum over
// d of q^T[d] * k[j][d], one FMA per element with k[j][d] broadcast from
// memory; the softmax is lane-wise (no reductions), and the values are
// weighed the same way: about 11 operations per score.
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

namespace {
/// The W rows r0 .. r0 + W - 1 (rows past the last one repeat it) of the
/// heads h0 .. h0 + k.chunk - 1, with W = k.rowsPerGroup, one key-value
/// head of the chunk at a time. Per query head hh of that key-value head,
/// in buffers on the stack (allocateBuffers in Attention.cpp):
/// - qt[hh][d][i]: row i's query times the scale, transposed;
/// - ot[hh][d][i]: the running weighted sum of value rows, transposed;
/// - ml[hh][0 / 1][i]: the running maximum m and sum l of exp(s - m).
/// Blocks of B positions go one at a time through its query heads, each
/// block decoded once for all of them.
struct AttentionRows {
  const AttentionKernel &k;
  SmallVectorImpl<Operation *> &exps;
  int64_t W, B, D, L;
  VectorType vecW, vecL;
  Value qt, ot, ml, scratch, negInf;
  // Set by emit(): the group's rows, the live-position counts of the rows
  // as lanes, the last position any of them sees, the chunk's first
  // key-value head.
  SmallVector<Value> rowOf;
  Value seen, last, g0;

  AttentionRows(ImplicitLocOpBuilder &b, const AttentionKernel &k,
                const AttentionBuffers &buffers,
                SmallVectorImpl<Operation *> &exps)
      : k(k), exps(exps), W(k.rowsPerGroup), B(k.block), D(k.headSize),
        L(k.lanes), qt(buffers.qt), ot(buffers.ot), ml(buffers.state),
        scratch(buffers.scratch) {
    Type f32 = b.getF32Type();
    vecW = VectorType::get({W}, f32);
    vecL = VectorType::get({L}, f32);
    negInf = f32Const(b, -std::numeric_limits<float>::infinity());
  }

  /// Offset of qt[hh][d][0] (and of ot's).
  Value at(ImplicitLocOpBuilder &ib, Value hh, int64_t d) {
    return arith::AddIOp::create(
        ib, arith::MulIOp::create(ib, hh, cIndex(ib, D * W)),
        cIndex(ib, d * W));
  }
  Value at(ImplicitLocOpBuilder &ib, Value hh, Value d) {
    return arith::MulIOp::create(
        ib,
        arith::AddIOp::create(ib, arith::MulIOp::create(ib, hh, cIndex(ib, D)),
                              d),
        cIndex(ib, W));
  }

  /// `fn(builder, hh, hFirst + hh)` for each query head hh of a key-value
  /// head, in a loop.
  void forHeads(ImplicitLocOpBuilder &ob, Value hFirst,
                function_ref<void(ImplicitLocOpBuilder &, Value, Value)> fn) {
    scf::ForOp::create(ob, cIndex(ob, 0), cIndex(ob, k.headsPerKvHead()),
                       cIndex(ob, 1), ValueRange{},
                       [&](OpBuilder &hb, Location loc, Value hh, ValueRange) {
                         ImplicitLocOpBuilder ib(loc, hb);
                         fn(ib, hh, arith::AddIOp::create(ib, hFirst, hh));
                         scf::YieldOp::create(ib);
                       });
  }

  /// Offsets 0, W, 2W, ...: lane l of a head vector is element l * W of
  /// the transposed buffers.
  Value strideW(ImplicitLocOpBuilder &ib) {
    SmallVector<int32_t> offsets;
    for (int64_t l = 0; l < L; ++l)
      offsets.push_back(static_cast<int32_t>(l * W));
    return arith::ConstantOp::create(
        ib, DenseIntElementsAttr::get(VectorType::get({L}, ib.getI32Type()),
                                      offsets));
  }

  Value allTrue(ImplicitLocOpBuilder &ib) {
    return arith::ConstantOp::create(
        ib, DenseElementsAttr::get(VectorType::get({L}, ib.getI1Type()), true));
  }

  /// Element d of key (which = 0) or value (1) j of the block for key-value
  /// head g: from the decoded block, or from an f32 cache row.
  Value element(ImplicitLocOpBuilder &ib, ArrayRef<Value> rows, Value g,
                int64_t which, int64_t j, Value d) {
    if (scratch)
      return memref::LoadOp::create(
          ib, scratch,
          ValueRange{cIndex(ib, 0), cIndex(ib, which), cIndex(ib, j), d});
    return memref::LoadOp::create(ib, which == 0 ? k.keys : k.values,
                                  ValueRange{rows[j], g, d});
  }

  /// Row scale j of the decoded i8 block's keys (which = 0) or values.
  Value rowScale(ImplicitLocOpBuilder &ib, int64_t which, int64_t j) {
    return memref::LoadOp::create(ib, scratch,
                                  ValueRange{cIndex(ib, 0), cIndex(ib, which),
                                             cIndex(ib, B), cIndex(ib, j)});
  }

  /// Block t0 .. t0 + B - 1 for head hh (query head h of key-value head g).
  void emitHead(ImplicitLocOpBuilder &ib, Value hh, ArrayRef<Value> rows,
                Value g, ArrayRef<Value> live) {
    Value zeros = splat(ib, vecW, f32Const(ib, 0.0f));
    // Scores: acc[j] = sum over d of qt[d] * k[j][d], D / L steps of L
    // elements of d.
    SmallVector<Value> init(B, zeros);
    auto qk = scf::ForOp::create(
        ib, cIndex(ib, 0), cIndex(ib, D), cIndex(ib, L), init,
        [&](OpBuilder &fb, Location loc, Value d0, ValueRange accIn) {
          ImplicitLocOpBuilder lb(loc, fb);
          SmallVector<Value> acc(accIn);
          for (int64_t dd = 0; dd < L; ++dd) {
            Value d = arith::AddIOp::create(lb, d0, cIndex(lb, dd));
            Value q =
                vector::LoadOp::create(lb, vecW, qt, ValueRange{at(lb, hh, d)});
            for (int64_t j = 0; j < B; ++j)
              acc[j] = vector::FMAOp::create(
                  lb, q, splat(lb, vecW, element(lb, rows, g, 0, j, d)),
                  acc[j]);
          }
          scf::YieldOp::create(lb, acc);
        });
    SmallVector<Value> s(qk.getResults());
    Value mOld = vector::LoadOp::create(
        ib, vecW, ml, ValueRange{hh, cIndex(ib, 0), cIndex(ib, 0)});
    Value lOld = vector::LoadOp::create(
        ib, vecW, ml, ValueRange{hh, cIndex(ib, 1), cIndex(ib, 0)});
    Value m = mOld;
    for (int64_t j = 0; j < B; ++j) {
      if (k.quantized)
        s[j] = arith::MulFOp::create(ib, s[j],
                                     splat(ib, vecW, rowScale(ib, 0, j)));
      s[j] =
          arith::SelectOp::create(ib, live[j], s[j], splat(ib, vecW, negInf));
      m = arith::MaximumFOp::create(ib, m, s[j]);
    }
    // Block 0 holds position 0, which every row sees: m is finite from
    // then on, and exp(-inf - m) = 0 for the masked positions.
    auto rescale = math::ExpOp::create(ib, arith::SubFOp::create(ib, mOld, m));
    exps.push_back(rescale);
    Value l = arith::MulFOp::create(ib, lOld, rescale);
    SmallVector<Value> weight;
    for (int64_t j = 0; j < B; ++j) {
      auto p = math::ExpOp::create(ib, arith::SubFOp::create(ib, s[j], m));
      exps.push_back(p);
      l = arith::AddFOp::create(ib, l, p);
      weight.push_back(k.quantized
                           ? arith::MulFOp::create(
                                 ib, p, splat(ib, vecW, rowScale(ib, 1, j)))
                                 .getResult()
                           : p.getResult());
    }
    vector::StoreOp::create(ib, m, ml,
                            ValueRange{hh, cIndex(ib, 0), cIndex(ib, 0)});
    vector::StoreOp::create(ib, l, ml,
                            ValueRange{hh, cIndex(ib, 1), cIndex(ib, 0)});
    // ot[d] = ot[d] * rescale + sum over j of weight[j] * v[j][d], U
    // elements of d at a time: their sums are independent chains of FMAs.
    int64_t U = D % 4 == 0 ? 4 : D % 2 == 0 ? 2 : 1;
    scf::ForOp::create(
        ib, cIndex(ib, 0), cIndex(ib, D), cIndex(ib, U), ValueRange{},
        [&](OpBuilder &fb, Location loc, Value d0, ValueRange) {
          ImplicitLocOpBuilder lb(loc, fb);
          SmallVector<Value> d, off, o;
          for (int64_t u = 0; u < U; ++u) {
            d.push_back(arith::AddIOp::create(lb, d0, cIndex(lb, u)));
            off.push_back(at(lb, hh, d.back()));
            o.push_back(arith::MulFOp::create(
                lb, vector::LoadOp::create(lb, vecW, ot, ValueRange{off[u]}),
                rescale));
          }
          for (int64_t j = 0; j < B; ++j)
            for (int64_t u = 0; u < U; ++u)
              o[u] = vector::FMAOp::create(
                  lb, weight[j],
                  splat(lb, vecW, element(lb, rows, g, 1, j, d[u])), o[u]);
          for (int64_t u = 0; u < U; ++u)
            vector::StoreOp::create(lb, o[u], ot, ValueRange{off[u]});
          scf::YieldOp::create(lb);
        });
  }

  /// One block of B positions from blk * B, for the query heads of
  /// key-value head g.
  void emitBlock(ImplicitLocOpBuilder &lb, Value blk, Value g) {
    Value t0 = arith::MulIOp::create(lb, blk, cIndex(lb, B));
    // Positions past the last one are read at the last one (never past the
    // cache) and masked out of the softmax.
    SmallVector<Value> rows, live;
    auto i32W = VectorType::get({W}, lb.getI32Type());
    for (int64_t j = 0; j < B; ++j) {
      Value t = arith::AddIOp::create(lb, t0, cIndex(lb, j));
      rows.push_back(arith::MinUIOp::create(lb, t, last));
      Value t32 = arith::IndexCastOp::create(lb, lb.getI32Type(), t);
      live.push_back(arith::CmpIOp::create(lb, arith::CmpIPredicate::ult,
                                           splat(lb, i32W, t32), seen));
    }
    if (scratch)
      decodeBlock(lb, k, rows, g, scratch);
    forHeads(lb, cIndex(lb, 0), [&](ImplicitLocOpBuilder &ib, Value hh, Value) {
      emitHead(ib, hh, rows, g, live);
    });
  }

  /// The query heads hFirst .. of key-value head g over blocks 0 ..
  /// endBlock.
  void emitKvHead(ImplicitLocOpBuilder &b, Value g, Value hFirst,
                  Value endBlock) {
    Value all = allTrue(b);
    Value stride = strideW(b);
    // The rows' queries, scaled, into qt; ot, m and l to their start.
    forHeads(b, hFirst, [&](ImplicitLocOpBuilder &ib, Value hh, Value h) {
      Value scale = splat(ib, vecL, f32Const(ib, k.scale));
      for (int64_t i = 0; i < W; ++i)
        for (int64_t c = 0; c < D; c += L) {
          Value q = arith::MulFOp::create(
              ib,
              vector::LoadOp::create(ib, vecL, k.query,
                                     ValueRange{rowOf[i], h, cIndex(ib, c)}),
              scale);
          Value base = arith::AddIOp::create(ib, at(ib, hh, c), cIndex(ib, i));
          vector::ScatterOp::create(ib, Type(), qt, ValueRange{base}, stride,
                                    all, q);
        }
      Value zeros = splat(ib, vecW, f32Const(ib, 0.0f));
      for (int64_t d = 0; d < D; ++d)
        vector::StoreOp::create(ib, zeros, ot, ValueRange{at(ib, hh, d)});
      vector::StoreOp::create(ib, splat(ib, vecW, negInf), ml,
                              ValueRange{hh, cIndex(ib, 0), cIndex(ib, 0)});
      vector::StoreOp::create(ib, zeros, ml,
                              ValueRange{hh, cIndex(ib, 1), cIndex(ib, 0)});
    });
    scf::ForOp::create(b, cIndex(b, 0), endBlock, cIndex(b, 1), ValueRange{},
                       [&](OpBuilder &ob, Location loc, Value blk, ValueRange) {
                         ImplicitLocOpBuilder lb(loc, ob);
                         emitBlock(lb, blk, g);
                         scf::YieldOp::create(lb);
                       });
    // out[row i][h] = ot[.][i] / l[i]. Rows past the last one repeat it
    // and store the same values.
    forHeads(b, hFirst, [&](ImplicitLocOpBuilder &ib, Value hh, Value h) {
      Value l = vector::LoadOp::create(
          ib, vecW, ml, ValueRange{hh, cIndex(ib, 1), cIndex(ib, 0)});
      Value inv =
          arith::DivFOp::create(ib, splat(ib, vecW, f32Const(ib, 1.0f)), l);
      Value none = splat(ib, vecL, f32Const(ib, 0.0f));
      for (int64_t i = 0; i < W; ++i) {
        Value invRow = splat(ib, vecL, vector::ExtractOp::create(ib, inv, i));
        for (int64_t c = 0; c < D; c += L) {
          Value base = arith::AddIOp::create(ib, at(ib, hh, c), cIndex(ib, i));
          Value o = vector::GatherOp::create(ib, vecL, ot, ValueRange{base},
                                             stride, all, none);
          vector::StoreOp::create(ib, arith::MulFOp::create(ib, o, invRow),
                                  k.out,
                                  ValueRange{rowOf[i], h, cIndex(ib, c)});
        }
      }
    });
  }

  void emit(ImplicitLocOpBuilder &b, Value queryRows, Value r0, Value h0) {
    SmallVector<Value> seenOf;
    groupRows(b, k, queryRows, r0, rowOf, seenOf);
    SmallVector<Value> seen32;
    for (Value n : seenOf)
      seen32.push_back(arith::IndexCastOp::create(b, b.getI32Type(), n));
    seen = vector::FromElementsOp::create(
        b, VectorType::get({W}, b.getI32Type()), seen32);
    last = arith::SubIOp::create(b, seenOf.back(), cIndex(b, 1));
    g0 = arith::DivUIOp::create(b, h0, cIndex(b, k.group));
    Value endBlock = arith::CeilDivUIOp::create(b, seenOf.back(), cIndex(b, B));
    // One key-value head of the chunk at a time: the state of its query
    // heads stays in L1 over the blocks (a block's rows are read again per
    // key-value head, from L2).
    scf::ForOp::create(
        b, cIndex(b, 0), cIndex(b, k.kvHeadsPerChunk), cIndex(b, 1),
        ValueRange{}, [&](OpBuilder &kb, Location kloc, Value kvl, ValueRange) {
          ImplicitLocOpBuilder gb(kloc, kb);
          Value g = arith::AddIOp::create(gb, g0, kvl);
          Value hFirst = arith::AddIOp::create(
              gb, h0,
              arith::MulIOp::create(gb, kvl, cIndex(gb, k.headsPerKvHead())));
          emitKvHead(gb, g, hFirst, endBlock);
          scf::YieldOp::create(gb);
        });
  }
};
} // namespace

void qnt::emitAttentionRows(ImplicitLocOpBuilder &b, const AttentionKernel &k,
                            Value queryRows, Value r0, Value h0,
                            const AttentionBuffers &buffers,
                            SmallVectorImpl<Operation *> &exps) {
  AttentionRows(b, k, buffers, exps).emit(b, queryRows, r0, h0);
}
