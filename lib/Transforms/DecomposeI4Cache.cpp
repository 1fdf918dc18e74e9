// qnt-decompose-attention for the i4 cache (#qnt.cache_format<i4>): its
// writes (qnt.pack_window_rows, qnt.pack_cache_blocks) as linalg ops, and
// how the decomposed attention reads a value of it. The arithmetic is the
// CPU kernels' (KiviCache.cpp; the block quantizer is shared), so both
// write the same bytes (docs/BIT_LAYOUT.md "KV cache rows").
#include "DecomposeAttention.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "qnt/Conversion/Common.h"
#include "qnt/Transforms/Transforms.h"
#include <limits>

using namespace mlir;
using namespace mlir::qnt;
using namespace mlir::qnt::decompose;
using utils::IteratorType;

namespace {
Value indexOf(ImplicitLocOpBuilder &b, int64_t dim) {
  return linalg::IndexOp::create(b, dim);
}

/// Channel `i` of the 8-bit slot at byte `slot` of row `g` of `bytes` (a
/// window, or rows in window form): its signed code times the slot's f16
/// scale.
Value slotValue(ImplicitLocOpBuilder &b, Value bytes, Value g, Value slot,
                Value i, int64_t headSize) {
  Value code = tensor::ExtractOp::create(
      b, bytes, ValueRange{g, arith::AddIOp::create(b, slot, i)});
  Value scale = halfAt(
      b, bytes, g, arith::AddIOp::create(b, slot, cIndex(b, headSize)));
  return arith::MulFOp::create(
      b, arith::SIToFPOp::create(b, b.getF32Type(), code),
      arith::ExtFOp::create(b, b.getF32Type(), scale));
}

/// An empty tensor of `type`, its dynamic sizes `sizes`.
Value empty(ImplicitLocOpBuilder &b, RankedTensorType type,
            ValueRange sizes) {
  return tensor::EmptyOp::create(b, type.getShape(), type.getElementType(),
                                 sizes);
}

Value filled(ImplicitLocOpBuilder &b, Value init, float v) {
  return linalg::FillOp::create(b, f32Const(b, v), init).getResult(0);
}

/// Byte `which` (0 low, 1 high; an index) of the f16 `half`.
Value halfByte(ImplicitLocOpBuilder &b, Value half, Value which) {
  Value bits = arith::BitcastOp::create(b, b.getI16Type(), half);
  Value shift = arith::IndexCastOp::create(
      b, b.getI16Type(), arith::MulIOp::create(b, which, cIndex(b, 8)));
  return arith::TruncIOp::create(b, b.getI8Type(),
                                 arith::ShRUIOp::create(b, bits, shift));
}

/// min(max(v, lo), hi) on indices.
Value clampIndex(ImplicitLocOpBuilder &b, Value v, int64_t lo, int64_t hi) {
  return arith::MinUIOp::create(
      b, arith::MaxUIOp::create(b, v, cIndex(b, lo)), cIndex(b, hi));
}
} // namespace

Value decompose::readI4Cache(ImplicitLocOpBuilder &b,
                             const I4CacheLayout &layout, int64_t positions,
                             Value cache, Value recent, Value position,
                             Value r, Value t, Value g, Value i) {
  int64_t D = layout.headSize, B = layout.block;
  Type f32 = b.getF32Type();
  // The block: (4-bit code - zero point) * scale of channel i.
  Value base = arith::MulIOp::create(
      b, arith::DivUIOp::create(b, t, cIndex(b, B)),
      cIndex(b, layout.blockBytes()));
  Value codeAt = arith::AddIOp::create(
      b, base,
      arith::AddIOp::create(
          b,
          arith::MulIOp::create(b, arith::RemUIOp::create(b, t, cIndex(b, B)),
                                cIndex(b, D / 2)),
          arith::DivUIOp::create(b, i, cIndex(b, 2))));
  Value codeByte =
      tensor::ExtractOp::create(b, cache, ValueRange{g, codeAt});
  // Channel 2k in the low nibble of byte k, 2k + 1 in the high.
  Value shift = arith::IndexCastOp::create(
      b, b.getI8Type(),
      arith::MulIOp::create(b, arith::RemUIOp::create(b, i, cIndex(b, 2)),
                            cIndex(b, 4)));
  Value nibble = arith::AndIOp::create(
      b, arith::ShRUIOp::create(b, codeByte, shift),
      arith::ConstantOp::create(b, b.getI8IntegerAttr(15)));
  Value zero = tensor::ExtractOp::create(
      b, cache,
      ValueRange{g, arith::AddIOp::create(
                        b, base,
                        arith::AddIOp::create(
                            b, cIndex(b, layout.zerosOffset()), i))});
  Value scale = halfAt(
      b, cache, g,
      arith::AddIOp::create(
          b, base,
          arith::AddIOp::create(
              b, cIndex(b, layout.scalesOffset()),
              arith::MulIOp::create(b, i, cIndex(b, 2)))));
  Value fromBlock = arith::MulFOp::create(
      b,
      arith::SubFOp::create(b, arith::UIToFPOp::create(b, f32, nibble),
                            arith::SIToFPOp::create(b, f32, zero)),
      arith::ExtFOp::create(b, f32, scale));
  // The window's ring slot, or the written row.
  Value slot = arith::AddIOp::create(
      b, cIndex(b, layout.windowOffset(positions)),
      arith::MulIOp::create(
          b, arith::RemUIOp::create(b, t, cIndex(b, layout.window)),
          cIndex(b, layout.slotBytes())));
  Value fromWindow = slotValue(b, cache, g, slot, i, D);
  Value row = arith::SubIOp::create(
      b, arith::MaxUIOp::create(b, t, position), position);
  Value fromRows = slotValue(
      b, recent, g,
      arith::MulIOp::create(b, row, cIndex(b, layout.slotBytes())), i, D);
  Value windowStart = emitI4WindowStart(
      b, arith::AddIOp::create(b, arith::AddIOp::create(b, position, r),
                               cIndex(b, 1)),
      layout);
  Value inBlocks =
      arith::CmpIOp::create(b, arith::CmpIPredicate::ult, t, windowStart);
  Value inWindow =
      arith::CmpIOp::create(b, arith::CmpIPredicate::ult, t, position);
  return arith::SelectOp::create(
      b, inBlocks, fromBlock,
      arith::SelectOp::create(b, inWindow, fromWindow, fromRows));
}

FailureOr<Value> qnt::decomposePackWindowRows(RewriterBase &rewriter,
                                              PackWindowRowsOp op) {
  ImplicitLocOpBuilder b(op.getLoc(), rewriter);
  b.setInsertionPoint(op);
  MLIRContext *ctx = op.getContext();
  Value rows = op.getRows();
  auto rowsType = cast<RankedTensorType>(rows.getType());
  auto resultType = cast<RankedTensorType>(op.getResult().getType());
  int64_t tokens = rowsType.getDimSize(0), kvHeads = rowsType.getDimSize(1);
  int64_t D = rowsType.getDimSize(2), R = D + 2;
  Type f32 = b.getF32Type();
  Value count = tensor::DimOp::create(b, rows, 0);
  SmallVector<Value> tokenSizes;
  if (rowsType.isDynamicDim(0))
    tokenSizes.push_back(count);
  // amax[t, h] = max_i |x[t, h, i]|, then the slot's f16 scale
  // min(amax / 127, 65504).
  AffineExpr t, h, i;
  bindDims(ctx, t, h, i);
  AffineMap id2 = AffineMap::getMultiDimIdentityMap(2, ctx);
  auto amaxType = RankedTensorType::get({tokens, kvHeads}, f32);
  Value amax = generic(
      b, amaxType, filled(b, empty(b, amaxType, tokenSizes), 0.0f),
      ValueRange{rows},
      {AffineMap::get(3, 0, {t, h, i}, ctx), AffineMap::get(3, 0, {t, h}, ctx)},
      {IteratorType::parallel, IteratorType::parallel,
       IteratorType::reduction},
      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        return arith::MaximumFOp::create(ib, a[1],
                                         math::AbsFOp::create(ib, a[0]));
      });
  auto halfType = RankedTensorType::get({tokens, kvHeads}, b.getF16Type());
  Value halves = generic(
      b, halfType, empty(b, halfType, tokenSizes), ValueRange{amax},
      {id2, id2}, {IteratorType::parallel, IteratorType::parallel},
      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        return emitI4SlotScale(ib, a[0]);
      });
  // Byte j of head h's row: token j / R's code of channel j % R, or byte
  // j % R - D of its scale.
  SmallVector<Value> resultSizes;
  if (resultType.isDynamicDim(1))
    resultSizes.push_back(arith::MulIOp::create(b, count, cIndex(b, R)));
  Value packed = generic(
      b, resultType, empty(b, resultType, resultSizes), ValueRange{}, {id2},
      {IteratorType::parallel, IteratorType::parallel},
      [&](ImplicitLocOpBuilder &ib, ValueRange) -> Value {
        Value head = indexOf(ib, 0), j = indexOf(ib, 1);
        Value token = arith::DivUIOp::create(ib, j, cIndex(ib, R));
        Value c = arith::RemUIOp::create(ib, j, cIndex(ib, R));
        Value half =
            tensor::ExtractOp::create(ib, halves, ValueRange{token, head});
        Value x = tensor::ExtractOp::create(
            ib, rows,
            ValueRange{token, head,
                       arith::MinUIOp::create(ib, c, cIndex(ib, D - 1))});
        Value q = emitI4SlotCodes(ib, x, half);
        Value code = arith::FPToSIOp::create(ib, ib.getI8Type(), q);
        Value scaleByte = halfByte(
            ib, half,
            arith::SubIOp::create(ib, clampIndex(ib, c, D, D + 1),
                                  cIndex(ib, D)));
        Value isCode = arith::CmpIOp::create(ib, arith::CmpIPredicate::ult, c,
                                             cIndex(ib, D));
        return arith::SelectOp::create(ib, isCode, code, scaleByte);
      });
  rewriter.replaceOp(op, packed);
  return packed;
}

FailureOr<Value> qnt::decomposePackCacheBlocks(RewriterBase &rewriter,
                                               PackCacheBlocksOp op) {
  ImplicitLocOpBuilder b(op.getLoc(), rewriter);
  b.setInsertionPoint(op);
  MLIRContext *ctx = op.getContext();
  auto windowType = cast<RankedTensorType>(op.getOldWindow().getType());
  auto resultType = cast<RankedTensorType>(op.getResult().getType());
  int64_t kvHeads = windowType.getDimSize(0), D = op.getHeadSize();
  I4CacheLayout layout{static_cast<int64_t>(op.getBlock()),
                       static_cast<int64_t>(op.getWindow()), D};
  int64_t B = layout.block, W = layout.window, R = layout.slotBytes();
  constexpr int64_t kDyn = ShapedType::kDynamic;
  Type f32 = b.getF32Type();
  Value window = op.getOldWindow(), recent = op.getRecent();
  Value position = op.getPosition();
  std::pair<Value, Value> leaving = emitI4LeavingBlocks(
      b, position,
      arith::DivUIOp::create(b, tensor::DimOp::create(b, recent, 1),
                             cIndex(b, R)),
      layout);
  Value first = leaving.first, blocks = leaving.second;
  SmallVector<IteratorType> par4(4, IteratorType::parallel);
  // values[h, k, j, c]: channel c of position j of block k as the window
  // holds it, from the old window before the write's first position, else
  // from the written rows.
  auto valuesType = RankedTensorType::get({kvHeads, kDyn, B, D}, f32);
  Value values = generic(
      b, valuesType, empty(b, valuesType, blocks), ValueRange{},
      {AffineMap::getMultiDimIdentityMap(4, ctx)}, par4,
      [&](ImplicitLocOpBuilder &ib, ValueRange) -> Value {
        Value head = indexOf(ib, 0), c = indexOf(ib, 3);
        Value p = arith::AddIOp::create(
            ib,
            arith::MulIOp::create(
                ib, arith::AddIOp::create(ib, first, indexOf(ib, 1)),
                cIndex(ib, B)),
            indexOf(ib, 2));
        Value old = slotValue(
            ib, window, head,
            arith::MulIOp::create(
                ib, arith::RemUIOp::create(ib, p, cIndex(ib, W)),
                cIndex(ib, R)),
            c, D);
        Value row = arith::SubIOp::create(
            ib, arith::MaxUIOp::create(ib, p, position), position);
        Value fresh = slotValue(
            ib, recent, head, arith::MulIOp::create(ib, row, cIndex(ib, R)), c,
            D);
        Value before = arith::CmpIOp::create(ib, arith::CmpIPredicate::ult, p,
                                             position);
        return arith::SelectOp::create(ib, before, old, fresh);
      });
  // Each channel's range over its block's positions.
  AffineExpr h, k, c, j;
  bindDims(ctx, h, k, c, j);
  AffineMap valueOf = AffineMap::get(4, 0, {h, k, j, c}, ctx);
  AffineMap channelOf = AffineMap::get(4, 0, {h, k, c}, ctx);
  auto rangeType = RankedTensorType::get({kvHeads, kDyn, D}, f32);
  SmallVector<IteratorType> overPositions = {
      IteratorType::parallel, IteratorType::parallel, IteratorType::parallel,
      IteratorType::reduction};
  float inf = std::numeric_limits<float>::infinity();
  Value lo = generic(
      b, rangeType, filled(b, empty(b, rangeType, blocks), inf),
      ValueRange{values}, {valueOf, channelOf}, overPositions,
      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        return arith::MinimumFOp::create(ib, a[1], a[0]);
      });
  Value hi = generic(
      b, rangeType, filled(b, empty(b, rangeType, blocks), -inf),
      ValueRange{values}, {valueOf, channelOf}, overPositions,
      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        return arith::MaximumFOp::create(ib, a[1], a[0]);
      });
  // errors[h, k, c, n]: the squared error of clipped range n
  // (kI4ClipFactors) over the block's positions, summed in their order.
  constexpr int64_t kCandidates = std::size(kI4ClipFactors);
  auto factorOf = [&](ImplicitLocOpBuilder &ib, Value n) {
    Value factor = f32Const(ib, kI4ClipFactors[0]);
    for (int64_t m = 1; m < kCandidates; ++m)
      factor = arith::SelectOp::create(
          ib,
          arith::CmpIOp::create(ib, arith::CmpIPredicate::eq, n,
                                cIndex(ib, m)),
          f32Const(ib, kI4ClipFactors[m]), factor);
    return factor;
  };
  auto errorsType =
      RankedTensorType::get({kvHeads, kDyn, D, kCandidates}, f32);
  AffineExpr h5, k5, c5, n5, j5;
  bindDims(ctx, h5, k5, c5, n5, j5);
  AffineMap channelOf5 = AffineMap::get(5, 0, {h5, k5, c5}, ctx);
  Value errors = generic(
      b, errorsType, filled(b, empty(b, errorsType, blocks), 0.0f),
      ValueRange{lo, hi, values},
      {channelOf5, channelOf5, AffineMap::get(5, 0, {h5, k5, j5, c5}, ctx),
       AffineMap::get(5, 0, {h5, k5, c5, n5}, ctx)},
      {IteratorType::parallel, IteratorType::parallel, IteratorType::parallel,
       IteratorType::parallel, IteratorType::reduction},
      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        I4BlockQuantizer q = I4BlockQuantizer::clipped(
            ib, a[0], a[1], factorOf(ib, indexOf(ib, 3)));
        return arith::AddFOp::create(ib, a[3], q.squaredError(ib, a[2]));
      });
  // Each channel's factor: the least error, the first on ties.
  Value factors = generic(
      b, rangeType, empty(b, rangeType, blocks), ValueRange{},
      {AffineMap::getMultiDimIdentityMap(3, ctx)},
      {IteratorType::parallel, IteratorType::parallel,
       IteratorType::parallel},
      [&](ImplicitLocOpBuilder &ib, ValueRange) -> Value {
        Value head = indexOf(ib, 0), block = indexOf(ib, 1);
        Value channel = indexOf(ib, 2);
        auto errorOf = [&](int64_t n) -> Value {
          return tensor::ExtractOp::create(
              ib, errors, ValueRange{head, block, channel, cIndex(ib, n)});
        };
        Value best = errorOf(0), factor = f32Const(ib, kI4ClipFactors[0]);
        for (int64_t n = 1; n < kCandidates; ++n) {
          Value e = errorOf(n);
          Value better = arith::CmpFOp::create(
              ib, arith::CmpFPredicate::OLT, e, best);
          factor = arith::SelectOp::create(
              ib, better, f32Const(ib, kI4ClipFactors[n]), factor);
          best = arith::SelectOp::create(ib, better, e, best);
        }
        return factor;
      });
  // Byte o of block k of head h: the codes of a position's channels 2m and
  // 2m + 1 (low nibble first), a byte of a channel's f16 scale, or a
  // channel's zero point.
  SmallVector<Value> resultSizes;
  if (resultType.isDynamicDim(1))
    resultSizes.push_back(
        arith::MulIOp::create(b, blocks, cIndex(b, layout.blockBytes())));
  Value packed = generic(
      b, resultType, empty(b, resultType, resultSizes), ValueRange{},
      {AffineMap::getMultiDimIdentityMap(2, ctx)},
      {IteratorType::parallel, IteratorType::parallel},
      [&](ImplicitLocOpBuilder &ib, ValueRange) -> Value {
        Value head = indexOf(ib, 0), byte = indexOf(ib, 1);
        Value block =
            arith::DivUIOp::create(ib, byte, cIndex(ib, layout.blockBytes()));
        Value o =
            arith::RemUIOp::create(ib, byte, cIndex(ib, layout.blockBytes()));
        auto quantizer = [&](Value channel) {
          SmallVector<Value, 3> at = {head, block, channel};
          return I4BlockQuantizer::clipped(
              ib, tensor::ExtractOp::create(ib, lo, at),
              tensor::ExtractOp::create(ib, hi, at),
              tensor::ExtractOp::create(ib, factors, at));
        };
        Value codeAt = arith::MinUIOp::create(
            ib, o, cIndex(ib, layout.codeBytes() - 1));
        Value p = arith::DivUIOp::create(ib, codeAt, cIndex(ib, D / 2));
        Value even = arith::MulIOp::create(
            ib, arith::RemUIOp::create(ib, codeAt, cIndex(ib, D / 2)),
            cIndex(ib, 2));
        auto code = [&](Value channel) -> Value {
          Value x = tensor::ExtractOp::create(
              ib, values, ValueRange{head, block, p, channel});
          return arith::FPToSIOp::create(
              ib, ib.getI8Type(), quantizer(channel).codeValues(ib, x));
        };
        Value codes = arith::OrIOp::create(
            ib, code(even),
            arith::ShLIOp::create(
                ib, code(arith::AddIOp::create(ib, even, cIndex(ib, 1))),
                arith::ConstantOp::create(ib, ib.getI8IntegerAttr(4))));
        Value s = arith::SubIOp::create(
            ib,
            clampIndex(ib, o, layout.scalesOffset(),
                       layout.scalesOffset() + 2 * D - 1),
            cIndex(ib, layout.scalesOffset()));
        Value scale = quantizer(arith::DivUIOp::create(ib, s, cIndex(ib, 2)))
                          .scale;
        Value scaleByte = halfByte(
            ib, arith::TruncFOp::create(ib, ib.getF16Type(), scale),
            arith::RemUIOp::create(ib, s, cIndex(ib, 2)));
        Value z = arith::SubIOp::create(
            ib,
            clampIndex(ib, o, layout.zerosOffset(),
                       layout.zerosOffset() + D - 1),
            cIndex(ib, layout.zerosOffset()));
        Value zeroByte = arith::FPToSIOp::create(ib, ib.getI8Type(),
                                                 quantizer(z).zero);
        Value isCode = arith::CmpIOp::create(
            ib, arith::CmpIPredicate::ult, o, cIndex(ib, layout.codeBytes()));
        Value isScale = arith::CmpIOp::create(
            ib, arith::CmpIPredicate::ult, o, cIndex(ib, layout.zerosOffset()));
        return arith::SelectOp::create(
            ib, isCode, codes,
            arith::SelectOp::create(ib, isScale, scaleByte, zeroByte));
      });
  rewriter.replaceOp(op, packed);
  return packed;
}
