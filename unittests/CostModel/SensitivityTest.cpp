//===- SensitivityTest.cpp - Calibration statistics and output error ------===//
//
// expectedOutputError is compared with trace(dW H dW^T) computed here in
// double from the dequantized matrix and a dense H, and with the mean of
// ||dW x||^2 over explicit input rows; the parser with its exact messages.
//
//===----------------------------------------------------------------------===//

#include "qnt/CostModel/Sensitivity.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

using namespace mlir::qnt;

namespace {

std::vector<float> randomNormal(int64_t n, unsigned seed, float stddev = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

/// A statistics line: NAME, then `values` (after `prefix` words).
std::string line(const std::string &name, const std::string &prefix,
                 const std::vector<double> &values) {
  std::string s = name + prefix;
  for (double v : values)
    s += " " + number(v);
  return s + "\n";
}

QuantizedMatrix quantize(const std::vector<float> &w, int64_t n, int64_t k,
                         unsigned bits, int64_t group) {
  QuantOptions o;
  o.bits = bits;
  o.groupSize = group;
  QuantizedMatrix q;
  EXPECT_EQ(quantizeMatrix(w.data(), n, k, o, q), "");
  return q;
}

/// dW = W - W^ in double, W^ from dequantizeMatrix.
std::vector<double> errorMatrix(const std::vector<float> &w,
                                const QuantizedMatrix &q) {
  std::vector<float> hat(q.rows * q.cols);
  dequantizeMatrix(q, hat.data());
  std::vector<double> d(hat.size());
  for (size_t i = 0; i < d.size(); ++i)
    d[i] = static_cast<double>(w[i]) - static_cast<double>(hat[i]);
  return d;
}

/// sum_n dW_n H dW_n^T for a dense K x K matrix H.
double denseTrace(const std::vector<double> &dw, int64_t n, int64_t k,
                  const std::vector<double> &h) {
  double total = 0;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t a = 0; a < k; ++a)
      for (int64_t b = 0; b < k; ++b)
        total += dw[r * k + a] * h[a * k + b] * dw[r * k + b];
  return total;
}

// H = diag(D) + sum_i lambda_i u_i u_i^T exactly; the file gives
// E[x_k^2] = diag(H) and the (lambda_i, u_i). K = 70 and 37 rows are not
// multiples of the kernel's 16 lanes and 4-row blocks.
TEST(Sensitivity, DiagonalPlusLowRankIsTraceOfDenseMoment) {
  const int64_t n = 37, k = 70, r = 3;
  std::vector<float> w = randomNormal(n * k, 1);
  std::mt19937 rng(2);
  std::uniform_real_distribution<double> uniform(0.1, 2.0);
  std::vector<double> d(k), lambda = {9.0, 2.5, 0.75};
  for (double &v : d)
    v = uniform(rng);
  std::vector<std::vector<double>> u(r, std::vector<double>(k));
  std::normal_distribution<double> normal(0.0, 1.0);
  for (auto &ui : u) {
    double norm = 0;
    for (double &v : ui) {
      v = normal(rng);
      norm += v * v;
    }
    for (double &v : ui)
      v /= std::sqrt(norm);
  }
  std::vector<double> dense(k * k, 0.0), diag(d);
  for (int64_t a = 0; a < k; ++a) {
    dense[a * k + a] += d[a];
    for (int64_t i = 0; i < r; ++i) {
      diag[a] += lambda[i] * u[i][a] * u[i][a];
      for (int64_t b = 0; b < k; ++b)
        dense[a * k + b] += lambda[i] * u[i][a] * u[i][b];
    }
  }
  std::string text = "# test\n" + line("layer", "", diag);
  for (int64_t i = 0; i < r; ++i) {
    std::vector<double> values = {lambda[i]};
    values.insert(values.end(), u[i].begin(), u[i].end());
    text += line("layer", " eigen", values);
  }
  std::map<std::string, InputMoment> stats;
  ASSERT_EQ(parseCalibrationStatistics(text, "s.txt", stats), "");
  const InputMoment &m = stats.at("layer");
  ASSERT_EQ(m.rank(), 3);
  ASSERT_EQ(m.channels(), k);
  EXPECT_EQ(m.line, 2u);
  for (int64_t a = 0; a < k; ++a)
    EXPECT_NEAR(m.residual[a], d[a], 1e-6 * diag[a]);

  for (auto [bits, group] : {std::pair<unsigned, int64_t>{3, 0}, {4, 14}, {2, 35}}) {
    QuantizedMatrix q = quantize(w, n, k, bits, group);
    double expected = denseTrace(errorMatrix(w, q), n, k, dense);
    double got = expectedOutputError(w.data(), q, &m, 1);
    EXPECT_NEAR(got, expected, 1e-6 * expected) << bits << " bits, group " << group;
    // The low-rank part matters here: the diagonal alone is off.
    double diagonalOnly = quantizationError(w.data(), q, m.meanSquare.data());
    EXPECT_GT(std::abs(diagonalOnly - expected), 1e-3 * expected);
    // Any number of threads gives the same sum.
    EXPECT_EQ(expectedOutputError(w.data(), q, &m, 3), got);
    EXPECT_EQ(expectedOutputError(w.data(), q, &m, 0), got);
  }
}

// Directions need not be orthonormal: u_m = x_m with lambda = 1/M and
// E[x_k^2] = mean_m x_mk^2 describe the empirical second moment of M rows
// exactly (residual 0), so the error is the mean of ||dW x_m||^2.
TEST(Sensitivity, EmpiricalMomentOfRowsIsExact) {
  const int64_t n = 9, k = 48, rows = 5;
  std::vector<float> w = randomNormal(n * k, 3);
  std::vector<float> x = randomNormal(rows * k, 4, 2.0f);
  std::vector<double> meanSquare(k, 0.0);
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t a = 0; a < k; ++a)
      meanSquare[a] += static_cast<double>(x[m * k + a]) * x[m * k + a] / rows;
  std::string text = line("fc", "", meanSquare);
  for (int64_t m = 0; m < rows; ++m) {
    std::vector<double> values = {1.0 / rows};
    values.insert(values.end(), x.begin() + m * k, x.begin() + (m + 1) * k);
    text += line("fc", " eigen", values);
  }
  std::map<std::string, InputMoment> stats;
  ASSERT_EQ(parseCalibrationStatistics(text, "s.txt", stats), "");
  QuantizedMatrix q = quantize(w, n, k, 3, 16);
  std::vector<double> dw = errorMatrix(w, q);
  double expected = 0;
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t o = 0; o < n; ++o) {
      double y = 0;
      for (int64_t a = 0; a < k; ++a)
        y += dw[o * k + a] * x[m * k + a];
      expected += y * y / rows;
    }
  EXPECT_NEAR(expectedOutputError(w.data(), q, &stats.at("fc"), 2), expected,
              1e-5 * expected);
}

// Without directions it is the diagonal proxy, bit for bit; without
// statistics the plain squared error.
TEST(Sensitivity, NoDirectionsIsTheDiagonalProxy) {
  const int64_t n = 6, k = 32;
  std::vector<float> w = randomNormal(n * k, 5);
  std::vector<double> ms(k);
  for (int64_t a = 0; a < k; ++a)
    ms[a] = 0.5 + a;
  std::map<std::string, InputMoment> stats;
  ASSERT_EQ(parseCalibrationStatistics(line("l", "", ms), "s.txt", stats), "");
  QuantizedMatrix q = quantize(w, n, k, 4, 16);
  EXPECT_EQ(expectedOutputError(w.data(), q, &stats.at("l"), 0),
            quantizationError(w.data(), q, stats.at("l").meanSquare.data()));
  EXPECT_EQ(expectedOutputError(w.data(), q, nullptr, 0),
            quantizationError(w.data(), q, nullptr));
}

std::string parseError(const std::string &text) {
  std::map<std::string, InputMoment> stats;
  return parseCalibrationStatistics(text, "s.txt", stats);
}

TEST(Sensitivity, ParserAcceptsCommentsTabsAndRounding) {
  std::map<std::string, InputMoment> stats;
  // The direction (1, 0) with lambda 2 takes 2.0000001 of channel 0's 2:
  // a rounding excess, stored as a residual of 0.
  ASSERT_EQ(parseCalibrationStatistics(
                "# c\n\n a\t2 3\r\n# eigen\na eigen 2.0000001 1 0\nb 1\n",
                "s.txt", stats),
            "");
  EXPECT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats.at("a").line, 3u);
  EXPECT_EQ(stats.at("a").directionLines, std::vector<unsigned>{5});
  EXPECT_EQ(stats.at("a").residual, (std::vector<float>{0.0f, 3.0f}));
  EXPECT_EQ(stats.at("b").rank(), 0);
}

TEST(Sensitivity, ParserErrorsNameFileLineAndLayer) {
  EXPECT_EQ(parseError("a 1 -1\n"),
            "s.txt:1: layer 'a': E[x_k^2] value '-1' is negative");
  EXPECT_EQ(parseError("# x\na 1 two\n"),
            "s.txt:2: layer 'a': 'two' is not a finite number");
  EXPECT_EQ(parseError("a 1 inf\n"),
            "s.txt:1: layer 'a': 'inf' is not a finite number");
  EXPECT_EQ(parseError("a 1 nan\n"),
            "s.txt:1: layer 'a': 'nan' is not a finite number");
  EXPECT_EQ(parseError("a\n"), "s.txt:1: layer 'a': no E[x_k^2] values");
  EXPECT_EQ(parseError("a 1 2\nb 1\na 3 4\n"),
            "s.txt:3: layer 'a': a second E[x_k^2] line (the first is line 1)");
  EXPECT_EQ(parseError("a eigen 1 1 0\na 1 2\n"),
            "s.txt:1: layer 'a': 'eigen' line before the layer's E[x_k^2] line");
  EXPECT_EQ(parseError("a 1 2\na eigen\n"),
            "s.txt:2: layer 'a': 'eigen' line needs LAMBDA u_1 ... u_K");
  EXPECT_EQ(parseError("\na 1 2\na eigen 1 1\n"),
            "s.txt:3: layer 'a': 'eigen' line has 1 values after the "
            "eigenvalue, its E[x_k^2] line (line 2) has 2");
  EXPECT_EQ(parseError("a 1 2\na eigen -1 1 0\n"),
            "s.txt:2: layer 'a': eigenvalue '-1' is negative");
  EXPECT_EQ(parseError("a 1 2\na eigen 1 x 0\n"),
            "s.txt:2: layer 'a': 'x' is not a finite number");
  // lambda u_1^2 = 4 > E[x_1^2] = 2: not the diagonal of any such H.
  EXPECT_EQ(parseError("a 1 2\na eigen 4 0 1\n"),
            "s.txt:1: layer 'a': channel 1 has E[x_k^2] = 2, less than its "
            "'eigen' lines give it (4)");
}

} // namespace
