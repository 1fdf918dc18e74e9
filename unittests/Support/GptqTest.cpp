//===- GptqTest.cpp - Properties of GPTQ rounding --------------------------===//
//
// Codes against an independent implementation are checked by
// test/Transforms/quantize-weights-gptq.test (numpy); these are properties
// that follow from the algorithm (docs/QUANTIZER.md, "GPTQ").
//
//===----------------------------------------------------------------------===//

#include "qnt/Support/Gptq.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>
#include <vector>

using namespace mlir::qnt;

namespace {

std::vector<float> randomMatrix(int64_t rows, int64_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> w(rows * cols);
  for (float &v : w)
    v = normal(rng);
  return w;
}

/// sum x x^T of `m` random correlated rows.
std::vector<double> randomHessian(int64_t k, int64_t m, unsigned seed) {
  std::vector<float> x = randomMatrix(m, k, seed);
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 1; c < k; ++c)
      x[r * k + c] += 0.7f * x[r * k + c - 1];
  std::vector<double> h(k * k, 0.0);
  for (int64_t r = 0; r < m; ++r)
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        h[i * k + j] += double(x[r * k + i]) * x[r * k + j];
  return h;
}

/// A diagonal H gives no error feedback (U is diagonal), so GPTQ is round
/// to nearest on the same grids.
TEST(Gptq, DiagonalHessianIsRoundToNearest) {
  const int64_t rows = 16, cols = 64;
  std::vector<float> w = randomMatrix(rows, cols, 1);
  std::vector<double> h(cols * cols, 0.0);
  for (int64_t k = 0; k < cols; ++k)
    h[k * cols + k] = 1.0 + k;
  for (bool symmetric : {true, false})
    for (int64_t group : {int64_t(0), int64_t(16)}) {
      QuantOptions o;
      o.bits = 3;
      o.symmetric = symmetric;
      o.groupSize = group;
      QuantizedMatrix rtn, gptq;
      ASSERT_EQ(quantizeMatrix(w.data(), rows, cols, o, rtn), "");
      ASSERT_EQ(gptqQuantizeMatrix(w.data(), rows, cols, o, h.data(), {},
                                   gptq),
                "");
      EXPECT_EQ(rtn.signedCodes, gptq.signedCodes);
      EXPECT_EQ(rtn.unsignedCodes, gptq.unsignedCodes);
      EXPECT_EQ(rtn.scales, gptq.scales);
      EXPECT_EQ(rtn.zeroPoints, gptq.zeroPoints);
    }
}

/// The result does not depend on the number of threads.
TEST(Gptq, ThreadsDoNotChangeTheResult) {
  const int64_t rows = 37, cols = 48;
  std::vector<float> w = randomMatrix(rows, cols, 2);
  std::vector<double> h = randomHessian(cols, 200, 3);
  QuantOptions o;
  o.bits = 4;
  o.groupSize = 16;
  GptqOptions g;
  g.activationOrder = true;
  QuantizedMatrix one, many;
  o.numThreads = 1;
  ASSERT_EQ(gptqQuantizeMatrix(w.data(), rows, cols, o, h.data(), g, one), "");
  o.numThreads = 5;
  ASSERT_EQ(gptqQuantizeMatrix(w.data(), rows, cols, o, h.data(), g, many),
            "");
  EXPECT_EQ(one.signedCodes, many.signedCodes);
  EXPECT_EQ(one.scales, many.scales);
}

/// A channel that is never active (zero row and column of H) is harmless,
/// and an all-zero H (no inputs at all) still factors after dampening.
TEST(Gptq, DeadChannels) {
  const int64_t rows = 4, cols = 32;
  std::vector<float> w = randomMatrix(rows, cols, 4);
  std::vector<double> h = randomHessian(cols, 100, 5);
  for (int64_t i = 0; i < cols; ++i)
    h[3 * cols + i] = h[i * cols + 3] = 0;
  QuantOptions o;
  o.groupSize = 32;
  QuantizedMatrix q;
  EXPECT_EQ(gptqQuantizeMatrix(w.data(), rows, cols, o, h.data(), {}, q), "");
  std::vector<double> zero(cols * cols, 0.0);
  EXPECT_EQ(gptqQuantizeMatrix(w.data(), rows, cols, o, zero.data(), {}, q),
            "");
}

/// Errors come back as messages: the quantizer's own, and a bad Hessian.
TEST(Gptq, Errors) {
  const int64_t rows = 2, cols = 8;
  std::vector<float> w = randomMatrix(rows, cols, 6);
  std::vector<double> h(cols * cols, 0.0);
  for (int64_t k = 0; k < cols; ++k)
    h[k * cols + k] = 1;
  QuantOptions o;
  o.groupSize = 3;
  QuantizedMatrix q;
  EXPECT_EQ(gptqQuantizeMatrix(w.data(), rows, cols, o, h.data(), {}, q),
            "group size 3 does not divide the row length 8");
  o.groupSize = 0;
  h[2 * cols + 2] = -1;
  EXPECT_EQ(gptqQuantizeMatrix(w.data(), rows, cols, o, h.data(), {}, q),
            "Hessian diagonal element -1.000000 at 2 must be finite and >= 0");
  EXPECT_TRUE(q.signedCodes.empty());
}

} // namespace

/// What gptqFactorHessian and gptqQuantizeMatrix refuse, with their
/// messages: a negative or NaN dampening, an indefinite Hessian that no
/// dampening makes positive definite, and a factor of another K.
TEST(Gptq, RefusesBadDampeningHessiansAndFactors) {
  std::vector<double> identity = {1, 0, 0, 1};
  GptqFactor factor;
  GptqOptions negative;
  negative.dampening = -1;
  EXPECT_EQ(gptqFactorHessian(identity.data(), 2, negative, factor, 1),
            "GPTQ dampening must be finite and >= 0");
  GptqOptions nan;
  nan.dampening = std::nan("");
  EXPECT_EQ(gptqFactorHessian(identity.data(), 2, nan, factor, 1),
            "GPTQ dampening must be finite and >= 0");
  // Eigenvalues 1 +- 1e5: the dampening grows to 1000 times the mean
  // diagonal at most.
  std::vector<double> indefinite = {1, 1e5, 1e5, 1};
  EXPECT_EQ(gptqFactorHessian(indefinite.data(), 2, {}, factor, 1),
            "the Hessian is not positive definite (after dampening)");
  EXPECT_TRUE(factor.u.empty());

  ASSERT_EQ(gptqFactorHessian(identity.data(), 2, {}, factor, 1), "");
  std::vector<float> w = randomMatrix(3, 4, 4);
  QuantOptions o;
  o.bits = 4;
  o.groupSize = 0;
  QuantizedMatrix q;
  EXPECT_EQ(gptqQuantizeMatrix(w.data(), 3, 4, o, factor, q),
            "the GPTQ factor is for K = 2, the weight has K = 4");
}
