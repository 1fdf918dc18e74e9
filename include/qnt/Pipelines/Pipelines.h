// The qnt pass pipelines (qnt-cpu-pipeline, ...).
#ifndef QNT_PIPELINES_PIPELINES_H
#define QNT_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"
#include "qnt/Conversion/Passes.h"
#include "qnt/Transforms/Passes.h"

namespace mlir::qnt {

/// The options of qnt-cpu-pipeline: those of qnt-select-kernels (0 and
/// `auto` derive the choice from the module's #qnt.target), and of the
/// code outside the kernels.
struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  PassOptions::Option<int64_t> chunk{
      *this, "chunk",
      llvm::cl::desc("Codes unpacked per vector step: a multiple of 8 in "
                     "[8, 128]; 0: from the target"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> rowsPerTile{
      *this, "rows-per-tile",
      llvm::cl::desc("Rows of x sharing each unpacked chunk: 1 to 8; 0: from "
                     "the target"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> colsPerTile{
      *this, "cols-per-tile",
      llvm::cl::desc("Weight rows processed together: 1 to 8; 0: from the "
                     "target"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> streams{
      *this, "streams",
      llvm::cl::desc("Parts of the weight rows read together by single-row "
                     "tiles of x (a GEMV): that many memory streams; 1 to 8; "
                     "0: from the target"),
      llvm::cl::init(0)};
  PassOptions::Option<bool> prefetch{
      *this, "prefetch",
      llvm::cl::desc("Prefetch the next tile's weight rows while a tile runs"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> activations{
      *this, "activations",
      llvm::cl::desc("'f32', 'i8' (quantize x to int8 per block of "
                     "act-block codes at run time and use integer dot "
                     "products) or 'auto' (i8 where the target has integer "
                     "dot products, else f32)"),
      llvm::cl::init("auto")};
  PassOptions::Option<int64_t> actBlock{
      *this, "act-block",
      llvm::cl::desc("With activations=i8: codes of x sharing one int8 scale "
                     "(0: per matmul, 128 or 64 for codes of 4 bits or fewer, "
                     "else 32; or 32, 64, 128, 256)"),
      llvm::cl::init(0)};
  PassOptions::Option<bool> columnKernels{
      *this, "column-kernels",
      llvm::cl::desc("With activations=i8: the column kernels for 4- and "
                     "8-bit codes (qnt-select-kernels column-kernels)"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> intDot{
      *this, "int-dot",
      llvm::cl::desc("Instructions of the int8 dot products: 'generic', "
                     "'avx2', 'avxvnni', 'avx512vnni' or 'auto' (the "
                     "target's)"),
      llvm::cl::init("auto")};
  PassOptions::Option<bool> parallel{
      *this, "parallel",
      llvm::cl::desc("Split the weight rows of each matmul across threads with "
                     "OpenMP (link the result with libomp)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> vectorize{
      *this, "vectorize",
      llvm::cl::desc("Tile and vectorize the linalg ops outside the qnt "
                     "kernels (qnt-vectorize-linalg); false: scalar loops "
                     "left to LLVM"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> vectorWidth{
      *this, "vector-width",
      llvm::cl::desc("Lanes of qnt-vectorize-linalg's vector tiles, 1 to 64; "
                     "0: one register of the target (16 for 512-bit vectors, "
                     "else 8)"),
      llvm::cl::init(0)};
};

/// The options qnt-cpu-pipeline passes to qnt-select-kernels.
QntSelectKernelsPassOptions
selectKernelsOptions(const CpuPipelineOptions &options);

/// "" when every option is in its range (docs/COMPILING.md, "Option
/// ranges"), else the error naming `owner`, the option and its range.
std::string checkCpuPipelineOptions(const CpuPipelineOptions &options,
                                    llvm::StringRef owner = "qnt-cpu-pipeline");

/// Fuses dequantization into matmuls and lowers the module to the LLVM
/// dialect for the host CPU: the two halves below, in order.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);
/// First half: fuse, lower qnt ops to loops on buffers, bufferize the module.
void buildCpuBufferizePipeline(OpPassManager &pm,
                               const CpuPipelineOptions &options);
/// Second half: loops, vectors and memrefs on buffers to the LLVM dialect.
void buildCpuLowerToLLVMPipeline(OpPassManager &pm,
                                 const CpuPipelineOptions &options);

struct GpuPipelineOptions : public PassPipelineOptions<GpuPipelineOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("GPU architecture: sm_80 or sm_90"),
      llvm::cl::init("sm_80")};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("Device code embedded in the host code: ptx (JIT-compiled "
                     "by the driver at load), cubin (ptxas), or auto (cubin "
                     "when ptxas is found, else ptx)"),
      llvm::cl::init("auto")};
  PassOptions::Option<std::string> toolkit{
      *this, "toolkit",
      llvm::cl::desc("CUDA toolkit folder: bin/ptxas and "
                     "nvvm/libdevice/libdevice.10.bc are looked up there"),
      llvm::cl::init("/usr/local/cuda")};
  PassOptions::Option<int64_t> blockSize{
      *this, "block-size",
      llvm::cl::desc("Threads per block along a kernel's innermost "
                     "dimension: 1 to 1024"),
      llvm::cl::init(256)};
  PassOptions::Option<int64_t> optLevel{
      *this, "O",
      llvm::cl::desc("Optimization level of the device code: 0 to 3"),
      llvm::cl::init(3)};
};

/// "" when every option is valid (chip, format, block-size, O), else the
/// error naming `owner` (when not empty), the option and what it may be.
std::string checkGpuPipelineOptions(const GpuPipelineOptions &options,
                                    llvm::StringRef owner = "qnt-gpu-pipeline");
/// The format gpu-module-to-binary gets: "isa" (PTX) or "bin" (cubin);
/// format=auto is "bin" when ptxas exists in the toolkit or on PATH.
std::string resolveGpuBinaryFormat(const GpuPipelineOptions &options);

/// Lowers a module on tensors to LLVM-dialect host code that launches GPU
/// kernels, with the device code embedded as PTX or cubin: the two halves
/// below, in order. The host code calls the mgpu* functions of the qnt CUDA
/// runtime (lib/Runtime); see docs/COMPILING.md, "GPU target".
void buildGpuPipeline(OpPassManager &pm, const GpuPipelineOptions &options);
/// First half: fuse, (lower qnt ops to kernels,) bufferize the module. The
/// public signatures after it are the library's ABI, as on the CPU.
void buildGpuBufferizePipeline(OpPassManager &pm,
                               const GpuPipelineOptions &options);
/// Second half: loops to kernels, buffers to device memory, NVVM, device
/// binary, host code to the LLVM dialect.
void buildGpuLowerToLLVMPipeline(OpPassManager &pm,
                                 const GpuPipelineOptions &options);

/// Bufferizes a module on tensors the same way for every target: function
/// boundaries with identity layouts, in-place results dropped, bounded
/// allocations in a static workspace when `planWorkspace`
/// (qnt-plan-workspace), explicit deallocation of the rest.
void buildBufferizeModulePipeline(OpPassManager &pm, bool planWorkspace);

/// The options of qnt-tensor-pipeline: quant-compile's options of the same
/// names (docs/COMPILING.md), so that `quant-opt --qnt-set-target=cpu=C
/// --qnt-tensor-pipeline="..."` writes the IR of `quant-compile --cpu=C
/// --emit=mlir ...`.
struct TensorPipelineOptions
    : public PassPipelineOptions<TensorPipelineOptions> {
  PassOptions::Option<bool> requantize{
      *this, "requantize",
      llvm::cl::desc("Dequantize the weights a checkpoint brings quantized "
                     "to f32 first, so they are quantized like the rest"),
      llvm::cl::init(false)};
  PassOptions::Option<std::string> budget{
      *this, "budget",
      llvm::cl::desc("avg-bits:X, bytes:N or latency-us:T: choose a scheme "
                     "per layer (qnt-assign-bitwidths); empty: one scheme"),
      llvm::cl::init("")};
  PassOptions::ListOption<std::string> budgetFormats{
      *this, "budget-formats",
      llvm::cl::desc("With budget: the formats of the candidate schemes "
                     "(qnt-assign-bitwidths formats=): int, nf4, lut4, "
                     "fp8, fp8e5m2, mxfp4, nvfp4; default int")};
  PassOptions::Option<std::string> costTarget{
      *this, "cost-target",
      llvm::cl::desc("The cost model's target description (a name or a "
                     ".target file)"),
      llvm::cl::init("")};
  PassOptions::Option<int64_t> costBatch{
      *this, "cost-batch",
      llvm::cl::desc("Rows of x the latency budget is for"),
      llvm::cl::init(1)};
  PassOptions::Option<std::string> calibrationStats{
      *this, "calibration-stats",
      llvm::cl::desc("Per-channel statistics of the layers' inputs for the "
                     "cost model"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> sensitivities{
      *this, "sensitivities",
      llvm::cl::desc("Measured sensitivities for the cost model"),
      llvm::cl::init("")};
  PassOptions::Option<int64_t> kvContext{
      *this, "kv-context",
      llvm::cl::desc("With budget=bytes:N: the KV cache at this many "
                     "positions counts in N"),
      llvm::cl::init(0)};
  PassOptions::Option<std::string> report{
      *this, "report",
      llvm::cl::desc("JSON report of the per-layer choice"),
      llvm::cl::init("")};
  PassOptions::Option<bool> reportTable{
      *this, "report-table",
      llvm::cl::desc("Print the per-layer choice as a table"),
      llvm::cl::init(false)};
  PassOptions::Option<std::string> pareto{
      *this, "pareto",
      llvm::cl::desc("CSV of the size/error trade-off curve"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("Element format of quantized weights: int (bits wide), "
                     "fp8 (E4M3FN), fp8e5m2, mxfp4, nvfp4, nf4 or lut4"),
      llvm::cl::init("int")};
  PassOptions::Option<std::string> bits{
      *this, "bits",
      llvm::cl::desc("Code width of quantized weights, 1 to 8, or none"),
      llvm::cl::init("4")};
  PassOptions::Option<int64_t> group{
      *this, "group",
      llvm::cl::desc("Elements per scale along K; 0: one scale per output "
                     "channel"),
      llvm::cl::init(128)};
  PassOptions::Option<bool> asymmetric{
      *this, "asymmetric",
      llvm::cl::desc("Unsigned codes with zero points"),
      llvm::cl::init(false)};
  PassOptions::Option<std::string> scaleType{
      *this, "scale-type", llvm::cl::desc("f32, f16 or bf16"),
      llvm::cl::init("f32")};
  PassOptions::ListOption<std::string> skip{
      *this, "skip",
      llvm::cl::desc("Layers kept in float (names or substrings)")};
  PassOptions::ListOption<std::string> only{
      *this, "only", llvm::cl::desc("Quantize only these layers")};
  PassOptions::Option<bool> quantizeEmbedding{
      *this, "quantize-embedding",
      llvm::cl::desc("Quantize the token embedding table too"),
      llvm::cl::init(true)};
  PassOptions::Option<unsigned> embeddingBits{
      *this, "embedding-bits",
      llvm::cl::desc("Code width of the token embedding, 1 to 8"),
      llvm::cl::init(8)};
  PassOptions::Option<std::string> method{
      *this, "method",
      llvm::cl::desc("rtn, or gptq (with hessians)"), llvm::cl::init("rtn")};
  PassOptions::Option<std::string> hessians{
      *this, "hessians",
      llvm::cl::desc("The layers' Hessians for method=gptq"),
      llvm::cl::init("")};
  /// method=gptq: the Hessians given in memory instead of the `hessians`
  /// file (quant-compile --calibrate); not a textual option.
  HessianSource hessianSource;
  /// Progress lines of qnt-quantize-weights (quant-compile's); not a
  /// textual option.
  std::function<void(const std::string &)> progress;
  PassOptions::Option<bool> actOrder{
      *this, "act-order",
      llvm::cl::desc("GPTQ: columns in order of decreasing Hessian diagonal"),
      llvm::cl::init(false)};
  PassOptions::Option<double> gptqDampening{
      *this, "gptq-dampening",
      llvm::cl::desc("GPTQ: damping, a fraction of the mean Hessian diagonal"),
      llvm::cl::init(0.01)};
  PassOptions::Option<std::string> kvCache{
      *this, "kv-cache",
      llvm::cl::desc("auto (f16 with quantized weights, else f32), f32, "
                     "f16, i8 or i4"),
      llvm::cl::init("auto")};
  PassOptions::Option<int64_t> kvBlock{
      *this, "kv-block",
      llvm::cl::desc("Block (positions) of an i4 KV cache"),
      llvm::cl::init(32)};
  PassOptions::Option<int64_t> kvWindow{
      *this, "kv-window",
      llvm::cl::desc("Window (newest positions in 8-bit codes) of an i4 KV "
                     "cache, a multiple of the block"),
      llvm::cl::init(64)};
  PassOptions::Option<bool> selectKernels{
      *this, "select-kernels",
      llvm::cl::desc("End with qnt-select-kernels (for the module's CPU or "
                     "GPU target)"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> activations{
      *this, "activations",
      llvm::cl::desc("auto, f32 or i8 (qnt-select-kernels)"),
      llvm::cl::init("auto")};
  PassOptions::Option<int64_t> actBlock{
      *this, "act-block",
      llvm::cl::desc("With activations=i8: codes of x per int8 scale (0: per "
                     "matmul)"),
      llvm::cl::init(0)};
  PassOptions::Option<bool> parallel{
      *this, "parallel",
      llvm::cl::desc("Kernels split across threads"), llvm::cl::init(true)};
};

/// The KV cache format `kvCache` names: itself, or for "auto" f16 when the
/// weights are quantized (at long contexts the cache is most of what a
/// decoding step reads, and half floats move the logits far less than the
/// weights' codes do) and f32 for a float model.
llvm::StringRef resolveKvCache(llvm::StringRef kvCache, bool quantizedWeights);

/// The KV cache format the pipeline's options give (resolveKvCache).
llvm::StringRef kvCacheFormat(const TensorPipelineOptions &options);

/// "" when the options are valid (those the passes do not check in their
/// own initialize), else the error naming `owner`.
std::string checkTensorPipelineOptions(const TensorPipelineOptions &options,
                                       llvm::StringRef owner =
                                           "qnt-tensor-pipeline");
/// The tensor-level part of quant-compile: optionally dequantize imported
/// quantized weights (requantize), choose schemes under a budget
/// (qnt-assign-bitwidths), quantize (qnt-quantize-weights), fuse
/// (qnt-fuse-dequant-matmul), quantize the KV cache (qnt-quantize-kv-cache),
/// choose the kernels (qnt-select-kernels, for the module's #qnt.target or
/// #qnt.gpu_target).
void buildTensorPipeline(OpPassManager &pm,
                         const TensorPipelineOptions &options);
/// The options qnt-tensor-pipeline gives qnt-assign-bitwidths (quant-compile
/// runs that pass alone first when it measures the choice).
QntAssignBitwidthsPassOptions
assignBitwidthsOptions(const TensorPipelineOptions &options);
/// The options qnt-tensor-pipeline gives qnt-select-kernels (quant-compile
/// runs that pass alone last, after it gives back its input's pages).
QntSelectKernelsPassOptions
selectKernelsOptions(const TensorPipelineOptions &options);
/// Registers qnt-tensor-pipeline (called by registerQntPipelines).
void registerTensorPipeline();

/// Registers qnt-tensor-pipeline, qnt-cpu-pipeline and qnt-gpu-pipeline
/// with the pass registry.
void registerQntPipelines();
/// Adds the translations to LLVM IR that qnt-gpu-pipeline needs to a
/// registry (gpu-module-to-binary translates the kernels to LLVM IR for
/// NVPTX): tools running the pipeline call it before making the context.
void registerGpuPipelineTranslations(DialectRegistry &registry);
/// Registers qnt-gpu-pipeline (called by registerQntPipelines).
void registerGpuPipeline();

} // namespace mlir::qnt

#endif // QNT_PIPELINES_PIPELINES_H
