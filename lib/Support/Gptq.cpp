// GPTQ rounding on the quantizer's grids (include/qnt/Support/Gptq.h).
#include "qnt/Support/Gptq.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <thread>

using namespace mlir::qnt;

namespace {

/// In-place Cholesky factor L (lower, row-major n x n) of `a`; false when
/// `a` is not positive definite.
bool cholesky(std::vector<double> &a, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (int64_t k = 0; k < j; ++k)
      d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0) || !std::isfinite(d))
      return false;
    d = std::sqrt(d);
    a[j * n + j] = d;
    for (int64_t i = j + 1; i < n; ++i) {
      double s = a[i * n + j];
      for (int64_t k = 0; k < j; ++k)
        s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / d;
    }
    for (int64_t k = j + 1; k < n; ++k)
      a[j * n + k] = 0;
  }
  return true;
}

/// The upper triangular U with U^T U = H^-1 (H positive definite), the
/// factor GPTQ's updates use; false when H is not positive definite.
bool inverseCholeskyUpper(std::vector<double> h, int64_t n,
                          std::vector<double> &u) {
  if (!cholesky(h, n))
    return false;
  // Linv = L^-1 (lower), by forward substitution column by column.
  std::vector<double> linv(n * n, 0.0);
  for (int64_t c = 0; c < n; ++c) {
    linv[c * n + c] = 1.0 / h[c * n + c];
    for (int64_t i = c + 1; i < n; ++i) {
      double s = 0;
      for (int64_t k = c; k < i; ++k)
        s += h[i * n + k] * linv[k * n + c];
      linv[i * n + c] = -s / h[i * n + i];
    }
  }
  // H^-1 = Linv^T Linv.
  std::vector<double> inv(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      double s = 0;
      for (int64_t k = i; k < n; ++k)
        s += linv[k * n + i] * linv[k * n + j];
      inv[i * n + j] = inv[j * n + i] = s;
    }
  if (!cholesky(inv, n))
    return false;
  u.assign(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i; j < n; ++j)
      u[i * n + j] = inv[j * n + i];
  return true;
}

} // namespace

std::string mlir::qnt::gptqQuantizeMatrix(const float *w, int64_t rows,
                                          int64_t cols,
                                          const QuantOptions &options,
                                          const double *hessian,
                                          const GptqOptions &gptq,
                                          QuantizedMatrix &out) {
  if (options.format != ElementFormat::Int)
    return "GPTQ rounds to integer grids only, not format " +
           elementFormatName(options.format).str();
  QuantOptions base = options;
  base.importance = nullptr;
  // The grids of plain rounding: layout, checks of options and weights, and
  // the scales of every static grid.
  if (std::string error = quantizeMatrix(w, rows, cols, base, out);
      !error.empty())
    return error;
  // Like quantizeMatrix, `out` is cleared on failure.
  auto fail = [&](std::string message) {
    out = QuantizedMatrix();
    return message;
  };
  if (!(gptq.dampening >= 0) || !std::isfinite(gptq.dampening))
    return fail("GPTQ dampening must be finite and >= 0");

  // H with dead channels (never active) made harmless, then dampened.
  std::vector<double> h(hessian, hessian + cols * cols);
  double meanDiagonal = 0;
  for (int64_t k = 0; k < cols; ++k) {
    double d = h[k * cols + k];
    if (!std::isfinite(d) || d < 0)
      return fail("Hessian diagonal element " + std::to_string(d) + " at " +
                  std::to_string(k) + " must be finite and >= 0");
    if (d == 0)
      h[k * cols + k] = 1;
    meanDiagonal += h[k * cols + k];
  }
  meanDiagonal /= cols;

  std::vector<int64_t> order(cols);
  std::iota(order.begin(), order.end(), 0);
  if (gptq.activationOrder)
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return h[a * cols + a] > h[b * cols + b];
    });
  std::vector<double> permuted(cols * cols);
  for (int64_t i = 0; i < cols; ++i)
    for (int64_t j = 0; j < cols; ++j)
      permuted[i * cols + j] = h[order[i] * cols + order[j]];
  std::vector<double> u;
  double damp = gptq.dampening * meanDiagonal;
  bool factored = false;
  // Like the reference implementation, more dampening when H is singular.
  for (int attempt = 0; attempt < 6 && !factored; ++attempt) {
    std::vector<double> d = permuted;
    for (int64_t i = 0; i < cols; ++i)
      d[i * cols + i] += damp;
    factored = inverseCholeskyUpper(std::move(d), cols, u);
    damp = damp > 0 ? damp * 10 : 1e-6 * meanDiagonal;
  }
  if (!factored)
    return fail("the Hessian is not positive definite (after dampening)");

  // Groups whose grid follows the corrected weights: without activation
  // order, each group of a per-group scheme when GPTQ reaches it.
  bool dynamicGroups = !gptq.activationOrder && !options.perTensor &&
                       options.groupSize > 0 && options.groupSize < cols;
  const int64_t g = out.groupSize;
  const int64_t qmin = options.symmetric ? -(int64_t(1) << (options.bits - 1)) : 0;
  const int64_t qmax = options.symmetric ? (int64_t(1) << (options.bits - 1)) - 1
                                         : (int64_t(1) << options.bits) - 1;
  QuantOptions groupOptions = base;
  groupOptions.numThreads = 1;
  groupOptions.groupSize = g;
  groupOptions.perTensor = false;

  std::string firstError;
  auto runRows = [&](int64_t begin, int64_t end, std::string &error) {
    std::vector<double> v(cols);
    std::vector<float> block(g);
    QuantizedMatrix gq;
    for (int64_t r = begin; r < end; ++r) {
      for (int64_t i = 0; i < cols; ++i)
        v[i] = w[r * cols + order[i]];
      for (int64_t i = 0; i < cols; ++i) {
        int64_t col = order[i];
        int64_t gi = out.groupIndex(r, col);
        if (dynamicGroups && col % g == 0) {
          // i == col without activation order.
          for (int64_t t = 0; t < g; ++t)
            block[t] = static_cast<float>(v[i + t]);
          if (std::string e = quantizeMatrix(block.data(), 1, g, groupOptions, gq);
              !e.empty()) {
            error = "row " + std::to_string(r) + ": " + e;
            return;
          }
          out.scales[gi] = gq.scales[0];
          if (!options.symmetric)
            out.zeroPoints[gi] = gq.zeroPoints[0];
        }
        float scale = out.scales[gi];
        int32_t zp = options.symmetric ? 0 : out.zeroPoints[gi];
        float lo = static_cast<float>(qmin - zp), hi = static_cast<float>(qmax - zp);
        float x = static_cast<float>(v[i]);
        float q = std::nearbyint(std::min(std::max(x / scale, lo), hi));
        float wHat = scale * q;
        int32_t code = static_cast<int32_t>(q) + zp;
        if (options.symmetric)
          out.signedCodes[r * cols + col] = static_cast<int8_t>(code);
        else
          out.unsignedCodes[r * cols + col] = static_cast<uint8_t>(code);
        double err = (v[i] - static_cast<double>(wHat)) / u[i * cols + i];
        const double *urow = &u[i * cols];
        for (int64_t j = i + 1; j < cols; ++j)
          v[j] -= err * urow[j];
      }
    }
  };
  unsigned threads = options.numThreads ? options.numThreads
                                        : std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<int64_t>(threads, rows));
  std::vector<std::string> errors(threads);
  std::vector<std::thread> pool;
  int64_t per = (rows + threads - 1) / threads;
  for (unsigned t = 0; t < threads; ++t) {
    int64_t begin = t * per, end = std::min(rows, begin + per);
    if (begin >= end)
      continue;
    if (t + 1 == threads || threads == 1)
      runRows(begin, end, errors[t]);
    else
      pool.emplace_back([&, begin, end, t] { runRows(begin, end, errors[t]); });
  }
  for (std::thread &th : pool)
    th.join();
  for (std::string &e : errors)
    if (!e.empty()) {
      out = QuantizedMatrix();
      return e;
    }
  return "";
}

std::string
mlir::qnt::readHessianFile(const std::string &path,
                           std::map<std::string, std::vector<double>> &out) {
  auto file = llvm::MemoryBuffer::getFile(path);
  if (!file)
    return path + ": cannot read the Hessian file: " +
           file.getError().message();
  llvm::SmallVector<llvm::StringRef> lines;
  (*file)->getBuffer().split(lines, '\n');
  for (auto [i, line] : llvm::enumerate(lines)) {
    std::string where = path + ":" + std::to_string(i + 1) + ": ";
    llvm::SmallVector<llvm::StringRef> words;
    llvm::SplitString(line, words);
    if (words.empty() || words[0].starts_with("#"))
      continue;
    int64_t k;
    if (words.size() < 2 || words[1].getAsInteger(10, k) || k <= 0 ||
        k > (int64_t(1) << 20))
      return where + "expected 'NAME K' and K*K values";
    if (static_cast<int64_t>(words.size()) - 2 != k * k)
      return where + "layer '" + words[0].str() + "' has " +
             std::to_string(words.size() - 2) + " values; K = " +
             std::to_string(k) + " needs " + std::to_string(k * k);
    std::vector<double> h(k * k);
    for (int64_t j = 0; j < k * k; ++j)
      if (words[j + 2].getAsDouble(h[j]) || !std::isfinite(h[j]))
        return where + "'" + words[j + 2].str() + "' is not a finite number";
    if (!out.emplace(words[0].str(), std::move(h)).second)
      return where + "a second Hessian for layer '" + words[0].str() + "'";
  }
  return "";
}
