// Calibration statistics of linear layers' inputs (the text file that
// qnt-assign-bitwidths reads), the output error they predict for a quantized
// weight, and measured sensitivities (the other file it reads). No MLIR;
// docs/CALIBRATION.md states the file formats.
#ifndef QNT_COSTMODEL_SENSITIVITY_H
#define QNT_COSTMODEL_SENSITIVITY_H

#include "qnt/Support/Quantizer.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mlir::qnt {

/// The second moment H = E[x x^T] of one layer's input (K channels), in
/// "diagonal plus low rank" form:
///
///   H = diag(residual) + sum_i eigenvalues[i] * u_i u_i^T,
///   residual[k] = meanSquare[k] - sum_i eigenvalues[i] * u_i[k]^2,
///
/// so that diag(H) = meanSquare. With no directions this is the diagonal
/// E[x_k^2] alone. A producer writes the top eigenpairs of the measured H;
/// H is then exact in their span and on its diagonal.
struct InputMoment {
  /// E[x_k^2], K values.
  std::vector<float> meanSquare;
  /// lambda_i of the directions kept exactly (>= 0).
  std::vector<double> eigenvalues;
  /// The directions u_i: eigenvalues.size() rows of K values, row-major.
  std::vector<float> directions;
  /// meanSquare minus the directions' diagonal; rounding excesses of at most
  /// 1e-4 relative are stored as 0.
  std::vector<float> residual;
  /// Lines of the file holding meanSquare and each direction (1-based).
  unsigned line = 0;
  std::vector<unsigned> directionLines;

  int64_t channels() const { return static_cast<int64_t>(meanSquare.size()); }
  int64_t rank() const { return static_cast<int64_t>(eigenvalues.size()); }
};

/// Parses a calibration statistics file's text. Records, one per line
/// (fields separated by spaces or tabs; blank lines and lines starting with
/// '#' are skipped):
///
///   NAME m_1 ... m_K                  E[x_k^2] of layer NAME's input
///   NAME eigen LAMBDA u_1 ... u_K     one direction of H (after NAME's
///                                     E[x_k^2] line)
///
/// Returns "" or the first problem as "PATH:LINE: layer 'NAME': what",
/// e.g. "s.txt:4: layer 'wo': 'eigen' line has 3 values after the
/// eigenvalue, its E[x_k^2] line (line 2) has 4". `path` only names the file
/// in messages.
std::string parseCalibrationStatistics(const std::string &text,
                                       const std::string &path,
                                       std::map<std::string, InputMoment> &out);

/// Reads and parses the calibration statistics file `path`. Returns "" or
/// "cannot read calibration statistics 'PATH': REASON" or "calibration
/// statistics PATH:LINE: ..." (parseCalibrationStatistics).
std::string readCalibrationStatistics(const std::string &path,
                                      std::map<std::string, InputMoment> &out);

/// Sensitivities measured outside the cost model (quant-compile --calibrate):
/// layer name -> candidate spec ("BITS:GROUP[:asym]") -> value.
using MeasuredSensitivities = llvm::StringMap<llvm::StringMap<double>>;

/// Reads a sensitivities file: lines "NAME SPEC VALUE" separated by spaces,
/// VALUE >= 0; blank lines and lines starting with '#' are skipped. Returns
/// "" or "cannot read sensitivities 'PATH': REASON" or "sensitivities
/// PATH:LINE: what".
std::string readMeasuredSensitivities(llvm::StringRef path,
                                      MeasuredSensitivities &out);

/// trace(dW H dW^T) with dW = W - W^ (W^ as dequantizeMatrix computes it)
/// and H = `moment` in its diagonal-plus-low-rank form: the sum over output
/// rows n of E[(dW x)_n^2], i.e. the expected squared error of the layer's
/// output per input row. `moment` null means H = I (the plain squared
/// error); with no directions the value equals quantizationError(w, q,
/// meanSquare). `w` is row-major [q.rows, q.cols] and `moment` must have
/// q.cols channels. Rows are split over `numThreads` threads (0: all
/// cores); the result does not depend on the number.
double expectedOutputError(const float *w, const QuantizedMatrix &q,
                           const InputMoment *moment, unsigned numThreads);

} // namespace mlir::qnt

#endif // QNT_COSTMODEL_SENSITIVITY_H
