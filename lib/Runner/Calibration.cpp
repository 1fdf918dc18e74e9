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
#include <random>

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

std::string mlir::qnt::checkTokenSamples(
    ModelLibrary &model, const std::string &tokenPath,
    const std::vector<TokenSample> &samples) {
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
  }
  return "";
}

namespace {
/// "calibration: 3/8 samples, ..." lines at most every 5 seconds.
struct ProgressLines {
  using Clock = std::chrono::steady_clock;
  Clock::time_point start = Clock::now(), lastReport = start;
  void report(llvm::function_ref<void(const Twine &)> progress, StringRef verb,
              size_t done, size_t samples, int64_t tokens, int64_t total,
              bool last) {
    Clock::time_point now = Clock::now();
    if (!last && std::chrono::duration<double>(now - lastReport).count() < 5)
      return;
    double seconds = std::chrono::duration<double>(now - start).count();
    progress(llvm::formatv("calibration: {0}{1}/{2} samples, {3}/{4} tokens "
                           "({5:f1} tokens/s)",
                           verb, done, samples, tokens, total,
                           tokens / std::max(seconds, 1e-9))
                 .str());
    lastReport = now;
  }
};
} // namespace

std::string mlir::qnt::runTokenSamples(
    ModelLibrary &model, const std::vector<TokenSample> &samples,
    llvm::function_ref<void(const Twine &)> progress,
    llvm::function_ref<void(size_t, size_t, const float *)> onLogits) {
  int64_t total = 0, done = 0;
  for (const TokenSample &s : samples)
    total += s.tokens.size();
  ProgressLines lines;
  for (auto [i, s] : llvm::enumerate(samples)) {
    model.resetState();
    for (auto [pos, id] : llvm::enumerate(s.tokens)) {
      std::string error;
      const float *logits = model.step(id, pos, error);
      if (!logits)
        return error;
      if (onLogits)
        onLogits(i, pos, logits);
    }
    done += s.tokens.size();
    if (progress)
      lines.report(progress, "", i + 1, samples.size(), done, total,
                   i + 1 == samples.size());
  }
  return "";
}

bool mlir::qnt::parseSampleSpec(StringRef spec, SampleOptions &options,
                                std::string &error) {
  if (!spec.consume_front("sample:"))
    return false;
  auto [n, len] = spec.split(':');
  auto bad = [&](StringRef what) {
    error = "--calibrate=sample:" + spec.str() + ": " + what.str() +
            " (expected sample:N[:LEN], N sequences of LEN tokens, 1 to "
            "65536 each)";
    return true;
  };
  if (n.getAsInteger(10, options.sequences) || options.sequences < 1 ||
      options.sequences > 65536)
    return bad("N must be an integer from 1 to 65536");
  if (spec.contains(':') &&
      (len.getAsInteger(10, options.length) || options.length < 1 ||
       options.length > 65536))
    return bad("LEN must be an integer from 1 to 65536");
  error.clear();
  return true;
}

int64_t mlir::qnt::defaultSampleLength(const ModelLibrary &model) {
  return model.context() ? std::min<int64_t>(64, model.context()) : 64;
}

std::string mlir::qnt::sampleTokenSequences(
    ModelLibrary &model, const SampleOptions &options,
    std::vector<TokenSample> &samples,
    llvm::function_ref<void(const Twine &)> progress,
    llvm::function_ref<void(size_t, size_t, const float *)> onLogits) {
  if (options.firstToken < 0 || options.firstToken >= model.vocabulary())
    return "the first token " + std::to_string(options.firstToken) +
           " is outside the model's vocabulary of " +
           std::to_string(model.vocabulary());
  int64_t length = options.length ? options.length
                                  : defaultSampleLength(model);
  if (model.context() && length > model.context())
    return "sample:" + std::to_string(options.sequences) + ":" +
           std::to_string(length) + ": " + std::to_string(length) +
           " tokens exceed the model's context of " +
           std::to_string(model.context()) + " positions";
  std::mt19937_64 rng(options.seed);
  std::vector<double> weights(model.vocabulary());
  int64_t total = options.sequences * length, done = 0;
  ProgressLines lines;
  samples.clear();
  for (int64_t i = 0; i < options.sequences; ++i) {
    TokenSample sample;
    sample.line = i + 1;
    model.resetState();
    int64_t token = options.firstToken;
    for (int64_t pos = 0; pos < length; ++pos) {
      sample.tokens.push_back(token);
      std::string error;
      const float *logits = model.step(token, pos, error);
      if (!logits)
        return error;
      if (onLogits)
        onLogits(i, pos, logits);
      // softmax(logits) in double, then the first token whose cumulative
      // weight exceeds u * total, with u in [0, 1) from 53 random bits.
      double maxLogit = -INFINITY;
      for (int64_t v = 0; v < model.vocabulary(); ++v)
        maxLogit = std::max(maxLogit, static_cast<double>(logits[v]));
      if (!std::isfinite(maxLogit))
        return "the model's logits at position " + std::to_string(pos) +
               " of sample " + std::to_string(i + 1) + " are not finite";
      double sum = 0;
      for (int64_t v = 0; v < model.vocabulary(); ++v)
        sum += weights[v] = std::exp(static_cast<double>(logits[v]) - maxLogit);
      double u = static_cast<double>(rng() >> 11) * 0x1p-53 * sum, acc = 0;
      token = model.vocabulary() - 1;
      for (int64_t v = 0; v < model.vocabulary(); ++v)
        if ((acc += weights[v]) > u) {
          token = v;
          break;
        }
    }
    done += length;
    samples.push_back(std::move(sample));
    if (progress)
      lines.report(progress, "sampled ", i + 1, options.sequences, done, total,
                   i + 1 == options.sequences);
  }
  return "";
}

std::string
mlir::qnt::readCalibrationStatistics(ModelLibrary &model,
                                     std::vector<LayerStatistics> &stats,
                                     bool releaseInputs) {
  // The instrumented library's ABI (qnt-instrument-calibration).
  auto *table =
      static_cast<const char *>(model.symbol("qnt_calibration_layers"));
  auto *sumsq = reinterpret_cast<double (*)(int64_t)>(
      model.symbol("qnt_calibration_sumsq"));
  auto *sum = reinterpret_cast<double (*)(int64_t)>(
      model.symbol("qnt_calibration_sum"));
  auto *rows = reinterpret_cast<int64_t (*)(int64_t)>(
      model.symbol("qnt_calibration_rows"));
  auto *inputsAddress = reinterpret_cast<int64_t (*)()>(
      model.symbol("qnt_calibration_inputs_address"));
  auto *inputsCapacity = reinterpret_cast<int64_t (*)()>(
      model.symbol("qnt_calibration_inputs_capacity"));
  if (!table || !sumsq || !sum || !rows)
    return "the model library is not instrumented for calibration (no "
           "qnt_calibration_layers, qnt_calibration_sumsq, "
           "qnt_calibration_sum, qnt_calibration_rows)";
  const float *recorded = inputsAddress && inputsCapacity
                              ? reinterpret_cast<const float *>(inputsAddress())
                              : nullptr;
  int64_t capacity = recorded ? inputsCapacity() : 0;

  // One "NAME K" line per layer, in the order of the buffers.
  llvm::StringMap<size_t> byName;
  std::vector<std::vector<float>> inputs;
  int64_t offset = 0, inputsOffset = 0, layer = 0;
  llvm::SmallVector<StringRef> lines;
  StringRef(table).split(lines, '\n', -1, /*KeepEmpty=*/false);
  for (StringRef line : lines) {
    auto [name, kText] = line.rsplit(' ');
    int64_t k;
    if (name.empty() || kText.getAsInteger(10, k) || k <= 0)
      return "the model library's calibration layer table has a bad line '" +
             line.str() + "'";
    auto [it, isNew] = byName.try_emplace(name, stats.size());
    if (isNew) {
      stats.push_back({name.str(), std::vector<double>(k, 0.0),
                       std::vector<double>(k, 0.0), 0, nullptr, 0});
      inputs.emplace_back();
    }
    LayerStatistics &s = stats[it->second];
    if (static_cast<int64_t>(s.sumSquares.size()) != k)
      return "layers named '" + name.str() + "' have different K (" +
             std::to_string(s.sumSquares.size()) + " and " + std::to_string(k) +
             "); their statistics cannot share a line";
    for (int64_t c = 0; c < k; ++c) {
      s.sumSquares[c] += sumsq(offset + c);
      s.sums[c] += sum(offset + c);
    }
    int64_t seen = rows(layer);
    if (recorded) {
      if (seen > capacity)
        return "layer '" + name.str() + "' saw " + std::to_string(seen) +
               " input rows; the library records " + std::to_string(capacity);
      const float *x = recorded + inputsOffset;
      inputs[it->second].insert(inputs[it->second].end(), x, x + seen * k);
      s.inputRows += seen;
    }
    s.rows += seen;
    offset += k;
    inputsOffset += capacity * k;
    ++layer;
  }
  if (!recorded)
    return "";
  if (releaseInputs)
    releasePages(const_cast<float *>(recorded),
                 sizeof(float) * size_t(inputsOffset));
  // Layers reading the same x share its rows (compared with the few layers
  // before: the projections of one input are neighbours).
  for (size_t i = 0; i < stats.size(); ++i) {
    for (size_t j = i >= 4 ? i - 4 : 0; j < i && !stats[i].inputs; ++j)
      if (stats[j].inputs && *stats[j].inputs == inputs[i])
        stats[i].inputs = stats[j].inputs;
    if (!stats[i].inputs)
      stats[i].inputs =
          std::make_shared<const std::vector<float>>(std::move(inputs[i]));
    inputs[i] = {};
  }
  return "";
}

std::string mlir::qnt::collectCalibrationStatistics(
    ModelLibrary &model, const std::string &tokenPath,
    const std::vector<TokenSample> &samples,
    std::vector<LayerStatistics> &stats,
    llvm::function_ref<void(const Twine &)> progress) {
  if (!model.symbol("qnt_calibration_layers"))
    return readCalibrationStatistics(model, stats);
  if (std::string e = checkTokenSamples(model, tokenPath, samples); !e.empty())
    return e;
  if (std::string e = runTokenSamples(model, samples, progress); !e.empty())
    return e;
  return readCalibrationStatistics(model, stats);
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
