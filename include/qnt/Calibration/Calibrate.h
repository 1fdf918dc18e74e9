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
#include <functional>
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
  /// Where to write the E[x^2] statistics (docs/CALIBRATION.md).
  std::string statsPath;
  /// Record every layer's input rows, for the Hessians sum x x^T of GPTQ
  /// and AWQ (hessianSource, CalibrationLayer::hessian, hessianPath).
  bool hessians = false;
  /// Where to write the layers' Hessians ("": not written; needs hessians).
  std::string hessianPath;
  /// Where to write the calibration tokens ("": not written).
  std::string tokensOut;
  /// Called once the float weights are in the library's buffers, and now
  /// and then while they are read again in place: quant-compile gives the
  /// input file's pages back (they stay readable; a later read maps them
  /// again).
  std::function<void()> releaseInput;
  /// Keep the float model's logits and the float weights, for measuring
  /// how quantized weights change the output (CalibrationSession::outputs).
  bool outputAware = false;
  /// The most work (multiply-adds of the float model: (layer, scheme) pairs
  /// x calibration tokens x the linear layers' weights) that measuring
  /// every pair may take; above it the sensitivities are estimated
  /// (estimateOutputSensitivities). The default is about an hour on 2 cores.
  double exactWorkLimit = 1e13;
};

/// One linear layer of the model, in the order of findConstantLinearLayers.
struct CalibrationLayer {
  std::string name;
  int64_t n = 0, k = 0;
  bool weightIsKN = false;
  std::vector<float> owned;    // the weight rows when not read in place
  const float *rows = nullptr; // float weight [N, K]
  /// sum x x^T, with hessians and measured outputs (for the candidates of
  /// GPTQ), else null.
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
  /// How the output-aware sensitivities are had: not at all (not asked
  /// for), measured for every (layer, scheme) pair, or estimated (when
  /// measuring them all is above CalibrationRequest::exactWorkLimit).
  enum class Outputs { None, Measured, Estimated };
  Outputs outputs() const { return outputMode; }
  /// The layers' Hessians by name, formed from the recorded inputs when
  /// asked (the last one kept for layers sharing it); it keeps the inputs
  /// alive after the session ends.
  HessianSource hessianSource() const;

  /// Mean KL(float model || model with the weights now in the buffers) over
  /// the measured calibration positions (measuredTokens(): all of them,
  /// or the first samples when estimating; outputs() not None), run by
  /// `worker`.
  std::string measureKL(double &kl, size_t worker = 0);
  int64_t measuredTokens() const { return measuredPositions; }
  /// Gives the input file's pages back (CalibrationRequest::releaseInput).
  void releaseInput() const {
    if (releaseInputPages)
      releaseInputPages();
  }
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
  Outputs outputMode = Outputs::None;
  /// measureKL runs the first measuredSamples samples.
  size_t measuredSamples = 0;
  int64_t measuredPositions = 0;
  std::function<void()> releaseInputPages;
};

/// How output-aware measurements quantize a candidate.
struct CandidateQuantizer {
  ScaleFormat scaleFormat = ScaleFormat::F32;
  bool gptq = false;
  GptqOptions gptqOptions;
  /// Dequantized [N, K] weight of `layer` under `scheme` into `out`.
  std::string dequantize(const CalibrationLayer &layer,
                         const CandidateScheme &scheme,
                         std::vector<float> &out) const;
  /// The codes and scales of `layer` under `scheme` (round to nearest when
  /// `nearest`, else as `gptq` says).
  std::string quantize(const CalibrationLayer &layer,
                       const CandidateScheme &scheme, bool nearest,
                       QuantizedMatrix &out) const;
};

/// For every layer and every candidate of the cost model that fits it, the
/// mean KL of the output over the calibration tokens with only that layer
/// quantized, written as the sensitivities file qnt-assign-bitwidths reads
/// ('NAME BITS:GROUP VALUE').
std::string measureOutputSensitivities(CalibrationSession &session,
                                       const CandidateQuantizer &quantizer,
                                       const std::string &path,
                                       function_ref<void(const Twine &)> progress);

/// Output-aware sensitivities estimated with a few model runs, for models
/// where measuring every (layer, scheme) pair is too much work: each
/// layer's output error under each candidate, the sum over output rows of
/// E[(dW x)^2] with the calibration E[x^2] (round to nearest, as the cost
/// model's statistics proxy; at most 512 evenly spaced rows, scaled), times
/// a gain a_role x b_band. Roles group the layers whose names differ only
/// in numbers between dots (`layers.N.w1` for every N), bands the blocks of
/// depth (the first number of the name, at most 6 bands). Each role and
/// each band is measured once: the KL over the measured tokens (the first
/// samples, 64 tokens or more) with all its layers at int4 in groups of 32
/// (per channel where 32 does not divide K); a and b are fitted so that
/// every group's summed gain x error equals its KL. Written as
/// measureOutputSensitivities writes. The statistics proxy alone misses how
/// differently the layers' errors reach the logits (docs/ACCURACY.md).
std::string estimateOutputSensitivities(
    CalibrationSession &session, const CandidateQuantizer &quantizer,
    const std::string &path, function_ref<void(const Twine &)> progress);

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
