// Lowering of qnt.matmul to GPU kernels that read packed weights
// (convert-qnt-to-gpu): the kernels its #qnt.gpu_kernel names (GEMVs by rows
// of x and the GEMM, Gemv.cpp and Gemm.cpp) and the re-laid-out weights they
// read; the kernels are gpu.launch ops or (mapping=loops) the same tiled nest
// of scf loops for execution on the CPU. docs/GPU.md describes them.
#include "GpuKernels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"
#include "qnt/Conversion/Common.h"
#include "qnt/Conversion/Passes.h"
#include "qnt/IR/QntOps.h"
#include "llvm/ADT/DenseMap.h"

namespace mlir::qnt {
#define GEN_PASS_DEF_CONVERTQNTTOGPUPASS
#include "qnt/Conversion/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;
using namespace mlir::qnt;

using namespace mlir::qnt::gpu_kernels;

namespace {
//===----------------------------------------------------------------------===//
// The pass.
//===----------------------------------------------------------------------===//

/// The codes of a qnt.constant re-laid out for the kernels: row n becomes
/// `rowWords` little-endian i32 words holding the same bit stream, zero
/// padded, so chunk c of every row starts at word c * bits. A resource blob
/// (real weights) stays a blob, made once per codes attribute in `words`:
/// the entry points of a model (forward, prefill) have constants of their
/// own that share the weights' codes, and should share the words too (one
/// global in the library, not one per entry point).
static FailureOr<Value>
materializeWords(ConstantOp op, int64_t rowWords,
                 llvm::DenseMap<Attribute, ElementsAttr> &words) {
  PackedType packedType = op.getType();
  OpBuilder builder(op);
  auto wordsType = RankedTensorType::get({packedType.getShape()[0], rowWords},
                                         builder.getI32Type());
  // Splat bytes without padding are splat words (test inputs at real sizes).
  auto dense = dyn_cast<DenseIntElementsAttr>(op.getCodes());
  if (dense && dense.isSplat() &&
      packedType.getCodesShape().back() == rowWords * 4) {
    uint32_t byte = dense.getSplatValue<APInt>().getZExtValue() & 0xFF;
    return arith::ConstantOp::create(
               builder, op.getLoc(),
               DenseElementsAttr::get(wordsType, APInt(32, byte * 0x01010101u)))
        .getResult();
  }
  ElementsAttr &attr = words[op.getCodes()];
  if (!attr) {
    std::vector<char> storage;
    FailureOr<ArrayRef<char>> bytes = readCodeBytes(op, storage);
    if (failed(bytes))
      return failure();
    int64_t n = packedType.getShape()[0];
    int64_t rowBytes = packedType.getCodesShape().back();
    std::vector<char> padded(n * rowWords * 4, 0);
    for (int64_t r = 0; r < n; ++r)
      std::memcpy(padded.data() + r * rowWords * 4,
                  bytes->data() + r * rowBytes, rowBytes);
    AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
        ArrayRef<char>(padded), alignof(uint64_t));
    attr = DenseResourceElementsAttr::get(wordsType, "qnt_gpu_codes",
                                          std::move(blob));
  }
  return arith::ConstantOp::create(builder, op.getLoc(), attr).getResult();
}

/// What the kernels read of one qnt.constant: its scales and zero points and
/// the re-laid-out codes.
struct GpuPayload {
  Payload payload;
  Value words;
};

/// Whether the module's #qnt.gpu_target converts fp8 in hardware: sm_90
/// (the conversions need sm_89; sm_80 is the other chip qnt compiles for).
static bool targetConvertsFp8(ModuleOp module) {
  auto target =
      dyn_cast_or_null<GpuTargetAttr>(module->getAttr(kTargetAttrName));
  return target && target.getChip() == "sm_90";
}

/// What the GPU lowering of one module shares between its matmuls: one set
/// of constants per qnt.constant, however many matmuls use it, and the
/// module's symbol table (the kernels' workgroup globals).
struct GpuLowering {
  GpuLowering(ModuleOp module, Mapping mapping)
      : mapping(mapping), hardwareFp8(targetConvertsFp8(module)),
        symbols(module) {}
  /// Fills `kern` with the packed weight `weight` of `user` (errors are
  /// reported there): its scheme, and buffers at `b` of its payload, with
  /// the codes re-laid out as words once per qnt.constant.
  LogicalResult describeWeight(Operation *user, Value weight,
                               ImplicitLocOpBuilder &b, Kernel &kern);
  LogicalResult lowerMatmul(MatmulOp op);
  LogicalResult lowerGatherRows(GatherRowsOp op);

  Mapping mapping;
  bool hardwareFp8;
  llvm::DenseMap<Operation *, GpuPayload> payloads;
  // The re-laid-out codes by the codes attribute they come from.
  llvm::DenseMap<Attribute, ElementsAttr> wordsByCodes;
  SymbolTable symbols;
};

/// The kernels `choice` names for `kern`'s rows of x: the first GEMV that
/// holds M, else the GEMM. A static M builds that one kernel; a dynamic M
/// tests at run time.
void emitKernelsByRows(ImplicitLocOpBuilder &b, const Kernel &kern,
                       GpuKernelAttr choice) {
  // Emits the GEMV for `rows` rows of x, or the GEMM for rows == 0.
  auto emitBucket = [&](ImplicitLocOpBuilder &eb, int64_t rows) {
    if (rows == 0)
      emitGemm(eb, kern);
    else
      emitGemv(eb, kern, choice, rows);
  };
  int64_t staticM = cast<MemRefType>(kern.x.getType()).getDimSize(0);
  if (!ShapedType::isDynamic(staticM)) {
    emitBucket(b, choice.getGemvFor(staticM));
    return;
  }
  ArrayRef<int64_t> buckets = choice.getGemvRows();
  std::function<void(ImplicitLocOpBuilder &, size_t)> chain =
      [&](ImplicitLocOpBuilder &cb, size_t i) {
        if (i == buckets.size()) {
          emitBucket(cb, 0);
          return;
        }
        Value fits = arith::CmpIOp::create(cb, arith::CmpIPredicate::ule,
                                           kern.m, cIndex(cb, buckets[i]));
        scf::IfOp::create(
            cb, fits,
            [&](OpBuilder &ob, Location loc) {
              ImplicitLocOpBuilder ib(loc, ob);
              emitBucket(ib, buckets[i]);
              scf::YieldOp::create(ib);
            },
            [&](OpBuilder &ob, Location loc) {
              ImplicitLocOpBuilder ib(loc, ob);
              chain(ib, i + 1);
              scf::YieldOp::create(ib);
            });
      };
  chain(b, 0);
}

/// The GPU kernel of `op`, or an error at `op` where it has none or its
/// kernels do not take every M it may have.
static FailureOr<GpuKernelAttr> getGpuKernel(MatmulOp op) {
  Attribute attr = op->getAttr(kKernelAttrName);
  auto choice = dyn_cast_or_null<GpuKernelAttr>(attr);
  if (!attr)
    return op.emitOpError() << "has no #qnt.gpu_kernel attribute (run "
                               "qnt-select-kernels for a #qnt.gpu_target "
                               "first)";
  if (!choice)
    return op.emitOpError() << "kernel " << attr << " is not a GPU kernel";
  if (choice.hasGemm())
    return choice;
  int64_t largest = choice.getGemvRows().back();
  std::optional<int64_t> m = staticRowsOfX(op);
  if (!m)
    return op.emitOpError()
           << "kernel " << choice << " does not apply: M is dynamic and no "
           << "gemm takes the rows above " << largest;
  if (*m > largest)
    return op.emitOpError()
           << "kernel " << choice << " does not apply: M = " << *m
           << " is more rows than its largest GEMV's (" << largest
           << ") and it has no gemm";
  return choice;
}

LogicalResult GpuLowering::describeWeight(Operation *user, Value weight,
                                          ImplicitLocOpBuilder &b,
                                          Kernel &kern) {
  PackedType wType = cast<PackedType>(weight.getType());
  SchemeAttr scheme = wType.getScheme();
  auto constant = weight.getDefiningOp<ConstantOp>();
  if (!constant)
    return user->emitOpError()
           << "packed operand must come from qnt.constant to be lowered for "
              "the GPU";
  // Every format has a decoding (unpackCode): integers through the
  // mantissa of 2^23, the float and codebook formats in registers.
  bool fp8 = scheme.getFormat() == Format::f8E4M3FN ||
             scheme.getFormat() == Format::f8E5M2;
  kern.mapping = mapping;
  kern.symbols = &symbols;
  kern.scheme = scheme;
  kern.bits = scheme.getBits();
  kern.hardwareFp8 = fp8 && mapping == Mapping::GPU && hardwareFp8;
  kern.n = wType.getShape()[0];
  kern.k = wType.getShape()[1];
  kern.groupSize = scheme.getGranularity() == Granularity::per_group
                       ? scheme.getGroupSize()
                       : kern.k;
  // A chunk of 32 codes must lie in one group or be a whole number of groups.
  if (kern.groupSize >= kern.k)
    kern.subChunk = kChunk;
  else if (kern.groupSize % kChunk == 0)
    kern.subChunk = kChunk;
  else if (kChunk % kern.groupSize == 0)
    kern.subChunk = kern.groupSize;
  else
    return user->emitOpError()
           << "group size " << kern.groupSize
           << " is not supported by the GPU lowering: it needs groups of a "
              "multiple of 32 codes or a divisor of 32";
  kern.rowWords = llvm::divideCeil(kern.k, kChunk) * kern.bits;

  auto it = payloads.find(constant);
  if (it == payloads.end()) {
    FailureOr<Payload> payload = materializePayload(constant);
    if (failed(payload))
      return failure();
    FailureOr<Value> words =
        materializeWords(constant, kern.rowWords, wordsByCodes);
    if (failed(words))
      return failure();
    // The kernels read words, not the byte codes.
    payload->codes.getDefiningOp()->erase();
    it = payloads.insert({constant, GpuPayload{*payload, *words}}).first;
  }
  const Payload &payload = it->second.payload;
  kern.words = toBuffer(b, it->second.words);
  kern.scales = toBuffer(b, payload.scales);
  if (payload.zeroPoints)
    kern.zeroPoints = toBuffer(b, payload.zeroPoints);
  if (payload.offsets)
    kern.offsets = toBuffer(b, payload.offsets);
  return success();
}

LogicalResult GpuLowering::lowerMatmul(MatmulOp op) {
  FailureOr<GpuKernelAttr> choice = getGpuKernel(op);
  if (failed(choice))
    return failure();
  Kernel kern;
  kern.xElem = op.getInput().getType().getElementType();
  if (!isa<Float32Type, Float16Type, BFloat16Type>(kern.xElem))
    return op.emitOpError() << "GPU lowering supports f32, f16 and bf16 "
                               "activations, not "
                            << kern.xElem;
  ImplicitLocOpBuilder b(op.getLoc(), op);
  kern.x = to2D(b, toBuffer(b, op.getInput()));
  if (failed(describeWeight(op, op.getWeight(), b, kern)))
    return failure();
  if (op.getBias())
    kern.bias = toBuffer(b, op.getBias());
  Value outBuf = allocMatmulResult(b, op);
  kern.out = to2D(b, outBuf);
  kern.m = memref::DimOp::create(b, kern.x, 0);

  emitKernelsByRows(b, kern, *choice);

  replaceWithBuffer(b, op, outBuf);
  return success();
}

LogicalResult GpuLowering::lowerGatherRows(GatherRowsOp op) {
  Kernel kern;
  kern.xElem = op.getResult().getType().getElementType();
  ImplicitLocOpBuilder b(op.getLoc(), op);
  if (failed(describeWeight(op, op.getTable(), b, kern)))
    return failure();
  Value ids = toBuffer(b, op.getIds());
  Value outBuf = allocResultLike(b, op.getResult().getType(), op.getIds());
  kern.out = outBuf;
  kern.m = memref::DimOp::create(b, ids, 0);
  emitGather(b, kern, ids);
  replaceWithBuffer(b, op, outBuf);
  return success();
}

/// Hands each op of type OpT to `lower` of the module's GpuLowering.
template <typename OpT, LogicalResult (GpuLowering::*lower)(OpT)>
struct LowerToGPU final : OpRewritePattern<OpT> {
  LowerToGPU(MLIRContext *ctx, GpuLowering &lowering)
      : OpRewritePattern<OpT>(ctx), lowering(lowering) {}
  LogicalResult matchAndRewrite(OpT op,
                                PatternRewriter &rewriter) const override {
    return (lowering.*lower)(op);
  }
  GpuLowering &lowering;
};

struct ConvertQntToGPU final
    : qnt::impl::ConvertQntToGPUPassBase<ConvertQntToGPU> {
  using Base::Base;
  LogicalResult initialize(MLIRContext *context) override {
    if (mapping != "gpu" && mapping != "loops")
      return emitError(UnknownLoc::get(context))
             << "convert-qnt-to-gpu option mapping='" << mapping
             << "' must be 'gpu' or 'loops'";
    return success();
  }
  void runOnOperation() override;
};

void ConvertQntToGPU::runOnOperation() {
  ModuleOp module = getOperation();
  GpuLowering lowering(module,
                       mapping == "loops" ? Mapping::Loops : Mapping::GPU);
  RewritePatternSet patterns(&getContext());
  patterns.add<LowerToGPU<MatmulOp, &GpuLowering::lowerMatmul>,
               LowerToGPU<GatherRowsOp, &GpuLowering::lowerGatherRows>>(
      &getContext(), lowering);
  if (failed(applyInProgramOrder(module,
                                 FrozenRewritePatternSet(std::move(patterns)))))
    return signalPassFailure();

  bool failedAny = false;
  module.walk([&](Operation *op) {
    if (auto constant = dyn_cast<ConstantOp>(op)) {
      // A constant still in use feeds an op reported below.
      if (constant->use_empty())
        constant.erase();
      return WalkResult::skip();
    }
    if (isa<QntDialect>(op->getDialect())) {
      op->emitOpError("cannot be lowered for the GPU yet (only qnt.matmul "
                      "and qnt.gather_rows are; run qnt-fuse-dequant-matmul "
                      "first)");
      failedAny = true;
    }
    return WalkResult::advance();
  });
  if (failedAny)
    signalPassFailure();
}

/// gpu.barrier orders the block's accesses to workgroup memory: to analyses
/// it reads and writes memory. Without this model it has no effects
/// interface at all, which buffer deallocation rejects as unknown effects.
struct BarrierMemoryEffects
    : MemoryEffectOpInterface::ExternalModel<BarrierMemoryEffects,
                                             gpu::BarrierOp> {
  void
  getEffects(Operation *,
             SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
                 &effects) const {
    effects.emplace_back(MemoryEffects::Read::get());
    effects.emplace_back(MemoryEffects::Write::get());
  }
};

/// The hardware fp8 conversion of the sm_90 kernels is a pure register
/// operation; MLIR 22 gives it no effects interface.
struct NoMemoryEffects
    : MemoryEffectOpInterface::ExternalModel<NoMemoryEffects,
                                             NVVM::ConvertF8x2ToF16x2Op> {
  void
  getEffects(Operation *,
             SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
                 &) const {}
};
} // namespace

void qnt::registerGpuKernelMemoryEffects(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, gpu::GPUDialect *) {
    gpu::BarrierOp::attachInterface<BarrierMemoryEffects>(*ctx);
  });
  registry.addExtension(+[](MLIRContext *ctx, NVVM::NVVMDialect *) {
    NVVM::ConvertF8x2ToF16x2Op::attachInterface<NoMemoryEffects>(*ctx);
  });
}
