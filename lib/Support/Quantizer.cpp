// Round-to-nearest weight quantization with per-group clipping search.
#include "qnt/Support/Quantizer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <thread>

using namespace mlir::qnt;

//===----------------------------------------------------------------------===//
// Half and bfloat16
//===----------------------------------------------------------------------===//

static uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

static float bitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t mlir::qnt::halfBitsFromFloat(float value) {
  uint32_t x = floatBits(value);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  uint32_t absx = x & 0x7FFFFFFF;
  if (absx >= 0x7F800000) // Inf or NaN (keep NaN quiet and non-zero).
    return sign | 0x7C00 | (absx > 0x7F800000 ? 0x0200 : 0);
  if (absx >= 0x477FF000) // Rounds to >= 65520: overflow to infinity.
    return sign | 0x7C00;
  if (absx < 0x38800000) { // Below the smallest normal half (2^-14).
    // Subnormal half: value / 2^-24, rounded to nearest even.
    float scaled = bitsFloat(absx) * 16777216.0f; // exact: power of two
    return sign | static_cast<uint16_t>(std::nearbyint(scaled));
  }
  // Normal: rebias the exponent, round the mantissa from 23 to 10 bits.
  uint32_t mant = absx + 0xC8000000; // exponent - 112 (127 - 15) << 23
  uint32_t roundBit = 0x1000, rest = mant & 0x1FFF;
  uint32_t half = mant >> 13;
  if (rest > roundBit || (rest == roundBit && (half & 1)))
    ++half;
  return sign | static_cast<uint16_t>(half);
}

float mlir::qnt::floatFromHalfBits(uint16_t bits) {
  uint32_t sign = static_cast<uint32_t>(bits & 0x8000) << 16;
  uint32_t exp = (bits >> 10) & 0x1F, mant = bits & 0x3FF;
  if (exp == 0) {
    float v = static_cast<float>(mant) * (1.0f / 16777216.0f);
    return sign ? -v : v;
  }
  if (exp == 31)
    return bitsFloat(sign | 0x7F800000 | (mant << 13));
  return bitsFloat(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t mlir::qnt::bf16BitsFromFloat(float value) {
  uint32_t x = floatBits(value);
  if ((x & 0x7FFFFFFF) > 0x7F800000)
    return static_cast<uint16_t>((x >> 16) | 0x0040);
  x += 0x7FFF + ((x >> 16) & 1);
  return static_cast<uint16_t>(x >> 16);
}

float mlir::qnt::floatFromBf16Bits(uint16_t bits) {
  return bitsFloat(static_cast<uint32_t>(bits) << 16);
}

float mlir::qnt::roundToScaleFormat(float value, ScaleFormat format) {
  switch (format) {
  case ScaleFormat::F32:
    return value;
  case ScaleFormat::F16:
    return floatFromHalfBits(halfBitsFromFloat(value));
  case ScaleFormat::BF16:
    return floatFromBf16Bits(bf16BitsFromFloat(value));
  }
  return value;
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

namespace {
/// The code range and scale grid of one configuration.
struct Grid {
  float qmin, qmax;
  bool symmetric;
  ScaleFormat format;
  const float *importance;
};

/// Codes of `n` values under scale `s` and zero point `zp`, and their
/// weighted squared error. Branch-free so that it vectorizes.
static float quantizeRun(const float *w, const float *imp, int64_t n, float s,
                         float zp, const Grid &g, int8_t *codes) {
  float inv = s > 0 ? 1.0f / s : 0.0f;
  float err = 0;
  for (int64_t i = 0; i < n; ++i) {
    float q = std::nearbyint(w[i] * inv) + zp;
    q = std::min(std::max(q, g.qmin), g.qmax);
    float d = w[i] - s * (q - zp);
    err += (imp ? imp[i] : 1.0f) * d * d;
    if (codes)
      codes[i] = static_cast<int8_t>(static_cast<int32_t>(q));
  }
  return err;
}

/// Chooses scale and zero point for one group and writes its codes.
static void quantizeGroup(const float *w, const float *imp, int64_t n,
                          const Grid &g, bool clipSearch, int8_t *codes,
                          float &scaleOut, int32_t &zpOut) {
  float lo = 0, hi = 0;
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, w[i]);
    hi = std::max(hi, w[i]);
  }
  // Candidate ratios r = 1, 0.975, ..., 0.525 of the range (20 values); the
  // first is plain min/max, so the search is never worse than it.
  int steps = clipSearch ? 20 : 1;
  float bestErr = INFINITY, bestScale = 0, bestZp = 0;
  for (int step = 0; step < steps; ++step) {
    float r = 1.0f - 0.025f * step;
    float s, zp = 0;
    if (g.symmetric) {
      float amax = std::max(-lo, hi) * r;
      // Largest |code| used for the positive side; 1-bit codes {-1, 0} use
      // the negative one.
      s = amax / std::max(g.qmax, 1.0f);
    } else {
      s = (hi - lo) * r / g.qmax;
    }
    s = roundToScaleFormat(s, g.format);
    if (!(s > 0) || !std::isfinite(s)) {
      // All-zero group (or a range too small for the scale format): zero
      // codes and scale 0 reproduce the zeros exactly and never give NaN.
      s = 0;
    }
    if (!g.symmetric && s > 0)
      zp = std::min(std::max(std::nearbyint(-lo * r / s), g.qmin), g.qmax);
    float err = quantizeRun(w, imp, n, s, zp, g, nullptr);
    if (err < bestErr) {
      bestErr = err;
      bestScale = s;
      bestZp = zp;
    }
    if (s == 0)
      break;
  }
  quantizeRun(w, imp, n, bestScale, bestZp, g, codes);
  scaleOut = bestScale;
  zpOut = static_cast<int32_t>(bestZp);
}
} // namespace

std::string mlir::qnt::quantizeMatrix(const float *w, int64_t rows,
                                      int64_t cols,
                                      const QuantOptions &options,
                                      QuantizedMatrix &out) {
  if (options.bits < 1 || options.bits > 8)
    return "bits = " + std::to_string(options.bits) + " must be 1 to 8";
  if (rows <= 0 || cols <= 0)
    return "the matrix is empty (" + std::to_string(rows) + " x " +
           std::to_string(cols) + ")";
  if (options.groupSize < 0)
    return "group size " + std::to_string(options.groupSize) +
           " must be 0 (one per row) or positive";
  if (!options.perTensor && options.groupSize > 0 &&
      cols % options.groupSize != 0)
    return "group size " + std::to_string(options.groupSize) +
           " does not divide " + std::to_string(cols) + " columns";
  for (int64_t i = 0, e = rows * cols; i < e; ++i)
    if (!std::isfinite(w[i])) {
      char value[32];
      std::snprintf(value, sizeof value, "%g", static_cast<double>(w[i]));
      return std::string("non-finite value ") + value + " at row " +
             std::to_string(i / cols) + ", column " +
             std::to_string(i % cols);
    }

  Grid g;
  g.symmetric = options.symmetric;
  g.format = options.scaleFormat;
  g.importance = options.importance;
  if (options.symmetric) {
    g.qmin = -static_cast<float>(1 << (options.bits - 1));
    g.qmax = static_cast<float>((1 << (options.bits - 1)) - 1);
  } else {
    g.qmin = 0;
    g.qmax = static_cast<float>((1 << options.bits) - 1);
  }

  out.codes.assign(rows * cols, 0);
  if (options.perTensor) {
    // One group spanning the whole matrix; importance repeats per row, so
    // the search runs on the concatenated rows without it.
    out.groupsPerRow = 1;
    out.scaleRows = 1;
    out.scales.assign(1, 0);
    out.zeroPoints.assign(options.symmetric ? 0 : 1, 0);
    int32_t zp;
    quantizeGroup(w, nullptr, rows * cols, g, options.clipSearch,
                  out.codes.data(), out.scales[0], zp);
    if (!options.symmetric)
      out.zeroPoints[0] = zp;
    return "";
  }

  int64_t group = options.groupSize > 0 ? options.groupSize : cols;
  out.groupsPerRow = cols / group;
  out.scaleRows = rows;
  out.scales.assign(rows * out.groupsPerRow, 0);
  out.zeroPoints.assign(options.symmetric ? 0 : rows * out.groupsPerRow, 0);

  auto work = [&](int64_t rowBegin, int64_t rowEnd) {
    for (int64_t r = rowBegin; r < rowEnd; ++r)
      for (int64_t gi = 0; gi < out.groupsPerRow; ++gi) {
        int64_t offset = r * cols + gi * group;
        int32_t zp;
        const float *imp = options.importance
                               ? options.importance + gi * group
                               : nullptr;
        quantizeGroup(w + offset, imp, group, g, options.clipSearch,
                      out.codes.data() + offset,
                      out.scales[r * out.groupsPerRow + gi], zp);
        if (!options.symmetric)
          out.zeroPoints[r * out.groupsPerRow + gi] = zp;
      }
  };
  unsigned threads = std::max(1u, options.numThreads);
  if (threads == 1 || rows < 2 * static_cast<int64_t>(threads)) {
    work(0, rows);
    return "";
  }
  std::vector<std::thread> pool;
  int64_t chunk = (rows + threads - 1) / threads;
  for (unsigned t = 0; t < threads; ++t) {
    int64_t begin = t * chunk, end = std::min(rows, begin + chunk);
    if (begin < end)
      pool.emplace_back(work, begin, end);
  }
  for (std::thread &t : pool)
    t.join();
  return "";
}

void mlir::qnt::dequantizeMatrix(const QuantizedMatrix &q, int64_t rows,
                                 int64_t cols, const QuantOptions &options,
                                 float *out) {
  int64_t group = cols / q.groupsPerRow;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      int64_t s = options.perTensor ? 0 : r * q.groupsPerRow + c / group;
      float code = options.symmetric
                       ? static_cast<float>(q.codes[r * cols + c])
                       : static_cast<float>(
                             static_cast<uint8_t>(q.codes[r * cols + c]));
      float zp = options.symmetric ? 0.0f : static_cast<float>(q.zeroPoints[s]);
      out[r * cols + c] = q.scales[s] * (code - zp);
    }
}

double mlir::qnt::quantizationError(const float *w, const QuantizedMatrix &q,
                                    int64_t rows, int64_t cols,
                                    const QuantOptions &options) {
  std::vector<float> deq(rows * cols);
  dequantizeMatrix(q, rows, cols, options, deq.data());
  double err = 0;
  for (int64_t i = 0; i < rows * cols; ++i) {
    double d = static_cast<double>(w[i]) - deq[i];
    double imp = options.importance ? options.importance[i % cols] : 1.0;
    err += imp * d * d;
  }
  return err;
}
