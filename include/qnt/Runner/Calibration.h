// Calibration statistics from running an instrumented model library
// (qnt-instrument-calibration, compiled by quant-compile) over token samples.
#ifndef QNT_RUNNER_CALIBRATION_H
#define QNT_RUNNER_CALIBRATION_H

#include "qnt/Runner/ModelLibrary.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/Twine.h"
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
};

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
/// E[x x^T] ~ diag(Var[x_k]) + mu mu^T (docs/COST_MODEL.md). Layers that saw
/// no rows have no statistics and are left out; their names are put in
/// `unseen`.
std::string writeCalibrationStatistics(
    const std::string &path, const std::vector<LayerStatistics> &stats,
    const std::string &comment, std::vector<std::string> &unseen);

} // namespace mlir::qnt

#endif // QNT_RUNNER_CALIBRATION_H
