// Calibration statistics from running an instrumented model library
// (qnt-instrument-calibration, compiled by quant-compile) over token samples.
#ifndef QNT_RUNNER_CALIBRATION_H
#define QNT_RUNNER_CALIBRATION_H

#include "qnt/Runner/ModelLibrary.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/Twine.h"
#include <memory>
#include <string>
#include <vector>

namespace mlir::qnt {

/// One calibration sample: a line of the token file.
struct TokenSample {
  unsigned line = 0;
  std::vector<int64_t> tokens;
};

/// Reads a calibration token file: every line holding token ids (decimal,
/// separated by white space) is one sample; `#` starts a comment that runs to
/// the end of its line; blank lines are skipped. Returns "" or the problem as
/// "PATH:LINE: ..." (or "PATH: ..." for the whole file).
std::string readTokenFile(const std::string &path,
                          std::vector<TokenSample> &samples);

/// What the instrumented model recorded for one layer.
struct LayerStatistics {
  std::string name;
  std::vector<double> sumSquares; // sum of x_k^2 over all rows, per channel k
  std::vector<double> sums;       // sum of x_k over all rows, per channel k
  int64_t rows = 0;
  /// The rows of x themselves, [inputRows, K] row-major in f32, when the
  /// library records them (qnt-instrument-calibration record-rows; else
  /// null): what the Hessian sum x x^T is formed from (inputHessian in
  /// qnt/Support/Gptq.h). Layers that read the same x (a block's query, key
  /// and value projections) share one copy.
  std::shared_ptr<const std::vector<float>> inputs;
  int64_t inputRows = 0;
};

/// Checks every token id against the vocabulary and every sample against the
/// context of `model` (errors name `tokenPath`:line).
std::string checkTokenSamples(ModelLibrary &model, const std::string &tokenPath,
                              const std::vector<TokenSample> &samples);

/// Feeds every sample to `model` at positions 0, 1, ... with the state reset
/// before it (teacher forcing); `onLogits(sample, position, logits)`, when
/// given, sees every logits row. `progress` gets a line now and then.
std::string runTokenSamples(
    ModelLibrary &model, const std::vector<TokenSample> &samples,
    llvm::function_ref<void(const llvm::Twine &)> progress,
    llvm::function_ref<void(size_t, size_t, const float *)> onLogits = {});

/// How `sampleTokenSequences` samples.
struct SampleOptions {
  int64_t sequences = 8;
  int64_t length = 0; // 0: 64, or the model's context if shorter
  uint64_t seed = 0;
  int64_t firstToken = 1; // BOS of llama2.c and Llama tokenizers
};

/// Parses `sample:N[:LEN]` (N sequences of LEN tokens; without LEN, 64 or
/// the model's context if it is shorter)
/// into `options`. Returns false when `spec` does not start with "sample:";
/// otherwise true, with `error` "" or what is wrong with the numbers.
bool parseSampleSpec(llvm::StringRef spec, SampleOptions &options,
                     std::string &error);

/// The length of sample:N: 64 tokens, or the model's context if shorter.
int64_t defaultSampleLength(const ModelLibrary &model);

/// Generates `options.sequences` sequences of `options.length` tokens from
/// the model itself: each starts with `firstToken` at position 0, and every
/// next token is drawn from softmax(logits) (temperature 1) with a
/// std::mt19937_64 seeded by `options.seed`, so the same seed gives the same
/// tokens on every machine. The state is reset before each sequence;
/// `onLogits` sees every logits row (as runTokenSamples). `samples` gets the
/// tokens fed, one TokenSample per sequence (line = its number from 1).
std::string sampleTokenSequences(
    ModelLibrary &model, const SampleOptions &options,
    std::vector<TokenSample> &samples,
    llvm::function_ref<void(const llvm::Twine &)> progress,
    llvm::function_ref<void(size_t, size_t, const float *)> onLogits = {});

/// Reads what the instrumented library accumulated so far (sums, rows and,
/// when it records them, the input rows). Layers sharing a name are merged
/// (their input rows in the order of the library's layers). An error when a
/// layer saw more rows than the library could record. `releaseInputs` gives
/// the memory of the library's recorded rows back once they are copied (the
/// library records nothing more).
std::string readCalibrationStatistics(ModelLibrary &model,
                                      std::vector<LayerStatistics> &stats,
                                      bool releaseInputs = false);

/// Feeds every sample to `model` at positions 0, 1, ... with the state reset
/// to zero before it, then reads the statistics the instrumented library
/// accumulated. Every token id is checked against the vocabulary and every
/// sample against the context before anything runs (errors name
/// `tokenPath`:line). Layers sharing a name are merged (they share one line of
/// the statistics file). `progress` gets a line now and then.
std::string collectCalibrationStatistics(
    ModelLibrary &model, const std::string &tokenPath,
    const std::vector<TokenSample> &samples,
    std::vector<LayerStatistics> &stats,
    llvm::function_ref<void(const llvm::Twine &)> progress);

/// Writes the statistics file read by qnt-assign-bitwidths: `comment` as a
/// `#` line, then per layer `NAME E[x_0^2] E[x_1^2] ...` and, unless the
/// mean mu = E[x] is 0, `NAME eigen ||mu||^2 mu_0/||mu|| mu_1/||mu|| ...`:
/// E[x x^T] ~ diag(Var[x_k]) + mu mu^T (docs/CALIBRATION.md). Layers that
/// saw no rows have no statistics and are left out; their names are put in
/// `unseen`.
std::string writeCalibrationStatistics(
    const std::string &path, const std::vector<LayerStatistics> &stats,
    const std::string &comment, std::vector<std::string> &unseen);

} // namespace mlir::qnt

#endif // QNT_RUNNER_CALIBRATION_H
