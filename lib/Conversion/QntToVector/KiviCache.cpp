// CPU lowering of the #qnt.cache_format<i4> cache (KIVI-style): the writes
// (qnt.pack_cache_rows of values, qnt.pack_key_blocks, qnt.pack_key_window)
// and the attention kernel's decoding of a block of positions into L1.
#include "Kernels.h"
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

/// The f16 rounding of f32 values, as f32 (the keys an i4 cache keeps).
Value roundToHalf(ImplicitLocOpBuilder &b, Value values) {
  int64_t n = cast<VectorType>(values.getType()).getNumElements();
  Value halves = arith::TruncFOp::create(b, vec(b, n, b.getF16Type()), values);
  return arith::ExtFOp::create(b, values.getType(), halves);
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

/// The scale and zero point of 4-bit codes for values from `lo` to `hi`
/// (lane-wise): s = f16((hi - lo) / 15) as f32, z = round(-lo / s) in
/// [-128, 127]; both 0 where s is 0.
struct Quantizer {
  Value scale, zero, nonzero;

  Quantizer(ImplicitLocOpBuilder &b, Value lo, Value hi) {
    int64_t n = cast<VectorType>(lo.getType()).getNumElements();
    Value range = arith::DivFOp::create(b, arith::SubFOp::create(b, hi, lo),
                                        f32Splat(b, n, 15.0f));
    scale = roundToHalf(b, range);
    Value zeros = f32Splat(b, n, 0.0f);
    nonzero = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, scale, zeros);
    Value z = math::RoundEvenOp::create(
        b, arith::DivFOp::create(b, arith::NegFOp::create(b, lo), scale));
    z = arith::MinimumFOp::create(
        b, arith::MaximumFOp::create(b, z, f32Splat(b, n, -128.0f)),
        f32Splat(b, n, 127.0f));
    zero = arith::SelectOp::create(b, nonzero, z, zeros);
  }

  Quantizer(Value scale, Value zero, Value nonzero)
      : scale(scale), zero(zero), nonzero(nonzero) {}

  /// The codes of `x` (lane-wise with the scale and zero) as f32.
  Value codeValues(ImplicitLocOpBuilder &b, Value x) const {
    int64_t n = cast<VectorType>(x.getType()).getNumElements();
    Value c = arith::AddFOp::create(
        b, math::RoundEvenOp::create(b, arith::DivFOp::create(b, x, scale)),
        zero);
    c = arith::MinimumFOp::create(
        b, arith::MaximumFOp::create(b, c, f32Splat(b, n, 0.0f)),
        f32Splat(b, n, 15.0f));
    return arith::SelectOp::create(b, nonzero, c, f32Splat(b, n, 0.0f));
  }

  /// The codes of `x` as i8 lanes.
  Value codes(ImplicitLocOpBuilder &b, Value x) const {
    int64_t n = cast<VectorType>(x.getType()).getNumElements();
    return arith::FPToSIOp::create(b, vec(b, n, b.getI8Type()),
                                   codeValues(b, x));
  }

  /// The squared error of `x` read back through the codes, lane-wise.
  Value squaredError(ImplicitLocOpBuilder &b, Value x) const {
    Value read = arith::MulFOp::create(
        b, arith::SubFOp::create(b, codeValues(b, x), zero), scale);
    Value d = arith::SubFOp::create(b, read, x);
    return arith::MulFOp::create(b, d, d);
  }

  Value zeroBytes(ImplicitLocOpBuilder &b) const {
    int64_t n = cast<VectorType>(zero.getType()).getNumElements();
    return arith::FPToSIOp::create(b, vec(b, n, b.getI8Type()), zero);
  }
};

/// The clipped ranges the encoder tries: the range [lo, hi] shrunk about its
/// middle by these factors (docs/BIT_LAYOUT.md).
constexpr float kClipFactors[] = {1.0f, 0.95f, 0.9f, 0.85f, 0.8f};

/// The quantizer of the clipped range of [lo, hi] whose squared error
/// `errorOf` (lane-wise) is least, lane by lane; the first on ties.
Quantizer
clippedQuantizer(ImplicitLocOpBuilder &b, Value lo, Value hi,
                 function_ref<Value(ImplicitLocOpBuilder &, ArrayRef<Quantizer>)>
                     errorsOf) {
  int64_t n = cast<VectorType>(lo.getType()).getNumElements();
  Value mid = arith::DivFOp::create(b, arith::AddFOp::create(b, lo, hi),
                                    f32Splat(b, n, 2.0f));
  Value halfRange = arith::DivFOp::create(
      b, arith::SubFOp::create(b, hi, lo), f32Splat(b, n, 2.0f));
  SmallVector<Quantizer> candidates;
  for (float f : kClipFactors) {
    Value half = arith::MulFOp::create(b, halfRange, f32Splat(b, n, f));
    candidates.emplace_back(b, arith::SubFOp::create(b, mid, half),
                            arith::AddFOp::create(b, mid, half));
  }
  Value errors = errorsOf(b, candidates); // [candidates x n] flattened
  auto errorOf = [&](int64_t i) -> Value {
    return vector::ExtractStridedSliceOp::create(b, errors, i * n, n, 1);
  };
  Quantizer best = candidates[0];
  Value bestError = errorOf(0);
  for (size_t i = 1; i < candidates.size(); ++i) {
    Value e = errorOf(i);
    Value better =
        arith::CmpFOp::create(b, arith::CmpFPredicate::OLT, e, bestError);
    const Quantizer &q = candidates[i];
    best = Quantizer(arith::SelectOp::create(b, better, q.scale, best.scale),
                     arith::SelectOp::create(b, better, q.zero, best.zero),
                     arith::SelectOp::create(b, better, q.nonzero,
                                             best.nonzero));
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

/// Decodes value row (p, g): (codes - zero) * scale.
Value decodeValueRow(ImplicitLocOpBuilder &b, Value values, Value p, Value g,
                     int64_t D) {
  Value bytes = vector::LoadOp::create(b, vec(b, D / 2, b.getI8Type()), values,
                                       ValueRange{p, g, cIndex(b, 0)});
  Value scale = vector::ExtractOp::create(
      b, loadHalves(b, values, ValueRange{p, g, cIndex(b, D / 2)}, 1), 0);
  Value zero = arith::SIToFPOp::create(
      b, b.getF32Type(),
      memref::LoadOp::create(b, values, ValueRange{p, g, cIndex(b, D / 2 + 2)}));
  auto type = vec(b, D, b.getF32Type());
  return arith::MulFOp::create(
      b,
      arith::SubFOp::create(b, unpackNibbles(b, bytes),
                            vector::BroadcastOp::create(b, type, zero)),
      vector::BroadcastOp::create(b, type, scale));
}

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
  int64_t D = c.headSize, B = c.block;
  KeyBlockLayout layout{B, D};
  auto store = [&](ImplicitLocOpBuilder &ib, Value v, Value kv, int64_t which,
                   int64_t j) {
    vector::StoreOp::create(
        ib, v, scratch,
        ValueRange{kv, cIndex(ib, which), cIndex(ib, j), cIndex(ib, 0)});
  };
  forRange(b, cIndex(b, 0), cIndex(b, kvHeads),
           [&](ImplicitLocOpBuilder &ib, Value kv) {
    Value g = arith::AddIOp::create(ib, g0, kv);
    Value closed =
        arith::CmpIOp::create(ib, arith::CmpIPredicate::ult, t0, closedEnd);
    scf::IfOp::create(
        ib, closed,
        [&](OpBuilder &ob, Location loc) {
          // A closed block: per channel (codes - zero) * scale.
          ImplicitLocOpBuilder tb(loc, ob);
          Value blockIndex = arith::DivUIOp::create(tb, t0, cIndex(tb, B));
          Value base =
              arith::MulIOp::create(tb, blockIndex, cIndex(tb, layout.blockBytes()));
          Value scale = loadHalves(
              tb, c.keys,
              ValueRange{g, arith::AddIOp::create(
                                tb, base, cIndex(tb, layout.scalesOffset()))},
              D);
          Value zero = arith::SIToFPOp::create(
              tb, vec(tb, D, tb.getF32Type()),
              vector::LoadOp::create(
                  tb, vec(tb, D, tb.getI8Type()), c.keys,
                  ValueRange{g, arith::AddIOp::create(
                                    tb, base, cIndex(tb, layout.zerosOffset()))}));
          Value first = arith::MulIOp::create(tb, blockIndex, cIndex(tb, B));
          for (size_t j = 0; j < rows.size(); ++j) {
            Value at = arith::AddIOp::create(
                tb, base,
                arith::MulIOp::create(
                    tb, arith::SubIOp::create(tb, rows[j], first),
                    cIndex(tb, D / 2)));
            Value bytes = vector::LoadOp::create(
                tb, vec(tb, D / 2, tb.getI8Type()), c.keys, ValueRange{g, at});
            store(tb,
                  arith::MulFOp::create(
                      tb, arith::SubFOp::create(tb, unpackNibbles(tb, bytes), zero),
                      scale),
                  kv, 0, j);
          }
          scf::YieldOp::create(tb);
        },
        [&](OpBuilder &ob, Location loc) {
          // The open block: f16 keys from the window (positions before
          // the op's first) or the op's own rows rounded alike.
          ImplicitLocOpBuilder eb(loc, ob);
          for (size_t j = 0; j < rows.size(); ++j) {
            Value p = rows[j];
            Value slot = arith::RemUIOp::create(eb, p, cIndex(eb, B));
            Value window = loadHalves(
                eb, c.keys,
                ValueRange{g, arith::AddIOp::create(
                                  eb, cIndex(eb, c.windowOffset),
                                  arith::MulIOp::create(eb, slot,
                                                        cIndex(eb, 2 * D)))},
                D);
            Value row = arith::SubIOp::create(
                eb, arith::MaxUIOp::create(eb, p, c.position), c.position);
            Value recent = roundToHalf(
                eb, vector::LoadOp::create(eb, vec(eb, D, eb.getF32Type()),
                                           c.recent,
                                           ValueRange{row, g, cIndex(eb, 0)}));
            Value old = arith::CmpIOp::create(eb, arith::CmpIPredicate::ult, p,
                                              c.position);
            store(eb, arith::SelectOp::create(eb, old, window, recent), kv, 0,
                  j);
          }
          scf::YieldOp::create(eb);
        });
    for (size_t j = 0; j < rows.size(); ++j)
      store(ib, decodeValueRow(ib, c.values, rows[j], g, D), kv, 1, j);
  });
}

/// qnt.pack_cache_rows to #qnt.cache_format<i4> (value rows): per token and
/// head the codes, the f16 scale and the zero point.
LogicalResult qnt::lowerPackValueRowsToVector(PackCacheRowsOp op) {
  ImplicitLocOpBuilder b(op.getLoc(), op);
  auto resultType = cast<RankedTensorType>(op.getResult().getType());
  int64_t D = cast<RankedTensorType>(op.getRows().getType()).getDimSize(2);
  Value rows = toBuffer(b, op.getRows());
  Value out = allocResultLike(b, resultType, rows);
  forRange(b, cIndex(b, 0), memref::DimOp::create(b, rows, 0),
           [&](ImplicitLocOpBuilder &tb, Value t) {
    forRange(tb, cIndex(tb, 0), cIndex(tb, resultType.getDimSize(1)),
             [&](ImplicitLocOpBuilder &ib, Value h) {
      Value x = vector::LoadOp::create(ib, vec(ib, D, ib.getF32Type()), rows,
                                       ValueRange{t, h, cIndex(ib, 0)});
      auto splat = [&](vector::CombiningKind kind) {
        return vector::BroadcastOp::create(
            ib, x.getType(), vector::ReductionOp::create(ib, kind, x));
      };
      // The row's squared error, summed in lane order.
      Quantizer q = clippedQuantizer(
          ib, splat(vector::CombiningKind::MINIMUMF),
          splat(vector::CombiningKind::MAXIMUMF),
          [&](ImplicitLocOpBuilder &eb, ArrayRef<Quantizer> candidates) {
            SmallVector<Value> errors;
            for (const Quantizer &c : candidates)
              errors.push_back(vector::BroadcastOp::create(
                  eb, x.getType(),
                  vector::ReductionOp::create(eb, vector::CombiningKind::ADD,
                                              c.squaredError(eb, x))));
            return concatErrors(eb, errors);
          });
      vector::StoreOp::create(ib, packNibbles(ib, q.codes(ib, x)), out,
                              ValueRange{t, h, cIndex(ib, 0)});
      Value scale = vector::ExtractStridedSliceOp::create(ib, q.scale, 0, 1, 1);
      storeHalves(ib, scale, out, ValueRange{t, h, cIndex(ib, D / 2)});
      memref::StoreOp::create(
          ib, vector::ExtractOp::create(ib, q.zeroBytes(ib), 0), out,
          ValueRange{t, h, cIndex(ib, D / 2 + 2)});
    });
  });
  replaceWithBuffer(b, op, out);
  return success();
}

namespace {
/// The [KvH, D] rows of an i4 key write: T, KvH, D and the memrefs.
struct KeyWrite {
  Value rows, position, count, end;
  int64_t kvHeads, headSize, block;

  KeyWrite(ImplicitLocOpBuilder &b, Value rowsTensor, Value pos, int64_t B)
      : position(pos), block(B) {
    auto type = cast<RankedTensorType>(rowsTensor.getType());
    kvHeads = type.getDimSize(1);
    headSize = type.getDimSize(2);
    rows = toBuffer(b, rowsTensor);
    count = memref::DimOp::create(b, rows, 0);
    end = arith::AddIOp::create(b, pos, count);
  }
  Value alloc(ImplicitLocOpBuilder &b, Value bytes) const {
    return memref::AllocOp::create(
        b, MemRefType::get({kvHeads, ShapedType::kDynamic}, b.getI8Type()),
        ValueRange{bytes});
  }
};

struct LowerPackKeyBlocks final : OpRewritePattern<PackKeyBlocksOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PackKeyBlocksOp op,
                                PatternRewriter &) const override {
    ImplicitLocOpBuilder b(op.getLoc(), op);
    KeyWrite w(b, op.getRows(), op.getPosition(), op.getBlock());
    int64_t D = w.headSize, B = w.block;
    KeyBlockLayout layout{B, D};
    Value window = toBuffer(b, op.getWindow());
    Value first = arith::DivUIOp::create(b, w.position, cIndex(b, B));
    Value blocks = arith::SubIOp::create(
        b, arith::DivUIOp::create(b, w.end, cIndex(b, B)), first);
    Value out = w.alloc(
        b, arith::MulIOp::create(b, blocks, cIndex(b, layout.blockBytes())));
    auto f32s = vec(b, D, b.getF32Type());
    forRange(b, cIndex(b, 0), blocks, [&](ImplicitLocOpBuilder &bb, Value bi) {
      Value p0 = arith::MulIOp::create(
          bb, arith::AddIOp::create(bb, first, bi), cIndex(bb, B));
      Value base = arith::MulIOp::create(bb, bi, cIndex(bb, layout.blockBytes()));
      forRange(bb, cIndex(bb, 0), cIndex(bb, w.kvHeads),
               [&](ImplicitLocOpBuilder &hb, Value h) {
        // Key j of the block: from the window before the write's first
        // position, else from its rows; f16-rounded either way.
        auto key = [&](ImplicitLocOpBuilder &ib, Value j) {
          Value p = arith::AddIOp::create(ib, p0, j);
          Value old = loadHalves(
              ib, window,
              ValueRange{h, arith::MulIOp::create(ib, j, cIndex(ib, 2 * D))}, D);
          Value row = arith::SubIOp::create(
              ib, arith::MaxUIOp::create(ib, p, w.position), w.position);
          Value fresh = roundToHalf(
              ib, vector::LoadOp::create(ib, f32s, w.rows,
                                         ValueRange{row, h, cIndex(ib, 0)}));
          Value before = arith::CmpIOp::create(ib, arith::CmpIPredicate::ult, p,
                                               w.position);
          return arith::SelectOp::create(ib, before, old, fresh).getResult();
        };
        Value inf = f32Splat(hb, D, std::numeric_limits<float>::infinity());
        auto range = scf::ForOp::create(
            hb, cIndex(hb, 0), cIndex(hb, B), cIndex(hb, 1),
            ValueRange{inf, arith::NegFOp::create(hb, inf)},
            [&](OpBuilder &ob, Location loc, Value j, ValueRange acc) {
              ImplicitLocOpBuilder ib(loc, ob);
              Value k = key(ib, j);
              scf::YieldOp::create(
                  ib, ValueRange{arith::MinimumFOp::create(ib, acc[0], k),
                                 arith::MaximumFOp::create(ib, acc[1], k)});
            });
        // Each channel's squared error, summed in position order.
        Quantizer q = clippedQuantizer(
            hb, range.getResult(0), range.getResult(1),
            [&](ImplicitLocOpBuilder &eb, ArrayRef<Quantizer> candidates) {
              SmallVector<Value> zeros(candidates.size(),
                                       f32Splat(eb, D, 0.0f));
              auto sums = scf::ForOp::create(
                  eb, cIndex(eb, 0), cIndex(eb, B), cIndex(eb, 1), zeros,
                  [&](OpBuilder &ob, Location loc, Value j, ValueRange acc) {
                    ImplicitLocOpBuilder ib(loc, ob);
                    Value k = key(ib, j);
                    SmallVector<Value> next;
                    for (auto [c, a] : llvm::zip(candidates, acc))
                      next.push_back(
                          arith::AddFOp::create(ib, a, c.squaredError(ib, k)));
                    scf::YieldOp::create(ib, next);
                  });
              return concatErrors(eb, SmallVector<Value>(sums.getResults()));
            });
        forRange(hb, cIndex(hb, 0), cIndex(hb, B),
                 [&](ImplicitLocOpBuilder &ib, Value j) {
          Value at = arith::AddIOp::create(
              ib, base, arith::MulIOp::create(ib, j, cIndex(ib, D / 2)));
          vector::StoreOp::create(ib, packNibbles(ib, q.codes(ib, key(ib, j))),
                                  out, ValueRange{h, at});
        });
        storeHalves(hb, q.scale, out,
                    ValueRange{h, arith::AddIOp::create(
                                      hb, base, cIndex(hb, layout.scalesOffset()))});
        vector::StoreOp::create(
            hb, q.zeroBytes(hb), out,
            ValueRange{h, arith::AddIOp::create(hb, base,
                                                cIndex(hb, layout.zerosOffset()))});
      });
    });
    replaceWithBuffer(b, op, out);
    return success();
  }
};

struct LowerPackKeyWindow final : OpRewritePattern<PackKeyWindowOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PackKeyWindowOp op,
                                PatternRewriter &) const override {
    ImplicitLocOpBuilder b(op.getLoc(), op);
    KeyWrite w(b, op.getRows(), op.getPosition(), op.getBlock());
    int64_t D = w.headSize, B = w.block;
    // Positions from max(position, e) to the end, e the open block's start.
    Value open = arith::MulIOp::create(
        b, arith::DivUIOp::create(b, w.end, cIndex(b, B)), cIndex(b, B));
    Value lo = arith::MaxUIOp::create(b, w.position, open);
    Value kept = arith::SubIOp::create(b, w.end, lo);
    Value out =
        w.alloc(b, arith::MulIOp::create(b, kept, cIndex(b, 2 * D)));
    forRange(b, cIndex(b, 0), kept, [&](ImplicitLocOpBuilder &ib, Value i) {
      Value row = arith::SubIOp::create(
          ib, arith::AddIOp::create(ib, lo, i), w.position);
      forRange(ib, cIndex(ib, 0), cIndex(ib, w.kvHeads),
               [&](ImplicitLocOpBuilder &hb, Value h) {
        Value x = vector::LoadOp::create(hb, vec(hb, D, hb.getF32Type()),
                                         w.rows, ValueRange{row, h, cIndex(hb, 0)});
        storeHalves(hb, x, out,
                    ValueRange{h, arith::MulIOp::create(hb, i, cIndex(hb, 2 * D))});
      });
    });
    replaceWithBuffer(b, op, out);
    return success();
  }
};
} // namespace

void qnt::populateQntKiviCacheToVectorPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerPackKeyBlocks, LowerPackKeyWindow>(patterns.getContext());
}
