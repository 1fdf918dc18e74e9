// qnt-cpu-pipeline: from tensors with qnt ops to the LLVM dialect for the host.
#include "qnt/Pipelines/Pipelines.h"
#include "CheckedPipeline.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassRegistry.h"
#include "qnt/Conversion/Passes.h"
#include "qnt/Transforms/Passes.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;

qnt::QntSelectKernelsPassOptions
qnt::selectKernelsOptions(const CpuPipelineOptions &options) {
  QntSelectKernelsPassOptions select;
  select.chunk = options.chunk;
  select.rowsPerTile = options.rowsPerTile;
  select.colsPerTile = options.colsPerTile;
  select.streams = options.streams;
  select.parallel = options.parallel;
  select.prefetch = options.prefetch;
  select.activations = options.activations;
  select.actBlock = options.actBlock;
  select.columnKernels = options.columnKernels;
  select.intDot = options.intDot;
  return select;
}

std::string qnt::checkCpuPipelineOptions(const CpuPipelineOptions &options,
                                         StringRef owner) {
  std::string error =
      checkSelectKernelsOptions(owner, selectKernelsOptions(options));
  if (error.empty() && options.vectorWidth != 0)
    error = kVectorWidthRange.check(owner, "vector-width", options.vectorWidth);
  return error;
}

void qnt::buildCpuBufferizePipeline(OpPassManager &pm,
                                    const CpuPipelineOptions &options) {
  // Bad options are reported by the passes' initialize(), before any runs.
  // f16/bf16 checkpoint tensors still in float are widened once, here.
  pm.addPass(createQntFoldConstantCastsPass());
  pm.addPass(createQntFuseDequantMatmulPass());
  // The kernels are chosen (where quant-compile or the input has not
  // already) and built as chosen.
  pm.addPass(createQntSelectKernelsPass(selectKernelsOptions(options)));
  pm.addPass(createConvertQntToVectorPass());
  buildBufferizeModulePipeline(pm, /*planWorkspace=*/true);
}

void qnt::buildBufferizeModulePipeline(OpPassManager &pm, bool planWorkspace) {
  // Bufferize the whole module: function boundaries get identity layouts so
  // kernels and C callers see plain row-major buffers, and results that are
  // just updated arguments (a KV cache) are dropped, so they stay in place.
  std::string bufferize =
      "canonicalize,"
      "func.func(convert-elementwise-to-linalg),"
      "one-shot-bufferize{bufferize-function-boundaries "
      "function-boundary-type-conversion=identity-layout-map},"
      // Loops that yield their iteration arguments unchanged (the caches
      // of @prefill's loop over the prompt) fold to their inputs, so the
      // function returns its arguments and the results can be dropped.
      "canonicalize,"
      "drop-equivalent-buffer-results";
  if (failed(parsePassPipeline(bufferize, pm)))
    llvm::report_fatal_error("qnt bufferization: bad upstream pipeline string");
  pm.addPass(createQntDropReturnedArgumentsPass());
  if (planWorkspace)
    pm.addPass(createQntPlanWorkspacePass());
  if (failed(parsePassPipeline(
          "buffer-deallocation-pipeline,convert-bufferization-to-memref", pm)))
    llvm::report_fatal_error("qnt bufferization: bad upstream pipeline string");
}

void qnt::buildCpuLowerToLLVMPipeline(OpPassManager &pm,
                                      const CpuPipelineOptions &options) {
  ConvertQntIntDotPassOptions intDot;
  intDot.isa = options.intDot;
  pm.addPass(createConvertQntIntDotPass(intDot));
  pm.addNestedPass<func::FuncOp>(createQntLinalgCopiesPass());
  // The rest of the function (norms, RoPE, activations, copies): vector
  // tiles first; what is left over, and everything without it, becomes
  // scalar loops.
  if (options.vectorize) {
    QntVectorizeLinalgPassOptions vectorizeOptions;
    vectorizeOptions.vectorWidth = options.vectorWidth;
    vectorizeOptions.parallel = options.parallel;
    pm.addNestedPass<func::FuncOp>(
        createQntVectorizeLinalgPass(vectorizeOptions));
  }
  if (failed(parsePassPipeline("func.func(convert-linalg-to-loops)", pm)))
    llvm::report_fatal_error("qnt-cpu-pipeline: bad upstream pipeline string");
  pm.addNestedPass<func::FuncOp>(createQntApproximateExpPass());
  if (options.parallel)
    pm.addPass(createQntParallelToOpenMPPass());
  std::string upstream =
      // expand-strided-metadata makes affine.apply ops, so lower-affine
      // runs after it.
      "convert-vector-to-scf,expand-strided-metadata,lower-affine,"
      "convert-scf-to-cf,canonicalize,"
      "convert-vector-to-llvm,convert-ub-to-llvm,finalize-memref-to-llvm,convert-math-to-llvm,"
      "convert-arith-to-llvm,convert-index-to-llvm,convert-func-to-llvm,"
      "convert-cf-to-llvm,";
  if (options.parallel)
    upstream += "convert-openmp-to-llvm,";
  upstream += "reconcile-unrealized-casts,canonicalize,cse";
  if (failed(parsePassPipeline(upstream, pm)))
    llvm::report_fatal_error("qnt-cpu-pipeline: bad upstream pipeline string");
  // Nothing reads the decisions any more; upstream tools can read the rest.
  pm.addPass(createQntDropDecisionsPass());
}

void qnt::buildCpuPipeline(OpPassManager &pm,
                           const CpuPipelineOptions &options) {
  buildCpuBufferizePipeline(pm, options);
  buildCpuLowerToLLVMPipeline(pm, options);
}

void qnt::registerQntPipelines() {
  registerCheckedPipeline<CpuPipelineOptions>(
      "qnt-cpu-pipeline",
      "Fuse dequantization into matmuls and lower to the LLVM dialect for the "
      "host CPU",
      checkCpuPipelineOptions, buildCpuPipeline);
  registerGpuPipeline();
  registerTensorPipeline();
}
