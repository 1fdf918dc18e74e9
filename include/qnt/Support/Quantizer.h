//===- Quantizer.h - Weight quantizer with clipping search ------*- C++ -*-===//
//
// Quantizes a row-major float32 weight matrix W[rows, cols] to 1- to 8-bit
// integer codes with one scale (and, if asymmetric, one zero point) per group
// of `groupSize` consecutive elements of a row. Groups run along a row because
// cols is the reduction dimension K of W[N, K]. Plain C++17, no MLIR
// dependency; docs/QUANTIZER.md states the full contract.
//
// A code q dequantizes to w_hat = scale * (q - zeroPoint), computed in float
// as `scale * float(q - zeroPoint)`. Each group's scale minimises the
// (optionally importance-weighted) squared error over a grid of clipping
// ratios, and codes are computed with the scale as stored, i.e. after it is
// rounded to the scale format.
//
// Errors in user input (options, NaN/Inf weights) come back as a message
// rather than an assertion, since they originate in command-line flags and
// model files.
//
//===----------------------------------------------------------------------===//

#ifndef QNT_SUPPORT_QUANTIZER_H
#define QNT_SUPPORT_QUANTIZER_H

#include "qnt/Support/ElementFormats.h"
#include "qnt/Support/SchemeParameters.h"
#include <cstdint>
#include <string>
#include <vector>

namespace mlir::qnt {

/// Number of clipping ratios the scale search tries. Ratio i is
/// 1 - 0.5 * i / (kNumClipRatios - 1), i.e. 1.0 down to 0.5; i = 0 is the
/// plain min/max scale.
constexpr unsigned kNumClipRatios = 20;

struct QuantOptions {
  /// Integer codes (of `bits` bits), or fp8 / fp4 / NF4 codes: symmetric, one
  /// scale per group or channel mapping the kept range to formatMaxValue,
  /// the codes the format's nearest values (docs/QUANTIZER.md, "Float and
  /// codebook formats"). `bits` must then be the format's width; fp4
  /// (F4E2M1FN) takes the block size and scale format of mxfp4 or nvfp4
  /// (checkFormatRules).
  ElementFormat format = ElementFormat::Int;
  /// Code width, 1 to 8.
  unsigned bits = 4;
  /// Symmetric: signed codes in [-2^(b-1), 2^(b-1)-1] and no zero point.
  /// Asymmetric: unsigned codes in [0, 2^b-1] and an integer zero point in the
  /// same range.
  bool symmetric = true;
  /// Elements per group along a row; must divide cols. 0 means one group per
  /// row (per output channel). Ignored when perTensor is set.
  int64_t groupSize = 128;
  /// One group for the whole matrix.
  bool perTensor = false;
  ScaleFormat scaleFormat = ScaleFormat::F32;
  /// Search clipping ratios for the scale; false gives plain min/max
  /// round-to-nearest.
  bool clipSearch = true;
  /// Optional per-column importance (e.g. E[x_k^2]), `cols` finite values
  /// >= 0. The objective becomes sum_k importance[k] * (w_k - w_hat_k)^2.
  /// Only read during quantizeMatrix.
  const float *importance = nullptr;
  /// Worker threads over row blocks; 0 means std::thread::hardware_concurrency.
  /// The result does not depend on this value.
  unsigned numThreads = 1;
  /// Lut4: the codebook the quantizer starts from (16 values for which
  /// checkCodebook holds, one of them 0), NF4's when null. The quantizer
  /// then learns the tensor's own (docs/QUANTIZER.md, "Learned codebooks").
  const float *codebook = nullptr;
};

/// Lut4: how many times the quantizer refits the codebook to the codes'
/// scaled weights (weighted Lloyd iterations) and quantizes again. It keeps
/// the round with the least error, so the result is never worse than the
/// starting codebook's. Each round costs one more scale search (NF4's whole
/// quantization time); later rounds gain less (Laplacian weights in groups
/// of 32: 0.96x NF4's error after one, 0.94x after two, 0.91x after six).
constexpr unsigned kCodebookRounds = 2;

struct QuantizedMatrix {
  ElementFormat format = ElementFormat::Int;
  int64_t rows = 0;
  int64_t cols = 0;
  unsigned bits = 0;
  bool symmetric = true;
  bool perTensor = false;
  ScaleFormat scaleFormat = ScaleFormat::F32;
  /// Elements per group along a row: the option's group size, or cols for
  /// per-channel and per-tensor quantization.
  int64_t groupSize = 0;
  /// cols / groupSize; 1 for per-channel and per-tensor.
  int64_t groupsPerRow = 0;
  /// Row-major [rows, cols] codes, one per element, filled when symmetric
  /// (unsignedCodes is then empty). Ready for packSigned.
  std::vector<int8_t> signedCodes;
  /// Row-major [rows, cols] codes, one per element, filled when asymmetric
  /// and for the non-integer formats (their bit patterns; signedCodes is
  /// then empty). Ready for packUnsigned.
  std::vector<uint8_t> unsignedCodes;
  /// Row-major [rows, groupsPerRow] scales, or a single scale when perTensor.
  /// Always finite and > 0; values of scaleFormat (the fp4 block scales:
  /// E8M0 powers of two, E4M3 values).
  std::vector<float> scales;
  /// The f32 scale of the whole tensor that multiplies every block scale
  /// (nvfp4: scaleFormat F8E4M3); 1 otherwise.
  float tensorScale = 1.0f;
  /// Same shape as scales when asymmetric; empty when symmetric.
  std::vector<int32_t> zeroPoints;
  /// Lut4: the tensor's 16 values (checkCodebook holds); else empty.
  std::vector<float> codebook;

  /// Index into scales (and zeroPoints) of the group holding (row, col).
  int64_t groupIndex(int64_t row, int64_t col) const {
    return perTensor ? 0 : row * groupsPerRow + col / groupSize;
  }
  /// The integer code of element (row, col).
  int32_t code(int64_t row, int64_t col) const {
    int64_t i = row * cols + col;
    return symmetric && format == ElementFormat::Int ? signedCodes[i]
                                                     : unsignedCodes[i];
  }
  /// The zero point of element (row, col)'s group (0 when symmetric).
  int32_t zeroPoint(int64_t row, int64_t col) const {
    return symmetric ? 0 : zeroPoints[groupIndex(row, col)];
  }
  /// The dequantized value of element (row, col):
  /// scale * float(code - zeroPoint), or scale * (the code's value) for the
  /// non-integer formats.
  float dequantized(int64_t row, int64_t col) const {
    if (format == ElementFormat::Lut4)
      return scales[groupIndex(row, col)] * codebook[code(row, col) & 15];
    if (format != ElementFormat::Int)
      return tensorScale * scales[groupIndex(row, col)] *
             decodeFormatCode(format, static_cast<uint8_t>(code(row, col)));
    return scales[groupIndex(row, col)] *
           static_cast<float>(code(row, col) - zeroPoint(row, col));
  }
};

/// Checks options and shape without quantizing. Returns an empty string if
/// they are valid, else a message naming the bad value, e.g. "group size 48
/// does not divide the row length 64". Does not read `options.importance`.
std::string validateQuantOptions(int64_t rows, int64_t cols,
                                 const QuantOptions &options);

/// Quantizes the row-major matrix `w[rows, cols]` into `out`. Returns an empty
/// string on success. On failure `out` is cleared and the message says why:
/// an invalid option, a bad importance weight, or the first (row-major)
/// non-finite weight, e.g. "non-finite value nan at row 3, column 17" (0-based
/// indices; the caller prefixes the tensor's name).
std::string quantizeMatrix(const float *w, int64_t rows, int64_t cols,
                           const QuantOptions &options, QuantizedMatrix &out);

/// Writes the dequantized matrix (q.rows x q.cols floats) to `out`: the
/// reference dequantization, bit-identical to QuantizedMatrix::dequantized.
void dequantizeMatrix(const QuantizedMatrix &q, float *out);

/// Sum over all elements of importance[col] * (w - w_hat)^2, in double, with
/// w_hat as dequantizeMatrix computes it. `importance` may be null (weight 1)
/// or point to q.cols values.
double quantizationError(const float *w, const QuantizedMatrix &q,
                         const float *importance = nullptr);

/// Rounds `value` to the nearest value of `format` (ties to even) and returns
/// it as a float. Values beyond the format's range become +-inf; NaN stays
/// NaN. F8E4M3 saturates at 448 instead; F8E8M0 rounds a positive value up
/// to a power of two (the exponent range is left to the caller).
float roundToScaleFormat(float value, ScaleFormat format);

/// IEEE 754 binary16 bits of `value`, rounded to nearest even. Handles
/// subnormals, overflow to infinity, and NaN (which stays a quiet NaN).
uint16_t halfBitsFromFloat(float value);

/// The float value of IEEE 754 binary16 bits (exact; NaN payloads kept).
float floatFromHalfBits(uint16_t bits);

/// bfloat16 bits of `value` (the top half of its float32 bits), rounded to
/// nearest even. Overflow gives infinity; NaN stays a quiet NaN.
uint16_t bf16BitsFromFloat(float value);

/// The float value of bfloat16 bits (exact).
float floatFromBf16Bits(uint16_t bits);

} // namespace mlir::qnt

#endif // QNT_SUPPORT_QUANTIZER_H
