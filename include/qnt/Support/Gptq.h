// GPTQ rounding: quantizes a weight matrix column by column, feeding each
// column's rounding error forward to the columns not yet quantized through
// the inverse Hessian of the layer's calibration inputs (Frantar et al.,
// "GPTQ", 2022), on the same grids (codes, scales, zero points) as the
// round-to-nearest quantizer, so that the packed format does not change.
// Plain C++17, no MLIR dependency; docs/QUANTIZER.md, "GPTQ".
#ifndef QNT_SUPPORT_GPTQ_H
#define QNT_SUPPORT_GPTQ_H

#include "qnt/Support/Quantizer.h"
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mlir::qnt {

struct GptqOptions {
  /// Added to the diagonal of H: `dampening` times the mean of diag(H).
  double dampening = 0.01;
  /// Quantize the columns in order of decreasing H_kk (activation order).
  /// The group grids are then fixed from the unquantized weight first
  /// ("static groups"), so that every group still holds consecutive columns.
  bool activationOrder = false;
};

/// Quantizes `w[rows, cols]` (row-major, cols = K) with GPTQ given
/// `hessian`, the cols x cols row-major matrix sum_x x x^T (any positive
/// multiple of it) of the layer's inputs. The result has exactly the layout
/// and grid rules of quantizeMatrix (docs/QUANTIZER.md): codes are
/// clamp(round(v / scale), lo, hi) + zeroPoint of the error-corrected value
/// v. Scales: per group, chosen by quantizeMatrix (with its clipping search
/// when options.clipSearch) on the error-corrected values of the group when
/// GPTQ reaches its first column (without activation order), or on the
/// original weights (per channel, per tensor, and with activation order).
/// Returns "" or what is wrong (the messages of quantizeMatrix, or a bad
/// Hessian; `out` is then cleared). options.importance is ignored.
std::string gptqQuantizeMatrix(const float *w, int64_t rows, int64_t cols,
                               const QuantOptions &options,
                               const double *hessian,
                               const GptqOptions &gptq, QuantizedMatrix &out);

/// What GPTQ needs of a Hessian, computed once for every layer reading the
/// same inputs: the column order and the upper triangular U with
/// U^T U = (H + dampening)^-1 in that order.
struct GptqFactor {
  int64_t cols = 0;
  bool activationOrder = false;
  std::vector<int64_t> order;
  std::vector<double> u; // cols x cols, row-major
};

/// Factors `hessian` (cols x cols, row-major, as gptqQuantizeMatrix takes
/// it) for `gptq`'s dampening and order, on `threads` threads (0: every
/// core). Returns "" or what is wrong with the Hessian.
std::string gptqFactorHessian(const double *hessian, int64_t cols,
                              const GptqOptions &gptq, GptqFactor &out,
                              unsigned threads = 0);

/// gptqQuantizeMatrix with the Hessian already factored.
std::string gptqQuantizeMatrix(const float *w, int64_t rows, int64_t cols,
                               const QuantOptions &options,
                               const GptqFactor &factor, QuantizedMatrix &out);

/// h = sum_t x_t x_t^T over the rows x_t of x[rows, k] (row-major), in
/// double, k x k row-major: the Hessian GPTQ takes, formed from recorded
/// calibration inputs (each element summed over the rows in order, so the
/// same as adding one row at a time), on `threads` threads (0: every core).
void inputHessian(const float *x, int64_t rows, int64_t k,
                  std::vector<double> &h, unsigned threads = 0);

/// The Hessian of a layer by name, computed or read when asked: "" with
/// `out` set (cols x cols as gptqQuantizeMatrix takes it), or why there is
/// none. Layers reading the same inputs may get the same matrix.
using HessianSource = std::function<std::string(
    const std::string &layer, std::shared_ptr<const std::vector<double>> &out)>;

/// The Hessians of a file written by quant-compile --calibrate for GPTQ:
/// text, one line per layer `NAME K h_00 h_01 ... h_(K-1)(K-1)` (row-major
/// sum x x^T of the layer's inputs), `#` comment lines and blank lines
/// skipped. Returns "" or "PATH:LINE: problem".
std::string readHessianFile(const std::string &path,
                            std::map<std::string, std::vector<double>> &out);

} // namespace mlir::qnt

#endif // QNT_SUPPORT_GPTQ_H
