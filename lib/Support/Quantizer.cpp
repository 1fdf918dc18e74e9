//===- Quantizer.cpp - Weight quantizer with clipping search --------------===//
//
// Implements the contract in docs/QUANTIZER.md. Per group the work is:
//   1. min/max of the group;
//   2. with clipSearch, the squared error of every clipping ratio's
//      (scale, zero point), evaluated in float with w * (1 / scale) -- the
//      bulk of the run time, so it is written to auto-vectorise;
//   3. the codes of the winner, computed with a true division so that each
//      code is round-half-even(w / scale), and the error of the winner and of
//      the plain min/max scale recomputed in double from those exact codes.
//      The plain scale wins unless the winner is strictly better there, so
//      the search can never return a worse result than plain min/max
//      rounding, whatever the float approximations of step 2 did.
//
// The loops use kLanes independent accumulators so that clang -O2 vectorises
// the reductions without -ffast-math, and round with the 1.5 * 2^23 trick
// (exact for |x| < 2^22, which clamping guarantees) instead of nearbyint,
// which is a library call on baseline x86-64.
//
//===----------------------------------------------------------------------===//

#include "qnt/Support/Quantizer.h"
#include "qnt/Support/ElementFormats.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <thread>

// The rounding trick and the exact-error comparison rely on IEEE single
// precision arithmetic: no reassociation, no x87 excess precision.
#if defined(__FAST_MATH__)
#error "Quantizer.cpp must not be compiled with -ffast-math"
#endif
#if FLT_EVAL_METHOD != 0
#error "Quantizer.cpp needs float arithmetic evaluated in float (SSE, not x87)"
#endif

using namespace mlir::qnt;

namespace {

/// Adding and subtracting 1.5 * 2^23 rounds a float with |x| < 2^22 to the
/// nearest integer, ties to even, in the default rounding mode.
constexpr float kRoundMagic = 12582912.0f;

inline float roundToInt(float x) { return (x + kRoundMagic) - kRoundMagic; }

inline float clampTo(float x, float lo, float hi) {
  x = x < lo ? lo : x;
  return x > hi ? hi : x;
}

/// Independent accumulators per reduction: 16 floats fill one AVX-512
/// register or four SSE registers, enough to hide the add latency.
constexpr int64_t kLanes = 16;

/// Sums the lanes pairwise: log2(kLanes) vector adds instead of a chain of
/// kLanes dependent scalar adds, which matters for groups of 32.
template <typename T> T sumLanes(T (&acc)[kLanes]) {
  for (int64_t width = kLanes / 2; width > 0; width /= 2)
    for (int64_t j = 0; j < width; ++j)
      acc[j] += acc[j + width];
  return acc[0];
}

double clipRatio(unsigned i) {
  return 1.0 - 0.5 * static_cast<double>(i) / (kNumClipRatios - 1);
}

/// Everything about the code range and scale format that is fixed for a call.
struct Params {
  bool symmetric;
  ScaleFormat format;
  /// Code range: signed for symmetric, unsigned for asymmetric.
  int32_t qmin, qmax;
  /// Number of scale steps the (clipped) range is spread over.
  double denom;
  /// Smallest positive and largest finite scale the format can store.
  float minScale, maxScale;
};

Params makeParams(const QuantOptions &options) {
  Params p;
  p.symmetric = options.symmetric;
  p.format = options.scaleFormat;
  unsigned b = options.bits;
  if (p.symmetric) {
    p.qmin = -(1 << (b - 1));
    p.qmax = (1 << (b - 1)) - 1;
    // 1-bit symmetric has codes {-1, 0}: map max-abs to code -1 instead of
    // dividing by qmax = 0.
    p.denom = std::max(1, p.qmax);
  } else {
    p.qmin = 0;
    p.qmax = (1 << b) - 1;
    p.denom = p.qmax;
  }
  switch (p.format) {
  case ScaleFormat::F32:
    p.minScale = std::numeric_limits<float>::denorm_min();
    p.maxScale = std::numeric_limits<float>::max();
    break;
  case ScaleFormat::F16:
    p.minScale = floatFromHalfBits(0x0001);
    p.maxScale = floatFromHalfBits(0x7BFF);
    break;
  case ScaleFormat::BF16:
    p.minScale = floatFromBf16Bits(0x0001);
    p.maxScale = floatFromBf16Bits(0x7F7F);
    break;
  case ScaleFormat::F8E8M0:
  case ScaleFormat::F8E4M3:
    p.minScale = minBlockScale(p.format);
    p.maxScale = maxBlockScale(p.format);
    break;
  }
  return p;
}

/// Rounds an ideal scale to the stored format, then saturates it into
/// [minScale, maxScale] so that it is finite and nonzero: a tiny nonzero group
/// would otherwise get scale 0 and NaN codes, a huge one an infinite scale.
float storableScale(double ideal, const Params &p) {
  // Clamp in double first: converting an out-of-range double to float is UB.
  ideal = std::min(ideal, static_cast<double>(p.maxScale));
  float scale = roundToScaleFormat(static_cast<float>(ideal), p.format);
  if (!(scale <= p.maxScale))
    return p.maxScale;
  return std::max(scale, p.minScale);
}

/// One (scale, zero point) choice. Codes are q = zeroPoint + clamp(round(w /
/// scale), lo, hi), so lo and hi are the code range shifted by the zero point.
struct Candidate {
  float scale;
  int32_t zeroPoint;
  float lo, hi;

  bool operator==(const Candidate &other) const {
    return scale == other.scale && zeroPoint == other.zeroPoint;
  }
};

/// The candidate for clipping ratio `ratio` of a group whose values lie in
/// [minv, maxv].
Candidate makeCandidate(float minv, float maxv, double ratio, const Params &p) {
  Candidate c;
  if (minv == 0.0f && maxv == 0.0f) {
    // All zeros: any scale is exact; 1.0 keeps it finite in every format.
    c.scale = 1.0f;
    c.zeroPoint = 0;
    c.lo = static_cast<float>(p.qmin);
    c.hi = static_cast<float>(p.qmax);
    return c;
  }
  if (p.symmetric) {
    double amax = std::max(-static_cast<double>(minv), static_cast<double>(maxv));
    c.scale = storableScale(ratio * amax / p.denom, p);
    c.zeroPoint = 0;
    c.lo = static_cast<float>(p.qmin);
    c.hi = static_cast<float>(p.qmax);
    return c;
  }
  // An integer zero point in [0, qmax] puts 0 on the grid, so the range must
  // contain 0; extending it also makes zero exactly representable.
  double lo = std::min(static_cast<double>(minv), 0.0);
  double hi = std::max(static_cast<double>(maxv), 0.0);
  c.scale = storableScale(ratio * (hi - lo) / p.denom, p);
  // Derived from the stored scale, so the grid is the one dequantization uses.
  double zp = std::nearbyint(-ratio * lo / c.scale);
  zp = std::min(std::max(zp, 0.0), static_cast<double>(p.qmax));
  c.zeroPoint = static_cast<int32_t>(zp);
  c.lo = static_cast<float>(-c.zeroPoint);
  c.hi = static_cast<float>(p.qmax - c.zeroPoint);
  return c;
}

/// Minimum and maximum of w[0, n), n > 0, all finite.
void spanMinMax(const float *w, int64_t n, float &minv, float &maxv) {
  float mn[kLanes], mx[kLanes];
  for (int64_t j = 0; j < kLanes; ++j) {
    mn[j] = std::numeric_limits<float>::infinity();
    mx[j] = -std::numeric_limits<float>::infinity();
  }
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t j = 0; j < kLanes; ++j) {
      float x = w[i + j];
      mn[j] = x < mn[j] ? x : mn[j];
      mx[j] = x > mx[j] ? x : mx[j];
    }
  for (; i < n; ++i) {
    mn[0] = std::min(mn[0], w[i]);
    mx[0] = std::max(mx[0], w[i]);
  }
  for (int64_t width = kLanes / 2; width > 0; width /= 2)
    for (int64_t j = 0; j < width; ++j) {
      mn[j] = mn[j + width] < mn[j] ? mn[j + width] : mn[j];
      mx[j] = mx[j + width] > mx[j] ? mx[j + width] : mx[j];
    }
  minv = mn[0];
  maxv = mx[0];
}

/// Float estimate of the (weighted) squared error of `c` on w[0, n), using
/// the reciprocal `inv` of the scale: the search's hot loop.
template <bool HasImp>
float searchError(const float *w, const float *imp, int64_t n,
                  const Candidate &c, float inv) {
  const float scale = c.scale, lo = c.lo, hi = c.hi;
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t j = 0; j < kLanes; ++j) {
      float q = roundToInt(clampTo(w[i + j] * inv, lo, hi));
      float e = w[i + j] - scale * q;
      e *= e;
      if (HasImp)
        e *= imp[i + j];
      acc[j] += e;
    }
  for (; i < n; ++i) {
    float q = roundToInt(clampTo(w[i] * inv, lo, hi));
    float e = w[i] - scale * q;
    e *= e;
    if (HasImp)
      e *= imp[i];
    acc[0] += e;
  }
  return sumLanes(acc);
}

/// Exact quantization of w[0, n) with `c`: codes are round-half-even(w /
/// scale) (clamped, plus the zero point), written to `codes` if Write. Returns
/// the (weighted) squared error against w_hat = scale * float(q - zeroPoint),
/// accumulated in double.
template <bool HasImp, bool Write, typename CodeT>
double quantizeSpan(const float *w, const float *imp, int64_t n,
                    const Candidate &c, CodeT *codes) {
  const float scale = c.scale, lo = c.lo, hi = c.hi;
  const int32_t zp = c.zeroPoint;
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    // Codes go through a local block: CodeT is a char type and may alias w,
    // which would stop the vectoriser.
    CodeT block[kLanes];
    for (int64_t j = 0; j < kLanes; ++j) {
      float q = roundToInt(clampTo(w[i + j] / scale, lo, hi));
      // A separate statement, so the product is rounded to float exactly as
      // dequantization rounds it (no contraction into an FMA).
      float wHat = scale * q;
      double e = static_cast<double>(w[i + j]) - static_cast<double>(wHat);
      e *= e;
      if (HasImp)
        e *= static_cast<double>(imp[i + j]);
      acc[j] += e;
      block[j] = static_cast<CodeT>(static_cast<int32_t>(q) + zp);
    }
    if (Write)
      std::memcpy(codes + i, block, sizeof(block));
  }
  for (; i < n; ++i) {
    float q = roundToInt(clampTo(w[i] / scale, lo, hi));
    float wHat = scale * q;
    double e = static_cast<double>(w[i]) - static_cast<double>(wHat);
    e *= e;
    if (HasImp)
      e *= static_cast<double>(imp[i]);
    acc[0] += e;
    if (Write)
      codes[i] = static_cast<CodeT>(static_cast<int32_t>(q) + zp);
  }
  return sumLanes(acc);
}

/// Search error of `c` on one span; falls back to division when the scale is
/// so small (a float subnormal) that its reciprocal overflows.
template <bool HasImp>
double candidateError(const float *w, const float *imp, int64_t n,
                      const Candidate &c) {
  float inv = 1.0f / c.scale;
  if (std::isfinite(inv))
    return searchError<HasImp>(w, imp, n, c, inv);
  return quantizeSpan<HasImp, /*Write=*/false, int8_t>(w, imp, n, c, nullptr);
}

/// The distinct candidates of a group with range [minv, maxv], plain first.
/// Adjacent ratios can round to the same stored scale (BF16 has 8 significant
/// bits); duplicates are dropped.
int buildCandidates(float minv, float maxv, const Params &p, bool clipSearch,
                    Candidate (&out)[kNumClipRatios]) {
  out[0] = makeCandidate(minv, maxv, 1.0, p);
  if (!clipSearch || (minv == 0.0f && maxv == 0.0f))
    return 1;
  int count = 1;
  for (unsigned i = 1; i < kNumClipRatios; ++i) {
    Candidate c = makeCandidate(minv, maxv, clipRatio(i), p);
    if (!(c == out[count - 1]))
      out[count++] = c;
  }
  return count;
}

/// Quantizes rows [rowBegin, rowEnd) group by group.
template <bool HasImp, typename CodeT>
void quantizeGroupedRows(const float *w, int64_t cols, int64_t rowBegin,
                         int64_t rowEnd, const float *importance,
                         const Params &p, bool clipSearch,
                         QuantizedMatrix &out, CodeT *codes) {
  const int64_t g = out.groupSize;
  Candidate cands[kNumClipRatios];
  for (int64_t row = rowBegin; row < rowEnd; ++row) {
    for (int64_t grp = 0; grp < out.groupsPerRow; ++grp) {
      const int64_t offset = row * cols + grp * g;
      const float *wg = w + offset;
      const float *imp = HasImp ? importance + grp * g : nullptr;
      CodeT *cg = codes + offset;

      float minv, maxv;
      spanMinMax(wg, g, minv, maxv);
      int count = buildCandidates(minv, maxv, p, clipSearch, cands);
      int best = 0;
      if (count > 1) {
        double bestErr = candidateError<HasImp>(wg, imp, g, cands[0]);
        for (int k = 1; k < count; ++k) {
          double err = candidateError<HasImp>(wg, imp, g, cands[k]);
          if (err < bestErr) {
            bestErr = err;
            best = k;
          }
        }
      }
      Candidate chosen = cands[best];
      if (best != 0) {
        double err = quantizeSpan<HasImp, true>(wg, imp, g, chosen, cg);
        double plainErr =
            quantizeSpan<HasImp, false, CodeT>(wg, imp, g, cands[0], nullptr);
        if (plainErr <= err)
          chosen = cands[0];
      }
      if (chosen == cands[0])
        quantizeSpan<HasImp, true>(wg, imp, g, chosen, cg);

      const int64_t gi = row * out.groupsPerRow + grp;
      out.scales[gi] = chosen.scale;
      if (!p.symmetric)
        out.zeroPoints[gi] = chosen.zeroPoint;
    }
  }
}

unsigned threadCount(unsigned requested, int64_t rows) {
  unsigned n = requested;
  if (n == 0)
    n = std::max(1u, std::thread::hardware_concurrency());
  return static_cast<unsigned>(std::min<int64_t>(n, rows));
}

/// Calls fn(rowBegin, rowEnd, block) for `numBlocks` contiguous row blocks,
/// one thread each (the calling thread takes block 0).
template <typename Fn>
void forEachRowBlock(int64_t rows, unsigned numBlocks, const Fn &fn) {
  auto begin = [&](unsigned b) { return rows * b / numBlocks; };
  if (numBlocks <= 1) {
    fn(int64_t(0), rows, 0u);
    return;
  }
  std::vector<std::thread> workers;
  workers.reserve(numBlocks - 1);
  for (unsigned b = 1; b < numBlocks; ++b)
    workers.emplace_back([&fn, &begin, b] { fn(begin(b), begin(b + 1), b); });
  fn(begin(0), begin(1), 0u);
  for (std::thread &t : workers)
    t.join();
}

/// Index of the first non-finite value in w[0, n), or n.
int64_t findNonFinite(const float *w, int64_t n) {
  // Test a block with a vectorisable OR of "exponent all ones", and scan it
  // element by element only if it holds a bad value.
  constexpr int64_t kBlock = 256;
  for (int64_t i = 0; i < n; i += kBlock) {
    const int64_t m = std::min(kBlock, n - i);
    uint32_t bad = 0;
    for (int64_t j = 0; j < m; ++j)
      bad |= (bitsOf(w[i + j]) & 0x7F800000u) == 0x7F800000u;
    if (bad)
      for (int64_t j = 0; j < m; ++j)
        if (!std::isfinite(w[i + j]))
          return i + j;
  }
  return n;
}

/// Per-tensor quantization: one candidate set for the whole matrix. Errors
/// are summed per row and then over rows in order, so the choice does not
/// depend on the number of threads.
template <bool HasImp, typename CodeT>
void quantizePerTensor(const float *w, int64_t rows, int64_t cols,
                       const float *importance, const Params &p,
                       bool clipSearch, unsigned numBlocks,
                       QuantizedMatrix &out, CodeT *codes) {
  std::vector<float> blockMin(numBlocks), blockMax(numBlocks);
  forEachRowBlock(rows, numBlocks, [&](int64_t r0, int64_t r1, unsigned b) {
    spanMinMax(w + r0 * cols, (r1 - r0) * cols, blockMin[b], blockMax[b]);
  });
  float minv = *std::min_element(blockMin.begin(), blockMin.end());
  float maxv = *std::max_element(blockMax.begin(), blockMax.end());

  Candidate cands[kNumClipRatios];
  int count = buildCandidates(minv, maxv, p, clipSearch, cands);
  int best = 0;
  if (count > 1) {
    std::vector<double> rowErr(static_cast<size_t>(rows) * count);
    forEachRowBlock(rows, numBlocks, [&](int64_t r0, int64_t r1, unsigned) {
      for (int64_t row = r0; row < r1; ++row)
        for (int k = 0; k < count; ++k)
          rowErr[row * count + k] = candidateError<HasImp>(
              w + row * cols, importance, cols, cands[k]);
    });
    std::vector<double> total(count, 0.0);
    for (int64_t row = 0; row < rows; ++row)
      for (int k = 0; k < count; ++k)
        total[k] += rowErr[row * count + k];
    for (int k = 1; k < count; ++k)
      if (total[k] < total[best])
        best = k;
  }

  Candidate chosen = cands[best];
  if (best != 0) {
    // Exact errors of the winner and of plain min/max, as in the grouped case.
    std::vector<double> rowBest(rows), rowPlain(rows);
    forEachRowBlock(rows, numBlocks, [&](int64_t r0, int64_t r1, unsigned) {
      for (int64_t row = r0; row < r1; ++row) {
        const float *wr = w + row * cols;
        rowBest[row] = quantizeSpan<HasImp, true>(wr, importance, cols, chosen,
                                                  codes + row * cols);
        rowPlain[row] = quantizeSpan<HasImp, false, CodeT>(
            wr, importance, cols, cands[0], nullptr);
      }
    });
    double err = 0.0, plainErr = 0.0;
    for (int64_t row = 0; row < rows; ++row) {
      err += rowBest[row];
      plainErr += rowPlain[row];
    }
    if (plainErr <= err)
      chosen = cands[0];
  }
  if (chosen == cands[0])
    forEachRowBlock(rows, numBlocks, [&](int64_t r0, int64_t r1, unsigned) {
      for (int64_t row = r0; row < r1; ++row)
        quantizeSpan<HasImp, true>(w + row * cols, importance, cols, chosen,
                                   codes + row * cols);
    });
  out.scales[0] = chosen.scale;
  if (!p.symmetric)
    out.zeroPoints[0] = chosen.zeroPoint;
}

template <bool HasImp, typename CodeT>
void quantizeAll(const float *w, int64_t rows, int64_t cols,
                 const QuantOptions &options, unsigned numBlocks,
                 QuantizedMatrix &out, CodeT *codes) {
  const Params p = makeParams(options);
  if (options.perTensor) {
    quantizePerTensor<HasImp>(w, rows, cols, options.importance, p,
                              options.clipSearch, numBlocks, out, codes);
    return;
  }
  forEachRowBlock(rows, numBlocks, [&](int64_t r0, int64_t r1, unsigned) {
    quantizeGroupedRows<HasImp>(w, cols, r0, r1, options.importance, p,
                                options.clipSearch, out, codes);
  });
}

/// How a non-integer format rounds: by its own rules, or to a Lut4
/// tensor's codebook.
struct FormatRounding {
  ElementFormat format;
  const Codebook *codebook = nullptr; // Lut4 only
  float round(float v) const {
    return codebook ? codebook->round(v) : roundToFormat(format, v);
  }
  uint8_t encode(float v) const {
    return codebook ? codebook->nearest(v) : encodeFormatValue(format, v);
  }
};

/// Non-integer formats (fp8, fp4, NF4, Lut4): one group's (weighted)
/// squared error with `scale`, codes rounded in the format, in double. The
/// codes are written when `codes` is not null.
template <bool HasImp>
double formatSpanError(const FormatRounding &format, const float *w,
                       const float *imp, int64_t n, float scale,
                       uint8_t *codes) {
  double acc = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    // True division, as for the integer codes: the code is the format's
    // nearest value to w / scale.
    float v = format.round(w[i] / scale);
    float wHat = scale * v;
    double e = static_cast<double>(w[i]) - static_cast<double>(wHat);
    e *= e;
    if (HasImp)
      e *= static_cast<double>(imp[i]);
    acc += e;
    if (codes)
      codes[i] = format.encode(v);
  }
  return acc;
}

/// Quantizes rows [rowBegin, rowEnd) group by group to a non-integer
/// format: the scale maps ratio * max|w| to the format's largest value, for
/// the same clipping ratios as the integer search (ratio 1 first, so it
/// wins ties), each rounded to the scale format before its error counts.
/// A format whose values are not symmetric about 0 (NF4: its negative
/// values are spaced differently from its positive ones) also tries each
/// scale negated, which mirrors the codebook: a group then takes the finer
/// side where its weights are dense (stories260K: KL 2.09 -> 1.75,
/// docs/ACCURACY.md).
/// With a tensor scale t (nvfp4), the stored block scale is s / t rounded
/// to the scale format, and the codes are those of the effective scale
/// t * (s / t rounded). Scalar: about 20 roundings per weight, fast enough
/// for compile time (docs/QUANTIZER.md). Each row's error goes to
/// rowErr[row].
template <bool HasImp>
void quantizeFormatRows(const float *w, int64_t cols, int64_t rowBegin,
                        int64_t rowEnd, const float *importance,
                        const Params &p, const FormatRounding &format,
                        bool clipSearch, QuantizedMatrix &out,
                        double *rowErr) {
  const int64_t g = out.groupSize;
  const double top = format.codebook ? format.codebook->largestMagnitude()
                                     : formatMaxValue(format.format);
  const float t = out.tensorScale;
  // The stored block scale of an ideal effective scale, and back.
  auto stored = [&](double ideal) { return storableScale(ideal / t, p); };
  for (int64_t row = rowBegin; row < rowEnd; ++row) {
    rowErr[row] = 0.0;
    for (int64_t grp = 0; grp < out.groupsPerRow; ++grp) {
      const int64_t offset = row * cols + grp * g;
      const float *wg = w + offset;
      const float *imp = HasImp ? importance + grp * g : nullptr;
      float minv, maxv;
      spanMinMax(wg, g, minv, maxv);
      double amax = std::max(-static_cast<double>(minv),
                             static_cast<double>(maxv));
      // All zeros: any scale is exact (every format, codebooks included,
      // has an exact 0).
      float best = 1.0f;
      double bestErr = 0.0;
      if (amax > 0) {
        best = stored(amax / top);
        bestErr =
            formatSpanError<HasImp>(format, wg, imp, g, t * best, nullptr);
        for (float sign : {1.0f, -1.0f}) {
          if (sign < 0 &&
              !(clipSearch && hasAsymmetricValues(format.format)))
            break;
          for (unsigned i = sign > 0 ? 1 : 0; clipSearch && i < kNumClipRatios;
               ++i) {
            float scale = sign * stored(clipRatio(i) * amax / top);
            if (scale == best)
              continue;
            double err = formatSpanError<HasImp>(format, wg, imp, g,
                                                 t * scale, nullptr);
            if (err < bestErr) {
              bestErr = err;
              best = scale;
            }
          }
        }
      }
      formatSpanError<HasImp>(format, wg, imp, g, t * best,
                              out.unsignedCodes.data() + offset);
      out.scales[row * out.groupsPerRow + grp] = best;
      rowErr[row] += bestErr;
    }
  }
}

/// Lut4's codebook refit: the (weighted) histogram of the weights divided
/// by their groups' scales, u = w / s, in kCodebookBins bins over
/// [-kCodebookRange, kCodebookRange] (a clipped group's |u| is at most 2,
/// ratio 0.5). A weight counts s^2 * importance: its error is
/// s^2 (u - value)^2.
constexpr int kCodebookBins = 8192;
constexpr double kCodebookRange = 2.5;
struct CodebookHistogram {
  std::vector<double> weight, weightedU;
  CodebookHistogram() : weight(kCodebookBins), weightedU(kCodebookBins) {}
};

/// The codebook of least weighted squared error for the weights scaled by
/// `q`'s scales (Lloyd's iterations from `start`, on the histogram), with
/// the value nearest 0 made 0 and the whole divided by its largest
/// magnitude: a codebook (checkCodebook) with a 0 and an end of magnitude
/// 1. Row chunks of a fixed count fill separate histograms summed in order,
/// so the result does not depend on the thread count.
std::vector<float> refitCodebook(const float *w, const float *importance,
                                 const QuantizedMatrix &q,
                                 const std::vector<float> &start,
                                 unsigned numBlocks) {
  const int64_t chunks = std::min<int64_t>(q.rows, 16);
  std::vector<CodebookHistogram> hist(chunks);
  const double binsPerUnit = kCodebookBins / (2 * kCodebookRange);
  forEachRowBlock(
      chunks, std::min<unsigned>(numBlocks, chunks),
      [&](int64_t c0, int64_t c1, unsigned) {
        for (int64_t c = c0; c < c1; ++c) {
          CodebookHistogram &h = hist[c];
          for (int64_t row = q.rows * c / chunks;
               row < q.rows * (c + 1) / chunks; ++row)
            for (int64_t grp = 0; grp < q.groupsPerRow; ++grp) {
              const double s = q.scales[row * q.groupsPerRow + grp];
              for (int64_t col = grp * q.groupSize;
                   col < (grp + 1) * q.groupSize; ++col) {
                double u = w[row * q.cols + col] / s;
                double weight = s * s;
                if (importance)
                  weight *= importance[col];
                int64_t bin = static_cast<int64_t>((u + kCodebookRange) *
                                                   binsPerUnit);
                bin = std::min<int64_t>(std::max<int64_t>(bin, 0),
                                        kCodebookBins - 1);
                h.weight[bin] += weight;
                h.weightedU[bin] += weight * u;
              }
            }
        }
      });
  for (int64_t c = 1; c < chunks; ++c)
    for (int b = 0; b < kCodebookBins; ++b) {
      hist[0].weight[b] += hist[c].weight[b];
      hist[0].weightedU[b] += hist[c].weightedU[b];
    }
  const CodebookHistogram &h = hist[0];

  double values[16];
  std::copy(start.begin(), start.end(), values);
  for (int iteration = 0; iteration < 100; ++iteration) {
    double weight[16] = {}, weightedU[16] = {};
    // The values stay sorted: each is the mean of the bins between its
    // neighbours' midpoints.
    int k = 0;
    for (int b = 0; b < kCodebookBins; ++b) {
      if (h.weight[b] <= 0)
        continue;
      double u = h.weightedU[b] / h.weight[b];
      while (k < 15 && u > 0.5 * (values[k] + values[k + 1]))
        ++k;
      weight[k] += h.weight[b];
      weightedU[k] += h.weightedU[b];
    }
    bool moved = false;
    for (int i = 0; i < 16; ++i)
      if (weight[i] > 0) {
        double v = weightedU[i] / weight[i];
        moved |= v != values[i];
        values[i] = v;
      }
    if (!moved)
      break;
  }
  int zero = 0;
  for (int i = 1; i < 16; ++i)
    if (std::fabs(values[i]) < std::fabs(values[zero]))
      zero = i;
  values[zero] = 0.0;
  double largest = 0.0;
  for (double v : values)
    largest = std::max(largest, std::fabs(v));
  std::vector<float> out(16);
  for (int i = 0; i < 16; ++i)
    out[i] = static_cast<float>(values[i] / largest);
  // The largest magnitude is exactly 1 (v / v). Lloyd's iterations keep the
  // values in order (an empty cell keeps its value, which its neighbours'
  // means do not pass), and so does zeroing the one nearest 0; values that
  // rounding to float made equal are pulled apart by one float step.
  for (int i = 1; i < 16; ++i)
    if (!(out[i] > out[i - 1]))
      out[i] = std::nextafter(out[i - 1], 2.0f);
  if (!checkCodebook(out.data(), out.size()).empty())
    return start;
  return out;
}

/// The f32 scale of a whole tensor whose block scales are stored in
/// `scaleFormat` (nvfp4's E4M3): the largest block's scale at clipping
/// ratio 1, max|w| / elementMax, maps to the format's largest block scale,
/// so the blocks use its whole range. 1 for an all-zero tensor; never
/// below the smallest normal float.
float chooseTensorScale(const float *w, int64_t n, ScaleFormat scaleFormat,
                        double elementMax) {
  float minv, maxv;
  spanMinMax(w, n, minv, maxv);
  double amax = std::max(-static_cast<double>(minv), static_cast<double>(maxv));
  if (amax == 0)
    return 1.0f;
  double t = amax / elementMax / maxBlockScale(scaleFormat);
  return std::max(static_cast<float>(t), std::numeric_limits<float>::min());
}

} // namespace

std::string mlir::qnt::validateQuantOptions(int64_t rows, int64_t cols,
                                            const QuantOptions &options) {
  if (rows <= 0 || cols <= 0)
    return "matrix shape " + std::to_string(rows) + "x" +
           std::to_string(cols) + " is empty; rows and columns must be positive";
  if (rows > std::numeric_limits<int64_t>::max() / cols)
    return "matrix shape " + std::to_string(rows) + "x" +
           std::to_string(cols) + " is too large";
  if (findInvalidSchemeParameter({options.bits}))
    return "bits must be in 1..8, got " + std::to_string(options.bits);
  if (options.format != ElementFormat::Int) {
    std::string name = elementFormatName(options.format).str();
    if (options.bits != elementFormatBits(options.format))
      return "format " + name + " has " +
             std::to_string(elementFormatBits(options.format)) +
             " bits, not " + std::to_string(options.bits);
    if (!options.symmetric)
      return "format " + name + " is symmetric only (no zero points)";
    if (options.perTensor)
      return "the quantizer makes format " + name +
             " with per-channel or per-group scales only";
  }
  // The scale formats (the fp4 block scales) and block sizes of each
  // format, as the #qnt.scheme verifier checks them.
  FormatRuleInput rules{options.format,
                        options.bits,
                        !options.symmetric,
                        /*offsets=*/false,
                        options.perTensor,
                        !options.perTensor && options.groupSize > 0,
                        options.perTensor ? 0 : options.groupSize,
                        options.scaleFormat,
                        scaleFormatName(options.scaleFormat)};
  if (std::string rule = checkFormatRules(rules); !rule.empty())
    return rule;
  if (options.perTensor)
    return "";
  if (options.groupSize < 0)
    return "group size must be >= 0 (0 means per channel), got " +
           std::to_string(options.groupSize);
  if (options.groupSize != 0 && cols % options.groupSize != 0)
    return "group size " + std::to_string(options.groupSize) +
           " does not divide the row length " + std::to_string(cols);
  return "";
}

std::string mlir::qnt::quantizeMatrix(const float *w, int64_t rows,
                                      int64_t cols, const QuantOptions &options,
                                      QuantizedMatrix &out) {
  out = QuantizedMatrix();
  std::string error = validateQuantOptions(rows, cols, options);
  if (!error.empty())
    return error;
  if (options.format == ElementFormat::Lut4 && options.codebook) {
    if (std::string e = checkCodebook(options.codebook, 16); !e.empty())
      return "the starting codebook " + e;
    // Groups of zeros keep their codes' error at 0 (any scale is exact).
    if (std::none_of(options.codebook, options.codebook + 16,
                     [](float v) { return v == 0.0f; }))
      return "the starting codebook has no value 0; the quantizer keeps "
             "zero weights exact";
  }
  if (const float *imp = options.importance)
    for (int64_t k = 0; k < cols; ++k)
      if (!(std::isfinite(imp[k]) && imp[k] >= 0.0f))
        return "importance weight " + formatFloat(imp[k]) + " at column " +
               std::to_string(k) + " must be finite and >= 0";

  const unsigned numBlocks = threadCount(options.numThreads, rows);
  std::vector<int64_t> firstBad(numBlocks, -1);
  forEachRowBlock(rows, numBlocks, [&](int64_t r0, int64_t r1, unsigned b) {
    int64_t n = (r1 - r0) * cols;
    int64_t i = findNonFinite(w + r0 * cols, n);
    if (i < n)
      firstBad[b] = r0 * cols + i;
  });
  // Blocks are in row order, so the first block with a bad value has the
  // first bad value of the matrix.
  for (int64_t bad : firstBad)
    if (bad >= 0)
      return "non-finite value " + formatFloat(w[bad]) + " at row " +
             std::to_string(bad / cols) + ", column " +
             std::to_string(bad % cols);

  out.format = options.format;
  out.rows = rows;
  out.cols = cols;
  out.bits = options.bits;
  out.symmetric = options.symmetric;
  out.perTensor = options.perTensor;
  out.scaleFormat = options.scaleFormat;
  if (std::optional<WeightFormat> block = fp4BlockFormat(options.scaleFormat);
      block && block->tensorScale)
    out.tensorScale = chooseTensorScale(w, rows * cols, options.scaleFormat,
                                        formatMaxValue(options.format));
  const bool perChannel = options.perTensor || options.groupSize == 0;
  out.groupSize = perChannel ? cols : options.groupSize;
  out.groupsPerRow = cols / out.groupSize;
  const int64_t numGroups = options.perTensor ? 1 : rows * out.groupsPerRow;
  out.scales.assign(numGroups, 0.0f);
  if (!options.symmetric)
    out.zeroPoints.assign(numGroups, 0);

  const size_t numElements = static_cast<size_t>(rows * cols);
  const bool hasImp = options.importance != nullptr;
  if (options.format != ElementFormat::Int) {
    out.unsignedCodes.resize(numElements);
    const Params p = makeParams(options);
    std::vector<double> rowErr(rows);
    // The error of the codes, summed in row order.
    auto quantizeRows = [&](const Codebook *codebook) {
      FormatRounding rounding{options.format, codebook};
      forEachRowBlock(rows, numBlocks, [&](int64_t r0, int64_t r1, unsigned) {
        if (hasImp)
          quantizeFormatRows<true>(w, cols, r0, r1, options.importance, p,
                                   rounding, options.clipSearch, out,
                                   rowErr.data());
        else
          quantizeFormatRows<false>(w, cols, r0, r1, nullptr, p, rounding,
                                    options.clipSearch, out, rowErr.data());
      });
      double sum = 0.0;
      for (double e : rowErr)
        sum += e;
      return sum;
    };
    if (options.format != ElementFormat::Lut4) {
      quantizeRows(nullptr);
      return "";
    }
    const float *start = options.codebook ? options.codebook : kNf4Values;
    out.codebook.assign(start, start + 16);
    const Codebook first(start);
    double bestErr = quantizeRows(&first);
    std::vector<uint8_t> keptCodes;
    std::vector<float> keptScales;
    for (unsigned round = 0; round < kCodebookRounds; ++round) {
      std::vector<float> table = refitCodebook(
          w, options.importance, out, out.codebook, numBlocks);
      // The same table would give the same codes: nothing left to gain.
      if (table == out.codebook)
        break;
      keptCodes = out.unsignedCodes;
      keptScales = out.scales;
      Codebook codebook(table.data());
      double err = quantizeRows(&codebook);
      if (!(err < bestErr)) {
        out.unsignedCodes.swap(keptCodes);
        out.scales.swap(keptScales);
        break;
      }
      out.codebook = std::move(table);
      bestErr = err;
    }
  } else if (options.symmetric) {
    out.signedCodes.resize(numElements);
    int8_t *codes = out.signedCodes.data();
    if (hasImp)
      quantizeAll<true>(w, rows, cols, options, numBlocks, out, codes);
    else
      quantizeAll<false>(w, rows, cols, options, numBlocks, out, codes);
  } else {
    out.unsignedCodes.resize(numElements);
    uint8_t *codes = out.unsignedCodes.data();
    if (hasImp)
      quantizeAll<true>(w, rows, cols, options, numBlocks, out, codes);
    else
      quantizeAll<false>(w, rows, cols, options, numBlocks, out, codes);
  }
  return "";
}

void mlir::qnt::dequantizeMatrix(const QuantizedMatrix &q, float *out) {
  if (q.format != ElementFormat::Int) {
    for (int64_t row = 0; row < q.rows; ++row)
      for (int64_t col = 0; col < q.cols; ++col)
        out[row * q.cols + col] = q.dequantized(row, col);
    return;
  }
  for (int64_t row = 0; row < q.rows; ++row)
    for (int64_t grp = 0; grp < q.groupsPerRow; ++grp) {
      const int64_t begin = grp * q.groupSize;
      const int64_t gi = q.groupIndex(row, begin);
      const float scale = q.scales[gi];
      const int32_t zp = q.symmetric ? 0 : q.zeroPoints[gi];
      const int64_t offset = row * q.cols + begin;
      if (q.symmetric)
        for (int64_t i = 0; i < q.groupSize; ++i)
          out[offset + i] =
              scale * static_cast<float>(q.signedCodes[offset + i] - zp);
      else
        for (int64_t i = 0; i < q.groupSize; ++i)
          out[offset + i] =
              scale * static_cast<float>(q.unsignedCodes[offset + i] - zp);
    }
}

double mlir::qnt::quantizationError(const float *w, const QuantizedMatrix &q,
                                    const float *importance) {
  double sum = 0.0;
  for (int64_t row = 0; row < q.rows; ++row)
    for (int64_t col = 0; col < q.cols; ++col) {
      double e = static_cast<double>(w[row * q.cols + col]) -
                 static_cast<double>(q.dequantized(row, col));
      e *= e;
      if (importance)
        e *= static_cast<double>(importance[col]);
      sum += e;
    }
  return sum;
}

float mlir::qnt::roundToScaleFormat(float value, ScaleFormat format) {
  switch (format) {
  case ScaleFormat::F32:
    return value;
  case ScaleFormat::F16:
    return floatFromHalfBits(halfBitsFromFloat(value));
  case ScaleFormat::BF16:
    return floatFromBf16Bits(bf16BitsFromFloat(value));
  case ScaleFormat::F8E4M3:
    return roundToFormat(ElementFormat::F8E4M3FN, value);
  case ScaleFormat::F8E8M0: {
    // Up to a power of two, so that a block's scale never clips more than
    // its clipping ratio asks.
    if (!(value > 0) || std::isinf(value))
      return value;
    int exponent;
    float mantissa = std::frexp(value, &exponent); // in [0.5, 1)
    return std::ldexp(1.0f, mantissa == 0.5f ? exponent - 1 : exponent);
  }
  }
  return value;
}

uint16_t mlir::qnt::halfBitsFromFloat(float value) {
  const uint32_t x = bitsOf(value);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t ax = x & 0x7FFFFFFFu;
  if (ax >= 0x7F800000u) {
    if (ax == 0x7F800000u)
      return static_cast<uint16_t>(sign | 0x7C00u);
    // Keep the top payload bits and force the quiet bit, so a NaN never
    // turns into infinity.
    return static_cast<uint16_t>(sign | 0x7E00u | ((ax >> 13) & 0x3FFu));
  }
  // 65520 = 65504 + half an ulp: it and everything above round to infinity.
  if (ax >= 0x477FF000u)
    return static_cast<uint16_t>(sign | 0x7C00u);
  if (ax >= 0x38800000u) {
    // Normal half: rebias the exponent (127 -> 15), drop 13 mantissa bits
    // with round-half-even. A mantissa carry correctly bumps the exponent.
    uint32_t h = (ax - 0x38000000u) >> 13;
    const uint32_t rest = ax & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
      ++h;
    return static_cast<uint16_t>(sign | h);
  }
  // 2^-25 is the tie between 0 and the smallest subnormal; it goes to 0.
  if (ax <= 0x33000000u)
    return static_cast<uint16_t>(sign);
  // Subnormal half h * 2^-24 from a float m * 2^(e - 150) with the implicit
  // bit in m: h = m >> (126 - e), rounded half to even. Rounding up from the
  // largest subnormal yields 0x400, the smallest normal, as it should.
  const uint32_t e = ax >> 23;
  const uint32_t m = (ax & 0x7FFFFFu) | 0x800000u;
  const uint32_t shift = 126 - e;
  uint32_t h = m >> shift;
  const uint32_t rest = m & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1);
  if (rest > half || (rest == half && (h & 1u)))
    ++h;
  return static_cast<uint16_t>(sign | h);
}

float mlir::qnt::floatFromHalfBits(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t exp = (bits >> 10) & 0x1Fu;
  const uint32_t mant = bits & 0x3FFu;
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24, exact in float.
    float magnitude = static_cast<float>(mant) * 5.9604644775390625e-8f;
    return floatOf(sign | bitsOf(magnitude));
  }
  if (exp == 31)
    return floatOf(sign | 0x7F800000u | (mant << 13));
  return floatOf(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t mlir::qnt::bf16BitsFromFloat(float value) {
  const uint32_t x = bitsOf(value);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u)
    // Truncating could clear every mantissa bit and make infinity.
    return static_cast<uint16_t>((x >> 16) | 0x0040u);
  // Round half to even on the bit pattern; this is also right for
  // subnormals, and the largest floats correctly round up to infinity.
  const uint32_t bias = 0x7FFFu + ((x >> 16) & 1u);
  return static_cast<uint16_t>((x + bias) >> 16);
}

float mlir::qnt::floatFromBf16Bits(uint16_t bits) {
  return floatOf(static_cast<uint32_t>(bits) << 16);
}
