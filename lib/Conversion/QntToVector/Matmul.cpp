// qnt.matmul on the CPU (convert-qnt-to-vector): the kernel its #qnt.kernel
// names (the column kernels, the row kernels with int8 or f32 x) and the
// compile-time copies of the weights each reads.
#include "Kernels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "qnt/Conversion/Common.h"
#include "qnt/Conversion/Passes.h"
#include "qnt/IR/QntOps.h"
#include "qnt/Support/Packing.h"
#include <limits>

using namespace mlir;
using namespace mlir::qnt;

int64_t qnt::rowInt8Lanes(const MatmulKernel &kern, int64_t actBlock) {
  if (8 % kern.bits != 0 || kern.k % kern.groupSize != 0 ||
      kern.groupSize % kActivationStep != 0)
    return 0;
  int64_t perByte = 8 / kern.bits;
  for (int64_t lanes : {int64_t(32), int64_t(16)})
    if (kern.groupSize % (lanes * perByte) == 0 &&
        (kern.bits < 8 || lanes == 32))
      return lanes;
  // Groups smaller than a 32-byte load of 1/2/4-bit codes (int4 g32): loads
  // of 32 bytes whose fields are whole groups, each its own x block, rather
  // than 16-byte loads (half the vector width, twice the work per code).
  int64_t loadCodes = 32 * perByte;
  if (kern.bits < 8 && loadCodes % kern.groupSize == 0 &&
      kern.k % loadCodes == 0 &&
      activationBlockFor(actBlock, kern.bits, kern.groupSize) ==
          kern.groupSize)
    return 32;
  return 0;
}

int64_t qnt::int8GroupsPerLoad(const MatmulKernel &kern, int64_t lanes) {
  if (8 % kern.bits != 0 || kern.k % kern.groupSize != 0 ||
      kern.groupSize % kActivationStep != 0 ||
      (kern.bits == 8 && lanes != 32))
    return 0;
  int64_t loadCodes = lanes * (8 / kern.bits);
  if (kern.groupSize % loadCodes == 0)
    return 1;
  if (lanes == 32 && kern.bits < 8 && loadCodes % kern.groupSize == 0 &&
      kern.k % loadCodes == 0)
    return loadCodes / kern.groupSize;
  return 0;
}

bool qnt::fieldsAreGroups(const MatmulKernel &kern, int64_t lanes) {
  return !kern.scheme.isInteger() && kern.bits < 8 && 8 % kern.bits == 0 &&
         kern.groupSize == lanes && kern.k % (lanes * (8 / kern.bits)) == 0;
}

MatmulKernel qnt::describeWeight(PackedType weight) {
  SchemeAttr scheme = weight.getScheme();
  MatmulKernel kern;
  kern.scheme = scheme;
  kern.bits = scheme.getBits();
  kern.isSigned = scheme.isSigned();
  kern.n = weight.getShape()[0];
  kern.k = weight.getShape()[1];
  kern.groupSize = scheme.getGranularity() == Granularity::per_group
                       ? scheme.getGroupSize()
                       : kern.k;
  return kern;
}

FailureOr<MatmulKernel> qnt::describeMatmul(MatmulOp op, std::string &why) {
  MatmulKernel kern = describeWeight(op.getWeight().getType());
  if (kern.groupSize != kern.k && (kern.groupSize * kern.bits) % 8 != 0) {
    why = "group size " + std::to_string(kern.groupSize) + " with " +
          std::to_string(kern.bits) +
          "-bit codes starts groups inside a byte; the CPU lowering needs "
          "groups of a multiple of 8 codes";
    return failure();
  }
  kern.xElem = op.getInput().getType().getElementType();
  return kern;
}

/// The error of a #qnt.kernel that the matmul `kern` cannot run: a
/// hand-written one (qnt-select-kernels chooses only kernels that apply).
static LogicalResult notApplicable(MatmulOp op, KernelAttr kernel,
                                   StringRef why) {
  return op.emitOpError() << "kernel " << kernel << " does not apply: " << why;
}

LogicalResult CpuLowering::lowerMatmul(MatmulOp op, KernelAttr kernel,
                                       const Payload &payload) {
  std::string why;
  FailureOr<MatmulKernel> described = describeMatmul(op, why);
  if (failed(described))
    return op.emitOpError() << why;
  MatmulKernel kern = *described;
  kern.prefetch = kernel.getPrefetch();
  kern.parallel = kernel.getParallel();
  kern.chunk = kernel.getLanes();
  kern.lookup = kernel.getLookup();
  // fp8, fp4 and NF4 codes are decoded with f32 x by the row_lut kernels;
  // fp4 (e2m1) codes also with int8 x by the column kernels.
  bool lutCodes = !kern.scheme.isInteger();
  bool e2m1Columns =
      hasE2M1Codes(kern) && kernel.getFamily() == KernelFamily::column_i8;
  if (lutCodes != (kernel.getFamily() == KernelFamily::row_lut) &&
      !e2m1Columns)
    return notApplicable(op, kernel,
                         lutCodes ? "fp8, fp4 and nf4 codes need a row_lut "
                                    "kernel (fp4 codes: or column_i8)"
                                  : "row_lut takes fp8, fp4 and nf4 codes only");
  if (kernel.getFamily() == KernelFamily::column_i8 && !lutCodes &&
      kern.lookup != LookupIsa::generic)
    return notApplicable(op, kernel,
                         "column_i8 takes a lookup for fp4 codes only");
  if (kern.lookup == LookupIsa::float_bits &&
      (!lutCodes || kern.bits != 8))
    return notApplicable(op, kernel, "lookup = float_bits takes fp8 codes only");
  // qnt.lookup16 takes whole registers: 16 lanes for AVX-512's vpermps, 8
  // for AVX2's.
  int64_t lookupLanes = getLookupLanes(kern.lookup);
  if (kernel.getLanes() % lookupLanes != 0)
    return notApplicable(op, kernel,
                         "lookup = " + stringifyLookupIsa(kern.lookup).str() +
                             " takes lanes in multiples of " +
                             std::to_string(lookupLanes));
  if (kernel.getFamily() == KernelFamily::column_i8 &&
      !columnKernelApplies(kern, kernel.getXBlock(),
                           op.getResult().getType().getElementType()))
    return notApplicable(op, kernel,
                         "column_i8 takes 4- or 8-bit integer codes or fp4 "
                         "codes in groups of whole x blocks (nvfp4: groups "
                         "of 16 in x blocks of 32), per channel or per "
                         "group, with f32 x and result");
  // The codes are read as they lie: qnt-select-kernels laid them out.
  CodeLayoutAttr layout = matmulCodeLayout(kern, kernel);
  if (op.getWeight().getType().getLayout() != layout) {
    InFlightDiagnostic diag = op.emitOpError() << "kernel " << kernel
                                               << " reads its weight in ";
    if (layout)
      diag << layout;
    else
      diag << "the row layout";
    return diag << ", not in the weight's (qnt-select-kernels lays weights "
                   "out for their kernels)";
  }
  if (kernel.getFamily() == KernelFamily::column_i8)
    return lowerColumnMatmul(op, kern, kernel, payload);
  Int8Kernel int8;
  if (kernel.getFamily() == KernelFamily::row_i8) {
    // Whole groups as loads of `lanes` bytes, each a plane-major block for
    // widths below 8, and x blocks of 32 codes.
    int64_t lanes = kernel.getLanes();
    int8.groupsPerLoad = int8GroupsPerLoad(kern, lanes);
    int8.block = kernel.getXBlock();
    if (!int8.groupsPerLoad || kern.groupSize % int8.block != 0 ||
        (int8.groupsPerLoad > 1 && int8.block != kern.groupSize))
      return notApplicable(op, kernel,
                           "row_i8 takes 1-, 2-, 4- or 8-bit codes in groups "
                           "of whole loads of `lanes` bytes (or several "
                           "groups per 32-byte load, each its own x block) "
                           "and x blocks that divide the group");
    setCodeOffset(int8, kern, payload.zeroPoints != nullptr);
    int8.rowBytes = (kern.k * kern.bits + 7) / 8;
    int8.fieldBytes = lanes;
    // Each dot product adds at most 2 * (2^bits - 1) * 127 to an i16 lane
    // (d unsigned below 8 bits, |xq| <= 127); a block has block / L of them.
    int64_t dotsPerBlock = int8.block / lanes;
    int8.sumsInI16 = kern.bits < 8 && dotsPerBlock > 1 &&
                     dotsPerBlock * 2 * ((int64_t(1) << kern.bits) - 1) * 127 <=
                         std::numeric_limits<int16_t>::max();
    kern.int8 = &int8;
  } else if (layout && layout.getBlock() != kern.groupSize) {
    // Blocks of 8/bits groups (matmulCodeLayout): fields that are whole
    // groups.
    kern.fieldGroups = true;
  } else if (layout) {
    // Full blocks of each group in the plane-major layout; the rest of each
    // group in the row layout.
    int64_t blockCodes = planeMajorBlockCodes(kern.bits, kern.chunk);
    kern.planeBlocks = kern.groupSize / blockCodes;
  }

  ImplicitLocOpBuilder b(op.getLoc(), op);
  kern.x = to2D(b, toBuffer(b, op.getInput()));
  kern.codes = toBuffer(b, payload.codes);
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
  // lookup = float_bits: x times 2^64 once, not in every tile.
  if (float factor = lutXFactor(kern.lookup); factor != 1.0f)
    scaleXOnce(b, op.getInput(), kern, factor);

  emitMatmulLoops(b, kern, kernel.getTileRows(), kernel.getTileCols(),
                  kernel.getStreams(), kernel.getParallel());

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

void CpuLowering::scaleXOnce(ImplicitLocOpBuilder &b, Value input,
                             MatmulKernel &kern, float factor) {
  Type f32 = b.getF32Type();
  auto it = scaledX.find(input);
  if (it != scaledX.end() && it->second.first == b.getInsertionBlock()) {
    kern.x = it->second.second;
    kern.xElem = f32;
    return;
  }
  // Whole vectors of `lanes`, then the codes of K past them one by one.
  int64_t lanes = kern.chunk, whole = kern.k - kern.k % lanes;
  Value scaled = memref::AllocOp::create(
      b, MemRefType::get({ShapedType::kDynamic, kern.k}, f32),
      ValueRange{kern.m}, b.getI64IntegerAttr(kCacheLineBytes));
  auto vecType = VectorType::get({lanes}, f32);
  Value factorVec = splatF32(b, vecType, factor);
  Value x = kern.x;
  Type xElem = kern.xElem;
  scf::ForOp::create(
      b, cIndex(b, 0), kern.m, cIndex(b, 1), ValueRange{},
      [&](OpBuilder &ob, Location loc, Value row, ValueRange) {
        ImplicitLocOpBuilder rb(loc, ob);
        scf::ForOp::create(
            rb, cIndex(rb, 0), cIndex(rb, whole), cIndex(rb, lanes),
            ValueRange{},
            [&](OpBuilder &kb, Location kloc, Value k, ValueRange) {
              ImplicitLocOpBuilder cb(kloc, kb);
              Value v = toF32(cb, vector::LoadOp::create(
                                      cb, VectorType::get({lanes}, xElem), x,
                                      ValueRange{row, k}));
              vector::StoreOp::create(cb,
                                      arith::MulFOp::create(cb, v, factorVec),
                                      scaled, ValueRange{row, k});
              scf::YieldOp::create(cb);
            });
        if (whole < kern.k) {
          Value factorScalar =
              arith::ConstantOp::create(rb, rb.getF32FloatAttr(factor));
          scf::ForOp::create(
              rb, cIndex(rb, whole), cIndex(rb, kern.k), cIndex(rb, 1),
              ValueRange{},
              [&](OpBuilder &kb, Location kloc, Value k, ValueRange) {
                ImplicitLocOpBuilder cb(kloc, kb);
                Value v = toF32(
                    cb, memref::LoadOp::create(cb, x, ValueRange{row, k}));
                memref::StoreOp::create(
                    cb, arith::MulFOp::create(cb, v, factorScalar), scaled,
                    ValueRange{row, k});
                scf::YieldOp::create(cb);
              });
        }
        scf::YieldOp::create(rb);
      });
  scaledX[input] = {b.getInsertionBlock(), scaled};
  kern.x = scaled;
  kern.xElem = f32;
}

LogicalResult CpuLowering::lowerColumnMatmul(MatmulOp op, MatmulKernel &kern,
                                             KernelAttr kernel,
                                             const Payload &payload) {
  Int8Kernel int8;
  int8.block = kernel.getXBlock();
  // The layout's flip says how the bytes are read (setColumnCodeOffset).
  bool signedBytes = setColumnCodeOffset(
      int8, kern, op.getWeight().getType().getLayout(), kern.lookup);
  FailureOr<const ColumnCopy *> copy =
      columnCopyOf(op, op.getWeight(), kern, int8, signedBytes);
  if (failed(copy))
    return failure();
  int8.needsSums |= payload.zeroPoints != nullptr;
  ImplicitLocOpBuilder b(op.getLoc(), op);
  kern.x = to2D(b, toBuffer(b, op.getInput()));
  kern.scales = toBuffer(b, payload.scales);
  if (op.getBias())
    kern.bias = toBuffer(b, op.getBias());
  Value outBuf = allocMatmulResult(b, op);
  kern.out = to2D(b, outBuf);
  kern.m = memref::DimOp::create(b, kern.x, 0);
  quantizeOnce(b, op.getInput(), kern, int8);
  emitColumnKernel(b, kern, int8, **copy, kernel.getTileRows(),
                   kernel.getParallel());
  replaceWithBuffer(b, op, outBuf);
  return success();
}

namespace {
struct LowerMatmul final : OpRewritePattern<MatmulOp> {
  LowerMatmul(MLIRContext *ctx, CpuLowering &lowering)
      : OpRewritePattern(ctx), lowering(lowering) {}
  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    FailureOr<Payload> payload = lowering.payloadFor(op, op.getWeight());
    if (failed(payload))
      return failure();
    auto kernel = op->getAttrOfType<KernelAttr>(kKernelAttrName);
    if (!kernel) {
      // A matmul no CPU kernel takes says why; the others were not selected.
      std::string why;
      if (failed(describeMatmul(op, why)))
        return op.emitOpError() << why;
      return op.emitOpError()
             << "has no #qnt.kernel attribute (run qnt-select-kernels first)";
    }
    return lowering.lowerMatmul(op, kernel, *payload);
  }
  CpuLowering &lowering;
};
} // namespace

void qnt::populateQntMatmulToVectorPatterns(RewritePatternSet &patterns,
                                            CpuLowering &lowering) {
  patterns.add<LowerMatmul>(patterns.getContext(), lowering);
}
