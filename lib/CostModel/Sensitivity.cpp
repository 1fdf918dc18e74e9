//===- Sensitivity.cpp - Calibration statistics and expected output error -===//
//
// The low-rank term of expectedOutputError is the only part that costs
// anything at real sizes: N * K * r multiply-adds per (layer, scheme). It
// works on blocks of kRowBlock weight rows so that each direction is read
// once per block, with kLanes float accumulators per row (clang vectorises
// them without -ffast-math); each row's sums are then added in double.
//
//===----------------------------------------------------------------------===//

#include "qnt/CostModel/Sensitivity.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cmath>
#include <thread>

using namespace mlir::qnt;

namespace {

constexpr int64_t kLanes = 16;
constexpr int64_t kRowBlock = 4;

std::string formatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

/// Sum over rows [begin, end) of sum_k residual_k dW_k^2 and of
/// sum_i lambda_i (dW u_i)^2.
double blockError(const float *w, const QuantizedMatrix &q,
                  const InputMoment &h, int64_t begin, int64_t end) {
  const int64_t k = q.cols, r = h.rank();
  std::vector<float> dw(kRowBlock * k);
  double total = 0;
  for (int64_t row0 = begin; row0 < end; row0 += kRowBlock) {
    const int64_t rows = std::min(kRowBlock, end - row0);
    for (int64_t j = 0; j < rows; ++j) {
      float *d = dw.data() + j * k;
      const float *src = w + (row0 + j) * k;
      double diag = 0;
      for (int64_t c = 0; c < k; ++c) {
        float hat = q.dequantized(row0 + j, c);
        d[c] = src[c] - hat;
        double e = static_cast<double>(src[c]) - static_cast<double>(hat);
        diag += static_cast<double>(h.residual[c]) * e * e;
      }
      total += diag;
    }
    for (int64_t i = 0; i < r; ++i) {
      const float *u = h.directions.data() + i * k;
      float acc[kRowBlock][kLanes] = {};
      int64_t c = 0;
      for (; c + kLanes <= k; c += kLanes)
        for (int64_t j = 0; j < kRowBlock; ++j) {
          const float *d = dw.data() + j * k + c;
          for (int64_t l = 0; l < kLanes; ++l)
            acc[j][l] += d[l] * u[c + l];
        }
      for (; c < k; ++c)
        for (int64_t j = 0; j < kRowBlock; ++j)
          acc[j][0] += dw[j * k + c] * u[c];
      for (int64_t j = 0; j < rows; ++j) {
        double dot = 0;
        for (int64_t l = 0; l < kLanes; ++l)
          dot += acc[j][l];
        total += h.eigenvalues[i] * dot * dot;
      }
    }
  }
  return total;
}

} // namespace

std::string
mlir::qnt::parseCalibrationStatistics(const std::string &text,
                                      const std::string &path,
                                      std::map<std::string, InputMoment> &out) {
  out.clear();
  llvm::SmallVector<llvm::StringRef> lines;
  llvm::StringRef(text).split(lines, '\n');
  for (auto [index, rawLine] : llvm::enumerate(lines)) {
    unsigned lineNo = static_cast<unsigned>(index) + 1;
    llvm::SmallVector<llvm::StringRef> words;
    llvm::StringRef line = rawLine;
    // Spaces and tabs separate fields; a '\r' of a CRLF file is white space.
    for (;;) {
      line = line.ltrim(" \t\r");
      if (line.empty())
        break;
      size_t end = line.find_first_of(" \t\r");
      words.push_back(line.substr(0, end));
      line = line.substr(std::min(end, line.size()));
    }
    if (words.empty() || words[0].starts_with("#"))
      continue;
    std::string name = words[0].str();
    auto problem = [&](const std::string &what) {
      return path + ":" + std::to_string(lineNo) + ": layer '" + name +
             "': " + what;
    };
    auto number = [&](llvm::StringRef word, double &v) -> std::string {
      if (word.getAsDouble(v) || !std::isfinite(v))
        return problem("'" + word.str() + "' is not a finite number");
      return "";
    };
    bool isDirection = words.size() > 1 && words[1] == "eigen";
    if (!isDirection) {
      auto [it, inserted] = out.try_emplace(name);
      if (!inserted)
        return problem("a second E[x_k^2] line (the first is line " +
                       std::to_string(it->second.line) + ")");
      InputMoment &m = it->second;
      m.line = lineNo;
      for (llvm::StringRef word : llvm::ArrayRef<llvm::StringRef>(words).drop_front()) {
        double v;
        if (std::string e = number(word, v); !e.empty())
          return e;
        if (v < 0)
          return problem("E[x_k^2] value '" + word.str() + "' is negative");
        m.meanSquare.push_back(static_cast<float>(v));
      }
      if (m.meanSquare.empty())
        return problem("no E[x_k^2] values");
      continue;
    }
    auto it = out.find(name);
    if (it == out.end())
      return problem("'eigen' line before the layer's E[x_k^2] line");
    InputMoment &m = it->second;
    if (words.size() < 3)
      return problem("'eigen' line needs LAMBDA u_1 ... u_K");
    if (static_cast<int64_t>(words.size()) - 3 != m.channels())
      return problem("'eigen' line has " +
                     std::to_string(static_cast<int64_t>(words.size()) - 3) +
                     " values after the eigenvalue, its E[x_k^2] line (line " +
                     std::to_string(m.line) + ") has " +
                     std::to_string(m.channels()));
    double lambda;
    if (std::string e = number(words[2], lambda); !e.empty())
      return e;
    if (lambda < 0)
      return problem("eigenvalue '" + words[2].str() + "' is negative");
    m.eigenvalues.push_back(lambda);
    m.directionLines.push_back(lineNo);
    for (llvm::StringRef word : llvm::ArrayRef<llvm::StringRef>(words).drop_front(3)) {
      double v;
      if (std::string e = number(word, v); !e.empty())
        return e;
      m.directions.push_back(static_cast<float>(v));
    }
  }

  // diag(H) = E[x_k^2] must hold what the directions put on the diagonal.
  for (auto &[name, m] : out) {
    const int64_t k = m.channels();
    m.residual.assign(k, 0.0f);
    for (int64_t c = 0; c < k; ++c) {
      double low = 0;
      for (int64_t i = 0; i < m.rank(); ++i) {
        double u = m.directions[i * k + c];
        low += m.eigenvalues[i] * u * u;
      }
      double rest = m.meanSquare[c] - low;
      if (rest < -1e-4 * (m.meanSquare[c] + low))
        return path + ":" + std::to_string(m.line) + ": layer '" + name +
               "': channel " + std::to_string(c) + " has E[x_k^2] = " +
               formatNumber(m.meanSquare[c]) +
               ", less than its 'eigen' lines give it (" +
               formatNumber(low) + ")";
      m.residual[c] = static_cast<float>(std::max(rest, 0.0));
    }
  }
  return "";
}

std::string
mlir::qnt::readCalibrationStatistics(const std::string &path,
                                     std::map<std::string, InputMoment> &out) {
  auto file = llvm::MemoryBuffer::getFile(path);
  if (!file)
    return "cannot read calibration statistics '" + path +
           "': " + file.getError().message();
  if (std::string error =
          parseCalibrationStatistics((*file)->getBuffer().str(), path, out);
      !error.empty())
    return "calibration statistics " + error;
  return "";
}

std::string mlir::qnt::readMeasuredSensitivities(llvm::StringRef path,
                                                 MeasuredSensitivities &out) {
  auto file = llvm::MemoryBuffer::getFile(path);
  if (!file)
    return "cannot read sensitivities '" + path.str() +
           "': " + file.getError().message();
  llvm::SmallVector<llvm::StringRef> lines;
  (*file)->getBuffer().split(lines, '\n');
  for (auto [i, line] : llvm::enumerate(lines)) {
    llvm::SmallVector<llvm::StringRef> words;
    line.split(words, ' ', -1, /*KeepEmpty=*/false);
    if (words.empty() || words[0].starts_with("#"))
      continue;
    double v;
    if (words.size() != 3 || words[2].getAsDouble(v) || !(v >= 0))
      return "sensitivities " + path.str() + ":" + std::to_string(i + 1) +
             ": expected 'NAME BITS:GROUP[:asym] VALUE' with VALUE >= 0";
    out[words[0]][words[1]] = v;
  }
  return "";
}

double mlir::qnt::expectedOutputError(const float *w, const QuantizedMatrix &q,
                                      const InputMoment *moment,
                                      unsigned numThreads) {
  if (!moment)
    return quantizationError(w, q, nullptr);
  // Without directions: exactly the diagonal proxy, summed as before.
  if (moment->rank() == 0)
    return quantizationError(w, q, moment->meanSquare.data());
  unsigned threads = numThreads ? numThreads
                                : std::max(1u, std::thread::hardware_concurrency());
  int64_t blocks = (q.rows + kRowBlock - 1) / kRowBlock;
  threads = static_cast<unsigned>(std::min<int64_t>(threads, blocks));
  // Fixed split into contiguous row ranges (multiples of kRowBlock), summed
  // in order: the same result for any thread count requires the same
  // ranges, so split into a fixed number of chunks and give them out.
  constexpr int64_t kChunks = 64;
  std::vector<double> partial(kChunks, 0.0);
  auto chunkBegin = [&](int64_t c) {
    return std::min(q.rows, (blocks * c / kChunks) * kRowBlock);
  };
  auto work = [&](unsigned t) {
    for (int64_t c = t; c < kChunks; c += threads)
      partial[c] = blockError(w, q, *moment, chunkBegin(c), chunkBegin(c + 1));
  };
  std::vector<std::thread> workers;
  for (unsigned t = 1; t < threads; ++t)
    workers.emplace_back(work, t);
  work(0);
  for (std::thread &t : workers)
    t.join();
  double total = 0;
  for (double p : partial)
    total += p;
  return total;
}
