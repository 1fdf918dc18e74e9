// Lowering of qnt ops to CPU loop nests that unpack packed codes in vector
// registers (convert-qnt-to-vector).
#include "qnt/Conversion/Passes.h"
#include "Kernels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "qnt/Conversion/Common.h"
#include "qnt/IR/QntOps.h"
#include "qnt/Support/Packing.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/CheckedArithmetic.h"
#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

namespace mlir::qnt {
#define GEN_PASS_DEF_CONVERTQNTTOVECTORPASS
#include "qnt/Conversion/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;
using namespace mlir::qnt;

namespace {

struct ConvertQntToVector final
    : qnt::impl::ConvertQntToVectorPassBase<ConvertQntToVector> {
  using Base::Base;
  /// Checks the options before any pass of the pipeline runs.
  LogicalResult initialize(MLIRContext *context) override;
  void runOnOperation() override;

  LogicalResult lowerMatmul(MatmulOp op, const Payload &payload);
  /// lowerMatmul with activations=i8 through the column kernels.
  LogicalResult lowerColumnMatmul(MatmulOp op, MatmulKernel &kern,
                                  int64_t block, const Payload &payload);
  /// Codes in the kernels' plane-major layout, made once per qnt.constant.
  FailureOr<Value> planeMajorCodesFor(ConstantOp op, int64_t groupSize,
                                      int64_t lanes);
  llvm::DenseMap<Operation *, Value> planeMajorCodes;
  /// Codes in the activations=i8 kernels' layout, made once per qnt.constant.
  llvm::DenseMap<Operation *, Value> int8Codes;
  /// x quantized for int8 activations, per input tensor, x block and group
  /// (for the sums): matmuls of one input (q, k and v; gate and up) share
  /// it. The buffers were filled before the first of them, in its block.
  struct QuantizedX {
    Block *block;
    Value xq, xScales, xSums;
  };
  llvm::DenseMap<std::tuple<Value, int64_t, int64_t>, QuantizedX> quantizedX;
  /// quantizeActivations, or the buffers of an earlier matmul of `input`.
  void quantizeOnce(ImplicitLocOpBuilder &b, Value input,
                    const MatmulKernel &kern, Int8Kernel &q);
  LogicalResult lowerDequantize(DequantizeOp op, const Payload &payload);
  LogicalResult lowerGatherRows(GatherRowsOp op, const Payload &payload);
  /// qnt.gather_rows of a table whose column copy a matmul made (a tied
  /// classifier): rows decoded from that copy, so no other copy of the
  /// codes stays in the library.
  void lowerGatherRowsFromColumns(GatherRowsOp op, const ColumnCopy &copy);

  /// The column kernels' copies of weight constants (makeColumnCopy).
  llvm::DenseMap<Operation *, ColumnCopy> columnCopies;
};

LogicalResult ConvertQntToVector::lowerMatmul(MatmulOp op,
                                              const Payload &payload) {
  PackedType wType = op.getWeight().getType();
  SchemeAttr scheme = wType.getScheme();
  if (!scheme.isInteger())
    return op.emitOpError() << "CPU lowering supports integer formats only, not "
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
  int64_t int8Lanes = 0;
  if (activations == "i8" && 8 % kern.bits == 0 &&
      kern.k % kern.groupSize == 0 && kern.groupSize % kActivationStep == 0) {
    int64_t perByte = 8 / kern.bits;
    for (int64_t lanes : {int64_t(32), int64_t(16)})
      if (!int8Lanes && kern.groupSize % (lanes * perByte) == 0 &&
          (kern.bits < 8 || lanes == 32))
        int8Lanes = lanes;
    // Groups smaller than a 32-byte load of 1/2/4-bit codes (int4 g32):
    // loads of 32 bytes whose fields are whole groups, each its own x block,
    // rather than 16-byte loads (half the vector width, twice the work per
    // code).
    int64_t loadCodes = 32 * perByte;
    if (int8Lanes != 32 && kern.bits < 8 && loadCodes % kern.groupSize == 0 &&
        kern.groupSize % 32 == 0 && kern.k % loadCodes == 0 &&
        activationBlockFor(actBlock, kern.bits, kern.groupSize) ==
            kern.groupSize) {
      int8Lanes = 32;
      int8.groupsPerLoad = loadCodes / kern.groupSize;
    }
  }
  if (int8Lanes) {
    setCodeOffset(int8, kern, payload.zeroPoints != nullptr);
    auto constant = op.getWeight().getDefiningOp<ConstantOp>();
    auto it = int8Codes.find(constant);
    if (it == int8Codes.end()) {
      // The plane-major layout works in blocks of one load, within groups
      // or (small groups) across them.
      FailureOr<Value> repacked = materializeInt8KernelCodes(
          constant, kern.groupSize * int8.groupsPerLoad, int8Lanes,
          colsPerTile, int8.flip);
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

void ConvertQntToVector::quantizeOnce(ImplicitLocOpBuilder &b, Value input,
                                      const MatmulKernel &kern,
                                      Int8Kernel &q) {
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

LogicalResult ConvertQntToVector::lowerColumnMatmul(MatmulOp op,
                                                     MatmulKernel &kern,
                                                     int64_t block,
                                                     const Payload &payload) {
  Int8Kernel int8;
  int8.block = block;
  setCodeOffset(int8, kern, payload.zeroPoints != nullptr);
  // vpdpbusd multiplies unsigned by signed bytes exactly: 8-bit codes go in
  // as unsigned bytes (signed ones flipped, d = c + 128, o = -128), which
  // spares the sign trick of a signed operand (three instructions per dot
  // product with AVX-512). vpmaddubsw would saturate their pair sums.
  bool unsignedBytes = kern.bits == 8 && (intDot == "avx512vnni" ||
                                          intDot == "avxvnni");
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
    FailureOr<ColumnCopy> copy = makeColumnCopy(
        kern, int8, constant, payload, chunk >= 16 ? 16 : 8,
        /*signedBytes=*/kern.bits == 8 && !unsignedBytes);
    if (failed(copy))
      return failure();
    it = columnCopies.try_emplace(constant, *copy).first;
  }
  emitColumnKernel(b, kern, int8, it->second, rowsPerTile, parallel);
  replaceWithBuffer(b, op, outBuf);
  return success();
}

FailureOr<Value> ConvertQntToVector::planeMajorCodesFor(ConstantOp op,
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

LogicalResult ConvertQntToVector::lowerDequantize(DequantizeOp op,
                                                  const Payload &payload) {
  PackedType type = op.getInput().getType();
  SchemeAttr scheme = type.getScheme();
  if (!scheme.isInteger())
    return op.emitOpError() << "CPU lowering supports integer formats only, not "
                            << stringifyFormat(scheme.getFormat());
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

LogicalResult ConvertQntToVector::lowerGatherRows(GatherRowsOp op,
                                                  const Payload &payload) {
  PackedType type = op.getTable().getType();
  if (!type.getScheme().isInteger())
    return op.emitOpError() << "CPU lowering supports integer formats only, not "
                            << stringifyFormat(type.getScheme().getFormat());
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

void ConvertQntToVector::lowerGatherRowsFromColumns(GatherRowsOp op,
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

LogicalResult ConvertQntToVector::initialize(MLIRContext *context) {
  std::string error = checkConvertQntToVectorOptions(
      "convert-qnt-to-vector", chunk, rowsPerTile, colsPerTile, streams,
      actBlock, activations, intDot);
  if (!error.empty())
    return emitError(UnknownLoc::get(context)) << error;
  return success();
}

void ConvertQntToVector::runOnOperation() {
  ModuleOp module = getOperation();
  // Every packed value must come from a qnt.constant: the payload tensors
  // are what the kernels read.
  llvm::DenseMap<Operation *, Payload> payloads;
  auto payloadFor = [&](Operation *user,
                        Value packed) -> FailureOr<Payload> {
    auto constant = packed.getDefiningOp<ConstantOp>();
    if (!constant)
      return user->emitOpError()
             << "packed operand must come from qnt.constant to be lowered "
                "for the CPU (function arguments and qnt.quantize results are "
                "not supported yet)";
    auto it = payloads.find(constant);
    if (it != payloads.end())
      return it->second;
    FailureOr<Payload> payload = materializePayload(constant);
    if (succeeded(payload))
      payloads[constant] = *payload;
    return payload;
  };

  // Gathers last: one reads the column copy of its table when a matmul of
  // the same constant made one.
  SmallVector<Operation *> work, gathers;
  module.walk([&](Operation *op) {
    if (isa<MatmulOp, DequantizeOp, AttentionOp, PackCacheRowsOp>(op))
      work.push_back(op);
    if (isa<GatherRowsOp>(op))
      gathers.push_back(op);
  });
  work.append(gathers);
  for (Operation *op : work) {
    LogicalResult result = failure();
    if (auto attention = dyn_cast<AttentionOp>(op)) {
      result = lowerAttentionToVector(attention, chunk, parallel);
    } else if (auto pack = dyn_cast<PackCacheRowsOp>(op)) {
      result = lowerPackCacheRowsToVector(pack, chunk);
    } else if (auto matmul = dyn_cast<MatmulOp>(op)) {
      FailureOr<Payload> payload = payloadFor(op, matmul.getWeight());
      result = succeeded(payload) ? lowerMatmul(matmul, *payload) : failure();
    } else if (auto gather = dyn_cast<GatherRowsOp>(op)) {
      auto copy = columnCopies.find(gather.getTable().getDefiningOp());
      if (copy != columnCopies.end() &&
          !gather.getTable().getType().getScheme().hasOffsets()) {
        lowerGatherRowsFromColumns(gather, copy->second);
        continue;
      }
      FailureOr<Payload> payload = payloadFor(op, gather.getTable());
      result = succeeded(payload) ? lowerGatherRows(gather, *payload)
                                  : failure();
    } else if (auto dequant = dyn_cast<DequantizeOp>(op)) {
      FailureOr<Payload> payload = payloadFor(op, dequant.getInput());
      result =
          succeeded(payload) ? lowerDequantize(dequant, *payload) : failure();
    }
    if (failed(result))
      return signalPassFailure();
  }

  bool failedAny = false;
  module.walk([&](Operation *op) {
    if (auto constant = dyn_cast<ConstantOp>(op)) {
      if (constant->use_empty()) {
        constant.erase();
        return WalkResult::skip();
      }
    }
    if (isa<QntDialect>(op->getDialect()) && !isIntDotOp(op)) {
      op->emitOpError("cannot be lowered for the CPU yet");
      failedAny = true;
    }
    return WalkResult::advance();
  });
  if (failedAny)
    signalPassFailure();
}

} // namespace

std::string qnt::checkConvertQntToVectorOptions(
    StringRef owner, int64_t chunk, int64_t rowsPerTile, int64_t colsPerTile,
    int64_t streams, int64_t actBlock, StringRef activations,
    StringRef intDot) {
  for (auto [name, value, range] :
       {std::make_tuple("chunk", chunk, kChunkRange),
        std::make_tuple("rows-per-tile", rowsPerTile, kTileRange),
        std::make_tuple("cols-per-tile", colsPerTile, kTileRange),
        std::make_tuple("streams", streams, kStreamsRange)})
    if (std::string error = range.check(owner, name, value); !error.empty())
      return error;
  if (!isValidActivationBlock(actBlock))
    return (owner + " option act-block=" + Twine(actBlock) +
            " must be 0 (chosen per matmul), 32, 64, 128 or 256")
        .str();
  if (activations != "f32" && activations != "i8")
    return (owner + " option activations='" + activations +
            "' must be 'f32' or 'i8'")
        .str();
  if (!isValidIntDotIsa(intDot))
    return (owner + " option int-dot='" + intDot +
            "' must be 'avx512vnni', 'avxvnni', 'avx2' or 'generic'")
        .str();
  return "";
}

bool qnt::isValidActivationBlock(int64_t codes) {
  // 0 picks per matmul (activationBlockFor). Otherwise powers of two, so x
  // blocks and code loads nest; at most 256, because a kernel step emits one
  // block's loads straight-line (8 for 8-bit codes).
  return codes == 0 || (codes >= kActivationStep && codes <= 256 &&
                        llvm::isPowerOf2_64(codes));
}

int64_t qnt::activationBlockFor(int64_t requested, unsigned bits,
                                int64_t groupSize) {
  if (requested == 0) {
    // Weights of 4 bits or fewer round ~16x more coarsely than int8 x, so
    // an x block as long as their group (up to 128) adds little error (+0.2
    // to +2.6% of the output error even with outlier channels, against +25
    // to +190% for 8-bit weights: docs/QUANTIZER.md) and saves one conversion
    // and multiply-add per block and weight row. Wider weights keep 32.
    if (bits <= 4)
      for (int64_t block : {int64_t(128), int64_t(64)})
        if (groupSize % block == 0)
          return block;
    return kActivationStep;
  }
  // Groups that the requested block does not divide keep the smallest.
  return groupSize % requested == 0 ? requested : kActivationStep;
}
