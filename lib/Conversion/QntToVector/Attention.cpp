// CPU lowering of qnt.attention: one pass over the live positions of the KV
// cache per (row, head), with a running softmax, in vector registers.
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
/// What one lowered qnt.attention reads and writes, and its vector shape.
struct AttentionKernel {
  Value query, keys, values, out; // memrefs [T, H, D], [S, KvH, D] x2, [T, H, D]
  Value position;                 // index of row 0
  int64_t heads, group, headSize, positions;
  int64_t lanes;  // f32 lanes per vector; divides headSize
  int64_t block;  // positions scored together (one vector of scores)
  float scale;
};

/// A memref view of a tensor operand that keeps whatever strides its buffer
/// has (a layer's slice of the KV cache is strided), so bufferization casts
/// it instead of copying it; the last dimension is contiguous.
Value toStridedBuffer(ImplicitLocOpBuilder &b, Value tensor) {
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

Value splat(ImplicitLocOpBuilder &b, VectorType type, Value scalar) {
  return vector::BroadcastOp::create(b, type, scalar);
}

Value f32Const(ImplicitLocOpBuilder &b, float v) {
  return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
}

/// Emits the result row (r, h): scores of one block of positions at a time,
/// the running maximum m, the running sum l of exp(s - m) and the running
/// weighted sum of value rows, all rescaled by exp(m_old - m_new) when the
/// maximum grows (the "online softmax"), then out = acc / l.
void emitRow(ImplicitLocOpBuilder &b, const AttentionKernel &k, Value r,
             Value h, SmallVectorImpl<Operation *> &exps) {
  Type f32 = b.getF32Type();
  int64_t L = k.lanes, B = k.block, chunks = k.headSize / L;
  auto vecL = VectorType::get({L}, f32);
  auto vecB = VectorType::get({B}, f32);
  Value negInf = f32Const(b, -std::numeric_limits<float>::infinity());
  Value zero = f32Const(b, 0.0f);

  Value g = arith::DivUIOp::create(b, h, cIndex(b, k.group));
  // Positions this row sees: min(position + r + 1, S).
  Value n = arith::MinUIOp::create(
      b,
      arith::AddIOp::create(b, arith::AddIOp::create(b, k.position, r),
                            cIndex(b, 1)),
      cIndex(b, k.positions));
  Value last = arith::SubIOp::create(b, n, cIndex(b, 1));

  // The query row, scaled once.
  Value scale = splat(b, vecL, f32Const(b, k.scale));
  SmallVector<Value> q;
  for (int64_t c = 0; c < chunks; ++c)
    q.push_back(arith::MulFOp::create(
        b,
        vector::LoadOp::create(b, vecL, k.query,
                               ValueRange{r, h, cIndex(b, c * L)}),
        scale));

  SmallVector<Value> init = {negInf, zero};
  for (int64_t c = 0; c < chunks; ++c)
    init.push_back(splat(b, vecL, zero));
  Value blocks = arith::CeilDivUIOp::create(b, n, cIndex(b, B));
  auto reassoc = arith::FastMathFlags::reassoc;
  auto loop = scf::ForOp::create(
      b, cIndex(b, 0), blocks, cIndex(b, 1), init,
      [&](OpBuilder &ob, Location loc, Value blk, ValueRange carried) {
        ImplicitLocOpBuilder lb(loc, ob);
        Value t0 = arith::MulIOp::create(lb, blk, cIndex(lb, B));
        // Positions past the last one of the row are read at the last one
        // (never past the cache) and masked out of the softmax.
        SmallVector<Value> rows;
        for (int64_t j = 0; j < B; ++j)
          rows.push_back(arith::MinUIOp::create(
              lb, arith::AddIOp::create(lb, t0, cIndex(lb, j)), last));
        Value scores = splat(lb, vecB, negInf);
        for (int64_t j = 0; j < B; ++j) {
          Value dot;
          for (int64_t c = 0; c < chunks; ++c) {
            Value key = vector::LoadOp::create(
                lb, vecL, k.keys, ValueRange{rows[j], g, cIndex(lb, c * L)});
            dot = dot ? vector::FMAOp::create(lb, q[c], key, dot).getResult()
                      : arith::MulFOp::create(lb, q[c], key).getResult();
          }
          Value s =
              vector::ReductionOp::create(lb, vector::CombiningKind::ADD, dot,
                                          reassoc);
          scores = vector::InsertOp::create(lb, s, scores, j);
        }
        Value live = vector::CreateMaskOp::create(
            lb, VectorType::get({B}, lb.getI1Type()),
            ValueRange{arith::SubIOp::create(lb, n, t0)});
        scores = arith::SelectOp::create(lb, live, scores,
                                         splat(lb, vecB, negInf));
        Value blockMax = vector::ReductionOp::create(
            lb, vector::CombiningKind::MAXIMUMF, scores);
        Value m = arith::MaximumFOp::create(lb, carried[0], blockMax);
        // exp(-inf) = 0 on the first block: nothing to rescale yet.
        Value rescale = math::ExpOp::create(
            lb, arith::SubFOp::create(lb, carried[0], m));
        auto p = math::ExpOp::create(
            lb, arith::SubFOp::create(lb, scores, splat(lb, vecB, m)));
        exps.push_back(p);
        Value l = arith::AddFOp::create(
            lb, arith::MulFOp::create(lb, carried[1], rescale),
            vector::ReductionOp::create(lb, vector::CombiningKind::ADD, p,
                                        reassoc));
        Value rescaleV = splat(lb, vecL, rescale);
        SmallVector<Value> acc;
        for (int64_t c = 0; c < chunks; ++c)
          acc.push_back(arith::MulFOp::create(lb, carried[2 + c], rescaleV));
        for (int64_t j = 0; j < B; ++j) {
          Value weight =
              splat(lb, vecL, vector::ExtractOp::create(lb, p, j));
          for (int64_t c = 0; c < chunks; ++c) {
            Value value = vector::LoadOp::create(
                lb, vecL, k.values, ValueRange{rows[j], g, cIndex(lb, c * L)});
            acc[c] = vector::FMAOp::create(lb, weight, value, acc[c]);
          }
        }
        SmallVector<Value> next = {m, l};
        next.append(acc);
        scf::YieldOp::create(lb, next);
      });
  Value inv = splat(
      b, vecL,
      arith::DivFOp::create(b, f32Const(b, 1.0f), loop.getResult(1)));
  for (int64_t c = 0; c < chunks; ++c)
    vector::StoreOp::create(
        b, arith::MulFOp::create(b, loop.getResult(2 + c), inv), k.out,
        ValueRange{r, h, cIndex(b, c * L)});
}
} // namespace

LogicalResult qnt::lowerAttentionToVector(AttentionOp op, int64_t lanes,
                                          bool parallel) {
  auto queryType = cast<RankedTensorType>(op.getQuery().getType());
  auto keysType = cast<RankedTensorType>(op.getKeys().getType());
  AttentionKernel k;
  k.heads = queryType.getDimSize(1);
  k.headSize = queryType.getDimSize(2);
  k.group = k.heads / keysType.getDimSize(1);
  k.positions = keysType.getDimSize(0);
  k.scale = op.getScale().convertToFloat();
  // The widest vector (at most `lanes`) that divides the head size.
  k.lanes = 1;
  for (int64_t l = lanes; l >= 1; l /= 2)
    if (k.headSize % l == 0) {
      k.lanes = l;
      break;
    }
  k.block = std::max<int64_t>(lanes, 4);

  ImplicitLocOpBuilder b(op.getLoc(), op);
  k.query = toStridedBuffer(b, op.getQuery());
  k.keys = toStridedBuffer(b, op.getKeys());
  k.values = toStridedBuffer(b, op.getValues());
  k.position = op.getPosition();
  Value rows = memref::DimOp::create(b, k.query, 0);
  SmallVector<Value> dynSizes;
  if (queryType.isDynamicDim(0))
    dynSizes.push_back(rows);
  k.out = memref::AllocOp::create(
      b, MemRefType::get(queryType.getShape(), b.getF32Type()), dynSizes);

  SmallVector<Operation *> exps;
  Value zero = cIndex(b, 0), one = cIndex(b, 1);
  Value heads = cIndex(b, k.heads);
  auto body = [&](OpBuilder &ob, Location loc, Value r, Value h) {
    ImplicitLocOpBuilder rb(loc, ob);
    emitRow(rb, k, r, h, exps);
  };
  if (parallel) {
    scf::ParallelOp::create(b, ValueRange{zero, zero}, ValueRange{rows, heads},
                            ValueRange{one, one},
                            [&](OpBuilder &ob, Location loc, ValueRange ivs) {
                              body(ob, loc, ivs[0], ivs[1]);
                            });
  } else {
    scf::buildLoopNest(b, b.getLoc(), ValueRange{zero, zero},
                       ValueRange{rows, heads}, ValueRange{one, one},
                       [&](OpBuilder &ob, Location loc, ValueRange ivs) {
                         body(ob, loc, ivs[0], ivs[1]);
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
