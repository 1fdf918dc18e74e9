// Declarations of the qnt conversion passes (generated from Passes.td).
#ifndef QNT_CONVERSION_PASSES_H
#define QNT_CONVERSION_PASSES_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "qnt/IR/QntAttrs.h"
#include "qnt/Support/OptionRange.h"

namespace mlir::qnt {
#define GEN_PASS_DECL
#include "qnt/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "qnt/Conversion/Passes.h.inc"

/// The ranges of qnt-select-kernels' kernel options (docs/COMPILING.md,
/// "Option ranges"). They bound the code the kernels unroll: a tile is
/// rows-per-tile x cols-per-tile accumulators of `chunk` lanes.
inline constexpr OptionRange kChunkRange{8, 128, 8};
inline constexpr OptionRange kTileRange{1, 8};
inline constexpr OptionRange kStreamsRange{1, 8};

/// qnt-select-kernels' `options` with every 0 and `auto` replaced by what
/// `target` implies (null: no target), as its description says.
QntSelectKernelsPassOptions
resolveKernelOptions(QntSelectKernelsPassOptions options, TargetAttr target);

/// The activations of the fastest kernels for a CPU whose int8 dot products
/// are `intDot`: "i8" where it has integer dot products (AVX2, AVX-VNNI or
/// AVX-512 VNNI), else "f32" (qnt-select-kernels activations=auto).
llvm::StringRef defaultActivations(IntDotIsa intDot);

/// "" when the options of qnt-select-kernels (or of qnt-cpu-pipeline, which
/// passes them on) are in their ranges, else the error naming `owner`, the
/// option and its range.
std::string checkSelectKernelsOptions(llvm::StringRef owner,
                                      const QntSelectKernelsPassOptions &options);

/// Whether `codes` is a valid `act-block` of convert-qnt-to-vector (codes of
/// x per int8 scale with activations=i8): 0 (chosen per matmul), 32, 64, 128
/// or 256.
bool isValidActivationBlock(int64_t codes);

/// The x block of a matmul with `bits`-bit codes and groups of `groupSize`
/// codes (K for one scale per channel; a multiple of 32) under act-block
/// `requested`: for 0, the largest of 128 and 64 dividing the group when
/// bits <= 4, else 32; otherwise `requested` where it divides the group,
/// else 32 (docs/QUANTIZER.md, "Int8 activations").
int64_t activationBlockFor(int64_t requested, unsigned bits,
                           int64_t groupSize);

/// Whether `op` is one of the register ops that the kernels of
/// convert-qnt-to-vector emit and convert-qnt-int-dot lowers to the
/// instructions of the target (qnt.dot4_i8, qnt.dot2_i8, qnt.sum_pairs_i16,
/// qnt.lookup16).
bool isInstructionOp(Operation *op);

/// "" when qnt-select-kernels' GPU options (gpu-gemv-rows, gpu-warps,
/// gpu-rows-per-warp) are in their ranges, else the error naming `owner`,
/// the option and its range.
std::string checkGpuKernelOptions(llvm::StringRef owner,
                                  const QntSelectKernelsPassOptions &options);

/// qnt-select-kernels on a module whose target is `target`: a
/// #qnt.gpu_kernel on every qnt.matmul that has no qnt.kernel, from the GPU
/// options of `options` (what `target` implies where they are left open).
void selectGpuKernels(ModuleOp module, GpuTargetAttr target,
                      const QntSelectKernelsPassOptions &options);

/// Puts the #qnt.gpu_target of `chip` on `module`, which must have no
/// target or that one (an error at the module otherwise): the target of
/// qnt-gpu-pipeline{chip}.
LogicalResult setGpuTarget(ModuleOp module, llvm::StringRef chip);

/// Declares the memory effects of gpu.barrier and of the NVVM fp8
/// conversion (MLIR 22 declares none), so that buffer deallocation accepts
/// the kernels of convert-qnt-to-gpu. Call on the registry of every tool
/// that runs qnt-gpu-pipeline.
void registerGpuKernelMemoryEffects(DialectRegistry &registry);
} // namespace mlir::qnt

#endif // QNT_CONVERSION_PASSES_H
