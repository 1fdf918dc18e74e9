// quant-compile --calibrate: running the float model over calibration tokens
// (a token file, or sequences sampled from the model itself) for statistics
// of every linear layer's input, the Hessians GPTQ needs, and output-aware
// sensitivities measured by swapping quantized weights into the compiled
// float model.
#ifndef QNT_CALIBRATION_CALIBRATE_H
#define QNT_CALIBRATION_CALIBRATE_H

#include "mlir/IR/BuiltinOps.h"
#include "qnt/CostModel/Assignment.h"
#include "qnt/Runner/Calibration.h"
#include "qnt/Runner/ModelLibrary.h"
#include "qnt/Support/Gptq.h"
#include "qnt/Support/Quantizer.h"
#include <map>
#include <memory>
#include <string>

namespace mlir::qnt {

struct CalibrationRequest {
  /// A token file, or sample:N[:LEN].
  std::string spec;
  /// Seed of sample:.
  uint64_t seed = 0;
  /// The step function to run (the quant-run ABI).
  std::string entry = "forward";
  /// Where to write the E[x^2] statistics (docs/COST_MODEL.md).
  std::string statsPath;
  /// Record every layer's input rows, for the Hessians sum x x^T of GPTQ
  /// and AWQ (hessianSource, CalibrationLayer::hessian, hessianPath).
  bool hessians = false;
  /// Where to write the layers' Hessians ("": not written; needs hessians).
  std::string hessianPath;
  /// Where to write the calibration tokens ("": not written).
  std::string tokensOut;
  /// Keep the float model's logits and the float weights, for measuring
  /// how quantized weights change the output, where that is affordable
  /// (CalibrationSession::measuresOutputs).
  bool outputAware = false;
};

/// One linear layer of the model, in the order of findConstantLinearLayers.
struct CalibrationLayer {
  std::string name;
  int64_t n = 0, k = 0;
  bool weightIsKN = false;
  std::vector<float> owned;    // the weight rows when not read in place
  const float *rows = nullptr; // float weight [N, K]
  /// sum x x^T, with hessians and outputAware (for the candidates of GPTQ),
  /// else null.
  std::shared_ptr<const std::vector<double>> hessian;
  /// Output-aware sensitivities: "BITS:GROUP[:asym]" -> mean KL.
  std::map<std::string, double> sensitivity;
};

/// A compiled, instrumented float model and what running it found.
class CalibrationSession {
public:
  /// Instruments a copy of `module` (left unchanged), compiles it with
  /// `compileLibrary(module, path)` (true on success; it reports its own
  /// errors), runs it over the calibration tokens and writes the files the
  /// request names. Returns null with `error` set (empty when
  /// compileLibrary already reported it).
  static std::unique_ptr<CalibrationSession>
  create(ModuleOp module, const CalibrationRequest &request,
         function_ref<bool(ModuleOp, StringRef)> compileLibrary,
         function_ref<void(const Twine &)> progress, std::string &error);
  ~CalibrationSession();

  std::vector<CalibrationLayer> layers;
  std::vector<LayerStatistics> stats;
  int64_t tokens() const { return positions; }
  /// Whether output-aware measurements run: asked for, and their predicted
  /// work (kOutputAwareWorkLimit) affordable.
  bool measuresOutputs() const { return outputAware; }
  /// The layers' Hessians by name, formed from the recorded inputs when
  /// asked (the last one kept for layers sharing it); it keeps the inputs
  /// alive after the session ends.
  HessianSource hessianSource() const;

  /// Mean KL(float model || model with the weights now in the buffers) over
  /// every calibration position (outputAware only), run by `worker`.
  std::string measureKL(double &kl, size_t worker = 0);
  /// Puts `rowsNK` ([N, K]) into layer `i`'s buffer of `worker`.
  void setWeight(size_t i, const float *rowsNK, size_t worker = 0);
  /// Puts the float weight back.
  void restoreWeight(size_t i, size_t worker = 0) {
    setWeight(i, layers[i].rows, worker);
  }
  /// Threads of the calling thread's OpenMP calls into the libraries (0:
  /// every core); false if the library is not parallel.
  bool setThreads(int threads) {
    return workers[0].model->setThreads(threads ? threads : defaultThreads());
  }
  /// Loads copies of the library until there are `count` workers, each
  /// with its own weight buffers and state, so that several threads can
  /// measure at once. Returns "" or the problem.
  std::string addWorkers(size_t count);
  size_t workerCount() const { return workers.size(); }
  static int defaultThreads();

private:
  CalibrationSession() = default;
  struct Worker {
    std::unique_ptr<ModelLibrary> model;
    std::vector<float *> buffers; // per layer, in the operand's layout
    std::string path;             // the library file, removed at the end
  };
  std::string loadWorker(const std::string &path, const std::string &entry);
  // The steps of create(); each returns "" or the error.
  /// The linear layers of `module` and (outputAware) copies of their float
  /// weights.
  std::string collectLayers(ModuleOp module, bool outputAware);
  /// Instruments a copy of `module` (recording up to `tokens` input rows per
  /// layer when the request wants Hessians), compiles it and loads it as
  /// worker 0; sets `reported` when compileLibrary reported its own error.
  std::string compileInstrumented(
      ModuleOp module, const CalibrationRequest &request, int64_t tokens,
      function_ref<bool(ModuleOp, StringRef)> compileLibrary,
      function_ref<void(const Twine &)> progress, bool &reported);
  /// Runs the float model over the token file, or samples from it, keeping
  /// its log-probabilities when `outputAware`, and reads the statistics.
  std::string runFloatModel(const CalibrationRequest &request, bool sample,
                            SampleOptions sampling,
                            function_ref<void(const Twine &)> progress);
  /// Writes the token, statistics and Hessian files of `request`.
  std::string writeFiles(const CalibrationRequest &request, bool sample,
                         function_ref<void(const Twine &)> progress);
  std::vector<Worker> workers;
  std::string entry;
  std::vector<TokenSample> samples;
  std::vector<double> referenceLogProbs; // [positions, vocabulary]
  int64_t positions = 0;
  bool outputAware = false;
};

/// The most work (multiply-adds of the float model: (layer, scheme) pairs x
/// calibration tokens x the linear layers' weights) that output-aware
/// sensitivities may take; above it (beyond about an hour on 2 cores)
/// quant-compile uses the calibration statistics instead.
inline constexpr double kOutputAwareWorkLimit = 1e13;

/// How output-aware measurements quantize a candidate.
struct CandidateQuantizer {
  ScaleFormat scaleFormat = ScaleFormat::F32;
  bool gptq = false;
  GptqOptions gptqOptions;
  /// Dequantized [N, K] weight of `layer` under `scheme` into `out`.
  std::string dequantize(const CalibrationLayer &layer,
                         const CandidateScheme &scheme,
                         std::vector<float> &out) const;
};

/// For every layer and every candidate of the cost model that fits it, the
/// mean KL of the output over the calibration tokens with only that layer
/// quantized, written as the sensitivities file qnt-assign-bitwidths reads
/// ('NAME BITS:GROUP VALUE').
std::string measureOutputSensitivities(CalibrationSession &session,
                                       const CandidateQuantizer &quantizer,
                                       const std::string &path,
                                       function_ref<void(const Twine &)> progress);

/// After qnt-assign-bitwidths annotated `module`: measures the KL of the
/// whole assignment, then (for avg-bits and bytes budgets, `searchSeconds` >
/// 0) tries swaps of two layers' schemes within the budget and keeps those
/// that lower the measured KL, re-annotating the layers. Prints the result,
/// and adds it to the JSON report of qnt-assign-bitwidths at `reportPath`
/// (if not empty): per layer "kl_alone" and "after_search" {scheme, bytes,
/// kl_alone}, and a "calibration" object with the predicted and measured KL
/// before and after the search.
std::string refineAssignment(ModuleOp module, CalibrationSession &session,
                             const CandidateQuantizer &quantizer,
                             StringRef budget, unsigned scaleBits,
                             double searchSeconds, StringRef reportPath,
                             function_ref<void(const Twine &)> progress,
                             bool quiet);

} // namespace mlir::qnt

#endif // QNT_CALIBRATION_CALIBRATE_H
