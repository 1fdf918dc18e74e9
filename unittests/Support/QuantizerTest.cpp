// Tests of the weight quantizer: error bounds, edge cases, scale search.
#include "qnt/Support/Quantizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

using namespace mlir::qnt;

namespace {

std::vector<float> normalMatrix(int64_t rows, int64_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.5f);
  std::vector<float> w(rows * cols);
  for (float &v : w)
    v = dist(rng);
  return w;
}

/// Scale index of element (r, c) in a QuantizedMatrix.
int64_t scaleIndex(const QuantizedMatrix &q, const QuantOptions &o, int64_t r,
                   int64_t c, int64_t cols) {
  if (o.perTensor)
    return 0;
  return r * q.groupsPerRow + c / (cols / q.groupsPerRow);
}

struct Config {
  unsigned bits;
  bool symmetric;
  int64_t group;
};

class RoundToNearest : public ::testing::TestWithParam<Config> {};

// Without clipping, every element inside the representable range is within
// half a step of its value, and every code and zero point is in range.
TEST_P(RoundToNearest, ErrorIsAtMostHalfAStep) {
  Config cfg = GetParam();
  const int64_t rows = 7, cols = 256;
  std::vector<float> w = normalMatrix(rows, cols, 42 + cfg.bits);
  QuantOptions o;
  o.bits = cfg.bits;
  o.symmetric = cfg.symmetric;
  o.groupSize = cfg.group;
  o.clipSearch = false;
  QuantizedMatrix q;
  ASSERT_EQ(quantizeMatrix(w.data(), rows, cols, o, q), "");
  int64_t qmin = cfg.symmetric ? -(1 << (cfg.bits - 1)) : 0;
  int64_t qmax = cfg.symmetric ? (1 << (cfg.bits - 1)) - 1 : (1 << cfg.bits) - 1;
  std::vector<float> deq(rows * cols);
  dequantizeMatrix(q, rows, cols, o, deq.data());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      int64_t s = scaleIndex(q, o, r, c, cols);
      float scale = q.scales[s];
      int64_t code = cfg.symmetric ? q.codes[r * cols + c]
                                   : static_cast<uint8_t>(q.codes[r * cols + c]);
      ASSERT_GE(code, qmin);
      ASSERT_LE(code, qmax);
      float zp = cfg.symmetric ? 0.0f : static_cast<float>(q.zeroPoints[s]);
      float lo = scale * (qmin - zp), hi = scale * (qmax - zp);
      float v = w[r * cols + c];
      if (v < lo || v > hi)
        continue; // clamped: not covered by the half-step bound
      EXPECT_LE(std::fabs(v - deq[r * cols + c]), scale * 0.5f * 1.0001f + 1e-7f)
          << "row " << r << " col " << c;
    }
  if (!cfg.symmetric)
    for (int32_t zp : q.zeroPoints) {
      EXPECT_GE(zp, 0);
      EXPECT_LE(zp, qmax);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Widths, RoundToNearest,
    ::testing::Values(Config{2, true, 32}, Config{2, false, 64},
                      Config{3, true, 128}, Config{3, false, 0},
                      Config{4, true, 32}, Config{4, false, 64},
                      Config{4, true, 128}, Config{4, false, 0},
                      Config{8, true, 32}, Config{8, false, 128},
                      Config{8, true, 0}, Config{8, false, 32}));

TEST(Quantizer, SymmetricMaxAbsMapsToTheLargestCode) {
  // max|w| = 1.4 in a 4-bit group: scale 1.4 / 7, code 7 for 1.4, -7 for -1.4.
  std::vector<float> w = {0.2f, -1.4f, 0.7f, 1.4f, 0.0f, -0.1f, 0.35f, 0.05f};
  QuantOptions o;
  o.bits = 4;
  o.groupSize = 8;
  o.clipSearch = false;
  QuantizedMatrix q;
  ASSERT_EQ(quantizeMatrix(w.data(), 1, 8, o, q), "");
  EXPECT_FLOAT_EQ(q.scales[0], 1.4f / 7);
  std::vector<int8_t> expected = {1, -7, 4, 7, 0, 0, 2, 0};
  // 0.7 / 0.2 = 3.5 rounds to even (4); 0.35 / 0.2 = 1.75 -> 2.
  EXPECT_EQ(q.codes, expected);
}

TEST(Quantizer, AllZeroGroupGivesExactZeros) {
  for (bool symmetric : {true, false}) {
    std::vector<float> w(2 * 64, 0.0f);
    for (int i = 32; i < 64; ++i)
      w[i] = 0.01f * i; // second group of row 0 is not zero
    QuantOptions o;
    o.bits = 4;
    o.symmetric = symmetric;
    o.groupSize = 32;
    QuantizedMatrix q;
    ASSERT_EQ(quantizeMatrix(w.data(), 2, 64, o, q), "");
    std::vector<float> deq(w.size());
    dequantizeMatrix(q, 2, 64, o, deq.data());
    for (int i = 0; i < 32; ++i)
      EXPECT_EQ(deq[i], 0.0f);
    for (int i = 64; i < 128; ++i)
      EXPECT_EQ(deq[i], 0.0f);
    for (float s : q.scales)
      EXPECT_TRUE(std::isfinite(s));
    for (float v : deq)
      EXPECT_FALSE(std::isnan(v));
  }
}

TEST(Quantizer, RejectsNonFiniteWeightsNamingThePosition) {
  std::vector<float> w(3 * 8, 0.5f);
  QuantOptions o;
  o.groupSize = 8;
  QuantizedMatrix q;
  w[2 * 8 + 5] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(quantizeMatrix(w.data(), 3, 8, o, q),
            "non-finite value nan at row 2, column 5");
  w[2 * 8 + 5] = 0;
  w[1 * 8 + 0] = std::numeric_limits<float>::infinity();
  EXPECT_EQ(quantizeMatrix(w.data(), 3, 8, o, q),
            "non-finite value inf at row 1, column 0");
  w[1 * 8 + 0] = -std::numeric_limits<float>::infinity();
  EXPECT_EQ(quantizeMatrix(w.data(), 3, 8, o, q),
            "non-finite value -inf at row 1, column 0");
}

TEST(Quantizer, ValidatesOptions) {
  std::vector<float> w(64, 1.0f);
  QuantizedMatrix q;
  QuantOptions o;
  o.groupSize = 32;
  o.bits = 0;
  EXPECT_EQ(quantizeMatrix(w.data(), 1, 64, o, q), "bits = 0 must be 1 to 8");
  o.bits = 9;
  EXPECT_EQ(quantizeMatrix(w.data(), 1, 64, o, q), "bits = 9 must be 1 to 8");
  o.bits = 4;
  o.groupSize = 48;
  EXPECT_EQ(quantizeMatrix(w.data(), 1, 64, o, q),
            "group size 48 does not divide 64 columns");
  o.groupSize = 32;
  EXPECT_EQ(quantizeMatrix(w.data(), 0, 64, o, q),
            "the matrix is empty (0 x 64)");
}

TEST(Quantizer, ClipSearchIsNeverWorseAndHelpsWithOutliers) {
  const int64_t rows = 16, cols = 256;
  std::vector<float> normal = normalMatrix(rows, cols, 7);
  std::vector<float> heavy = normal;
  std::mt19937 rng(3);
  std::uniform_int_distribution<int64_t> pick(0, rows * cols - 1);
  for (int i = 0; i < 40; ++i)
    heavy[pick(rng)] *= 12.0f; // heavy-tailed outliers
  for (bool symmetric : {true, false})
    for (unsigned bits : {2u, 3u, 4u}) {
      QuantOptions o;
      o.bits = bits;
      o.symmetric = symmetric;
      o.groupSize = 64;
      for (const std::vector<float> *w : {&normal, &heavy}) {
        QuantizedMatrix plain, searched;
        o.clipSearch = false;
        ASSERT_EQ(quantizeMatrix(w->data(), rows, cols, o, plain), "");
        double plainErr = quantizationError(w->data(), plain, rows, cols, o);
        o.clipSearch = true;
        ASSERT_EQ(quantizeMatrix(w->data(), rows, cols, o, searched), "");
        double searchErr = quantizationError(w->data(), searched, rows, cols, o);
        EXPECT_LE(searchErr, plainErr * (1 + 1e-6));
        if (w == &heavy && bits <= 3)
          EXPECT_LT(searchErr, plainErr * 0.95)
              << "bits " << bits << " symmetric " << symmetric;
      }
    }
}

TEST(Quantizer, ChosenScaleBeatsEveryGridScale) {
  // An 8-value 2-bit group: recompute each grid candidate's error here.
  std::vector<float> w = {0.9f, -0.3f, 0.1f, -1.0f, 0.45f, 0.2f, -0.6f, 0.05f};
  QuantOptions o;
  o.bits = 2;
  o.groupSize = 8;
  QuantizedMatrix q;
  ASSERT_EQ(quantizeMatrix(w.data(), 1, 8, o, q), "");
  double chosen = quantizationError(w.data(), q, 1, 8, o);
  for (int step = 0; step < 20; ++step) {
    double s = 1.0 * (1.0 - 0.025 * step) / 1.0; // amax = 1.0, qmax = 1
    s = static_cast<float>(s);
    double err = 0;
    for (float v : w) {
      double code = std::min(1.0, std::max(-2.0, std::nearbyint(v / s)));
      err += (v - s * code) * (v - s * code);
    }
    EXPECT_LE(chosen, err + 1e-6) << "ratio step " << step;
  }
}

TEST(Quantizer, ScalesAreRepresentableInTheirFormat) {
  std::vector<float> w = normalMatrix(8, 128, 11);
  for (ScaleFormat f : {ScaleFormat::F16, ScaleFormat::BF16}) {
    QuantOptions o;
    o.groupSize = 32;
    o.scaleFormat = f;
    QuantizedMatrix q;
    ASSERT_EQ(quantizeMatrix(w.data(), 8, 128, o, q), "");
    for (float s : q.scales) {
      if (f == ScaleFormat::F16)
        EXPECT_EQ(floatFromHalfBits(halfBitsFromFloat(s)), s);
      else
        EXPECT_EQ(floatFromBf16Bits(bf16BitsFromFloat(s)), s);
    }
  }
}

TEST(Quantizer, ImportanceChangesTheChoice) {
  // 2-bit codes {-2..1}; 31 values of +-0.8 and an outlier 2.0 in column 0.
  // Uniformly weighted, clipping the outlier (scale ~1) is best: the +-0.8
  // land on +-1 steps. When column 0 dominates the objective, the scale 2.0
  // that represents it exactly wins.
  std::vector<float> w(32);
  for (int i = 0; i < 32; ++i)
    w[i] = i % 2 ? 0.8f : -0.8f;
  w[0] = 2.0f;
  std::vector<float> importance(32, 1.0f);
  importance[0] = 1000.0f;
  QuantOptions o;
  o.bits = 2;
  o.groupSize = 32;
  QuantizedMatrix uniform, weighted;
  ASSERT_EQ(quantizeMatrix(w.data(), 1, 32, o, uniform), "");
  o.importance = importance.data();
  ASSERT_EQ(quantizeMatrix(w.data(), 1, 32, o, weighted), "");
  EXPECT_LT(uniform.scales[0], 1.5f);
  EXPECT_EQ(weighted.scales[0], 2.0f);
  std::vector<float> deqU(32), deqW(32);
  QuantOptions plain = o;
  plain.importance = nullptr;
  dequantizeMatrix(uniform, 1, 32, plain, deqU.data());
  dequantizeMatrix(weighted, 1, 32, o, deqW.data());
  EXPECT_LT(std::fabs(deqW[0] - w[0]), std::fabs(deqU[0] - w[0]));
  // The reported error is the weighted one.
  double manual = 0;
  for (int i = 0; i < 32; ++i)
    manual += importance[i] * double(w[i] - deqW[i]) * double(w[i] - deqW[i]);
  EXPECT_NEAR(quantizationError(w.data(), weighted, 1, 32, o), manual,
              1e-9 * manual + 1e-12);
}

TEST(Quantizer, PerTensorUsesOneScale) {
  std::vector<float> w = normalMatrix(4, 16, 5);
  QuantOptions o;
  o.perTensor = true;
  o.symmetric = false;
  QuantizedMatrix q;
  ASSERT_EQ(quantizeMatrix(w.data(), 4, 16, o, q), "");
  EXPECT_EQ(q.scales.size(), 1u);
  EXPECT_EQ(q.zeroPoints.size(), 1u);
}

TEST(Quantizer, ThreadsGiveTheSameResult) {
  std::vector<float> w = normalMatrix(64, 128, 9);
  QuantOptions o;
  o.groupSize = 32;
  QuantizedMatrix one, two;
  ASSERT_EQ(quantizeMatrix(w.data(), 64, 128, o, one), "");
  o.numThreads = 2;
  ASSERT_EQ(quantizeMatrix(w.data(), 64, 128, o, two), "");
  EXPECT_EQ(one.codes, two.codes);
  EXPECT_EQ(one.scales, two.scales);
}

TEST(HalfFloat, KnownValues) {
  EXPECT_EQ(halfBitsFromFloat(1.0f), 0x3C00);
  EXPECT_EQ(halfBitsFromFloat(-2.0f), 0xC000);
  EXPECT_EQ(halfBitsFromFloat(65504.0f), 0x7BFF);
  EXPECT_EQ(halfBitsFromFloat(65520.0f), 0x7C00); // rounds up to infinity
  EXPECT_EQ(halfBitsFromFloat(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(halfBitsFromFloat(std::ldexp(1.0f, -26)), 0x0000); // ties to even
  EXPECT_EQ(halfBitsFromFloat(std::ldexp(3.0f, -25)), 0x0002); // 1.5 ulp -> 2
  EXPECT_EQ(halfBitsFromFloat(1.0f + std::ldexp(1.0f, -11)), 0x3C00); // tie
  EXPECT_EQ(halfBitsFromFloat(1.0f + std::ldexp(3.0f, -11)), 0x3C02); // tie up
  EXPECT_EQ(halfBitsFromFloat(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_TRUE(std::isnan(floatFromHalfBits(
      halfBitsFromFloat(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(floatFromHalfBits(0x3C00), 1.0f);
  EXPECT_EQ(floatFromHalfBits(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(floatFromHalfBits(0xFBFF), -65504.0f);
}

TEST(Bfloat16, KnownValues) {
  EXPECT_EQ(bf16BitsFromFloat(1.0f), 0x3F80);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (down).
  EXPECT_EQ(bf16BitsFromFloat(1.0f + std::ldexp(1.0f, -8)), 0x3F80);
  // 1 + 3 * 2^-8 is halfway between odd and even: rounds up to even.
  EXPECT_EQ(bf16BitsFromFloat(1.0f + std::ldexp(3.0f, -8)), 0x3F82);
  EXPECT_TRUE(std::isnan(floatFromBf16Bits(
      bf16BitsFromFloat(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(floatFromBf16Bits(0xC040), -3.0f);
}

TEST(HalfFloat, RoundTripOfAllHalves) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    float f = floatFromHalfBits(static_cast<uint16_t>(bits));
    if (std::isnan(f))
      continue;
    EXPECT_EQ(halfBitsFromFloat(f), bits) << std::hex << bits;
  }
}

} // namespace
