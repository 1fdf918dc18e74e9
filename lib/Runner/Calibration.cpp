// Calibration statistics from an instrumented model library.
#include "qnt/Runner/Calibration.h"
#include "qnt/Support/OutputFile.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <cstdio>

using namespace mlir::qnt;
using llvm::StringRef;
using llvm::Twine;

std::string mlir::qnt::readTokenFile(const std::string &path,
                                     std::vector<TokenSample> &samples) {
  auto file = llvm::MemoryBuffer::getFile(path);
  if (!file)
    return path + ": cannot read the token file: " + file.getError().message();
  llvm::SmallVector<StringRef> lines;
  (*file)->getBuffer().split(lines, '\n');
  for (auto [i, line] : llvm::enumerate(lines)) {
    unsigned lineNumber = i + 1;
    line = line.split('#').first;
    llvm::SmallVector<StringRef> words;
    llvm::SplitString(line, words); // any white space, no empty words
    if (words.empty())
      continue;
    TokenSample sample;
    sample.line = lineNumber;
    for (StringRef word : words) {
      int64_t id;
      if (word.getAsInteger(10, id) || id < 0)
        return path + ":" + std::to_string(lineNumber) + ": '" + word.str() +
               "' is not a token id (a non-negative decimal integer)";
      sample.tokens.push_back(id);
    }
    samples.push_back(std::move(sample));
  }
  if (samples.empty())
    return path + ": no token ids (one sample per line, ids separated by "
                  "white space)";
  return "";
}

std::string mlir::qnt::collectCalibrationStatistics(
    ModelLibrary &model, const std::string &tokenPath,
    const std::vector<TokenSample> &samples,
    std::vector<LayerStatistics> &stats,
    llvm::function_ref<void(const Twine &)> progress) {
  // The instrumented library's ABI (qnt-instrument-calibration).
  auto *table =
      static_cast<const char *>(model.symbol("qnt_calibration_layers"));
  auto *sumsq = reinterpret_cast<double (*)(int64_t)>(
      model.symbol("qnt_calibration_sumsq"));
  auto *sum = reinterpret_cast<double (*)(int64_t)>(
      model.symbol("qnt_calibration_sum"));
  auto *rows = reinterpret_cast<int64_t (*)(int64_t)>(
      model.symbol("qnt_calibration_rows"));
  if (!table || !sumsq || !sum || !rows)
    return "the model library is not instrumented for calibration (no "
           "qnt_calibration_layers, qnt_calibration_sumsq, "
           "qnt_calibration_sum, qnt_calibration_rows)";

  // Check everything before running anything.
  int64_t total = 0;
  for (const TokenSample &s : samples) {
    std::string where = tokenPath + ":" + std::to_string(s.line) + ": ";
    for (int64_t id : s.tokens)
      if (id >= model.vocabulary())
        return where + "token id " + std::to_string(id) +
               " is outside the model's vocabulary of " +
               std::to_string(model.vocabulary());
    if (model.context() &&
        static_cast<int64_t>(s.tokens.size()) > model.context())
      return where + std::to_string(s.tokens.size()) +
             " tokens exceed the model's context of " +
             std::to_string(model.context()) + " positions";
    total += s.tokens.size();
  }

  using Clock = std::chrono::steady_clock;
  Clock::time_point start = Clock::now(), lastReport = start;
  int64_t done = 0;
  for (auto [i, s] : llvm::enumerate(samples)) {
    model.resetState();
    for (auto [pos, id] : llvm::enumerate(s.tokens)) {
      std::string error;
      if (!model.step(id, pos, error))
        return error;
    }
    done += s.tokens.size();
    Clock::time_point now = Clock::now();
    if (i + 1 == samples.size() ||
        std::chrono::duration<double>(now - lastReport).count() >= 5) {
      double seconds = std::chrono::duration<double>(now - start).count();
      progress(llvm::formatv("calibration: {0}/{1} samples, {2}/{3} tokens "
                             "({4:f1} tokens/s)",
                             i + 1, samples.size(), done, total,
                             done / std::max(seconds, 1e-9))
                   .str());
      lastReport = now;
    }
  }

  // One "NAME K" line per layer, in the order of the buffers.
  llvm::StringMap<size_t> byName;
  int64_t offset = 0, layer = 0;
  llvm::SmallVector<StringRef> lines;
  StringRef(table).split(lines, '\n', -1, /*KeepEmpty=*/false);
  for (StringRef line : lines) {
    auto [name, kText] = line.rsplit(' ');
    int64_t k;
    if (name.empty() || kText.getAsInteger(10, k) || k <= 0)
      return "the model library's calibration layer table has a bad line '" +
             line.str() + "'";
    auto [it, isNew] = byName.try_emplace(name, stats.size());
    if (isNew)
      stats.push_back({name.str(), std::vector<double>(k, 0.0),
                       std::vector<double>(k, 0.0), 0});
    LayerStatistics &s = stats[it->second];
    if (static_cast<int64_t>(s.sumSquares.size()) != k)
      return "layers named '" + name.str() + "' have different K (" +
             std::to_string(s.sumSquares.size()) + " and " + std::to_string(k) +
             "); their statistics cannot share a line";
    for (int64_t c = 0; c < k; ++c) {
      s.sumSquares[c] += sumsq(offset + c);
      s.sums[c] += sum(offset + c);
    }
    s.rows += rows(layer);
    offset += k;
    ++layer;
  }
  return "";
}

std::string mlir::qnt::writeCalibrationStatistics(
    const std::string &path, const std::vector<LayerStatistics> &stats,
    const std::string &comment, std::vector<std::string> &unseen) {
  return writeOutputFile(path, [&](llvm::raw_ostream &os) {
    os << "# " << comment << "\n";
    for (const LayerStatistics &s : stats) {
      if (s.rows == 0) {
        unseen.push_back(s.name);
        continue;
      }
      // 9 significant digits: a float survives the round trip exactly.
      auto number = [&](double v) {
        char text[32];
        std::snprintf(text, sizeof text, " %.9g", v);
        os << text;
      };
      os << s.name;
      for (double v : s.sumSquares)
        number(v / s.rows);
      os << "\n";
      // The mean as one direction: E[x x^T] = Cov + mu mu^T, with the
      // covariance's diagonal left in the residual E[x_k^2] - mu_k^2.
      double norm2 = 0;
      for (double v : s.sums)
        norm2 += (v / s.rows) * (v / s.rows);
      if (norm2 > 0) {
        os << s.name << " eigen";
        number(norm2);
        for (double v : s.sums)
          number(v / s.rows / std::sqrt(norm2));
        os << "\n";
      }
    }
  });
}
