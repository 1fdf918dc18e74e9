// CPU lowering of the #qnt.cache_format<i4> cache (KIVI-style): the writes
// (qnt.pack_window_rows, qnt.pack_cache_blocks) and the attention kernel's
// decoding of a block of positions into L1.
#include "AttentionKernel.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "qnt/Conversion/Common.h"

using namespace mlir;
using namespace mlir::qnt;

namespace {
VectorType vec(ImplicitLocOpBuilder &b, int64_t n, Type element) {
  return VectorType::get({n}, element);
}

Value f32Splat(ImplicitLocOpBuilder &b, int64_t n, float v) {
  return arith::ConstantOp::create(
      b, DenseElementsAttr::get(vec(b, n, b.getF32Type()), v));
}

/// `n` f16 values stored as bytes at `indices` (the last one a byte
/// offset) of an i8 memref, as f32.
Value loadHalves(ImplicitLocOpBuilder &b, Value memref, ValueRange indices,
                 int64_t n) {
  Value bytes =
      vector::LoadOp::create(b, vec(b, 2 * n, b.getI8Type()), memref, indices);
  Value halves =
      vector::BitCastOp::create(b, vec(b, n, b.getF16Type()), bytes);
  return arith::ExtFOp::create(b, vec(b, n, b.getF32Type()), halves);
}

/// Stores f32 `values` rounded to f16 as bytes at `indices` of an i8 memref.
void storeHalves(ImplicitLocOpBuilder &b, Value values, Value memref,
                 ValueRange indices) {
  int64_t n = cast<VectorType>(values.getType()).getNumElements();
  Value halves = arith::TruncFOp::create(b, vec(b, n, b.getF16Type()), values);
  vector::StoreOp::create(
      b, vector::BitCastOp::create(b, vec(b, 2 * n, b.getI8Type()), halves),
      memref, indices);
}

/// The 2n 4-bit codes of n bytes (code 2i in the low nibble of byte i),
/// as f32.
Value unpackNibbles(ImplicitLocOpBuilder &b, Value bytes) {
  auto type = cast<VectorType>(bytes.getType());
  int64_t n = type.getNumElements();
  Value four = arith::ConstantOp::create(
      b, DenseElementsAttr::get(type, b.getI8IntegerAttr(4).getValue()));
  Value mask = arith::ConstantOp::create(
      b, DenseElementsAttr::get(type, b.getI8IntegerAttr(15).getValue()));
  Value lo = arith::AndIOp::create(b, bytes, mask);
  Value hi = arith::ShRUIOp::create(b, bytes, four);
  SmallVector<int64_t> interleave;
  for (int64_t i = 0; i < n; ++i) {
    interleave.push_back(i);
    interleave.push_back(n + i);
  }
  Value codes = vector::ShuffleOp::create(b, lo, hi, interleave);
  return arith::UIToFPOp::create(b, vec(b, 2 * n, b.getF32Type()), codes);
}

/// Codes 0..15 in i8 lanes, packed two to a byte (lane 2i low).
Value packNibbles(ImplicitLocOpBuilder &b, Value codes) {
  int64_t n = cast<VectorType>(codes.getType()).getNumElements();
  SmallVector<int64_t> even, odd;
  for (int64_t i = 0; i < n; i += 2) {
    even.push_back(i);
    odd.push_back(i + 1);
  }
  Value lo = vector::ShuffleOp::create(b, codes, codes, even);
  Value hi = vector::ShuffleOp::create(b, codes, codes, odd);
  auto type = cast<VectorType>(lo.getType());
  Value four = arith::ConstantOp::create(
      b, DenseElementsAttr::get(type, b.getI8IntegerAttr(4).getValue()));
  return arith::OrIOp::create(b, lo, arith::ShLIOp::create(b, hi, four));
}

/// The codes of `x` under `q` as i8 lanes.
Value codeBytes(ImplicitLocOpBuilder &b, const I4BlockQuantizer &q, Value x) {
  int64_t n = cast<VectorType>(x.getType()).getNumElements();
  return arith::FPToSIOp::create(b, vec(b, n, b.getI8Type()),
                                 q.codeValues(b, x));
}

Value zeroBytes(ImplicitLocOpBuilder &b, const I4BlockQuantizer &q) {
  int64_t n = cast<VectorType>(q.zero.getType()).getNumElements();
  return arith::FPToSIOp::create(b, vec(b, n, b.getI8Type()), q.zero);
}

/// The quantizer of the clipped range of [lo, hi] (kI4ClipFactors) whose
/// squared error `errorsOf` gives least, lane by lane; the first on ties.
I4BlockQuantizer clippedQuantizer(
    ImplicitLocOpBuilder &b, Value lo, Value hi,
    function_ref<Value(ImplicitLocOpBuilder &, ArrayRef<I4BlockQuantizer>)>
        errorsOf) {
  int64_t n = cast<VectorType>(lo.getType()).getNumElements();
  SmallVector<I4BlockQuantizer> candidates;
  for (float f : kI4ClipFactors)
    candidates.push_back(
        I4BlockQuantizer::clipped(b, lo, hi, f32Splat(b, n, f)));
  Value errors = errorsOf(b, candidates); // [candidates x n] flattened
  auto errorOf = [&](int64_t i) -> Value {
    return vector::ExtractStridedSliceOp::create(b, errors, i * n, n, 1);
  };
  I4BlockQuantizer best = candidates[0];
  Value bestError = errorOf(0);
  for (size_t i = 1; i < candidates.size(); ++i) {
    Value e = errorOf(i);
    Value better =
        arith::CmpFOp::create(b, arith::CmpFPredicate::OLT, e, bestError);
    const I4BlockQuantizer &q = candidates[i];
    best = I4BlockQuantizer(
        arith::SelectOp::create(b, better, q.scale, best.scale),
        arith::SelectOp::create(b, better, q.zero, best.zero),
        arith::SelectOp::create(b, better, q.nonzero, best.nonzero));
    bestError = arith::SelectOp::create(b, better, e, bestError);
  }
  return best;
}

/// The candidates' errors as one vector [candidates x n].
Value concatErrors(ImplicitLocOpBuilder &b, ArrayRef<Value> errors) {
  int64_t n = cast<VectorType>(errors[0].getType()).getNumElements();
  Value all = f32Splat(b, n * errors.size(), 0.0f);
  for (auto [i, e] : llvm::enumerate(errors))
    all = vector::InsertStridedSliceOp::create(b, e, all, i * n, 1);
  return all;
}

/// The D values of window slot bytes at `indices` (the last one a byte
/// offset) of an i8 memref: D signed codes times the f16 scale after them.
Value decodeSlot(ImplicitLocOpBuilder &b, Value memref, Value row,
                 Value offset, int64_t D) {
  Value codes = vector::LoadOp::create(b, vec(b, D, b.getI8Type()), memref,
                                       ValueRange{row, offset});
  Value scale = vector::ExtractOp::create(
      b,
      loadHalves(b, memref,
                 ValueRange{row, arith::AddIOp::create(b, offset, cIndex(b, D))},
                 1),
      0);
  auto type = vec(b, D, b.getF32Type());
  return arith::MulFOp::create(b, arith::SIToFPOp::create(b, type, codes),
                               vector::BroadcastOp::create(b, type, scale));
}

/// Position p's value `x` of kv head `g` in a block's bytes [KvH, N] from
/// byte `base` (the block's first position `first`): per channel (codes -
/// zero) * scale, as codes * scale + offset with offset = -zero * scale
/// computed once per block (one FMA per vector where a subtraction and a
/// multiplication were).
struct BlockDecoder {
  Value scale, offset;
  BlockDecoder(ImplicitLocOpBuilder &b, Value bytes, Value g, Value base,
               const I4CacheLayout &layout) {
    int64_t D = layout.headSize;
    scale = loadHalves(
        b, bytes,
        ValueRange{g, arith::AddIOp::create(b, base,
                                            cIndex(b, layout.scalesOffset()))},
        D);
    Value zero = arith::SIToFPOp::create(
        b, vec(b, D, b.getF32Type()),
        vector::LoadOp::create(
            b, vec(b, D, b.getI8Type()), bytes,
            ValueRange{g, arith::AddIOp::create(
                              b, base, cIndex(b, layout.zerosOffset()))}));
    offset = arith::NegFOp::create(b, arith::MulFOp::create(b, zero, scale));
  }
  /// The values of the block's `j`-th position.
  Value decode(ImplicitLocOpBuilder &b, Value bytes, Value g, Value base,
               Value j, const I4CacheLayout &layout) const {
    int64_t D = layout.headSize;
    Value at = arith::AddIOp::create(
        b, base, arith::MulIOp::create(b, j, cIndex(b, D / 2)));
    Value codes = vector::LoadOp::create(b, vec(b, D / 2, b.getI8Type()),
                                         bytes, ValueRange{g, at});
    return vector::FMAOp::create(b, unpackNibbles(b, codes), scale, offset);
  }
};

void forRange(ImplicitLocOpBuilder &b, Value lo, Value hi,
              function_ref<void(ImplicitLocOpBuilder &, Value)> fn) {
  scf::ForOp::create(b, lo, hi, cIndex(b, 1), ValueRange{},
                     [&](OpBuilder &ob, Location loc, Value i, ValueRange) {
                       ImplicitLocOpBuilder ib(loc, ob);
                       fn(ib, i);
                       scf::YieldOp::create(ib);
                     });
}
} // namespace

void qnt::decodeKiviBlock(ImplicitLocOpBuilder &b, const KiviCacheReader &c,
                          ArrayRef<Value> rows, Value t0, Value closedEnd,
                          Value g0, int64_t kvHeads, Value scratch) {
  const I4CacheLayout &layout = c.layout;
  int64_t D = layout.headSize, B = layout.block;
  auto store = [&](ImplicitLocOpBuilder &ib, Value v, Value kv, int64_t which,
                   int64_t j) {
    vector::StoreOp::create(
        ib, v, scratch,
        ValueRange{kv, cIndex(ib, which), cIndex(ib, j), cIndex(ib, 0)});
  };
  forRange(b, cIndex(b, 0), cIndex(b, kvHeads),
           [&](ImplicitLocOpBuilder &ib, Value kv) {
    Value g = arith::AddIOp::create(ib, g0, kv);
    Value inBlocks =
        arith::CmpIOp::create(ib, arith::CmpIPredicate::ult, t0, closedEnd);
    scf::IfOp::create(
        ib, inBlocks,
        [&](OpBuilder &ob, Location loc) {
          // Positions that left the window: their block's 4-bit codes.
          ImplicitLocOpBuilder tb(loc, ob);
          Value blockIndex = arith::DivUIOp::create(tb, t0, cIndex(tb, B));
          Value base = arith::MulIOp::create(
              tb, blockIndex, cIndex(tb, layout.blockBytes()));
          Value first = arith::MulIOp::create(tb, blockIndex, cIndex(tb, B));
          Value caches[] = {c.keys, c.values};
          for (auto [which, bytes] : llvm::enumerate(caches)) {
            BlockDecoder block(tb, bytes, g, base, layout);
            for (size_t j = 0; j < rows.size(); ++j)
              store(tb,
                    block.decode(tb, bytes, g, base,
                                 arith::SubIOp::create(tb, rows[j], first),
                                 layout),
                    kv, which, j);
          }
          scf::YieldOp::create(tb);
        },
        [&](OpBuilder &ob, Location loc) {
          // Positions in the window: its 8-bit slots before the op's
          // first position, else the op's own rows in window form.
          ImplicitLocOpBuilder eb(loc, ob);
          std::pair<Value, Value> sources[] = {{c.keys, c.recentKeys},
                                               {c.values, c.recentValues}};
          for (size_t j = 0; j < rows.size(); ++j) {
            Value p = rows[j];
            Value slot = arith::RemUIOp::create(eb, p, cIndex(eb, layout.window));
            Value windowAt = arith::AddIOp::create(
                eb, cIndex(eb, c.windowOffset),
                arith::MulIOp::create(eb, slot,
                                      cIndex(eb, layout.slotBytes())));
            Value row = arith::SubIOp::create(
                eb, arith::MaxUIOp::create(eb, p, c.position), c.position);
            Value recentAt =
                arith::MulIOp::create(eb, row, cIndex(eb, layout.slotBytes()));
            Value old = arith::CmpIOp::create(eb, arith::CmpIPredicate::ult, p,
                                              c.position);
            for (auto [which, source] : llvm::enumerate(sources)) {
              Value fromWindow =
                  decodeSlot(eb, source.first, g, windowAt, D);
              Value fromRows =
                  decodeSlot(eb, source.second, g, recentAt, D);
              store(eb, arith::SelectOp::create(eb, old, fromWindow, fromRows),
                    kv, which, j);
            }
          }
          scf::YieldOp::create(eb);
        });
  });
}

namespace {
/// qnt.pack_window_rows: per token and kv head, D codes round(x / s) and
/// the f16 scale s = amax / 127 (docs/BIT_LAYOUT.md).
struct LowerPackWindowRows final : OpRewritePattern<PackWindowRowsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PackWindowRowsOp op,
                                PatternRewriter &) const override {
    ImplicitLocOpBuilder b(op.getLoc(), op);
    auto type = cast<RankedTensorType>(op.getRows().getType());
    int64_t kvHeads = type.getDimSize(1), D = type.getDimSize(2);
    Value rows = toBuffer(b, op.getRows());
    Value count = memref::DimOp::create(b, rows, 0);
    Value out = memref::AllocOp::create(
        b, MemRefType::get({kvHeads, ShapedType::kDynamic}, b.getI8Type()),
        ValueRange{arith::MulIOp::create(b, count, cIndex(b, D + 2))});
    auto f32s = vec(b, D, b.getF32Type());
    forRange(b, cIndex(b, 0), count, [&](ImplicitLocOpBuilder &tb, Value t) {
      Value at = arith::MulIOp::create(tb, t, cIndex(tb, D + 2));
      forRange(tb, cIndex(tb, 0), cIndex(tb, kvHeads),
               [&](ImplicitLocOpBuilder &ib, Value h) {
        Value x = vector::LoadOp::create(ib, f32s, rows,
                                         ValueRange{t, h, cIndex(ib, 0)});
        Value amax = vector::ReductionOp::create(
            ib, vector::CombiningKind::MAXIMUMF, math::AbsFOp::create(ib, x));
        Value half = emitI4SlotScale(ib, amax);
        Value c = emitI4SlotCodes(ib, x, half);
        vector::StoreOp::create(
            ib, arith::FPToSIOp::create(ib, vec(ib, D, ib.getI8Type()), c),
            out, ValueRange{h, at});
        vector::StoreOp::create(
            ib,
            vector::BitCastOp::create(
                ib, vec(ib, 2, ib.getI8Type()),
                vector::BroadcastOp::create(ib, vec(ib, 1, ib.getF16Type()),
                                            half)),
            out,
            ValueRange{h, arith::AddIOp::create(ib, at, cIndex(ib, D))});
      });
    });
    replaceWithBuffer(b, op, out);
    return success();
  }
};

/// qnt.pack_cache_blocks: each block that leaves the window, per kv head
/// and channel the clipped range of its window values with the least
/// squared error.
struct LowerPackCacheBlocks final : OpRewritePattern<PackCacheBlocksOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PackCacheBlocksOp op,
                                PatternRewriter &) const override {
    ImplicitLocOpBuilder b(op.getLoc(), op);
    auto windowType = cast<RankedTensorType>(op.getOldWindow().getType());
    int64_t kvHeads = windowType.getDimSize(0), D = op.getHeadSize();
    I4CacheLayout layout{static_cast<int64_t>(op.getBlock()),
                         static_cast<int64_t>(op.getWindow()), D};
    int64_t B = layout.block, W = layout.window, R = layout.slotBytes();
    Value window = toBuffer(b, op.getOldWindow());
    Value recent = toBuffer(b, op.getRecent());
    Value position = op.getPosition();
    std::pair<Value, Value> leaving = emitI4LeavingBlocks(
        b, position,
        arith::DivUIOp::create(b, memref::DimOp::create(b, recent, 1),
                               cIndex(b, R)),
        layout);
    Value first = leaving.first, blocks = leaving.second;
    // At most written / B + 1 blocks leave: said as an affine.min, whose
    // bound qnt-plan-workspace sees (a prompt's length is bounded), so the
    // buffer is a view of the workspace and a call allocates nothing.
    AffineExpr count, recentBytes;
    bindDims(b.getContext(), count, recentBytes);
    Value bounded = affine::AffineMinOp::create(
        b,
        AffineMap::get(2, 0, {count, recentBytes.floorDiv(R * B) + 1},
                       b.getContext()),
        ValueRange{blocks, memref::DimOp::create(b, recent, 1)});
    Value out = memref::AllocOp::create(
        b, MemRefType::get({kvHeads, ShapedType::kDynamic}, b.getI8Type()),
        ValueRange{arith::MulIOp::create(b, bounded,
                                         cIndex(b, layout.blockBytes()))});
    forRange(b, cIndex(b, 0), blocks, [&](ImplicitLocOpBuilder &bb, Value bi) {
      Value p0 = arith::MulIOp::create(
          bb, arith::AddIOp::create(bb, first, bi), cIndex(bb, B));
      Value base = arith::MulIOp::create(bb, bi, cIndex(bb, layout.blockBytes()));
      forRange(bb, cIndex(bb, 0), cIndex(bb, kvHeads),
               [&](ImplicitLocOpBuilder &hb, Value h) {
        // Position j of the block: its window value, from the old window
        // before the write's first position, else from the written rows.
        auto value = [&](ImplicitLocOpBuilder &ib, Value j) {
          Value p = arith::AddIOp::create(ib, p0, j);
          Value slot = arith::RemUIOp::create(ib, p, cIndex(ib, W));
          Value old = decodeSlot(
              ib, window, h, arith::MulIOp::create(ib, slot, cIndex(ib, R)), D);
          Value row = arith::SubIOp::create(
              ib, arith::MaxUIOp::create(ib, p, position), position);
          Value fresh = decodeSlot(
              ib, recent, h, arith::MulIOp::create(ib, row, cIndex(ib, R)), D);
          Value before = arith::CmpIOp::create(ib, arith::CmpIPredicate::ult, p,
                                               position);
          return arith::SelectOp::create(ib, before, old, fresh).getResult();
        };
        Value inf = f32Splat(hb, D, std::numeric_limits<float>::infinity());
        auto range = scf::ForOp::create(
            hb, cIndex(hb, 0), cIndex(hb, B), cIndex(hb, 1),
            ValueRange{inf, arith::NegFOp::create(hb, inf)},
            [&](OpBuilder &ob, Location loc, Value j, ValueRange acc) {
              ImplicitLocOpBuilder ib(loc, ob);
              Value x = value(ib, j);
              scf::YieldOp::create(
                  ib, ValueRange{arith::MinimumFOp::create(ib, acc[0], x),
                                 arith::MaximumFOp::create(ib, acc[1], x)});
            });
        // Each channel's squared error, summed in position order.
        I4BlockQuantizer q = clippedQuantizer(
            hb, range.getResult(0), range.getResult(1),
            [&](ImplicitLocOpBuilder &eb,
                ArrayRef<I4BlockQuantizer> candidates) {
              SmallVector<Value> zeros(candidates.size(),
                                       f32Splat(eb, D, 0.0f));
              auto sums = scf::ForOp::create(
                  eb, cIndex(eb, 0), cIndex(eb, B), cIndex(eb, 1), zeros,
                  [&](OpBuilder &ob, Location loc, Value j, ValueRange acc) {
                    ImplicitLocOpBuilder ib(loc, ob);
                    Value x = value(ib, j);
                    SmallVector<Value> next;
                    for (auto [c, a] : llvm::zip(candidates, acc))
                      next.push_back(
                          arith::AddFOp::create(ib, a, c.squaredError(ib, x)));
                    scf::YieldOp::create(ib, next);
                  });
              return concatErrors(eb, SmallVector<Value>(sums.getResults()));
            });
        forRange(hb, cIndex(hb, 0), cIndex(hb, B),
                 [&](ImplicitLocOpBuilder &ib, Value j) {
          Value at = arith::AddIOp::create(
              ib, base, arith::MulIOp::create(ib, j, cIndex(ib, D / 2)));
          vector::StoreOp::create(ib, packNibbles(ib, codeBytes(ib, q, value(ib, j))),
                                  out, ValueRange{h, at});
        });
        storeHalves(hb, q.scale, out,
                    ValueRange{h, arith::AddIOp::create(
                                      hb, base, cIndex(hb, layout.scalesOffset()))});
        vector::StoreOp::create(
            hb, zeroBytes(hb, q), out,
            ValueRange{h, arith::AddIOp::create(hb, base,
                                                cIndex(hb, layout.zerosOffset()))});
      });
    });
    replaceWithBuffer(b, op, out);
    return success();
  }
};
} // namespace

void qnt::populateQntKiviCacheToVectorPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerPackWindowRows, LowerPackCacheBlocks>(
      patterns.getContext());
}
