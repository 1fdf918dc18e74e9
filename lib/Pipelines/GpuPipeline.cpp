// qnt-gpu-pipeline: from tensors to LLVM-dialect host code that launches
// NVVM kernels, with the device code embedded as PTX or cubin.
#include "qnt/Pipelines/Pipelines.h"
#include "CheckedPipeline.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "qnt/Conversion/Passes.h"
#include "qnt/IR/QntDialect.h"
#include "qnt/Transforms/Passes.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

using namespace mlir;

std::string qnt::checkGpuPipelineOptions(const GpuPipelineOptions &options,
                                         StringRef owner) {
  std::string prefix = owner.empty() ? "" : (owner + " option ").str();
  if (options.chip != "sm_80" && options.chip != "sm_90")
    return prefix + "chip '" + options.chip +
           "' is not supported; use sm_80 or sm_90";
  if (options.format != "auto" && options.format != "ptx" &&
      options.format != "cubin")
    return prefix + "format '" + options.format +
           "' is not one of auto, ptx, cubin";
  if (std::string error =
          kGpuBlockSizeRange.check(owner, "block-size", options.blockSize);
      !error.empty())
    return error;
  return OptionRange{0, 3}.check(owner, "O", options.optLevel);
}

/// The toolkit folder holding bin/ptxas: the option's, else the one of the
/// ptxas on PATH; empty when there is none.
static std::string findToolkit(const qnt::GpuPipelineOptions &options) {
  SmallString<128> ptxas(options.toolkit.getValue());
  llvm::sys::path::append(ptxas, "bin", "ptxas");
  if (llvm::sys::fs::can_execute(ptxas))
    return options.toolkit;
  if (llvm::ErrorOr<std::string> found = llvm::sys::findProgramByName("ptxas"))
    return llvm::sys::path::parent_path(llvm::sys::path::parent_path(*found))
        .str();
  return "";
}

std::string qnt::resolveGpuBinaryFormat(const GpuPipelineOptions &options) {
  if (options.format == "ptx")
    return "isa";
  if (options.format == "cubin")
    return "bin";
  return findToolkit(options).empty() ? "isa" : "bin";
}

namespace {
/// Stands in for the pipeline when its options are invalid: the error, at
/// the module, instead of a crash in the middle of the lowering.
struct InvalidOptionsPass
    : PassWrapper<InvalidOptionsPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(InvalidOptionsPass)
  explicit InvalidOptionsPass(std::string message)
      : message(std::move(message)) {}
  StringRef getArgument() const final { return "qnt-gpu-invalid-options"; }
  void runOnOperation() override {
    getOperation().emitError() << message;
    signalPassFailure();
  }
  std::string message;
};

/// The pipeline's chip as the module's #qnt.gpu_target (setGpuTarget): the
/// target qnt-select-kernels chooses the GPU kernels for.
struct GpuTargetPass : PassWrapper<GpuTargetPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(GpuTargetPass)
  explicit GpuTargetPass(std::string chip) : chip(std::move(chip)) {}
  StringRef getArgument() const final { return "qnt-gpu-target"; }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<qnt::QntDialect>();
  }
  void runOnOperation() override {
    if (failed(qnt::setGpuTarget(getOperation(), chip)))
      signalPassFailure();
  }
  std::string chip;
};
} // namespace

static void addPipeline(OpPassManager &pm, const std::string &text) {
  if (failed(parsePassPipeline(text, pm)))
    llvm::report_fatal_error("qnt-gpu-pipeline: bad upstream pipeline string");
}

void qnt::buildGpuBufferizePipeline(OpPassManager &pm,
                                    const GpuPipelineOptions &options) {
  if (std::string error = checkGpuPipelineOptions(options); !error.empty()) {
    pm.addPass(std::make_unique<InvalidOptionsPass>(error));
    return;
  }
  // A call passing buffers would hand device buffers to a function that
  // takes host buffers: calls within the module (@forward's call of
  // @prefill) are inlined, so each entry point holds its own kernels.
  addPipeline(pm, "inline");
  // f16/bf16 checkpoint tensors still in float are widened once, here.
  pm.addPass(createQntFoldConstantCastsPass());
  pm.addPass(createQntFuseDequantMatmulPass());
  // Attention over the live positions of the cache, as linalg ops the
  // generic lowering maps to threads.
  pm.addPass(createQntDecomposeAttentionPass());
  // The kernels are chosen for the chip (where quant-compile or the input
  // has not already), and qnt.matmul on tensors becomes the gpu.launch ops
  // they name on buffers (GEMV and tensor-core GEMM kernels reading the
  // packed weights, docs/GPU.md), as convert-qnt-to-vector does in the CPU
  // pipeline. Whatever qnt op is left is rejected at its location by the
  // check below.
  pm.addPass(std::make_unique<GpuTargetPass>(options.chip));
  pm.addPass(createQntSelectKernelsPass());
  pm.addPass(createConvertQntToGPUPass());
  pm.addPass(createQntGpuCheckLoweredPass());
  // Device buffers come from the driver's stream-ordered pool; a host
  // workspace would not be device memory.
  buildBufferizeModulePipeline(pm, /*planWorkspace=*/false);
}

void qnt::buildGpuLowerToLLVMPipeline(OpPassManager &pm,
                                      const GpuPipelineOptions &options) {
  if (!checkGpuPipelineOptions(options).empty())
    return; // the first half reported it
  // The oldest PTX ISA that has the chip, so older drivers can JIT it.
  std::string ptx = options.chip == "sm_90" ? "+ptx78" : "+ptx70";
  std::string toolkit = findToolkit(options);
  if (toolkit.empty())
    toolkit = options.toolkit; // libdevice may still be there
  // Loops to kernels: every scf.parallel becomes a gpu.launch; what is left
  // on the host touching memory becomes one-thread kernels, and buffers move
  // to the device. (qnt passes are added directly: quant-compile does not
  // register them by name.)
  pm.addNestedPass<func::FuncOp>(createQntLinalgCopiesPass());
  QntGpuParallelLoopsPassOptions loops;
  loops.blockSize = options.blockSize;
  pm.addNestedPass<func::FuncOp>(createQntGpuParallelLoopsPass(loops));
  // innermost-first: the tiled innermost dimension goes to x, the only
  // block dimension that takes more than 64 threads.
  addPipeline(pm, "func.func(gpu-map-parallel-loops{mapping-policy=innermost-first}),"
                  "func.func(convert-parallel-loops-to-gpu)");
  pm.addPass(createQntGpuDeviceMemoryPass());
  // Kernels into one gpu.module; the host side's gpu ops on one stream per
  // call (gpu-async-region), synchronized before returning.
  // Index computations are sunk into the launches first: otherwise the
  // constants the kernels index with become kernel arguments.
  // The kernels' workgroup globals are copied into the gpu.module by the
  // outlining; symbol-dce drops the host's unused originals.
  addPipeline(pm, "canonicalize,cse,gpu-launch-sink-index-computations,"
                  "gpu-kernel-outlining,symbol-dce");
  pm.addPass(createQntGpuMergeKernelModulesPass());
  addPipeline(
      pm,
      llvm::formatv(
          "func.func(gpu-async-region),"
          "nvvm-attach-target{{chip={0} features={1} O={2}},"
          // expand-strided-metadata makes affine.apply ops, so lower-affine
          // runs after it.
          "expand-strided-metadata,lower-affine,convert-scf-to-cf,"
          "canonicalize,"
          // The GEMM kernels' nvgpu.mma.sync (and their 2-D vector
          // fragments) first, then everything else of the kernels.
          "gpu.module(convert-nvgpu-to-nvvm,convert-gpu-to-nvvm,canonicalize,cse,"
          "reconcile-unrealized-casts),"
          // The host: memrefs, functions and the gpu runtime calls.
          "finalize-memref-to-llvm,convert-math-to-llvm,"
          "convert-arith-to-llvm,convert-index-to-llvm,convert-func-to-llvm,"
          "convert-cf-to-llvm,gpu-to-llvm,reconcile-unrealized-casts,"
          "canonicalize,cse,"
          // Device code: NVPTX to PTX, and ptxas to cubin for format=bin.
          "gpu-module-to-binary{{format={3} toolkit={4}}",
          options.chip.getValue(), ptx, options.optLevel.getValue(),
          resolveGpuBinaryFormat(options), toolkit)
          .str());
  // Nothing reads the decisions any more; upstream tools can read the rest.
  pm.addPass(createQntDropDecisionsPass());
}

void qnt::buildGpuPipeline(OpPassManager &pm,
                           const GpuPipelineOptions &options) {
  buildGpuBufferizePipeline(pm, options);
  buildGpuLowerToLLVMPipeline(pm, options);
}

void qnt::registerGpuPipelineTranslations(DialectRegistry &registry) {
  registerGpuKernelMemoryEffects(registry);
  registerBuiltinDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
  gpu::registerOffloadingLLVMTranslationInterfaceExternalModels(registry);
}

void qnt::registerGpuPipeline() {
  registerCheckedPipeline<GpuPipelineOptions>(
      "qnt-gpu-pipeline",
      "Fuse dequantization, map the module's loops to CUDA kernels and lower "
      "it to LLVM-dialect host code with the device code (PTX or cubin) "
      "embedded",
      checkGpuPipelineOptions, buildGpuPipeline);
}
