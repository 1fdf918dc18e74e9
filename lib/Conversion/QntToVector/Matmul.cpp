// qnt.matmul on the CPU (convert-qnt-to-vector): which kernel takes it (the
// column kernels, the row kernels with int8 or f32 x) and the compile-time
// copies of the weights each reads.
#include "Kernels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "qnt/Conversion/Common.h"
#include "qnt/Conversion/Passes.h"
#include "qnt/IR/QntOps.h"
#include <limits>

using namespace mlir;
using namespace mlir::qnt;

/// The bytes per load of the activations=i8 row kernels for `kern` (32 or
/// 16; 0 where they do not apply): they read whole groups as loads of that
/// many bytes, each a plane-major block for widths below 8, and x blocks of
/// 32 codes. Sets `groupsPerLoad` where a load holds several groups.
static int64_t rowInt8Lanes(const MatmulKernel &kern, int64_t actBlock,
                            int64_t &groupsPerLoad) {
  if (8 % kern.bits != 0 || kern.k % kern.groupSize != 0 ||
      kern.groupSize % kActivationStep != 0)
    return 0;
  int64_t int8Lanes = 0;
  int64_t perByte = 8 / kern.bits;
  for (int64_t lanes : {int64_t(32), int64_t(16)})
    if (!int8Lanes && kern.groupSize % (lanes * perByte) == 0 &&
        (kern.bits < 8 || lanes == 32))
      int8Lanes = lanes;
  // Groups smaller than a 32-byte load of 1/2/4-bit codes (int4 g32): loads
  // of 32 bytes whose fields are whole groups, each its own x block, rather
  // than 16-byte loads (half the vector width, twice the work per code).
  int64_t loadCodes = 32 * perByte;
  if (int8Lanes != 32 && kern.bits < 8 && loadCodes % kern.groupSize == 0 &&
      kern.groupSize % 32 == 0 && kern.k % loadCodes == 0 &&
      activationBlockFor(actBlock, kern.bits, kern.groupSize) ==
          kern.groupSize) {
    int8Lanes = 32;
    groupsPerLoad = loadCodes / kern.groupSize;
  }
  return int8Lanes;
}

LogicalResult CpuLowering::lowerMatmul(MatmulOp op, const Payload &payload) {
  PackedType wType = op.getWeight().getType();
  SchemeAttr scheme = wType.getScheme();
  if (!scheme.isInteger())
    return op.emitOpError()
           << "CPU lowering supports integer formats only, not "
           << stringifyFormat(scheme.getFormat());
  MatmulKernel kern;
  kern.scheme = scheme;
  kern.bits = scheme.getBits();
  kern.isSigned = scheme.isSigned();
  kern.n = wType.getShape()[0];
  kern.k = wType.getShape()[1];
  kern.groupSize = scheme.getGranularity() == Granularity::per_group
                       ? scheme.getGroupSize()
                       : kern.k;
  if (kern.groupSize != kern.k && (kern.groupSize * kern.bits) % 8 != 0)
    return op.emitOpError()
           << "group size " << kern.groupSize << " with " << kern.bits
           << "-bit codes starts groups inside a byte; the CPU lowering needs "
              "groups of a multiple of 8 codes";
  kern.chunk = chunk;
  kern.prefetch = prefetch;
  kern.parallel = parallel;
  kern.xElem = op.getInput().getType().getElementType();
  if (activations == "i8" && columnKernels && 8 % kern.bits == 0 &&
      kern.k % kern.groupSize == 0 && kern.groupSize % kActivationStep == 0) {
    int64_t block = activationBlockFor(actBlock, kern.bits, kern.groupSize);
    if (columnKernelApplies(kern, block,
                            op.getResult().getType().getElementType()))
      return lowerColumnMatmul(op, kern, block, payload);
  }
  Value codes = payload.codes;
  // activations=i8 reads whole groups as loads of 32 (else 16) bytes, each a
  // plane-major block for widths below 8, and x blocks of 32 codes.
  Int8Kernel int8;
  int64_t int8Lanes = activations == "i8"
                          ? rowInt8Lanes(kern, actBlock, int8.groupsPerLoad)
                          : 0;
  if (int8Lanes) {
    setCodeOffset(int8, kern, payload.zeroPoints != nullptr);
    auto constant = op.getWeight().getDefiningOp<ConstantOp>();
    auto it = int8Codes.find(constant);
    if (it == int8Codes.end()) {
      // The plane-major layout works in blocks of one load, within groups
      // or (small groups) across them.
      FailureOr<Value> repacked = materializeInt8KernelCodes(
          constant, kern.groupSize * int8.groupsPerLoad, int8Lanes, colsPerTile,
          int8.flip);
      if (failed(repacked))
        return failure();
      it = int8Codes.try_emplace(constant, *repacked).first;
    }
    codes = it->second;
    int8.rowBytes = wType.getCodesShape().back();
    int8.fieldBytes = int8Lanes;
    int8.block = activationBlockFor(actBlock, kern.bits, kern.groupSize);
    // Each dot product adds at most 2 * (2^bits - 1) * 127 to an i16 lane
    // (d unsigned below 8 bits, |xq| <= 127); a block has block / L of them.
    int64_t dotsPerBlock = int8.block / int8Lanes;
    int8.sumsInI16 = kern.bits < 8 && dotsPerBlock > 1 &&
                     dotsPerBlock * 2 * ((int64_t(1) << kern.bits) - 1) * 127 <=
                         std::numeric_limits<int16_t>::max();
    kern.int8 = &int8;
  } else if (kern.bits < 8 && 8 % kern.bits == 0) {
    // Widths that divide 8 read full blocks of each group in the plane-major
    // layout. The lanes shrink (in steps of 8, keeping whole bytes) until one
    // block fits in a group; the rest of each group uses the standard layout.
    int64_t perByte = 8 / kern.bits;
    int64_t lanes = kern.chunk;
    while (lanes > 8 && lanes * perByte > kern.groupSize)
      lanes -= 8;
    if (lanes * perByte <= kern.groupSize) {
      FailureOr<Value> repacked = planeMajorCodesFor(
          op.getWeight().getDefiningOp<ConstantOp>(), kern.groupSize, lanes);
      if (failed(repacked))
        return failure();
      codes = *repacked;
      kern.chunk = lanes;
      kern.planeBlocks = kern.groupSize / (lanes * perByte);
    }
  }
  kern.xElem = op.getInput().getType().getElementType();

  ImplicitLocOpBuilder b(op.getLoc(), op);
  kern.x = to2D(b, toBuffer(b, op.getInput()));
  kern.codes = toBuffer(b, codes);
  kern.scales = toBuffer(b, payload.scales);
  if (payload.zeroPoints)
    kern.zeroPoints = toBuffer(b, payload.zeroPoints);
  if (op.getBias())
    kern.bias = toBuffer(b, op.getBias());

  Value outBuf = allocMatmulResult(b, op);
  kern.out = to2D(b, outBuf);
  kern.m = memref::DimOp::create(b, kern.x, 0);
  if (kern.int8)
    quantizeOnce(b, op.getInput(), kern, int8);

  emitMatmulLoops(b, kern, rowsPerTile, colsPerTile, streams, parallel);

  replaceWithBuffer(b, op, outBuf);
  return success();
}

void CpuLowering::quantizeOnce(ImplicitLocOpBuilder &b, Value input,
                               const MatmulKernel &kern, Int8Kernel &q) {
  auto key = std::make_tuple(input, q.block,
                             q.needsSums ? kern.groupSize : int64_t(0));
  auto it = quantizedX.find(key);
  if (it != quantizedX.end() && it->second.block == b.getInsertionBlock()) {
    q.xq = it->second.xq;
    q.xScales = it->second.xScales;
    q.xSums = it->second.xSums;
    return;
  }
  quantizeActivations(b, kern, q);
  quantizedX[key] = {b.getInsertionBlock(), q.xq, q.xScales, q.xSums};
}

LogicalResult CpuLowering::lowerColumnMatmul(MatmulOp op, MatmulKernel &kern,
                                             int64_t block,
                                             const Payload &payload) {
  Int8Kernel int8;
  int8.block = block;
  setCodeOffset(int8, kern, payload.zeroPoints != nullptr);
  // vpdpbusd multiplies unsigned by signed bytes exactly: 8-bit codes go in
  // as unsigned bytes (signed ones flipped, d = c + 128, o = -128), which
  // spares the sign trick of a signed operand (three instructions per dot
  // product with AVX-512). vpmaddubsw would saturate their pair sums.
  bool unsignedBytes =
      kern.bits == 8 && (intDot == "avx512vnni" || intDot == "avxvnni");
  if (unsignedBytes) {
    int8.flip = kern.isSigned ? 0x80 : 0;
    int8.offset = kern.isSigned ? -128 : 0;
    int8.needsSums = payload.zeroPoints || int8.offset != 0;
  }
  ImplicitLocOpBuilder b(op.getLoc(), op);
  kern.x = to2D(b, toBuffer(b, op.getInput()));
  kern.scales = toBuffer(b, payload.scales);
  if (op.getBias())
    kern.bias = toBuffer(b, op.getBias());
  Value outBuf = allocMatmulResult(b, op);
  kern.out = to2D(b, outBuf);
  kern.m = memref::DimOp::create(b, kern.x, 0);
  quantizeOnce(b, op.getInput(), kern, int8);
  // 16 columns per register with 64-byte vectors (chunk=16, AVX-512), else 8.
  // One copy per weight constant, whatever reads it.
  auto constant = op.getWeight().getDefiningOp<ConstantOp>();
  auto it = columnCopies.find(constant);
  if (it == columnCopies.end()) {
    FailureOr<ColumnCopy> copy =
        makeColumnCopy(kern, int8, constant, payload, chunk >= 16 ? 16 : 8,
                       /*signedBytes=*/kern.bits == 8 && !unsignedBytes);
    if (failed(copy))
      return failure();
    it = columnCopies.try_emplace(constant, *copy).first;
  }
  emitColumnKernel(b, kern, int8, it->second, rowsPerTile, parallel);
  replaceWithBuffer(b, op, outBuf);
  return success();
}

FailureOr<Value> CpuLowering::planeMajorCodesFor(ConstantOp op,
                                                 int64_t groupSize,
                                                 int64_t lanes) {
  auto it = planeMajorCodes.find(op);
  if (it != planeMajorCodes.end())
    return it->second;
  FailureOr<Value> codes = materializePlaneMajorCodes(op, groupSize, lanes);
  if (succeeded(codes))
    planeMajorCodes[op] = *codes;
  return codes;
}

namespace {
struct LowerMatmul final : OpRewritePattern<MatmulOp> {
  LowerMatmul(MLIRContext *ctx, CpuLowering &lowering)
      : OpRewritePattern(ctx), lowering(lowering) {}
  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    FailureOr<Payload> payload = lowering.payloadFor(op, op.getWeight());
    return failed(payload) ? failure() : lowering.lowerMatmul(op, *payload);
  }
  CpuLowering &lowering;
};
} // namespace

void qnt::populateQntMatmulToVectorPatterns(RewritePatternSet &patterns,
                                            CpuLowering &lowering) {
  patterns.add<LowerMatmul>(patterns.getContext(), lowering);
}
