// qnt-tensor-pipeline: quant-compile's work on tensors, from a float (or
// imported quantized) model to quantized, fused IR with its kernels chosen
// (CPU or GPU, by the module's target); what `quant-compile --emit=mlir`
// writes.
#include "CheckedPipeline.h"
#include "qnt/Conversion/Passes.h"
#include "qnt/Pipelines/Pipelines.h"
#include "qnt/IR/QntAttrs.h"
#include "qnt/Transforms/Passes.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;

/// The code width of `bits` ("none": 0), or -1 when it is neither.
static int64_t codeBits(StringRef bits) {
  if (bits == "none")
    return 0;
  int64_t value;
  if (bits.getAsInteger(10, value) || !qnt::kCodeBitsRange.contains(value))
    return -1;
  return value;
}

StringRef qnt::resolveKvCache(StringRef kvCache, bool quantizedWeights) {
  if (kvCache != "auto")
    return kvCache;
  return quantizedWeights ? "f16" : "f32";
}

StringRef qnt::kvCacheFormat(const TensorPipelineOptions &options) {
  return resolveKvCache(options.kvCache,
                        codeBits(options.bits) > 0 || !options.budget.empty());
}

std::string qnt::checkTensorPipelineOptions(const TensorPipelineOptions &options,
                                            StringRef owner) {
  // The passes check the rest of their options before any of them runs.
  if (codeBits(options.bits) < 0)
    return (owner + " option bits=" + options.bits.getValue() +
            " must be 1 to 8, or none")
        .str();
  if (!llvm::is_contained({"auto", "f32", "f16", "i8", "i4"},
                          options.kvCache.getValue()))
    return (owner + " option kv-cache=" + options.kvCache.getValue() +
            " must be auto, f32, f16, i8 or i4")
        .str();
  if (!isValidCacheBlock(options.kvBlock))
    return (owner + " option kv-block=" + Twine(int64_t(options.kvBlock)) +
            " must be a power of two from 8 to 256")
        .str();
  if (!isValidCacheWindow(options.kvWindow, options.kvBlock))
    return (owner + " option kv-window=" + Twine(int64_t(options.kvWindow)) +
            " must be a multiple of kv-block=" +
            Twine(int64_t(options.kvBlock)) + " from one block to 4096")
        .str();
  if (!llvm::is_contained({"rtn", "gptq"}, options.method.getValue()))
    return (owner + " option method=" + options.method.getValue() +
            " must be rtn or gptq")
        .str();
  return "";
}

qnt::QntAssignBitwidthsPassOptions
qnt::assignBitwidthsOptions(const TensorPipelineOptions &options) {
  QntAssignBitwidthsPassOptions assign;
  assign.budget = options.budget;
  assign.formats.assign(options.budgetFormats.begin(),
                        options.budgetFormats.end());
  assign.report = options.report;
  assign.reportTable = options.reportTable;
  assign.pareto = options.pareto;
  assign.target = options.costTarget;
  assign.batch = options.costBatch;
  assign.scaleType = options.scaleType;
  assign.calibration = options.calibrationStats;
  assign.sensitivities = options.sensitivities;
  assign.kvCache = kvCacheFormat(options).str();
  assign.kvContext = options.kvContext;
  assign.kvBlock = options.kvBlock;
  assign.kvWindow = options.kvWindow;
  return assign;
}

void qnt::buildTensorPipeline(OpPassManager &pm,
                              const TensorPipelineOptions &options) {
  if (options.requantize) {
    QntFoldConstantCastsPassOptions fold;
    fold.dequantize = true;
    pm.addPass(createQntFoldConstantCastsPass(fold));
  }
  if (!options.budget.empty())
    pm.addPass(createQntAssignBitwidthsPass(assignBitwidthsOptions(options)));
  if (int64_t bits = codeBits(options.bits); bits > 0) {
    QntQuantizeWeightsPassOptions quantize;
    quantize.format = options.format;
    quantize.bits = bits;
    quantize.groupSize = options.group;
    // mxfp4 and nvfp4 fix the group; one given (another) is an error of
    // qnt-quantize-weights.
    if (std::optional<WeightFormat> f = parseWeightFormat(options.format);
        f && f->isBlockFormat() && !options.group.hasValue())
      quantize.groupSize = f->blockSize;
    quantize.symmetric = !options.asymmetric;
    quantize.scaleType = options.scaleType;
    quantize.skip.assign(options.skip.begin(), options.skip.end());
    quantize.only.assign(options.only.begin(), options.only.end());
    quantize.embedding = options.quantizeEmbedding;
    quantize.embeddingBits = options.embeddingBits;
    quantize.method = options.method;
    quantize.hessians = options.hessians;
    quantize.actOrder = options.actOrder;
    quantize.gptqDampening = options.gptqDampening;
    pm.addPass(options.hessianSource || options.progress
                   ? createQntQuantizeWeightsPass(
                         quantize, options.hessianSource, options.progress)
                   : createQntQuantizeWeightsPass(quantize));
  }
  pm.addPass(createQntFuseDequantMatmulPass());
  if (StringRef format = kvCacheFormat(options); format != "f32") {
    QntQuantizeKvCachePassOptions cache;
    cache.format = format.str();
    cache.block = options.kvBlock;
    cache.window = options.kvWindow;
    pm.addPass(createQntQuantizeKvCachePass(cache));
  }
  if (options.selectKernels)
    pm.addPass(createQntSelectKernelsPass(selectKernelsOptions(options)));
}

mlir::qnt::QntSelectKernelsPassOptions
qnt::selectKernelsOptions(const TensorPipelineOptions &options) {
  QntSelectKernelsPassOptions select;
  select.activations = options.activations;
  select.actBlock = options.actBlock;
  select.parallel = options.parallel;
  return select;
}

void qnt::registerTensorPipeline() {
  registerCheckedPipeline<TensorPipelineOptions>(
      "qnt-tensor-pipeline",
      "quant-compile's tensor-level work: choose schemes, quantize, fuse, "
      "quantize the KV cache, choose the kernels for the module's target "
      "(what quant-compile --emit=mlir writes)",
      checkTensorPipelineOptions, buildTensorPipeline);
}
