// Packed tables read element by element on the CPU (convert-qnt-to-vector):
// qnt.dequantize, and qnt.gather_rows (the token embedding), from the
// row layout or from a column kernel's (column_tiles) layout of the table.
#include "Kernels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "qnt/Conversion/Common.h"
#include "qnt/IR/QntOps.h"

using namespace mlir;
using namespace mlir::qnt;

LogicalResult CpuLowering::lowerDequantize(DequantizeOp op,
                                           const Payload &payload) {
  PackedType type = op.getInput().getType();
  ImplicitLocOpBuilder b(op.getLoc(), op);
  RankedTensorType resultType = op.getResult().getType();
  Value codes = toBuffer(b, payload.codes);
  Value scales = toBuffer(b, payload.scales);
  Value zps = payload.zeroPoints ? toBuffer(b, payload.zeroPoints) : Value();
  Value offsets = payload.offsets ? toBuffer(b, payload.offsets) : Value();
  auto outType =
      MemRefType::get(resultType.getShape(), resultType.getElementType());
  Value out = memref::AllocOp::create(b, outType);
  int64_t rank = type.getRank();
  SmallVector<Value> lbs(rank, cIndex(b, 0)), steps(rank, cIndex(b, 1)), ubs;
  for (int64_t d : type.getShape())
    ubs.push_back(cIndex(b, d));
  scf::buildLoopNest(
      b, b.getLoc(), lbs, ubs, steps,
      [&](OpBuilder &ob, Location loc, ValueRange ivs) {
        ImplicitLocOpBuilder lb(loc, ob);
        Value v = decodeElement(lb, type, codes, scales, zps, offsets, ivs);
        memref::StoreOp::create(lb, fromF32(lb, v, resultType.getElementType()),
                                out, ivs);
      });
  replaceWithBuffer(b, op, out);
  return success();
}

LogicalResult CpuLowering::lowerGatherRows(GatherRowsOp op,
                                           const Payload &payload) {
  PackedType type = op.getTable().getType();
  ImplicitLocOpBuilder b(op.getLoc(), op);
  Value codes = toBuffer(b, payload.codes);
  Value scales = toBuffer(b, payload.scales);
  Value zps = payload.zeroPoints ? toBuffer(b, payload.zeroPoints) : Value();
  Value offsets = payload.offsets ? toBuffer(b, payload.offsets) : Value();
  Value ids = toBuffer(b, op.getIds());
  Value count = memref::DimOp::create(b, ids, 0);
  auto resultType = cast<RankedTensorType>(op.getResult().getType());
  SmallVector<Value> dynSizes;
  if (resultType.isDynamicDim(0))
    dynSizes.push_back(count);
  Value out = memref::AllocOp::create(
      b, MemRefType::get(resultType.getShape(), b.getF32Type()), dynSizes);
  int64_t rows = type.getShape()[0], k = type.getShape()[1];
  // Row t of the result: the decoded table row of ids[t], clamped to the
  // table (one row per decoding step: a few microseconds, scalar).
  scf::buildLoopNest(
      b, b.getLoc(), ValueRange{cIndex(b, 0)}, ValueRange{count},
      ValueRange{cIndex(b, 1)},
      [&](OpBuilder &ob, Location loc, ValueRange ivs) {
        ImplicitLocOpBuilder lb(loc, ob);
        Value id = arith::IndexCastOp::create(
            lb, lb.getIndexType(), memref::LoadOp::create(lb, ids, ivs[0]));
        id = arith::MaxSIOp::create(lb, id, cIndex(lb, 0));
        id = arith::MinSIOp::create(lb, id, cIndex(lb, rows - 1));
        scf::ForOp::create(
            lb, cIndex(lb, 0), cIndex(lb, k), cIndex(lb, 1), ValueRange{},
            [&](OpBuilder &jb, Location jloc, Value j, ValueRange) {
              ImplicitLocOpBuilder eb(jloc, jb);
              Value v = decodeElement(eb, type, codes, scales, zps, offsets,
                                      ValueRange{id, j});
              memref::StoreOp::create(eb, v, out, ValueRange{ivs[0], j});
              scf::YieldOp::create(eb);
            });
      });
  replaceWithBuffer(b, op, out);
  return success();
}

void CpuLowering::lowerGatherRowsFromColumns(GatherRowsOp op,
                                             const ColumnCopy &copy) {
  ImplicitLocOpBuilder b(op.getLoc(), op);
  Value ids = toBuffer(b, op.getIds());
  auto resultType = cast<RankedTensorType>(op.getResult().getType());
  SmallVector<Value> dynSizes;
  if (resultType.isDynamicDim(0))
    dynSizes.push_back(memref::DimOp::create(b, ids, 0));
  Value out = memref::AllocOp::create(
      b, MemRefType::get(resultType.getShape(), b.getF32Type()), dynSizes);
  PackedType type = op.getTable().getType();
  emitGatherFromColumnCopy(b, copy, ids, out, type.getShape()[0],
                           type.getShape()[1]);
  replaceWithBuffer(b, op, out);
}

namespace {
struct LowerDequantize final : OpRewritePattern<DequantizeOp> {
  LowerDequantize(MLIRContext *ctx, CpuLowering &lowering)
      : OpRewritePattern(ctx), lowering(lowering) {}
  LogicalResult matchAndRewrite(DequantizeOp op,
                                PatternRewriter &rewriter) const override {
    FailureOr<Payload> payload = lowering.payloadFor(op, op.getInput());
    return failed(payload) ? failure() : lowering.lowerDequantize(op, *payload);
  }
  CpuLowering &lowering;
};

/// A table in the column_tiles layout (a classifier tied to the token
/// embedding, laid out for its column kernel) is read from that layout, so
/// the library keeps no other copy of its codes.
struct LowerGatherRows final : OpRewritePattern<GatherRowsOp> {
  LowerGatherRows(MLIRContext *ctx, CpuLowering &lowering)
      : OpRewritePattern(ctx), lowering(lowering) {}
  LogicalResult matchAndRewrite(GatherRowsOp op,
                                PatternRewriter &rewriter) const override {
    PackedType type = op.getTable().getType();
    if (!type.getLayout()) {
      FailureOr<Payload> payload = lowering.payloadFor(op, op.getTable());
      return failed(payload) ? failure()
                             : lowering.lowerGatherRows(op, *payload);
    }
    MatmulKernel kern = describeWeight(type);
    // The matmuls were lowered first: the view their kernel made (with its
    // lookup instructions) is the one read here; without one, the portable
    // decode.
    Int8Kernel q;
    bool signedBytes =
        setColumnCodeOffset(q, kern, type.getLayout(), LookupIsa::generic);
    FailureOr<const ColumnCopy *> copy =
        lowering.columnCopyOf(op, op.getTable(), kern, q, signedBytes);
    if (failed(copy))
      return failure();
    lowering.lowerGatherRowsFromColumns(op, **copy);
    return success();
  }
  CpuLowering &lowering;
};
} // namespace

void qnt::populateQntTableToVectorPatterns(RewritePatternSet &patterns,
                                           CpuLowering &lowering) {
  patterns.add<LowerDequantize, LowerGatherRows>(patterns.getContext(),
                                                 lowering);
}
