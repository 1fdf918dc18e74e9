//===- QuantizerTest.cpp - Tests for the weight quantizer -----------------===//
//
// Expected values are recomputed here in double from the stored codes, scales
// and zero points, or derived by hand in comments; the contract is
// docs/QUANTIZER.md.
//
//===----------------------------------------------------------------------===//

#include "qnt/Support/Quantizer.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace mlir::qnt;

namespace {

using Matrix = std::vector<float>;

Matrix randomNormal(int64_t rows, int64_t cols, unsigned seed,
                    float stddev = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  Matrix w(rows * cols);
  for (float &x : w)
    x = dist(rng);
  return w;
}

/// Student-t with 3 degrees of freedom: rare values far out in the tails,
/// where clipping them buys resolution for the bulk.
Matrix randomHeavyTailed(int64_t rows, int64_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::student_t_distribution<float> dist(3.0f);
  Matrix w(rows * cols);
  for (float &x : w)
    x = dist(rng);
  return w;
}

int32_t codeMinOf(unsigned bits, bool symmetric) {
  return symmetric ? -(1 << (bits - 1)) : 0;
}

int32_t codeMaxOf(unsigned bits, bool symmetric) {
  return symmetric ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
}

/// Dequantized value of (row, col) recomputed from the stored fields,
/// independent of QuantizedMatrix::dequantized: the exact product
/// scale * (code - zp) (exact in double) rounded once to float, as the
/// contract defines w_hat.
double refDequant(const QuantizedMatrix &q, int64_t row, int64_t col) {
  int64_t i = row * q.cols + col;
  int64_t g = q.perTensor ? 0 : row * q.groupsPerRow + col / q.groupSize;
  int32_t code = q.symmetric ? q.signedCodes[i] : q.unsignedCodes[i];
  int32_t zp = q.symmetric ? 0 : q.zeroPoints[g];
  return static_cast<float>(static_cast<double>(q.scales[g]) * (code - zp));
}

double refError(const Matrix &w, const QuantizedMatrix &q,
                const float *importance = nullptr) {
  double sum = 0.0;
  for (int64_t r = 0; r < q.rows; ++r)
    for (int64_t c = 0; c < q.cols; ++c) {
      double e = w[r * q.cols + c] - refDequant(q, r, c);
      sum += (importance ? importance[c] : 1.0) * e * e;
    }
  return sum;
}

QuantizedMatrix quantizeOk(const Matrix &w, int64_t rows, int64_t cols,
                           const QuantOptions &options) {
  QuantizedMatrix q;
  std::string error = quantizeMatrix(w.data(), rows, cols, options, q);
  EXPECT_EQ(error, "");
  return q;
}

std::string describe(const QuantOptions &o) {
  return "bits=" + std::to_string(o.bits) +
         (o.symmetric ? " sym" : " asym") +
         " group=" + (o.perTensor ? "tensor" : std::to_string(o.groupSize)) +
         " format=" + std::to_string(static_cast<int>(o.scaleFormat)) +
         (o.clipSearch ? " clip" : " noclip");
}

const int64_t kGroupSizes[] = {32, 64, 128, 0};
const ScaleFormat kFormats[] = {ScaleFormat::F32, ScaleFormat::F16,
                                ScaleFormat::BF16};

/// Checks the structural invariants every result must satisfy: sizes, code
/// and zero point ranges, finite positive scales exactly representable in
/// the scale format.
void expectWellFormed(const QuantizedMatrix &q, const QuantOptions &o) {
  SCOPED_TRACE(describe(o));
  const size_t n = static_cast<size_t>(q.rows * q.cols);
  const int64_t groups = o.perTensor ? 1 : q.rows * q.groupsPerRow;
  ASSERT_EQ(q.scales.size(), static_cast<size_t>(groups));
  const int32_t lo = codeMinOf(o.bits, o.symmetric);
  const int32_t hi = codeMaxOf(o.bits, o.symmetric);
  if (o.symmetric) {
    ASSERT_EQ(q.signedCodes.size(), n);
    EXPECT_TRUE(q.unsignedCodes.empty());
    EXPECT_TRUE(q.zeroPoints.empty());
    for (int8_t c : q.signedCodes)
      ASSERT_TRUE(c >= lo && c <= hi) << int(c);
  } else {
    ASSERT_EQ(q.unsignedCodes.size(), n);
    EXPECT_TRUE(q.signedCodes.empty());
    ASSERT_EQ(q.zeroPoints.size(), static_cast<size_t>(groups));
    for (uint8_t c : q.unsignedCodes)
      ASSERT_LE(c, hi);
    for (int32_t zp : q.zeroPoints)
      ASSERT_TRUE(zp >= 0 && zp <= hi) << zp;
  }
  for (float s : q.scales) {
    ASSERT_TRUE(std::isfinite(s) && s > 0.0f) << s;
    if (o.scaleFormat == ScaleFormat::F16) {
      ASSERT_EQ(floatFromHalfBits(halfBitsFromFloat(s)), s);
    }
    if (o.scaleFormat == ScaleFormat::BF16) {
      ASSERT_EQ(floatFromBf16Bits(bf16BitsFromFloat(s)), s);
    }
  }
}

//===----------------------------------------------------------------------===//
// Round to nearest
//===----------------------------------------------------------------------===//

// With plain min/max scales the grid covers every value of the group (for
// asymmetric, rounding the zero point moves the top of the grid by at most
// scale / 2), so every element is within half a step of its dequantized
// value. The slack covers rounding the ideal scale to float.
TEST(QuantizerTest, RoundToNearestErrorIsAtMostHalfAStep) {
  const int64_t rows = 6, cols = 384;
  Matrix w = randomNormal(rows, cols, 1);
  for (unsigned bits : {2u, 3u, 4u, 8u})
    for (bool symmetric : {true, false})
      for (int64_t g : kGroupSizes) {
        QuantOptions o;
        o.bits = bits;
        o.symmetric = symmetric;
        o.groupSize = g;
        o.clipSearch = false;
        SCOPED_TRACE(describe(o));
        QuantizedMatrix q = quantizeOk(w, rows, cols, o);
        expectWellFormed(q, o);
        const int64_t gs = g == 0 ? cols : g;
        ASSERT_EQ(q.groupSize, gs);
        ASSERT_EQ(q.groupsPerRow, cols / gs);
        const double qmax = codeMaxOf(bits, symmetric);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t grp = 0; grp < cols / gs; ++grp) {
            const float *wg = &w[r * cols + grp * gs];
            double mn = *std::min_element(wg, wg + gs);
            double mx = *std::max_element(wg, wg + gs);
            float scale = q.scales[r * q.groupsPerRow + grp];
            // The plain scale is the min/max range over the code steps.
            if (symmetric) {
              EXPECT_EQ(scale,
                        static_cast<float>(std::max(-mn, mx) / qmax));
            } else {
              double lo = std::min(mn, 0.0), hi = std::max(mx, 0.0);
              EXPECT_EQ(scale, static_cast<float>((hi - lo) / qmax));
              double zp = std::nearbyint(-lo / scale);
              EXPECT_EQ(q.zeroPoints[r * q.groupsPerRow + grp],
                        static_cast<int32_t>(std::clamp(zp, 0.0, qmax)));
            }
            for (int64_t k = 0; k < gs; ++k) {
              int64_t c = grp * gs + k;
              double err = std::fabs(wg[k] - refDequant(q, r, c));
              ASSERT_LE(err, scale * (0.5 + 1e-4))
                  << "row " << r << " col " << c;
            }
          }
      }
}

// Rows whose length is not a multiple of the kernels' 16-wide blocks go
// through the tail loops.
TEST(QuantizerTest, OddGroupSizesUseTheSameRounding) {
  for (int64_t cols : {int64_t(1), int64_t(12), int64_t(37)})
    for (bool clip : {false, true}) {
      Matrix w = randomNormal(3, cols, 2);
      QuantOptions o;
      o.bits = 3;
      o.groupSize = cols == 12 ? 12 : 0;
      o.clipSearch = clip;
      QuantizedMatrix q = quantizeOk(w, 3, cols, o);
      expectWellFormed(q, o);
      for (int64_t r = 0; r < 3; ++r)
        for (int64_t c = 0; c < cols; ++c) {
          // Each code is the clamped round-half-even of w / scale.
          float s = q.scales[q.groupIndex(r, c)];
          double expected = std::clamp(
              static_cast<double>(std::nearbyint(w[r * cols + c] / s)), -4.0,
              3.0);
          ASSERT_EQ(q.code(r, c), expected) << r << "," << c;
        }
    }
}

TEST(QuantizerTest, PerTensorUsesOneScale) {
  const int64_t rows = 5, cols = 64;
  Matrix w = randomNormal(rows, cols, 3);
  for (bool symmetric : {true, false}) {
    QuantOptions o;
    o.bits = 4;
    o.symmetric = symmetric;
    o.perTensor = true;
    o.groupSize = 48; // Ignored: does not divide 64, but perTensor is set.
    o.clipSearch = false;
    QuantizedMatrix q = quantizeOk(w, rows, cols, o);
    expectWellFormed(q, o);
    ASSERT_EQ(q.scales.size(), 1u);
    double mn = *std::min_element(w.begin(), w.end());
    double mx = *std::max_element(w.begin(), w.end());
    double expected = symmetric ? std::max(-mn, mx) / 7.0
                                : (std::max(mx, 0.0) - std::min(mn, 0.0)) / 15;
    EXPECT_EQ(q.scales[0], static_cast<float>(expected));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        ASSERT_LE(std::fabs(w[r * cols + c] - refDequant(q, r, c)),
                  q.scales[0] * (0.5 + 1e-4));
  }
}

TEST(QuantizerTest, DequantizeMatchesStoredFields) {
  const int64_t rows = 4, cols = 96;
  Matrix w = randomNormal(rows, cols, 4);
  for (bool symmetric : {true, false}) {
    QuantOptions o;
    o.bits = 5;
    o.symmetric = symmetric;
    o.groupSize = 32;
    QuantizedMatrix q = quantizeOk(w, rows, cols, o);
    Matrix out(rows * cols);
    dequantizeMatrix(q, out.data());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        // One float rounding of the exact product scale * (q - zp).
        ASSERT_EQ(out[r * cols + c], static_cast<float>(refDequant(q, r, c)));
        ASSERT_EQ(out[r * cols + c], q.dequantized(r, c));
      }
    EXPECT_NEAR(quantizationError(w.data(), q), refError(w, q),
                1e-12 * refError(w, q));
  }
}

//===----------------------------------------------------------------------===//
// Degenerate groups and values
//===----------------------------------------------------------------------===//

TEST(QuantizerTest, AllZeroGroupDequantizesToExactZeros) {
  const int64_t rows = 3, cols = 64;
  Matrix w = randomNormal(rows, cols, 5);
  // Row 1, group 1 (columns 32..63) is all zeros, one of them negative zero.
  std::fill(w.begin() + cols + 32, w.begin() + 2 * cols, 0.0f);
  w[cols + 40] = -0.0f;
  for (unsigned bits = 1; bits <= 8; ++bits)
    for (bool symmetric : {true, false})
      for (ScaleFormat format : kFormats)
        for (bool clip : {false, true}) {
          QuantOptions o;
          o.bits = bits;
          o.symmetric = symmetric;
          o.groupSize = 32;
          o.scaleFormat = format;
          o.clipSearch = clip;
          SCOPED_TRACE(describe(o));
          QuantizedMatrix q = quantizeOk(w, rows, cols, o);
          expectWellFormed(q, o);
          Matrix out(rows * cols);
          dequantizeMatrix(q, out.data());
          for (float x : out)
            ASSERT_TRUE(std::isfinite(x));
          for (int64_t c = 32; c < 64; ++c)
            ASSERT_EQ(out[cols + c], 0.0f);
          // The documented choice for an all-zero group.
          EXPECT_EQ(q.scales[1 * 2 + 1], 1.0f);
        }
}

TEST(QuantizerTest, AllZeroMatrixPerTensor) {
  Matrix w(4 * 16, 0.0f);
  for (bool symmetric : {true, false}) {
    QuantOptions o;
    o.symmetric = symmetric;
    o.perTensor = true;
    QuantizedMatrix q = quantizeOk(w, 4, 16, o);
    expectWellFormed(q, o);
    EXPECT_EQ(q.scales[0], 1.0f);
    EXPECT_EQ(quantizationError(w.data(), q), 0.0);
  }
}

// An integer zero point puts 0 on the grid, so zeros inside a nonzero
// asymmetric group survive exactly too.
TEST(QuantizerTest, AsymmetricRepresentsZeroExactly) {
  const int64_t rows = 8, cols = 128;
  Matrix w = randomNormal(rows, cols, 6);
  for (int64_t i = 0; i < rows * cols; i += 7)
    w[i] = 0.0f;
  // A group with only positive values, which needs the range extended to 0.
  for (int64_t c = 0; c < 32; ++c)
    w[c] = 1.0f + std::fabs(w[c]);
  w[5] = 0.0f;
  for (unsigned bits : {2u, 4u, 8u})
    for (bool clip : {false, true}) {
      QuantOptions o;
      o.bits = bits;
      o.symmetric = false;
      o.groupSize = 32;
      o.clipSearch = clip;
      QuantizedMatrix q = quantizeOk(w, rows, cols, o);
      expectWellFormed(q, o);
      for (int64_t i = 0; i < rows * cols; ++i)
        if (w[i] == 0.0f) {
          ASSERT_EQ(q.dequantized(i / cols, i % cols), 0.0f) << i;
        }
    }
}

// 1-bit symmetric has the codes {-1, 0}: the scale maps the largest
// magnitude to code -1 (documented), and everything stays finite.
TEST(QuantizerTest, OneBitIsWellDefined) {
  Matrix w = {-2.0f, -1.5f, -0.2f, 0.1f, 0.4f, 1.0f, -0.9f, 0.0f};
  QuantOptions o;
  o.bits = 1;
  o.groupSize = 0;
  o.clipSearch = false;
  QuantizedMatrix q = quantizeOk(w, 1, 8, o);
  expectWellFormed(q, o);
  EXPECT_EQ(q.scales[0], 2.0f);
  // w / 2 rounded and clamped to [-1, 0]: -1, -1 (-0.75), 0, 0, 0, 0,
  // 0 (-0.45), 0.
  const int8_t expected[] = {-1, -1, 0, 0, 0, 0, 0, 0};
  for (int c = 0; c < 8; ++c)
    EXPECT_EQ(q.signedCodes[c], expected[c]) << c;

  o.symmetric = false;
  q = quantizeOk(w, 1, 8, o);
  expectWellFormed(q, o);
  // Range [-2, 1] over one step: scale 3, zero point round(2 / 3) = 1.
  EXPECT_EQ(q.scales[0], 3.0f);
  EXPECT_EQ(q.zeroPoints[0], 1);
}

TEST(QuantizerTest, ExtremeMagnitudesGiveFiniteScales) {
  const int64_t cols = 32;
  Matrix w = randomNormal(4, cols, 7);
  auto scaled = [&](float factor) {
    Matrix m = w;
    for (float &x : m)
      x *= factor;
    return m;
  };
  // 1e6 needs a scale beyond f16's 65504; 1e-10 one below its smallest
  // subnormal; 1e-43 a float32 subnormal scale whose reciprocal overflows;
  // 1e38 a range (max - min) beyond float.
  for (float factor : {1e6f, 1e-10f, 1e-43f, 1e38f})
    for (ScaleFormat format : kFormats)
      for (bool symmetric : {true, false})
        for (unsigned bits : {1u, 4u, 8u}) {
          Matrix m = scaled(factor);
          QuantOptions o;
          o.bits = bits;
          o.symmetric = symmetric;
          o.groupSize = 16;
          o.scaleFormat = format;
          SCOPED_TRACE(describe(o) + " factor=" + std::to_string(factor));
          QuantizedMatrix q = quantizeOk(m, 4, cols, o);
          expectWellFormed(q, o);
          Matrix out(4 * cols);
          dequantizeMatrix(q, out.data());
          for (float x : out)
            ASSERT_TRUE(std::isfinite(x));
          ASSERT_TRUE(std::isfinite(quantizationError(m.data(), q)));
        }
}

//===----------------------------------------------------------------------===//
// Rejected input
//===----------------------------------------------------------------------===//

std::string quantizeError(const Matrix &w, int64_t rows, int64_t cols,
                          const QuantOptions &o) {
  QuantizedMatrix q;
  std::string error = quantizeMatrix(w.data(), rows, cols, o, q);
  if (!error.empty()) {
    // A failed call leaves nothing half-written behind.
    EXPECT_TRUE(q.scales.empty() && q.signedCodes.empty() &&
                q.unsignedCodes.empty());
  }
  return error;
}

TEST(QuantizerTest, NonFiniteValuesAreRejectedWithTheirPosition) {
  const int64_t rows = 5, cols = 64;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (unsigned threads : {1u, 2u, 4u}) {
    QuantOptions o;
    o.numThreads = threads;
    o.groupSize = 32;
    Matrix w = randomNormal(rows, cols, 8);
    w[3 * cols + 17] = nan;
    EXPECT_EQ(quantizeError(w, rows, cols, o),
              "non-finite value nan at row 3, column 17");

    // The first bad value in row-major order is reported, even when later
    // row blocks (other threads) hold bad values too.
    w[4 * cols + 63] = -inf;
    w[1 * cols + 40] = inf;
    EXPECT_EQ(quantizeError(w, rows, cols, o),
              "non-finite value inf at row 1, column 40");

    Matrix v = randomNormal(rows, cols, 9);
    v[4 * cols + 63] = -inf;
    o.perTensor = true;
    EXPECT_EQ(quantizeError(v, rows, cols, o),
              "non-finite value -inf at row 4, column 63");
  }
}

TEST(QuantizerTest, InvalidOptionsAreRejected) {
  Matrix w = randomNormal(2, 64, 10);
  QuantOptions o;
  o.bits = 0;
  EXPECT_EQ(quantizeError(w, 2, 64, o), "bits must be in 1..8, got 0");
  o.bits = 9;
  EXPECT_EQ(quantizeError(w, 2, 64, o), "bits must be in 1..8, got 9");
  o.bits = 4;
  o.groupSize = 48;
  EXPECT_EQ(quantizeError(w, 2, 64, o),
            "group size 48 does not divide the row length 64");
  o.groupSize = 128;
  EXPECT_EQ(quantizeError(w, 2, 64, o),
            "group size 128 does not divide the row length 64");
  o.groupSize = -32;
  EXPECT_EQ(quantizeError(w, 2, 64, o),
            "group size must be >= 0 (0 means per channel), got -32");
  o.groupSize = 32;
  EXPECT_EQ(validateQuantOptions(0, 64, o),
            "matrix shape 0x64 is empty; rows and columns must be positive");
  EXPECT_EQ(validateQuantOptions(2, 64, o), "");

  std::vector<float> importance(64, 1.0f);
  importance[9] = -1.0f;
  o.importance = importance.data();
  EXPECT_EQ(quantizeError(w, 2, 64, o),
            "importance weight -1 at column 9 must be finite and >= 0");
  importance[9] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(quantizeError(w, 2, 64, o),
            "importance weight nan at column 9 must be finite and >= 0");
}

//===----------------------------------------------------------------------===//
// Clipping search
//===----------------------------------------------------------------------===//

// The search includes the plain scale and keeps it unless something is
// strictly better, so its error is never larger, per group and in total.
TEST(QuantizerTest, ClipSearchIsNeverWorseThanMinMax) {
  const int64_t rows = 8, cols = 256;
  Matrix normal = randomNormal(rows, cols, 11);
  for (unsigned bits : {1u, 2u, 3u, 4u, 8u})
    for (bool symmetric : {true, false})
      for (int64_t g : kGroupSizes)
        for (ScaleFormat format : kFormats) {
          QuantOptions o;
          o.bits = bits;
          o.symmetric = symmetric;
          o.groupSize = g;
          o.scaleFormat = format;
          o.clipSearch = false;
          QuantizedMatrix plain = quantizeOk(normal, rows, cols, o);
          o.clipSearch = true;
          SCOPED_TRACE(describe(o));
          QuantizedMatrix clipped = quantizeOk(normal, rows, cols, o);
          expectWellFormed(clipped, o);
          const double plainErr = refError(normal, plain);
          ASSERT_LE(refError(normal, clipped), plainErr * (1 + 1e-12));
        }
}

TEST(QuantizerTest, ClipSearchHelpsOnHeavyTails) {
  const int64_t rows = 16, cols = 512;
  Matrix w = randomHeavyTailed(rows, cols, 12);
  for (bool symmetric : {true, false})
    for (int64_t g : {int64_t(128), int64_t(0)})
      for (bool perTensor : {false, true}) {
        QuantOptions o;
        o.bits = 3;
        o.symmetric = symmetric;
        o.groupSize = g;
        o.perTensor = perTensor;
        o.clipSearch = false;
        QuantizedMatrix plain = quantizeOk(w, rows, cols, o);
        o.clipSearch = true;
        SCOPED_TRACE(describe(o));
        QuantizedMatrix clipped = quantizeOk(w, rows, cols, o);
        // Student-t(3) maxima sit far out in the tail; clipping them wins
        // by a wide margin (error ratio 0.44 to 0.77 with libstdc++'s
        // generator), not by rounding noise.
        EXPECT_LT(refError(w, clipped), 0.9 * refError(w, plain));
      }
}

/// Error in double of quantizing `w` with one (scale, zero point), with the
/// codes computed independently: clamp(round-half-even(w / scale) + zp).
double groupErrorFor(const std::vector<float> &w, const float *imp,
                     float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  double sum = 0.0;
  for (size_t k = 0; k < w.size(); ++k) {
    double code = std::nearbyint(static_cast<double>(w[k] / scale)) + zp;
    code = std::clamp(code, static_cast<double>(qmin),
                      static_cast<double>(qmax));
    float wHat = static_cast<float>(static_cast<double>(scale) * (code - zp));
    double e = static_cast<double>(w[k]) - wHat;
    sum += (imp ? imp[k] : 1.0) * e * e;
  }
  return sum;
}

// For tiny 2-bit groups, enumerate the documented ratio grid here and check
// that the chosen (scale, zero point) is on it and no grid point does better.
TEST(QuantizerTest, ChosenScaleIsTheBestOfTheGrid) {
  std::mt19937 rng(13);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::uniform_real_distribution<float> impDist(0.0f, 4.0f);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<float> w(8), imp(8);
    for (float &x : w)
      x = dist(rng);
    if (trial % 4 == 0)
      w[trial % 8] *= 6.0f; // An outlier.
    for (float &x : imp)
      x = impDist(rng);
    const bool symmetric = trial % 2 == 0;
    const bool weighted = trial % 3 == 0;
    const float *impPtr = weighted ? imp.data() : nullptr;
    QuantOptions o;
    o.bits = 2;
    o.symmetric = symmetric;
    o.groupSize = 8;
    o.importance = impPtr;
    QuantizedMatrix q = quantizeOk(w, 1, 8, o);
    const double got = quantizationError(w.data(), q, impPtr);
    EXPECT_NEAR(got, refError(w, q, impPtr), 1e-12 * got);

    const double mn = *std::min_element(w.begin(), w.end());
    const double mx = *std::max_element(w.begin(), w.end());
    const int32_t qmin = symmetric ? -2 : 0, qmax = symmetric ? 1 : 3;
    double best = std::numeric_limits<double>::infinity();
    bool onGrid = false;
    for (int i = 0; i < 20; ++i) {
      double r = 1.0 - 0.5 * i / 19.0;
      float scale;
      int32_t zp = 0;
      if (symmetric) {
        scale = static_cast<float>(r * std::max(-mn, mx) / 1.0);
      } else {
        double lo = std::min(mn, 0.0), hi = std::max(mx, 0.0);
        scale = static_cast<float>(r * (hi - lo) / 3.0);
        zp = static_cast<int32_t>(
            std::clamp(std::nearbyint(-r * lo / scale), 0.0, 3.0));
      }
      best = std::min(best, groupErrorFor(w, impPtr, scale, zp, qmin, qmax));
      onGrid |= scale == q.scales[0] &&
                (symmetric || zp == q.zeroPoints[0]);
    }
    SCOPED_TRACE("trial " + std::to_string(trial));
    EXPECT_TRUE(onGrid);
    // The search ranks candidates by a float estimate, so two grid points
    // within float rounding of each other may come out either way.
    EXPECT_LE(got, best * (1 + 1e-6));
  }
}

// Group [1, 0.3 x7], 2-bit symmetric (codes -2..1). Unweighted, ratio 1
// (scale 1) rounds every 0.3 to 0: error 7 * 0.09 = 0.63, while ratio 0.5
// (scale 0.5) gives 0.5 for all: 0.25 + 7 * 0.04 = 0.53, and the search
// finds something at least that good. With the 1.0 at an important column
// (weight 100) any clipping costs far more than it saves, so scale 1 wins.
TEST(QuantizerTest, ImportanceWeightsChangeTheChoice) {
  std::vector<float> w = {1.0f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f};
  std::vector<float> imp = {100.0f, 1, 1, 1, 1, 1, 1, 1};
  QuantOptions o;
  o.bits = 2;
  o.groupSize = 0;
  QuantizedMatrix unweighted = quantizeOk(w, 1, 8, o);
  EXPECT_LT(unweighted.scales[0], 1.0f);
  EXPECT_LE(quantizationError(w.data(), unweighted), 0.53 + 1e-6);

  o.importance = imp.data();
  QuantizedMatrix weighted = quantizeOk(w, 1, 8, o);
  EXPECT_EQ(weighted.scales[0], 1.0f);
  // The reported error is the weighted one: 100 * 0 + 7 * 0.3^2.
  const double weightedErr = quantizationError(w.data(), weighted, imp.data());
  EXPECT_NEAR(weightedErr, 7 * 0.3 * 0.3, 1e-6);
  EXPECT_NEAR(weightedErr, refError(w, weighted, imp.data()), 1e-12);
  // And it beats the unweighted choice under the weighted objective.
  EXPECT_LT(weightedErr, refError(w, unweighted, imp.data()));
}

TEST(QuantizerTest, ZeroImportanceColumnsAreIgnored) {
  // Column 0 holds an outlier (8 = 8x the rest). Unweighted, the search
  // clips it at most slightly: at ratio 0.5 its error alone would be
  // (8 - 4)^2 = 16. With importance 0 on that column it costs nothing, so a
  // much smaller scale wins.
  std::vector<float> w = {8.0f, 1.0f, -1.0f, 0.5f, -0.5f, 0.25f, 0.75f, -0.75f};
  std::vector<float> imp = {0.0f, 1, 1, 1, 1, 1, 1, 1};
  QuantOptions o;
  o.bits = 4;
  o.groupSize = 0;
  QuantizedMatrix unweighted = quantizeOk(w, 1, 8, o);
  EXPECT_GT(unweighted.scales[0], static_cast<float>(0.9 * 8.0 / 7.0));
  EXPECT_LT(quantizationError(w.data(), unweighted), 16.0);
  o.importance = imp.data();
  QuantizedMatrix weighted = quantizeOk(w, 1, 8, o);
  EXPECT_LT(weighted.scales[0], static_cast<float>(0.6 * 8.0 / 7.0));
  EXPECT_LT(quantizationError(w.data(), weighted, imp.data()),
            quantizationError(w.data(), unweighted, imp.data()));
}

TEST(QuantizerTest, ResultDoesNotDependOnThreadCount) {
  const int64_t rows = 37, cols = 256;
  Matrix w = randomHeavyTailed(rows, cols, 14);
  std::vector<float> imp(cols);
  for (int64_t c = 0; c < cols; ++c)
    imp[c] = 0.5f + static_cast<float>(c % 7);
  for (bool perTensor : {false, true})
    for (bool symmetric : {true, false})
      for (bool weighted : {false, true}) {
        QuantOptions o;
        o.bits = 3;
        o.symmetric = symmetric;
        o.groupSize = 64;
        o.perTensor = perTensor;
        o.importance = weighted ? imp.data() : nullptr;
        o.numThreads = 1;
        QuantizedMatrix ref = quantizeOk(w, rows, cols, o);
        for (unsigned threads : {2u, 3u, 8u, 64u, 0u}) {
          o.numThreads = threads;
          SCOPED_TRACE(describe(o) + " threads=" + std::to_string(threads));
          QuantizedMatrix q = quantizeOk(w, rows, cols, o);
          EXPECT_EQ(q.scales, ref.scales);
          EXPECT_EQ(q.zeroPoints, ref.zeroPoints);
          EXPECT_EQ(q.signedCodes, ref.signedCodes);
          EXPECT_EQ(q.unsignedCodes, ref.unsignedCodes);
        }
      }
}

//===----------------------------------------------------------------------===//
// Half and bfloat16 conversions
//===----------------------------------------------------------------------===//

float f32(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

TEST(QuantizerTest, HalfKnownValues) {
  EXPECT_EQ(halfBitsFromFloat(1.0f), 0x3C00);
  EXPECT_EQ(halfBitsFromFloat(-2.0f), 0xC000);
  EXPECT_EQ(halfBitsFromFloat(0.0f), 0x0000);
  EXPECT_EQ(halfBitsFromFloat(-0.0f), 0x8000);
  EXPECT_EQ(halfBitsFromFloat(65504.0f), 0x7BFF);
  EXPECT_EQ(halfBitsFromFloat(65519.0f), 0x7BFF);
  // 65520 is the midpoint between 65504 (odd mantissa) and 2^16: ties to
  // even round it to infinity.
  EXPECT_EQ(halfBitsFromFloat(65520.0f), 0x7C00);
  EXPECT_EQ(halfBitsFromFloat(1e6f), 0x7C00);
  EXPECT_EQ(halfBitsFromFloat(-1e6f), 0xFC00);
  EXPECT_EQ(halfBitsFromFloat(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(halfBitsFromFloat(std::ldexp(1.0f, -14)), 0x0400);
  EXPECT_EQ(halfBitsFromFloat(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(halfBitsFromFloat(std::ldexp(1023.0f, -24)), 0x03FF);
  // 2^-25 is the midpoint between 0 and 2^-24: even is 0.
  EXPECT_EQ(halfBitsFromFloat(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(halfBitsFromFloat(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(halfBitsFromFloat(std::ldexp(3.0f, -25)), 0x0002); // 1.5 -> 2
  EXPECT_EQ(halfBitsFromFloat(std::ldexp(5.0f, -25)), 0x0002); // 2.5 -> 2
  // Largest subnormal + half an ulp ties up to the smallest normal.
  EXPECT_EQ(halfBitsFromFloat(std::ldexp(2047.0f, -25)), 0x0400);
  // 1 + 2^-11 is the midpoint between 1 and 1 + 2^-10: even is 1.
  EXPECT_EQ(halfBitsFromFloat(1.0f + std::ldexp(1.0f, -11)), 0x3C00);
  EXPECT_EQ(halfBitsFromFloat(1.0f + std::ldexp(3.0f, -11)), 0x3C02);
  EXPECT_EQ(halfBitsFromFloat(std::numeric_limits<float>::denorm_min()), 0);

  uint16_t nan = halfBitsFromFloat(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7C00, 0x7C00);
  EXPECT_NE(nan & 0x03FF, 0);
  // A signalling NaN whose payload lives only in the low bits stays NaN.
  EXPECT_NE(halfBitsFromFloat(f32(0x7F800001u)) & 0x03FF, 0);

  EXPECT_EQ(floatFromHalfBits(0x3C00), 1.0f);
  EXPECT_EQ(floatFromHalfBits(0x7BFF), 65504.0f);
  EXPECT_EQ(floatFromHalfBits(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(floatFromHalfBits(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(floatFromHalfBits(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_EQ(floatFromHalfBits(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(floatFromHalfBits(0xFC00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(floatFromHalfBits(0x7E00)));
  EXPECT_TRUE(std::isnan(floatFromHalfBits(0x7C01)));
  EXPECT_TRUE(std::signbit(floatFromHalfBits(0x8000)));
}

// Every half value converts to float and back unchanged (NaNs stay NaN).
TEST(QuantizerTest, HalfRoundTripsExhaustively) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    float f = floatFromHalfBits(static_cast<uint16_t>(h));
    if ((h & 0x7C00) == 0x7C00 && (h & 0x03FF) != 0) {
      ASSERT_TRUE(std::isnan(f)) << h;
      ASSERT_TRUE(std::isnan(floatFromHalfBits(halfBitsFromFloat(f)))) << h;
      continue;
    }
    ASSERT_EQ(halfBitsFromFloat(f), h) << std::hex << h;
  }
}

/// Round-to-nearest-even of a finite float to binary16, computed on values
/// in double: the quantum is 2^(e - 10) with e the exponent clamped to the
/// normal minimum -14, and anything that rounds to 2^16 or more overflows.
double refHalfValue(float f) {
  double a = std::fabs(static_cast<double>(f));
  if (a == 0.0)
    return f;
  int exp;
  std::frexp(a, &exp); // a = m * 2^exp with m in [0.5, 1).
  int e = std::max(exp - 1, -14);
  double quantum = std::ldexp(1.0, e - 10);
  double rounded = std::nearbyint(a / quantum) * quantum;
  if (rounded >= 65536.0)
    rounded = std::numeric_limits<double>::infinity();
  return std::copysign(rounded, static_cast<double>(f));
}

TEST(QuantizerTest, HalfRoundingMatchesReference) {
  std::mt19937 rng(15);
  std::uniform_int_distribution<uint32_t> anyBits;
  // Exponents from float subnormals to beyond the half range.
  std::uniform_int_distribution<uint32_t> nearHalfRange(0x30000000u,
                                                        0x48000000u);
  for (int i = 0; i < 400000; ++i) {
    uint32_t bits = i % 2 ? anyBits(rng) : nearHalfRange(rng);
    if (i % 4 == 1)
      // Force a rounding tie: the 13 dropped mantissa bits are 1000...0.
      bits = (bits & ~0x1FFFu) | 0x1000u;
    float f = f32(bits);
    if (std::isnan(f))
      continue;
    ASSERT_EQ(static_cast<double>(floatFromHalfBits(halfBitsFromFloat(f))),
              refHalfValue(f))
        << std::hex << bits;
#if defined(__FLT16_MAX__)
    // The compiler's own conversion, where it has one.
    _Float16 h = static_cast<_Float16>(f);
    uint16_t hb;
    std::memcpy(&hb, &h, sizeof(hb));
    ASSERT_EQ(halfBitsFromFloat(f), hb) << std::hex << bits;
#endif
  }
}

TEST(QuantizerTest, Bf16KnownValues) {
  EXPECT_EQ(bf16BitsFromFloat(1.0f), 0x3F80);
  EXPECT_EQ(bf16BitsFromFloat(-2.0f), 0xC000);
  EXPECT_EQ(bf16BitsFromFloat(-0.0f), 0x8000);
  // Ties: 1 + 2^-8 is the midpoint between 1 (even) and 1 + 2^-7.
  EXPECT_EQ(bf16BitsFromFloat(f32(0x3F808000u)), 0x3F80);
  EXPECT_EQ(bf16BitsFromFloat(f32(0x3F818000u)), 0x3F82);
  EXPECT_EQ(bf16BitsFromFloat(f32(0x3F808001u)), 0x3F81);
  EXPECT_EQ(bf16BitsFromFloat(f32(0x3F807FFFu)), 0x3F80);
  // Subnormals round the same way.
  EXPECT_EQ(bf16BitsFromFloat(f32(0x00008000u)), 0x0000);
  EXPECT_EQ(bf16BitsFromFloat(f32(0x00018000u)), 0x0002);
  EXPECT_EQ(bf16BitsFromFloat(f32(0x00010000u)), 0x0001);
  // The largest finite bf16, and overflow past it.
  EXPECT_EQ(bf16BitsFromFloat(f32(0x7F7F0000u)), 0x7F7F);
  EXPECT_EQ(bf16BitsFromFloat(std::numeric_limits<float>::max()), 0x7F80);
  EXPECT_EQ(bf16BitsFromFloat(-std::numeric_limits<float>::infinity()),
            0xFF80);
  // NaNs stay NaN, including one whose payload is only in the low half.
  for (uint32_t nan : {0x7FC00000u, 0x7F800001u, 0xFF800001u}) {
    uint16_t b = bf16BitsFromFloat(f32(nan));
    EXPECT_EQ(b & 0x7F80, 0x7F80) << std::hex << nan;
    EXPECT_NE(b & 0x007F, 0) << std::hex << nan;
  }
  EXPECT_EQ(floatFromBf16Bits(0x3F80), 1.0f);
  EXPECT_EQ(floatFromBf16Bits(0x0001), std::ldexp(1.0f, -133));
  EXPECT_TRUE(std::isnan(floatFromBf16Bits(0x7FC0)));
}

TEST(QuantizerTest, Bf16RoundTripsAndRoundsToNearest) {
  for (uint32_t b = 0; b <= 0xFFFF; ++b) {
    float f = floatFromBf16Bits(static_cast<uint16_t>(b));
    if (std::isnan(f))
      continue;
    ASSERT_EQ(bf16BitsFromFloat(f), b) << std::hex << b;
  }
  std::mt19937 rng(16);
  std::uniform_int_distribution<uint32_t> anyBits;
  for (int i = 0; i < 200000; ++i) {
    uint32_t bits = anyBits(rng);
    if (i % 2)
      bits = (bits & ~0xFFFFu) | 0x8000u; // A tie.
    float f = f32(bits);
    if (std::isnan(f) || std::isinf(f))
      continue;
    // Independently: the two bf16 neighbours around f, the nearer one in
    // exact double arithmetic, the even one on a tie.
    uint32_t down = bits & 0xFFFF0000u;
    double fd = f, dd = f32(down);
    uint32_t upBits = down + 0x10000u;
    double ud = (upBits & 0x7F800000u) == 0x7F800000u
                    ? std::copysign(std::ldexp(1.0, 128), fd)
                    : static_cast<double>(f32(upBits));
    double distDown = std::fabs(fd - dd), distUp = std::fabs(ud - fd);
    uint32_t expected =
        distDown < distUp || (distDown == distUp && ((down >> 16) & 1) == 0)
            ? down
            : upBits;
    ASSERT_EQ(bf16BitsFromFloat(f), expected >> 16) << std::hex << bits;
  }
}

TEST(QuantizerTest, RoundToScaleFormat) {
  EXPECT_EQ(roundToScaleFormat(0.1f, ScaleFormat::F32), 0.1f);
  EXPECT_EQ(roundToScaleFormat(0.1f, ScaleFormat::F16),
            floatFromHalfBits(0x2E66));
  EXPECT_EQ(roundToScaleFormat(0.1f, ScaleFormat::BF16),
            floatFromBf16Bits(0x3DCD));
  EXPECT_TRUE(std::isinf(roundToScaleFormat(1e5f, ScaleFormat::F16)));
}

// With f16/bf16 scales the codes are computed from the stored scale, so
// round to nearest still holds element by element against that scale.
TEST(QuantizerTest, CodesUseTheStoredScale) {
  const int64_t rows = 4, cols = 128;
  Matrix w = randomNormal(rows, cols, 17, 0.02f);
  for (ScaleFormat format : {ScaleFormat::F16, ScaleFormat::BF16})
    for (bool clip : {false, true}) {
      QuantOptions o;
      o.bits = 4;
      o.groupSize = 32;
      o.scaleFormat = format;
      o.clipSearch = clip;
      QuantizedMatrix q = quantizeOk(w, rows, cols, o);
      expectWellFormed(q, o);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) {
          float s = q.scales[q.groupIndex(r, c)];
          double expected = std::clamp(
              static_cast<double>(std::nearbyint(w[r * cols + c] / s)), -8.0,
              7.0);
          ASSERT_EQ(q.code(r, c), expected);
        }
    }
}

} // namespace
