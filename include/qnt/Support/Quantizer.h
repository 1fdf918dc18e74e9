// Round-to-nearest weight quantization with per-group scale search (no MLIR).
#ifndef QNT_SUPPORT_QUANTIZER_H
#define QNT_SUPPORT_QUANTIZER_H

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::qnt {

/// Element type that scales are stored in. Codes are always computed with the
/// scale as stored, so dequantization reproduces what the search optimised.
enum class ScaleFormat { F32, F16, BF16 };

struct QuantOptions {
  /// Code width, 1 to 8.
  unsigned bits = 4;
  /// Symmetric: signed codes in [-2^(b-1), 2^(b-1)-1] and no zero point.
  /// Asymmetric: unsigned codes in [0, 2^b-1] and an integer zero point.
  bool symmetric = true;
  /// Elements of a row sharing one scale; 0 means one scale per row.
  int64_t groupSize = 128;
  /// One scale for the whole matrix (overrides groupSize).
  bool perTensor = false;
  ScaleFormat scaleFormat = ScaleFormat::F32;
  /// Search clipping ratios for the least squared error; false gives plain
  /// min/max (max-abs) round-to-nearest.
  bool clipSearch = true;
  /// Optional per-column weights (length cols, e.g. E[x_k^2]) of the squared
  /// error; null means 1 everywhere.
  const float *importance = nullptr;
  /// Threads over blocks of rows.
  unsigned numThreads = 1;
};

/// A quantized [rows, cols] matrix. Value (r, c) is
/// scales[g] * (codes[r * cols + c] - zeroPoints[g]) with g the scale of the
/// element's group. Unsigned codes (asymmetric) hold their uint8 bit pattern
/// in the int8 vector.
struct QuantizedMatrix {
  std::vector<int8_t> codes;
  /// [scaleRows, groupsPerRow] row-major; scaleRows is rows, or 1 per tensor.
  std::vector<float> scales;
  /// Same shape as scales; empty when symmetric.
  std::vector<int32_t> zeroPoints;
  int64_t groupsPerRow = 0;
  int64_t scaleRows = 0;
};

/// Quantizes the row-major float matrix `w` [rows, cols]. Returns an empty
/// string on success, else what is wrong ("non-finite value nan at row 3,
/// column 17", "group size 48 does not divide 64 columns", ...).
std::string quantizeMatrix(const float *w, int64_t rows, int64_t cols,
                           const QuantOptions &options, QuantizedMatrix &out);

/// Reference dequantization of `q` into `out` [rows, cols].
void dequantizeMatrix(const QuantizedMatrix &q, int64_t rows, int64_t cols,
                      const QuantOptions &options, float *out);

/// Squared error sum_{r,c} imp_c (w - dequant(q))^2, in double.
double quantizationError(const float *w, const QuantizedMatrix &q,
                         int64_t rows, int64_t cols,
                         const QuantOptions &options);

/// IEEE half and bfloat16 conversions, round to nearest even; NaN stays NaN,
/// overflow gives infinity, subnormals are kept.
uint16_t halfBitsFromFloat(float value);
float floatFromHalfBits(uint16_t bits);
uint16_t bf16BitsFromFloat(float value);
float floatFromBf16Bits(uint16_t bits);
/// `value` rounded to the nearest value representable in `format`.
float roundToScaleFormat(float value, ScaleFormat format);

} // namespace mlir::qnt

#endif // QNT_SUPPORT_QUANTIZER_H
