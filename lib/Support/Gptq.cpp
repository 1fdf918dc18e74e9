// GPTQ rounding on the quantizer's grids (include/qnt/Support/Gptq.h).
#include "qnt/Support/Gptq.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <thread>

using namespace mlir::qnt;

namespace {

// The hot loops get a second copy for x86-64-v3 (AVX2 and FMA), chosen when
// the program starts. Their arithmetic is written out (no reassociation, no
// fused multiply-add), so both copies give the same bits on every machine.
#if defined(__x86_64__) && defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#if !defined(__has_feature) || !__has_feature(address_sanitizer)
#define QNT_WIDE_VECTORS                                                       \
  __attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
#endif
#ifndef QNT_WIDE_VECTORS
#define QNT_WIDE_VECTORS
#endif

/// sum_k a[k] b[k] over [0, n), in 8 partial sums (k mod 8) added in a
/// fixed order: independent chains that vectorize. The factorizations of a
/// 1.1B model's Hessians (K up to 5632) are dominated by these products.
QNT_WIDE_VECTORS double dot(const double *a, const double *b, int64_t n) {
#pragma clang fp contract(off)
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int l = 0; l < 8; ++l)
      s[l] += a[k + l] * b[k + l];
  for (int l = 0; k < n; ++k, ++l)
    s[l] += a[k] * b[k];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/// v[j] -= e u[j] for j in [0, n).
QNT_WIDE_VECTORS void subtractScaled(double *v, const double *u, double e,
                                     int64_t n) {
#pragma clang fp contract(off)
  for (int64_t j = 0; j < n; ++j)
    v[j] -= e * u[j];
}

/// acc[a][b] += x_t[i0 + a] x_t[j0 + b] over the rows t of x (row-major,
/// k columns), for a < ni, b < nj; acc rows have `stride` elements. Each
/// product of two floats is exact in double.
QNT_WIDE_VECTORS void addOuterProducts(const float *x, int64_t rows, int64_t k,
                                       int64_t i0, int64_t ni, int64_t j0,
                                       int64_t nj, double *acc,
                                       int64_t stride) {
  double xj[64];
  for (int64_t t = 0; t < rows; ++t) {
    const float *xt = x + t * k;
    for (int64_t b = 0; b < nj; ++b)
      xj[b] = xt[j0 + b];
    for (int64_t a = 0; a < ni; ++a) {
      double xi = xt[i0 + a];
      double *row = &acc[a * stride];
      for (int64_t b = 0; b < nj; ++b)
        row[b] += xi * xj[b];
    }
  }
}

/// `threads` workers run `body(t)` for t = 0 .. threads-1 (the caller is one).
template <typename F> void inParallel(unsigned threads, F body) {
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t)
    pool.emplace_back(body, t);
  body(0);
  for (std::thread &th : pool)
    th.join();
}

/// In-place Cholesky factor L (lower, row-major n x n) of `a`, row by row
/// (every dot product runs along rows); false when `a` is not positive
/// definite. The upper triangle is zeroed. Rows go in blocks: the columns
/// left of a block depend only on earlier blocks, so the block's rows take
/// them on `threads` threads, each earlier row read once per block of rows
/// rather than once per row (n = 5632 is 254 MB of rows).
bool cholesky(std::vector<double> &a, int64_t n, unsigned threads) {
  constexpr int64_t kRows = 32;
  for (int64_t i0 = 0; i0 < n; i0 += kRows) {
    int64_t i1 = std::min(n, i0 + kRows);
    int64_t per = (i1 - i0 + threads - 1) / threads;
    inParallel(threads, [&](unsigned t) {
      int64_t b0 = i0 + t * per, b1 = std::min(i1, b0 + per);
      for (int64_t j = 0; j < i0; ++j) {
        const double *rj = &a[j * n];
        for (int64_t i = b0; i < b1; ++i) {
          double *ri = &a[i * n];
          ri[j] = (ri[j] - dot(ri, rj, j)) / rj[j];
        }
      }
    });
    for (int64_t i = i0; i < i1; ++i) {
      double *ri = &a[i * n];
      for (int64_t j = i0; j < i; ++j) {
        const double *rj = &a[j * n];
        ri[j] = (ri[j] - dot(ri, rj, j)) / rj[j];
      }
      double d = ri[i] - dot(ri, ri, i);
      if (!(d > 0) || !std::isfinite(d))
        return false;
      ri[i] = std::sqrt(d);
      for (int64_t k = i + 1; k < n; ++k)
        ri[k] = 0;
    }
  }
  return true;
}

/// The upper triangular U with U^T U = H^-1 (H positive definite), the
/// factor GPTQ's updates use; false when H is not positive definite. With
/// P the reversal permutation and P H P = L L^T, H^-1 = P L^-T L^-1 P, so
/// U = P L^-1 P: one Cholesky factorization and one triangular inverse.
bool inverseCholeskyUpper(const std::vector<double> &h, int64_t n,
                          std::vector<double> &u, unsigned threads) {
  // Below a few hundred columns threads cost more than they save.
  if (n < 256)
    threads = 1;
  std::vector<double> l(n * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      l[i * n + j] = h[(n - 1 - i) * n + (n - 1 - j)];
  if (!cholesky(l, n, threads))
    return false;
  // Column c of M = L^-1 (lower), kept as row c of mt: M_cc = 1 / L_cc,
  // M_ic = -(sum_{c<=k<i} L_ik M_kc) / L_ii. The columns are independent;
  // a block of them shares each read of a row of L.
  std::vector<double> mt(n * n, 0.0);
  constexpr int64_t kColumns = 16;
  std::atomic<int64_t> next{0};
  inParallel(threads, [&](unsigned) {
    for (int64_t c0; (c0 = kColumns * next++) < n;) {
      int64_t c1 = std::min(n, c0 + kColumns);
      for (int64_t c = c0; c < c1; ++c)
        mt[c * n + c] = 1.0 / l[c * n + c];
      for (int64_t i = c0 + 1; i < n; ++i) {
        const double *li = &l[i * n];
        for (int64_t c = c0; c < std::min(c1, i); ++c) {
          double *m = &mt[c * n];
          m[i] = -dot(li + c, m + c, i - c) / li[i];
        }
      }
    }
  });
  // U_ij = M_(n-1-i)(n-1-j) = mt[n-1-j][n-1-i].
  u.assign(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i; j < n; ++j)
      u[i * n + j] = mt[(n - 1 - j) * n + (n - 1 - i)];
  return true;
}

unsigned defaultThreads(unsigned requested) {
  return requested ? requested
                   : std::max(1u, std::thread::hardware_concurrency());
}

} // namespace

std::string mlir::qnt::gptqFactorHessian(const double *hessian, int64_t cols,
                                         const GptqOptions &gptq,
                                         GptqFactor &out, unsigned threads) {
  out = GptqFactor();
  if (!(gptq.dampening >= 0) || !std::isfinite(gptq.dampening))
    return "GPTQ dampening must be finite and >= 0";
  // H with dead channels (never active) made harmless, then dampened.
  std::vector<double> h(hessian, hessian + cols * cols);
  double meanDiagonal = 0;
  for (int64_t k = 0; k < cols; ++k) {
    double d = h[k * cols + k];
    if (!std::isfinite(d) || d < 0)
      return "Hessian diagonal element " + std::to_string(d) + " at " +
             std::to_string(k) + " must be finite and >= 0";
    if (d == 0)
      h[k * cols + k] = 1;
    meanDiagonal += h[k * cols + k];
  }
  meanDiagonal /= cols;

  out.order.resize(cols);
  std::iota(out.order.begin(), out.order.end(), 0);
  if (gptq.activationOrder)
    std::stable_sort(out.order.begin(), out.order.end(),
                     [&](int64_t a, int64_t b) {
                       return h[a * cols + a] > h[b * cols + b];
                     });
  std::vector<double> permuted(cols * cols);
  for (int64_t i = 0; i < cols; ++i)
    for (int64_t j = 0; j < cols; ++j)
      permuted[i * cols + j] = h[out.order[i] * cols + out.order[j]];
  h = {};
  double damp = gptq.dampening * meanDiagonal;
  bool factored = false;
  // Like the reference implementation, more dampening when H is singular.
  for (int attempt = 0; attempt < 6 && !factored; ++attempt) {
    std::vector<double> d = permuted;
    for (int64_t i = 0; i < cols; ++i)
      d[i * cols + i] += damp;
    factored = inverseCholeskyUpper(d, cols, out.u, defaultThreads(threads));
    damp = damp > 0 ? damp * 10 : 1e-6 * meanDiagonal;
  }
  if (!factored) {
    out = GptqFactor();
    return "the Hessian is not positive definite (after dampening)";
  }
  out.cols = cols;
  out.activationOrder = gptq.activationOrder;
  return "";
}

std::string mlir::qnt::gptqQuantizeMatrix(
    const float *w, int64_t rows, int64_t cols, const QuantOptions &options,
    const double *hessian, const GptqOptions &gptq, QuantizedMatrix &out) {
  if (options.format != ElementFormat::Int)
    return "GPTQ rounds to integer grids only, not format " +
           elementFormatName(options.format).str();
  GptqFactor factor;
  if (std::string e =
          gptqFactorHessian(hessian, cols, gptq, factor, options.numThreads);
      !e.empty()) {
    out = QuantizedMatrix();
    // The option checks of quantizeMatrix come first, as they did.
    QuantOptions base = options;
    base.importance = nullptr;
    if (std::string q = quantizeMatrix(w, rows, cols, base, out); !q.empty())
      return q;
    out = QuantizedMatrix();
    return e;
  }
  return gptqQuantizeMatrix(w, rows, cols, options, factor, out);
}

std::string mlir::qnt::gptqQuantizeMatrix(const float *w, int64_t rows,
                                          int64_t cols,
                                          const QuantOptions &options,
                                          const GptqFactor &factor,
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
  if (factor.cols != cols) {
    out = QuantizedMatrix();
    return "the GPTQ factor is for K = " + std::to_string(factor.cols) +
           ", the weight has K = " + std::to_string(cols);
  }
  const std::vector<int64_t> &order = factor.order;
  const std::vector<double> &u = factor.u;

  // Groups whose grid follows the corrected weights: without activation
  // order, each group of a per-group scheme when GPTQ reaches it.
  bool dynamicGroups = !factor.activationOrder && !options.perTensor &&
                       options.groupSize > 0 && options.groupSize < cols;
  const int64_t g = out.groupSize;
  const int64_t qmin = options.symmetric ? -(int64_t(1) << (options.bits - 1)) : 0;
  const int64_t qmax = options.symmetric ? (int64_t(1) << (options.bits - 1)) - 1
                                         : (int64_t(1) << options.bits) - 1;
  QuantOptions groupOptions = base;
  groupOptions.numThreads = 1;
  groupOptions.groupSize = g;
  groupOptions.perTensor = false;

  // Rows are independent; a block of them goes through the columns
  // together, so that each row of U is read from memory once per block
  // (U of a K = 5632 layer is 254 MB). Each row's arithmetic is that of
  // running it alone.
  constexpr int64_t kBlock = 16;
  auto runRows = [&](int64_t begin, int64_t end, std::string &error) {
    std::vector<double> v(kBlock * cols), err(kBlock);
    std::vector<float> block(g);
    QuantizedMatrix gq;
    for (int64_t r0 = begin; r0 < end; r0 += kBlock) {
      int64_t count = std::min(kBlock, end - r0);
      for (int64_t b = 0; b < count; ++b)
        for (int64_t i = 0; i < cols; ++i)
          v[b * cols + i] = w[(r0 + b) * cols + order[i]];
      for (int64_t i = 0; i < cols; ++i) {
        int64_t col = order[i];
        for (int64_t b = 0; b < count; ++b) {
          int64_t r = r0 + b;
          double *vr = &v[b * cols];
          int64_t gi = out.groupIndex(r, col);
          if (dynamicGroups && col % g == 0) {
            // i == col without activation order.
            for (int64_t t = 0; t < g; ++t)
              block[t] = static_cast<float>(vr[i + t]);
            if (std::string e =
                    quantizeMatrix(block.data(), 1, g, groupOptions, gq);
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
          float lo = static_cast<float>(qmin - zp),
                hi = static_cast<float>(qmax - zp);
          float x = static_cast<float>(vr[i]);
          float q = std::nearbyint(std::min(std::max(x / scale, lo), hi));
          float wHat = scale * q;
          int32_t code = static_cast<int32_t>(q) + zp;
          if (options.symmetric)
            out.signedCodes[r * cols + col] = static_cast<int8_t>(code);
          else
            out.unsignedCodes[r * cols + col] = static_cast<uint8_t>(code);
          err[b] = (vr[i] - static_cast<double>(wHat)) / u[i * cols + i];
        }
        const double *urow = &u[i * cols];
        for (int64_t b = 0; b < count; ++b) {
          double *vr = &v[b * cols];
          double e = err[b];
          subtractScaled(vr + i + 1, urow + i + 1, e, cols - i - 1);
        }
      }
    }
  };
  unsigned threads = defaultThreads(options.numThreads);
  // Whole blocks per thread.
  int64_t blocks = (rows + kBlock - 1) / kBlock;
  threads = static_cast<unsigned>(std::min<int64_t>(threads, blocks));
  std::vector<std::string> errors(threads);
  int64_t per = (blocks + threads - 1) / threads * kBlock;
  inParallel(threads, [&](unsigned t) {
    int64_t begin = t * per, end = std::min(rows, begin + per);
    if (begin < end)
      runRows(begin, end, errors[t]);
  });
  for (std::string &e : errors)
    if (!e.empty()) {
      out = QuantizedMatrix();
      return e;
    }
  return "";
}

void mlir::qnt::inputHessian(const float *x, int64_t rows, int64_t k,
                             std::vector<double> &h, unsigned threads) {
  h.assign(k * k, 0.0);
  // Tiles of H (j >= i), each summed over the rows in order in a local
  // block, then mirrored: the same sums as adding x x^T one row at a time.
  constexpr int64_t kTile = 64;
  int64_t tiles = (k + kTile - 1) / kTile;
  std::vector<std::pair<int64_t, int64_t>> work;
  for (int64_t a = 0; a < tiles; ++a)
    for (int64_t b = a; b < tiles; ++b)
      work.push_back({a, b});
  std::atomic<size_t> next{0};
  inParallel(defaultThreads(threads), [&](unsigned) {
    std::vector<double> acc(kTile * kTile);
    for (size_t w; (w = next++) < work.size();) {
      int64_t i0 = work[w].first * kTile, j0 = work[w].second * kTile;
      int64_t ni = std::min(kTile, k - i0), nj = std::min(kTile, k - j0);
      std::fill(acc.begin(), acc.end(), 0.0);
      addOuterProducts(x, rows, k, i0, ni, j0, nj, acc.data(), kTile);
      for (int64_t a = 0; a < ni; ++a)
        for (int64_t b = 0; b < nj; ++b)
          h[(i0 + a) * k + j0 + b] = h[(j0 + b) * k + i0 + a] =
              acc[a * kTile + b];
    }
  });
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
