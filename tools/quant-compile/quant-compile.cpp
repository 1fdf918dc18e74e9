// quant-compile: compiles a model in MLIR ahead of time into a quantized
// native shared library (or object, assembly, LLVM IR, MLIR).
#include "qnt/Calibration/Calibrate.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "qnt/Abi/LibraryAbiWriter.h"
#include "mlir/Support/FileUtilities.h"
#include "qnt/Conversion/Passes.h"
#include "qnt/IR/QntDialect.h"
#include "qnt/Import/Importer.h"
#include "qnt/Import/Transformer.h"
#include "qnt/Pipelines/Pipelines.h"
#include "qnt/Support/OutputFile.h"
#include "qnt/Target/CudaCodegen.h"
#include "qnt/Target/HostCalibration.h"
#include "qnt/Target/HostCodegen.h"
#include "qnt/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/Timer.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/Process.h"
#include <chrono>
#include <sys/mman.h>
#include <optional>

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory category("quant-compile options");

static cl::opt<std::string> inputFile(
    cl::Positional,
    cl::desc("<model: .mlir, .mlirbc, or a checkpoint quant-import reads (a "
             "GGUF file, a Hugging Face directory, a llama2.c file)>"),
    cl::cat(category));
static cl::opt<std::string> outputFile("o", cl::desc("Output file"),
                                       cl::value_desc("file"),
                                       cl::cat(category));
static cl::opt<std::string>
    target("target", cl::init("host"),
           cl::desc("Code generation target: host (x86-64 through LLVM) or "
                    "cuda (NVIDIA GPU kernels; see --chip)"),
           cl::cat(category));
static cl::opt<std::string>
    chip("chip", cl::init("sm_80"),
         cl::desc("With --target=cuda: GPU architecture, sm_80 or sm_90"),
         cl::cat(category));
static cl::opt<std::string> gpuFormat(
    "gpu-format", cl::init("auto"),
    cl::desc("With --target=cuda: device code in the library: ptx (compiled "
             "by the driver when loaded), cubin (by ptxas now), or auto "
             "(cubin when ptxas is found); --emit=asm writes the PTX"),
    cl::cat(category));
static cl::opt<std::string>
    cpu("cpu", cl::init("native"),
        cl::desc("CPU to tune for and whose vector extensions to use: native "
                 "(this machine), or an LLVM CPU name (x86-64, x86-64-v3, "
                 "skylake-avx512, ...)"),
        cl::cat(category));
static cl::opt<std::string> activations(
    "activations", cl::init("auto"),
    cl::desc("Host target: i8 (x quantized at run time to int8 per block of "
             "--act-block codes and multiplied by 1/2/4/8-bit weights with "
             "integer dot products: faster, slightly different numerics, see "
             "docs/QUANTIZER.md), f32 (x as given), or auto (the default: i8 "
             "where --cpu has integer dot products, AVX2 or newer, else f32)"),
    cl::cat(category));
static cl::opt<bool> quantizeEmbedding(
    "quantize-embedding", cl::init(true),
    cl::desc("With --bits=N: also store the token embedding table as packed "
             "codes (--embedding-bits, the group and scale type of the "
             "weights), decoded row by row when a token is read; a "
             "classifier tied to the embedding uses the same packed codes. "
             "=false keeps it in f32"),
    cl::cat(category));
static cl::opt<unsigned> embeddingBits(
    "embedding-bits", cl::init(8),
    cl::desc("Code width of a quantized token embedding and of a classifier "
             "tied to it, 1 to 8"),
    cl::cat(category));
static cl::opt<std::string> kvCache(
    "kv-cache", cl::init("auto"),
    cl::desc("How the KV cache stores keys and values: auto (the default: "
             "f16 when the weights are quantized, else f32), f32, f16 (half "
             "floats: half the bytes), or i8 (8-bit codes, a scale per "
             "position and kv head as an 8-bit multiple of one f16 step "
             "per position: about a quarter of the bytes), or "
             "i4 (KIVI-style: keys and values per channel over blocks of "
             "--kv-block positions with a scale and zero point, the newest "
             "--kv-window positions in 8-bit codes: about a fifth); "
             "attention reads and decodes them in registers "
             "(docs/BIT_LAYOUT.md)"),
    cl::cat(category));
static cl::opt<int64_t> kvBlock(
    "kv-block", cl::init(32),
    cl::desc("With --kv-cache=i4: positions per block (a power of two "
             "from 8 to 256; 32 by default)"),
    cl::cat(category));
static cl::opt<int64_t> kvWindow(
    "kv-window", cl::init(64),
    cl::desc("With --kv-cache=i4: the newest positions kept in 8-bit codes "
             "(a multiple of --kv-block, at least one block; 64 by default): "
             "the open block and the latest closed ones, which attention "
             "weighs most"),
    cl::cat(category));
static cl::opt<int64_t> kvContext(
    "kv-context", cl::init(0),
    cl::desc("With --budget=bytes:N: count the KV cache (in the --kv-cache "
             "format) at this many positions in N, so that N is the memory of "
             "weights and cache together (0, the default: N is the weights')"),
    cl::cat(category));
/// --activations after "auto" is resolved for --cpu (main).
static std::string resolvedActivations = "f32";

static cl::opt<int> actBlock(
    "act-block", cl::init(0),
    cl::desc("With --activations=i8: codes of x sharing one int8 scale. 0 "
             "(default): per layer, the largest of 128 and 64 dividing the "
             "group for weights of 4 bits or fewer, 32 for wider ones; or 32, "
             "64, 128, 256 for all layers (those whose group it does not "
             "divide use 32). Larger blocks run faster and round x more "
             "coarsely"),
    cl::cat(category));
static cl::opt<std::string>
    bits("bits", cl::init("4"),
         cl::desc("Code width of quantized weights, 1 to 8, or 'none' to "
                  "compile the float model unchanged"),
         cl::cat(category));
static cl::opt<std::string> weightFormat(
    "format", cl::init("int"),
    cl::desc("Element format of quantized weights: int (--bits wide), fp8 "
             "(E4M3FN), fp8e5m2, mxfp4 (e2m1, E8M0 scale per 32), nvfp4 "
             "(e2m1, E4M3 scale per 16, f32 tensor scale), nf4 (NF4 "
             "codebook) or lut4 (16 values learned per tensor); these fix "
             "their width (mxfp4 and nvfp4 their --group too) and are "
             "symmetric; on the CPU fp8, nf4 and lut4 run with f32 "
             "activations, mxfp4 and nvfp4 with --activations"),
    cl::cat(category));
static cl::opt<bool> requantize(
    "requantize", cl::init(false),
    cl::desc("With --bits=N or --budget: also quantize again the weights the "
             "model brings already quantized (GGUF blocks), from their "
             "dequantized values; by default they are kept as they are"),
    cl::cat(category));
static cl::opt<int64_t>
    group("group", cl::init(128),
          cl::desc("Weights sharing one scale along K; 0 = one scale per "
                   "output channel"),
          cl::cat(category));
static cl::opt<bool> asymmetric("asymmetric", cl::init(false),
                                cl::desc("Unsigned codes with zero points"),
                                cl::cat(category));
static cl::opt<std::string> scaleType("scale-type", cl::init("f32"),
                                      cl::desc("Scale type: f32, f16, bf16"),
                                      cl::cat(category));
static cl::list<std::string>
    only("only", cl::CommaSeparated,
         cl::desc("Quantize only the layers with exactly these names"),
         cl::cat(category));
static cl::list<std::string>
    skip("skip", cl::CommaSeparated,
         cl::desc("Leave layers whose op name or location contains one of "
                  "these substrings in float"),
         cl::cat(category));
static cl::opt<std::string>
    budget("budget",
           cl::desc("Per-layer schemes from the cost model under a budget: "
                    "avg-bits:X, bytes:N or latency-us:T (overrides --bits "
                    "and --group)"),
           cl::cat(category));
static cl::list<std::string> budgetFormats(
    "budget-formats", cl::CommaSeparated,
    cl::desc("With --budget: the weight formats the cost model chooses "
             "among per layer: int (2 to 6 and 8 bits), nf4, lut4, fp8, fp8e5m2 "
             "(each in groups of 32, 64, 128 or per channel), mxfp4, nvfp4 "
             "(default: int)"),
    cl::cat(category));
static cl::opt<std::string> calibrate(
    "calibrate",
    cl::desc("Run the float model over calibration tokens: a token file (one "
             "sample per line, ids separated by white space, '#' comments) or "
             "sample:N[:LEN], N sequences of LEN tokens (64 by default) "
             "sampled from the model itself from token 1 (temperature 1, "
             "--calibration-seed). With --budget it measures each layer's "
             "output-aware sensitivities; with --method=gptq it collects the "
             "Hessians (docs/CALIBRATION.md, docs/COMPILING.md)"),
    cl::value_desc("tokens.txt|sample:N[:LEN]"), cl::cat(category));
static cl::opt<uint64_t> calibrationSeed(
    "calibration-seed", cl::init(0),
    cl::desc("With --calibrate=sample:N[:LEN]: the seed of the sampler (the "
             "same seed gives the same tokens)"),
    cl::cat(category));
static cl::opt<std::string> calibrationTokensOut(
    "calibration-tokens-out",
    cl::desc("With --calibrate: write the calibration tokens to this file (a "
             "token file --calibrate reads)"),
    cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string> hessiansOut(
    "hessians-out",
    cl::desc("With --calibrate: also collect each linear layer's Hessian "
             "sum x x^T over the calibration tokens and write them to this "
             "file (the format qnt-quantize-weights hessians= reads)"),
    cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string> method(
    "method", cl::init("rtn"),
    cl::desc("Rounding of the weights: rtn (round to nearest on the grid of "
             "the clipping search), gptq (error feedback through the "
             "inverse Hessian of each layer's calibration inputs) or awq "
             "(per-input-channel scales chosen on the calibration inputs, "
             "folded into the RMSNorm gain before the layers; not with "
             "--budget) or awq-gptq (both); all but rtn need --calibrate"),
    cl::cat(category));
static cl::opt<bool> actOrder(
    "act-order", cl::init(false),
    cl::desc("With --method=gptq: quantize the columns in order of "
             "decreasing E[x_k^2], with every group's grid fixed first"),
    cl::cat(category));
static cl::opt<double> gptqDampening(
    "gptq-dampening", cl::init(0.01),
    cl::desc("With --method=gptq: added to the Hessian's diagonal, times its "
             "mean (0 to 1)"),
    cl::cat(category));
static cl::opt<bool> outputAware(
    "output-aware", cl::init(true),
    cl::desc("With --calibrate and --budget: measure every candidate scheme "
             "of every layer by the KL of the model's output over the "
             "calibration tokens (the float model compiled once, quantized "
             "weights swapped in), or estimate it where that is above "
             "--output-aware-limit; =false: the E[x^2]-weighted weight error"),
    cl::cat(category));
static cl::opt<double> outputAwareLimit(
    "output-aware-limit", cl::init(1e13),
    cl::desc("With --calibrate and --budget: the most multiply-adds ((layer, "
             "scheme) pairs x calibration tokens x weights) measuring every "
             "output-aware sensitivity may take; above it they are estimated "
             "from the output errors and gains measured per role and depth (0: "
             "always estimate)"),
    cl::cat(category));
static cl::opt<std::string> sensitivitiesOut(
    "sensitivities-out",
    cl::desc("With --calibrate and --budget: keep the output-aware "
             "sensitivities in this file (the format --sensitivities reads)"),
    cl::value_desc("file"), cl::cat(category));
static cl::opt<double> searchSeconds(
    "search-seconds", cl::init(15),
    cl::desc("With --calibrate and --budget=avg-bits:X: seconds to spend "
             "improving the cost model's assignment by swapping two layers' "
             "schemes, each swap judged by the measured KL (0: no search)"),
    cl::cat(category));
static cl::opt<std::string> calibrationStatsOut(
    "calibration-stats-out",
    cl::desc("With --calibrate: also keep the statistics in this file (the "
             "format --calibration-stats reads)"),
    cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string> calibrationEntry(
    "calibration-entry", cl::init("forward"),
    cl::desc("With --calibrate: the step function to run (the quant-run ABI)"),
    cl::cat(category));
static cl::opt<std::string>
    report("report",
           cl::desc("With --budget: write a JSON report of the per-layer "
                    "choices (a table goes to stderr unless -q)"),
           cl::cat(category));
static cl::opt<std::string>
    pareto("pareto",
           cl::desc("With --budget: write the Pareto frontier as CSV"),
           cl::cat(category));
static cl::opt<std::string>
    costTarget("cost-target",
               cl::desc("With --budget: target description file for predicted "
                        "times (targets/*.target; default host-x86_64)"),
               cl::cat(category));
static cl::opt<std::string> calibrationStats(
    "calibration-stats",
    cl::desc("With --budget: E[x_k^2] of every layer's input ('NAME v0 v1 ...' "
             "lines, optionally 'NAME eigen LAMBDA u0 u1 ...' directions of "
             "E[x x^T]) weighting the sensitivities; see docs/CALIBRATION.md"),
    cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string> sensitivityFile(
    "sensitivities",
    cl::desc("With --budget: measured sensitivities ('NAME BITS:GROUP VALUE' "
             "lines, e.g. from scripts/measure_sensitivity.py)"),
    cl::value_desc("file"), cl::cat(category));
static cl::opt<int64_t>
    costBatch("cost-batch", cl::init(1),
              cl::desc("With --budget=latency-us:T: rows of x per call"),
              cl::cat(category));
static cl::opt<std::string>
    emit("emit",
         cl::desc("What to write: mlir (quantized and fused IR), llvm, asm, "
                  "obj or so; default from the output's extension, else so"),
         cl::cat(category));
static cl::opt<std::string>
    header("header", cl::desc("Also write a C header declaring the library's "
                              "functions"),
           cl::value_desc("file.h"), cl::cat(category));
static cl::opt<bool> threads(
    "parallel", cl::init(true),
    cl::desc("Split the work of a step across threads with OpenMP: the rows "
             "of every matmul, the heads of attention (the library links "
             "libomp and uses every core unless told otherwise: "
             "qnt_set_threads, OMP_NUM_THREADS, quant-run --threads); "
             "=false: a single-threaded library"),
    cl::cat(category));
static cl::opt<bool> vectorizeRest(
    "vectorize-linalg", cl::init(true),
    cl::desc("Tile and vectorize the ops outside the matmul kernels (norms, "
             "softmax, attention, activations) with qnt-vectorize-linalg; "
             "=false leaves them to LLVM as scalar loops"),
    cl::cat(category));
static cl::opt<std::string> calibrateTarget(
    "calibrate-target",
    cl::desc("Instead of compiling: measure this machine (bandwidth, FMA "
             "peak, speed of the generated kernels) and write a target "
             "description for the cost model (docs/COST_MODEL.md)"),
    cl::value_desc("file.target"), cl::cat(category));
static cl::opt<bool> quiet("q", cl::init(false),
                           cl::desc("No progress lines on stderr"),
                           cl::cat(category));

namespace {
/// Prints "quant-compile: <step> ... (1.2 s)" progress lines on stderr.
struct Progress {
  using Clock = std::chrono::steady_clock;
  Clock::time_point start = Clock::now();
  void step(const Twine &what) {
    if (quiet)
      return;
    double s = std::chrono::duration<double>(Clock::now() - start).count();
    llvm::errs() << llvm::formatv("quant-compile: [{0,6:f1} s] ", s) << what
                 << "\n";
  }
};
} // namespace

/// The input file when it is memory-mapped: bytecode weights are read in
/// place from it (see main).
static llvm::MemoryBuffer *inputBuffer = nullptr;

/// Gives the input's pages back to the kernel once a step has consumed the
/// weights (quantized them, or copied them into LLVM IR). The mapping stays
/// valid: a later access re-reads the file. For a 1-billion-parameter model
/// this keeps a 4.4 GB file out of the peak memory of the later steps.
static void releaseInputPages() {
  // MemoryBuffer::dontNeedIfMmap uses posix_madvise, which glibc ignores for
  // POSIX_MADV_DONTNEED; madvise(MADV_DONTNEED) does drop the pages. The
  // mapping is read-only, so nothing is lost.
  if (!inputBuffer ||
      inputBuffer->getBufferKind() != llvm::MemoryBuffer::MemoryBuffer_MMap)
    return;
  uintptr_t page = llvm::sys::Process::getPageSizeEstimate();
  uintptr_t begin = llvm::alignTo(
      reinterpret_cast<uintptr_t>(inputBuffer->getBufferStart()), page);
  uintptr_t end = llvm::alignDown(
      reinterpret_cast<uintptr_t>(inputBuffer->getBufferEnd()), page);
  if (begin < end)
    ::madvise(reinterpret_cast<void *>(begin), end - begin, MADV_DONTNEED);
}

static std::string emitKind() {
  if (!emit.empty())
    return emit;
  StringRef ext = llvm::sys::path::extension(outputFile);
  if (ext == ".mlir")
    return "mlir";
  if (ext == ".ll")
    return "llvm";
  if (ext == ".s")
    return "asm";
  if (ext == ".o")
    return "obj";
  return "so";
}

static int fail(const Twine &message) {
  llvm::errs() << "quant-compile: error: " << message << "\n";
  return 1;
}

/// The options of qnt-cpu-pipeline that quant-compile's options give; the
/// rest of the kernel choice comes from the module's #qnt.target.
static void setCpuPipelineOptions(qnt::CpuPipelineOptions &pipeline) {
  pipeline.parallel = threads;
  pipeline.activations = resolvedActivations;
  pipeline.actBlock = actBlock;
  pipeline.vectorize = vectorizeRest;
}

/// Puts a #qnt.kernel on every op of `module` that has none
/// (qnt-select-kernels, for the module's #qnt.target). Returns false after a
/// diagnostic when the pass fails.
static bool selectHostKernels(ModuleOp module,
                              const qnt::CpuPipelineOptions &pipeline) {
  PassManager pm(module.getContext());
  pm.addPass(
      qnt::createQntSelectKernelsPass(qnt::selectKernelsOptions(pipeline)));
  return succeeded(pm.run(module));
}

/// Lowers the quantized, fused `module` (tensors) for the host, or for CUDA
/// when `gpu` is given, and writes it to `out` as `kind` (llvm, asm, obj or
/// so; asm is the device PTX for CUDA), with a C header to `header` if given;
/// commits both when everything succeeded. Progress lines start with
/// `prefix`.
static int lowerAndEmit(ModuleOp module, StringRef kind, qnt::OutputFile &out,
                        qnt::OutputFile *header, Progress &progress,
                        const std::string &prefix,
                        const qnt::GpuPipelineOptions *gpu = nullptr) {
  std::string error;
  StringRef path = out.path();
  // The header first: a library is never left without its header.
  auto commit = [&](const Twine &what = "") {
    if (header)
      if (std::string e = header->commit(); !e.empty())
        return fail(e);
    if (std::string e = out.commit(); !e.empty())
      return fail(e);
    progress.step(Twine(prefix) + "wrote " + path + what);
    return 0;
  };
  // Every public function gets a C entry point (_mlir_ciface_NAME).
  qnt::markEntryPoints(module);

  std::unique_ptr<llvm::TargetMachine> machine =
      qnt::createHostTargetMachine(cpu, error);
  if (!machine)
    return fail(error);
  qnt::CpuPipelineOptions pipeline;
  setCpuPipelineOptions(pipeline);
  if (!gpu) {
    // The kernels are chosen for the host (or --cpu) and written into the
    // IR (#qnt.kernel) before anything is lowered.
    if (!selectHostKernels(module, pipeline))
      return 1;
    if (prefix.empty())
      progress.step("kernels for " + machine->getTargetCPU().str() + ": " +
                    qnt::describeKernels(module, pipeline));
  }
  progress.step(Twine(prefix) + "lowering to loops on buffers");
  PassManager bufferizePm(module.getContext());
  if (gpu)
    qnt::buildGpuBufferizePipeline(bufferizePm, *gpu);
  else
    qnt::buildCpuBufferizePipeline(bufferizePm, pipeline);
  if (failed(bufferizePm.run(module)))
    return 1;
  if (header && !qnt::writeLibraryHeader(module, header->os(), error))
    return fail(error);
  // Each public function's bufferized signature travels in the library as
  // `qnt_signature_NAME`, so quant-run can check the ABI and size buffers.
  std::vector<std::pair<std::string, std::string>> signatures =
      qnt::librarySignatures(module);
  int64_t context = qnt::libraryContext(module);

  progress.step(Twine(prefix) + "lowering to the LLVM dialect");
  PassManager llvmPm(module.getContext());
  if (gpu)
    qnt::buildGpuLowerToLLVMPipeline(llvmPm, *gpu);
  else
    qnt::buildCpuLowerToLLVMPipeline(llvmPm, pipeline);
  if (failed(llvmPm.run(module)))
    return 1;
  if (gpu && kind == "asm") {
    // The device code is what a GPU target's assembly means.
    if (!qnt::writeDevicePtx(module, out.os(), error))
      return fail(error);
    return commit(" (PTX for " + gpu->chip.getValue() + ")");
  }

  // qnt_set_threads (host libraries) and the signature strings.
  qnt::addLibraryAbiSymbols(module, signatures, context,
                            gpu ? std::nullopt : std::optional<bool>(threads));

  progress.step(Twine(prefix) + "translating to LLVM IR and optimizing for " +
                machine->getTargetCPU().str());
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      qnt::translateAndOptimize(module, llvmContext, *machine);
  if (!llvmModule)
    return 1;
  releaseInputPages();

  if (kind == "llvm") {
    llvmModule->print(out.os(), nullptr);
    return commit();
  }
  if (kind == "asm" || kind == "obj") {
    progress.step(Twine(prefix) + "emitting machine code");
    if (!qnt::emitMachineCode(*llvmModule, *machine,
                              kind == "asm" ? llvm::CodeGenFileType::AssemblyFile
                                            : llvm::CodeGenFileType::ObjectFile,
                              out.os(), error))
      return fail(error);
    return commit();
  }

  SmallString<128> objectPath;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("quant-compile", "o", objectPath))
    return fail("cannot create a temporary object file: " + ec.message());
  llvm::FileRemover removeObject(objectPath);
  progress.step(Twine(prefix) + "emitting machine code");
  std::unique_ptr<qnt::OutputFile> object =
      qnt::OutputFile::create(objectPath, error);
  if (!object)
    return fail(error);
  if (!qnt::emitMachineCode(*llvmModule, *machine,
                            llvm::CodeGenFileType::ObjectFile, object->os(),
                            error))
    return fail(error);
  if (std::string e = object->commit(); !e.empty())
    return fail(e);
  // The linker writes the library itself, to the file that becomes `out`.
  std::string library = out.pathForTool(error);
  if (library.empty())
    return fail(error);
  progress.step(Twine(prefix) + "linking " + path);
  if (gpu ? !qnt::linkCudaSharedLibrary({std::string(objectPath)}, library,
                                        error)
          : !qnt::linkSharedLibrary({std::string(objectPath)}, library, threads,
                                    error))
    return fail(error);
  return commit();
}

/// What main decided from the options (checkOptions).
struct Plan {
  std::string kind;        // --emit, resolved from -o's extension
  bool cuda = false;       // --target=cuda
  unsigned codeBits = 0;   // --bits (0: none)
  bool gptq = false, awq = false;
  bool measureOutputs = false; // --calibrate with --budget, output-aware
};

/// "" when --format fits the other options, else the error: fp8, fp4 and
/// nf4 weights are symmetric, rounded to nearest, one format for every
/// layer; mxfp4 and nvfp4 fix the group size.
static std::string checkFormatFlag(const Plan &plan) {
  std::optional<qnt::WeightFormat> format =
      qnt::parseWeightFormat(weightFormat);
  if (!format)
    return "--format=" + weightFormat + " must be " +
           qnt::kWeightFormatNames.str();
  if (format->element == qnt::ElementFormat::Int)
    return "";
  std::string flag = "--format=" + weightFormat;
  if (format->isBlockFormat() && group.getNumOccurrences() &&
      group != format->blockSize)
    return flag + " has blocks of " + std::to_string(format->blockSize) +
           " weights; --group=" + std::to_string(group) + " does not fit it";
  if (format->isBlockFormat() && scaleType.getNumOccurrences() &&
      scaleType != "f32")
    return flag + " has " + qnt::scaleFormatName(format->blockScale).str() +
           " block scales; --scale-type=" + scaleType + " does not fit it";
  if (bits == "none")
    return flag + " quantizes weights; it does not go with --bits=none";
  if (asymmetric)
    return flag + " is symmetric only; --asymmetric needs --format=int";
  if (method != "rtn")
    return flag + " rounds to nearest; --method=" + method +
           " needs --format=int";
  if (!budget.empty())
    return flag + " gives every layer one format; --budget chooses per "
                  "layer among --budget-formats (int by default) and needs "
                  "--format=int";
  return "";
}

/// Checks the options before any work, fills `plan` and `gpu` (for
/// --target=cuda); 0, or the exit code after the error is printed.
static int checkOptions(Plan &plan, qnt::GpuPipelineOptions &gpu) {
  if (calibrateTarget.empty() && (inputFile.empty() || outputFile.empty()))
    return fail("expected a model and -o FILE (or --calibrate-target=FILE)");
  plan.kind = emitKind();
  if (!llvm::is_contained({"mlir", "llvm", "asm", "obj", "so"}, plan.kind))
    return fail("--emit=" + plan.kind +
                " is not one of mlir, llvm, asm, obj, so");
  if (target != "host" && target != "cuda")
    return fail("--target=" + target +
                " is not supported; available targets: host, cuda");
  plan.cuda = target == "cuda";
  if (plan.cuda) {
    gpu.chip = chip;
    gpu.format = plan.kind == "asm" ? std::string("ptx") : gpuFormat;
    if (std::string error = qnt::checkGpuPipelineOptions(gpu, "");
        !error.empty())
      return fail("--target=cuda: " + error);
    if (threads.getNumOccurrences() && threads)
      return fail("--parallel splits work across host threads; it does not "
                  "apply to --target=cuda");
    threads = false;
    if (activations.getNumOccurrences() && activations != "f32")
      return fail("--activations=" + activations +
                  " selects the host CPU kernels; it does not apply to "
                  "--target=cuda");
  } else if (chip.getNumOccurrences() || gpuFormat.getNumOccurrences()) {
    return fail("--chip and --gpu-format need --target=cuda");
  }
  if (bits != "none" && (StringRef(bits).getAsInteger(10, plan.codeBits) ||
                         qnt::findInvalidSchemeParameter({plan.codeBits})))
    return fail("--bits=" + bits + " must be 1 to 8, or none");
  qnt::SchemeOptionNames flags{"--bits", "--group", "--scale-type"};
  if (std::string e = qnt::checkSchemeOptions("", {std::nullopt, group}, flags);
      !e.empty())
    return fail(e + " (0: one scale per channel)");
  if (std::string e = qnt::kCostBatchRange.check("", "--cost-batch", costBatch);
      !e.empty())
    return fail(e);
  if (std::string e = qnt::checkSchemeOptions(
          "", {std::nullopt, std::nullopt, StringRef(scaleType)}, flags);
      !e.empty())
    return fail(e);
  if (qnt::findInvalidSchemeParameter({embeddingBits}))
    return fail("--embedding-bits=" + std::to_string(embeddingBits) +
                " must be 1 to 8");
  if (!llvm::is_contained({"auto", "f32", "f16", "i8", "i4"}, kvCache))
    return fail("--kv-cache=" + kvCache +
                " must be auto, f32, f16, i8 or i4");
  kvCache = qnt::resolveKvCache(kvCache, bits != "none" || !budget.empty())
                .str();
  if (!qnt::isValidCacheBlock(kvBlock))
    return fail("--kv-block=" + std::to_string(kvBlock) +
                " must be a power of two from 8 to 256");
  if (!qnt::isValidCacheWindow(kvWindow, kvBlock))
    return fail("--kv-window=" + std::to_string(kvWindow) +
                " must be a multiple of --kv-block=" +
                std::to_string(kvBlock) + " from one block to 4096");
  if (kvContext < 0 || kvContext > (int64_t(1) << 24))
    return fail("--kv-context=" + std::to_string(kvContext) +
                " must be 0 to 16777216 positions");
  if (kvContext && !StringRef(budget).starts_with("bytes:"))
    return fail("--kv-context counts the KV cache in a --budget=bytes:N; "
                "add one or drop it");
  if (!llvm::is_contained({"auto", "f32", "i8"}, activations))
    return fail("--activations=" + activations + " must be auto, f32 or i8");
  // The CPU first: a bad --cpu is reported before any work, and it decides
  // what --activations=auto means.
  if (!plan.cuda) {
    std::string error;
    std::unique_ptr<llvm::TargetMachine> machine =
        qnt::createHostTargetMachine(cpu, error);
    if (!machine)
      return fail(error);
    resolvedActivations =
        activations == "auto"
            ? qnt::defaultActivations(qnt::hostIntDot(*machine)).str()
            : std::string(activations);
  }
  if (!qnt::isValidActivationBlock(actBlock))
    return fail("--act-block=" + std::to_string(actBlock) +
                " must be 0 (per layer), 32, 64, 128 or 256");
  if (actBlock.getNumOccurrences() && resolvedActivations != "i8")
    return fail("--act-block sets the x blocks of --activations=i8; add "
                "--activations=i8 or drop it");
  if (!calibrate.empty() && !calibrationStats.empty())
    return fail("--calibrate and --calibration-stats both give calibration "
                "statistics; use one");
  if (!llvm::is_contained({"rtn", "gptq", "awq", "awq-gptq"}, method))
    return fail("--method=" + method + " must be rtn, gptq, awq or awq-gptq");
  plan.gptq = method == "gptq" || method == "awq-gptq";
  plan.awq = method == "awq" || method == "awq-gptq";
  if (std::string e = checkFormatFlag(plan); !e.empty())
    return fail(e);
  bool gptq = plan.gptq, awq = plan.awq;
  if ((gptq || awq) && calibrate.empty())
    return fail("--method=" + method +
                " needs --calibrate (the layers' Hessians come from running "
                "the float model over calibration tokens)");
  if ((gptq || awq) && bits == "none" && budget.empty())
    return fail("--method=" + method +
                " rounds the weights that --bits=N or --budget quantize; "
                "with --bits=none nothing is quantized");
  if (awq && !budget.empty())
    return fail("--method=" + method +
                " scales the weights for one scheme (--bits, --group); with "
                "--budget use --method=rtn or gptq");
  if (!gptq && (actOrder.getNumOccurrences() ||
                gptqDampening.getNumOccurrences()))
    return fail("--act-order and --gptq-dampening need --method=gptq");
  if (!(gptqDampening >= 0 && gptqDampening <= 1))
    return fail("--gptq-dampening=" + std::to_string(gptqDampening) +
                " must be 0 to 1");
  qnt::SampleOptions sampling;
  std::string sampleError;
  bool sampled = qnt::parseSampleSpec(calibrate, sampling, sampleError);
  if (!sampleError.empty())
    return fail(sampleError);
  if (calibrationSeed.getNumOccurrences() && !sampled)
    return fail("--calibration-seed seeds --calibrate=sample:N[:LEN]");
  if (calibrate.empty() && !calibrationTokensOut.empty())
    return fail("--calibration-tokens-out needs --calibrate");
  if (calibrate.empty() && !hessiansOut.empty())
    return fail("--hessians-out needs --calibrate");
  plan.measureOutputs = !calibrate.empty() && !budget.empty() && outputAware;
  bool measureOutputs = plan.measureOutputs;
  if (!sensitivitiesOut.empty() && !measureOutputs)
    return fail("--sensitivities-out keeps the output-aware sensitivities of "
                "--calibrate with --budget");
  if (measureOutputs && !sensitivityFile.empty())
    return fail("--calibrate with --budget measures the sensitivities that "
                "--sensitivities gives; use one (or --output-aware=false)");
  if (!(outputAwareLimit >= 0 && outputAwareLimit <= 1e30))
    return fail("--output-aware-limit=" + std::to_string(outputAwareLimit) +
                " must be 0 to 1e30");
  if (!(searchSeconds >= 0 && searchSeconds <= 86400))
    return fail("--search-seconds=" + std::to_string(searchSeconds) +
                " must be 0 to 86400");
  if (!calibrate.empty() && budget.empty() && calibrationStatsOut.empty() &&
      !gptq && !awq && calibrationTokensOut.empty() && hessiansOut.empty())
    return fail("--calibrate collects statistics for --budget, --method=gptq "
                "or --calibration-stats-out; with none of them they would be "
                "unused");
  if (calibrate.empty() && !calibrationStatsOut.empty())
    return fail("--calibration-stats-out needs --calibrate");
  if (budget.empty() && (!report.empty() || !pareto.empty()))
    return fail("--report and --pareto describe the choices of --budget");
  if (!budget.empty())
    if (std::string e = qnt::checkAssignBitwidthsOptions(
            budget, costBatch, {}, scaleType, "",
            std::vector<std::string>(budgetFormats.begin(),
                                     budgetFormats.end()));
        !e.empty())
      return fail("--budget=" + budget + ": " + e);
  if (budget.empty() && budgetFormats.getNumOccurrences())
    return fail("--budget-formats names the formats --budget chooses among; "
                "add --budget");
  if (budgetFormats.getNumOccurrences() && !calibrate.empty())
    return fail("--budget-formats works with the cost model's own "
                "sensitivities; --calibrate measures integer candidates only");

  return 0;
}

/// What the calibration (--calibrate) leaves for the quantization: the
/// files it wrote (removed at exit when temporary), the session that runs
/// the float model (for the measured search), the candidates' quantizer.
struct Calibration {
  std::string statsFile, hessianFile, measuredSensitivities, scaledHessianFile;
  std::optional<llvm::FileRemover> removeStats, removeHessians,
      removeSensitivities, removeScaledHessians;
  std::unique_ptr<qnt::CalibrationSession> session;
  qnt::CandidateQuantizer candidateQuantizer;
  /// The Hessians of --method=gptq, formed from the recorded inputs.
  qnt::HessianSource hessians;
};

/// Runs the float `module` over the calibration tokens (--calibrate), before
/// anything changes it, into `cal`; 0, or the exit code after an error.
static int calibrateModel(ModuleOp module, Plan &plan, Progress &progress,
                          Calibration &cal) {
  std::string &statsFile = cal.statsFile;
  std::string &hessianFile = cal.hessianFile;
  std::string &measuredSensitivities = cal.measuredSensitivities;
  std::unique_ptr<qnt::CalibrationSession> &session = cal.session;
  qnt::CandidateQuantizer &candidateQuantizer = cal.candidateQuantizer;
  statsFile = calibrationStats;
  measuredSensitivities = sensitivityFile;
  if (!calibrate.empty()) {
    statsFile = calibrationStatsOut;
    if (statsFile.empty()) {
      SmallString<128> temporary;
      if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
              "quant-compile-calibration", "txt", temporary))
        return fail("cannot create a temporary statistics file: " +
                    ec.message());
      statsFile = std::string(temporary);
      cal.removeStats.emplace(temporary);
    }
    auto temporary = [&](StringRef what, std::string &path,
                         std::optional<llvm::FileRemover> &remover) {
      SmallString<128> file;
      if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
              "quant-compile-" + what, "txt", file))
        return fail("cannot create a temporary " + what + " file: " +
                    ec.message());
      path = std::string(file);
      remover.emplace(file);
      return 0;
    };
    qnt::CalibrationRequest request;
    request.spec = calibrate;
    request.seed = calibrationSeed;
    request.entry = calibrationEntry;
    request.statsPath = statsFile;
    request.tokensOut = calibrationTokensOut;
    request.outputAware = plan.measureOutputs;
    request.releaseInput = releaseInputPages;
    request.exactWorkLimit = outputAwareLimit;
    request.hessians = plan.gptq || plan.awq || !hessiansOut.empty();
    // GPTQ alone takes the Hessians in memory; AWQ reads them from a file.
    if (!hessiansOut.empty())
      hessianFile = hessiansOut;
    else if (plan.awq && temporary("hessians", hessianFile, cal.removeHessians))
      return 1;
    request.hessianPath = hessianFile;
    std::string calibrationError;
    session = qnt::CalibrationSession::create(
        module, request,
        [&](ModuleOp instrumented, StringRef library) {
          std::string e;
          std::unique_ptr<qnt::OutputFile> out =
              qnt::OutputFile::create(library, e);
          if (!out)
            return fail(e), false;
          return lowerAndEmit(instrumented, "so", *out, nullptr, progress,
                              "calibration: ") == 0;
        },
        [&](const Twine &line) { progress.step(line); }, calibrationError);
    if (!session)
      return calibrationError.empty() ? 1 : fail(calibrationError);
    if (plan.gptq && !plan.awq)
      cal.hessians = session->hessianSource();
    using Outputs = qnt::CalibrationSession::Outputs;
    Outputs outputs = session->outputs();
    candidateQuantizer.scaleFormat = *qnt::parseScaleFormat(scaleType);
    candidateQuantizer.gptq = plan.gptq;
    candidateQuantizer.gptqOptions.dampening = gptqDampening;
    candidateQuantizer.gptqOptions.activationOrder = actOrder;
    if (outputs != Outputs::None) {
      measuredSensitivities = sensitivitiesOut;
      if (measuredSensitivities.empty() &&
          temporary("sensitivities", measuredSensitivities,
                    cal.removeSensitivities))
        return 1;
      auto line = [&](const Twine &text) { progress.step(text); };
      if (std::string e = outputs == Outputs::Measured
                              ? qnt::measureOutputSensitivities(
                                    *session, candidateQuantizer,
                                    measuredSensitivities, line)
                              : qnt::estimateOutputSensitivities(
                                    *session, candidateQuantizer,
                                    measuredSensitivities, line);
          !e.empty())
        return fail("calibration: " + e);
    }
    // The measured search runs where every sensitivity was measured; an
    // estimate's assignment is the cost model's.
    plan.measureOutputs = outputs == Outputs::Measured;
  }

  return 0;
}

/// Quantizes, fuses and chooses the kernels of `module` (AWQ scaling and
/// the measured search first, where asked); 0, or the exit code after an
/// error.
static int quantizeModel(ModuleOp module, const Plan &plan, Calibration &cal,
                         Progress &progress) {
  MLIRContext &context = *module.getContext();
  bool gptq = plan.gptq, awq = plan.awq;
  std::string &hessianFile = cal.hessianFile,
              &scaledHessianFile = cal.scaledHessianFile;
  std::unique_ptr<qnt::CalibrationSession> &session = cal.session;
  // Quantize, fuse and choose the kernels: qnt-tensor-pipeline, with the
  // options of the same names (quant-opt --qnt-set-target=cpu=C
  // --qnt-tensor-pipeline="..." writes the same IR as --emit=mlir).
  qnt::TensorPipelineOptions tensor;
  tensor.requantize = requantize;
  tensor.scaleType = scaleType;
  tensor.kvCache = kvCache;
  tensor.kvBlock = kvBlock;
  tensor.kvWindow = kvWindow;
  if (!budget.empty()) {
    if (resolvedActivations == "i8" &&
        StringRef(budget).starts_with("latency-us:"))
      llvm::errs() << "quant-compile: warning: the cost model predicts the "
                      "times of the f32-activation kernels; with "
                      "--activations=i8 the GEMVs run 1.7-2.9x faster than it "
                      "says (docs/PERFORMANCE.md), so --budget=" << budget
                   << " is met with room to spare\n";
    tensor.budget = budget;
    tensor.budgetFormats =
        std::vector<std::string>(budgetFormats.begin(), budgetFormats.end());
    tensor.report = report;
    tensor.reportTable = !quiet;
    tensor.pareto = pareto;
    tensor.costTarget = costTarget;
    tensor.costBatch = costBatch;
    tensor.calibrationStats = cal.statsFile;
    tensor.sensitivities = cal.measuredSensitivities;
    tensor.kvContext = kvContext;
    progress.step("choosing schemes under --budget=" + budget);
    if (plan.measureOutputs) {
      // The choice is measured (and searched) before the weights change:
      // qnt-assign-bitwidths alone first, the pipeline then without it.
      PassManager assignPm(&context);
      assignPm.addPass(qnt::createQntAssignBitwidthsPass(
          qnt::assignBitwidthsOptions(tensor)));
      if (failed(assignPm.run(module)))
        return 1;
      if (std::string e = qnt::refineAssignment(
              module, *session, cal.candidateQuantizer, budget,
              scaleType == "f32" ? 32 : 16, searchSeconds, report,
              [&](const Twine &line) { progress.step(line); }, quiet);
          !e.empty())
        return fail("calibration: " + e);
      tensor.budget = "";
    }
  }
  session = nullptr; // the calibration library is no longer needed
  if (awq) {
    qnt::QntScaleInputChannelsPassOptions options;
    options.hessians = hessianFile;
    options.bits = plan.codeBits;
    options.groupSize = group;
    options.symmetric = !asymmetric;
    options.scaleType = scaleType;
    options.verbose = !quiet;
    if (gptq) {
      // GPTQ then rounds the scaled weights with the scaled inputs' H.
      SmallString<128> file;
      if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
              "quant-compile-scaled-hessians", "txt", file))
        return fail("cannot create a temporary Hessian file: " + ec.message());
      cal.removeScaledHessians.emplace(file);
      options.hessiansOut = std::string(file);
      scaledHessianFile = std::string(file);
    }
    // Its own run: qnt-quantize-weights reads the scaled Hessians when the
    // pipeline starts.
    progress.step("scaling input channels (AWQ) for int" + bits);
    PassManager awqPm(&context);
    awqPm.addPass(qnt::createQntScaleInputChannelsPass(options));
    if (failed(awqPm.run(module)))
      return 1;
  }
  tensor.bits = bits;
  tensor.format = weightFormat;
  // mxfp4 and nvfp4 fix the group (checkFormatFlag: --group agrees).
  int64_t weightGroup = group;
  if (std::optional<qnt::WeightFormat> f = qnt::parseWeightFormat(weightFormat);
      f && f->isBlockFormat())
    weightGroup = f->blockSize;
  if (bits != "none") {
    tensor.group = weightGroup;
    tensor.asymmetric = asymmetric;
    tensor.skip = std::vector<std::string>(skip.begin(), skip.end());
    tensor.only = std::vector<std::string>(only.begin(), only.end());
    tensor.quantizeEmbedding = quantizeEmbedding;
    tensor.embeddingBits = embeddingBits;
    tensor.method = gptq ? "gptq" : "rtn";
    tensor.hessians = gptq && awq ? scaledHessianFile : std::string();
    if (gptq && !awq)
      tensor.hessianSource = cal.hessians;
    tensor.actOrder = actOrder;
    tensor.gptqDampening = gptqDampening;
    progress.step(
        (!budget.empty()
             ? std::string("quantizing weights with the chosen schemes")
             : "quantizing weights: " +
                   (weightFormat == "int" ? "int" + bits
                                          : std::string(weightFormat)) +
                   ", " +
                   (weightGroup == 0
                        ? std::string("one scale per channel")
                        : "groups of " + std::to_string(weightGroup)) +
                   (asymmetric ? ", asymmetric" : ", symmetric")) +
        (gptq ? ", GPTQ rounding" : "") + (awq ? ", AWQ scales" : ""));
  }
  if (kvCache != "f32")
    progress.step("KV cache rows: " + kvCache);
  // The kernels are chosen for the module's target: --cpu's #qnt.target
  // (docs/COMPILING.md, "Kernel selection") or --chip's #qnt.gpu_target.
  tensor.progress = [&](const std::string &line) { progress.step(line); };
  tensor.activations = resolvedActivations;
  tensor.actBlock = actBlock;
  tensor.parallel = threads;
  // qnt-tensor-pipeline in two runs: qnt-select-kernels, which makes the
  // kernels' copies of the weights, runs after the input file's pages (the
  // float weights, which nothing reads any more) are given back, so the
  // copies do not add to them (1.1B int4: 5.8 GB peak in one run).
  tensor.selectKernels = false;
  PassManager quantizePm(&context);
  qnt::buildTensorPipeline(quantizePm, tensor);
  if (failed(quantizePm.run(module)))
    return 1;
  if (bits != "none")
    releaseInputPages();
  PassManager selectPm(&context);
  selectPm.addPass(
      qnt::createQntSelectKernelsPass(qnt::selectKernelsOptions(tensor)));
  return failed(selectPm.run(module)) ? 1 : 0;
}

/// The input model: a checkpoint imported as quant-import would (its files
/// stay mapped in `checkpoint` while the module points into them), or MLIR
/// text or bytecode parsed through `sourceMgr` (resource blobs, the
/// weights, point into the mapped file). Null after an error.
static OwningOpRef<ModuleOp>
loadModel(MLIRContext &context,
          const std::shared_ptr<llvm::SourceMgr> &sourceMgr,
          qnt::CheckpointData &checkpoint, Progress &progress) {
  std::string error;
  OwningOpRef<ModuleOp> module;
  StringRef extension = llvm::sys::path::extension(inputFile);
  const qnt::CheckpointFormat *format =
      extension == ".mlir" || extension == ".mlirbc"
          ? nullptr
          : qnt::detectCheckpointFormat(inputFile);
  if (format) {
    qnt::TransformerConfig config;
    qnt::TransformerWeights weights;
    if (std::string e = qnt::readCheckpoint(*format, inputFile, checkpoint,
                                            config, weights);
        !e.empty())
      return fail(inputFile + ": " + e), nullptr;
    progress.step("imported " + inputFile + " (" + format->name + ", " +
                  llvm::formatv("{0:f1}", checkpoint.fileBytes() / 1048576.0)
                      .str() +
                  " MiB)");
    return qnt::buildTransformer(&context, config, weights, inputFile);
  } else {
    std::unique_ptr<llvm::MemoryBuffer> input =
        openInputFile(inputFile, &error);
    if (!input)
      return fail(error), nullptr;
    progress.step(
        "reading " + inputFile + " (" +
        llvm::formatv("{0:f1}", input->getBufferSize() / 1048576.0).str() +
        " MiB)");
    inputBuffer = input.get();
    sourceMgr->AddNewSourceBuffer(std::move(input), SMLoc());
    return parseSourceFile<ModuleOp>(sourceMgr, &context);
  }
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "quant-compile: quantize the weights of a model and compile it ahead of "
      "time\n\n  quant-compile model.mlir -o libmodel.so [--bits=4 "
      "--group=128] [--emit=mlir|llvm|asm|obj|so] [--header=model.h]\n"
      "  quant-compile model.mlir -o libmodel.so --target=cuda --chip=sm_90 "
      "--bits=none\n");
  Progress progress;

  // Check the options before doing any work.
  Plan plan;
  qnt::GpuPipelineOptions gpu;
  if (int rc = checkOptions(plan, gpu))
    return rc;
  bool cuda = plan.cuda;
  const std::string &kind = plan.kind;

  // The outputs next, before any work: an unwritable one is found now, not
  // after the compile. Each is written to a temporary file beside it and
  // renamed when complete, so a failed run leaves none half-written.
  std::string outputError;
  std::unique_ptr<qnt::OutputFile> output, headerOutput;
  if (calibrateTarget.empty()) {
    output = qnt::OutputFile::create(outputFile, outputError);
    if (!output)
      return fail(outputError);
    if (!header.empty() &&
        !(headerOutput = qnt::OutputFile::create(header, outputError)))
      return fail(outputError);
  }
  // Written later by the passes and the calibration; tried now.
  for (const std::string &path :
       {report.getValue(), pareto.getValue(), calibrationStatsOut.getValue(),
        calibrationTokensOut.getValue(), sensitivitiesOut.getValue(),
        hessiansOut.getValue()})
    if (!path.empty() && !qnt::OutputFile::create(path, outputError))
      return fail(outputError);
  if (requantize && bits == "none" && budget.empty())
    return fail("--requantize quantizes again under --bits=N or --budget; "
                "with --bits=none nothing is quantized");

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<qnt::QntDialect>();
  qnt::registerGpuPipelineTranslations(registry);
  registerAllPasses();
  MLIRContext context(registry);
  // Diagnostics name the location; dumping the whole model with them would
  // bury the message.
  context.printOpOnDiagnostic(false);

  if (!calibrateTarget.empty()) {
    // Open the output first: measuring takes half a minute.
    std::string text, openError;
    std::unique_ptr<qnt::OutputFile> out =
        qnt::OutputFile::create(calibrateTarget, openError);
    if (!out)
      return fail(openError);
    if (std::string e = qnt::calibrateHostTarget(
            context, cpu, quiet ? llvm::nulls() : llvm::errs(), text);
        !e.empty())
      return fail("--calibrate-target: " + e);
    out->os() << text;
    if (std::string e = out->commit(); !e.empty())
      return fail(e);
    return 0;
  }

  // Shared, so the bytecode reader can point resource blobs (the weights)
  // into the mapped input file instead of copying them onto the heap: a
  // 1-billion-parameter model would otherwise be in memory twice.
  auto sourceMgr = std::make_shared<llvm::SourceMgr>();
  SourceMgrDiagnosticHandler diagnostics(*sourceMgr, &context);
  qnt::CheckpointData checkpoint;
  OwningOpRef<ModuleOp> module =
      loadModel(context, sourceMgr, checkpoint, progress);
  if (!module)
    return 1;
  // The CPU the kernels are for, once: the calibration's copy of the model
  // and the quantized model carry it (qnt-select-kernels reads it).
  if (!cuda) {
    std::string error;
    std::unique_ptr<llvm::TargetMachine> machine =
        qnt::createHostTargetMachine(cpu, error);
    if (!machine)
      return fail(error);
    (*module)->setAttr(qnt::kTargetAttrName,
                       qnt::hostTarget(&context, *machine));
  }
  // A library with no entry point is a mistake (an empty or wrong file),
  // not a result.
  if (llvm::none_of(module->getOps<func::FuncOp>(), [](func::FuncOp f) {
        return f.isPublic() && !f.isExternal();
      }))
    return fail("'" + inputFile +
                "' defines no public function with a body: there is nothing "
                "to compile");

  // Calibration statistics from the float model, before anything changes it.
  Calibration cal;
  if (int rc = calibrateModel(*module, plan, progress, cal))
    return rc;

  // The GPU the kernels are for (after the calibration, which compiles for
  // the host).
  if (cuda) {
    // The attribute needs its dialect, which a float module has not loaded.
    context.getOrLoadDialect<qnt::QntDialect>();
    (*module)->setAttr(qnt::kTargetAttrName,
                       qnt::GpuTargetAttr::get(&context, gpu.chip));
  }
  // Quantize, fuse and choose the kernels (qnt-tensor-pipeline).
  if (int rc = quantizeModel(*module, plan, cal, progress))
    return rc;
  if (kind == "mlir") {
    // The tensor-level IR with the decisions of the lowering: the target
    // and every op's kernel (quant-opt --qnt-cpu-pipeline or
    // --qnt-gpu-pipeline builds exactly those).
    // A blank line at the end, as mlir-opt and quant-opt write it.
    module->print(output->os());
    output->os() << "\n";
    if (std::string e = output->commit(); !e.empty())
      return fail(e);
    progress.step("wrote " + outputFile);
    return 0;
  }

  return lowerAndEmit(*module, kind, *output, headerOutput.get(), progress, "",
                      cuda ? &gpu : nullptr);
}
