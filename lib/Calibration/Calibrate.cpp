// quant-compile --calibrate: instrument, compile, run (over a token file or
// sequences sampled from the model), write statistics and Hessians, and
// measure how quantized weights change the model's output.
#include "qnt/Calibration/Calibrate.h"
#include "mlir/Pass/PassManager.h"
#include "qnt/CostModel/CostModel.h"
#include "qnt/CostModel/Sensitivity.h"
#include "qnt/IR/QntAttrs.h"
#include "qnt/Support/OutputFile.h"
#include "qnt/Transforms/LinearLayer.h"
#include "qnt/Transforms/Passes.h"
#include "qnt/Transforms/Transforms.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>

using namespace mlir;
using namespace mlir::qnt;

namespace {
using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// log_softmax of a logits row, in double.
void logSoftmax(const float *logits, int64_t n, double *out) {
  double m = -INFINITY;
  for (int64_t v = 0; v < n; ++v)
    m = std::max(m, static_cast<double>(logits[v]));
  double sum = 0;
  for (int64_t v = 0; v < n; ++v)
    sum += std::exp(static_cast<double>(logits[v]) - m);
  double lse = m + std::log(sum);
  for (int64_t v = 0; v < n; ++v)
    out[v] = static_cast<double>(logits[v]) - lse;
}
} // namespace

static std::vector<CandidateScheme> defaultCandidates();

std::unique_ptr<CalibrationSession> CalibrationSession::create(
    ModuleOp module, const CalibrationRequest &request,
    function_ref<bool(ModuleOp, StringRef)> compileLibrary,
    function_ref<void(const Twine &)> progress, std::string &error) {
  std::unique_ptr<CalibrationSession> session(new CalibrationSession());
  // A bad token file should not cost a compile.
  SampleOptions sampling;
  sampling.seed = request.seed;
  bool sample = parseSampleSpec(request.spec, sampling, error);
  if (!error.empty())
    return nullptr;
  if (!sample)
    if ((error = readTokenFile(request.spec, session->samples), !error.empty()))
      return nullptr;
  int64_t tokens = 0;
  if (sample)
    tokens = sampling.sequences * (sampling.length ? sampling.length : 64);
  for (const TokenSample &s : session->samples)
    tokens += s.tokens.size();
  // Output-aware sensitivities run the model once per (layer, scheme) pair.
  session->outputMode = request.outputAware ? Outputs::Measured : Outputs::None;
  session->releaseInputPages = request.releaseInput;
  if (request.outputAware) {
    double weights = 0;
    int64_t pairs = 0;
    std::vector<CandidateScheme> candidates = defaultCandidates();
    for (ConstantLinearLayer &c : findConstantLinearLayers(module)) {
      weights += double(c.layer.n) * c.layer.k;
      for (const CandidateScheme &s : candidates)
        pairs += s.group == 0 || c.layer.k % s.group == 0;
    }
    double work = double(pairs) * double(tokens) * weights;
    if (work > request.exactWorkLimit) {
      session->outputMode = Outputs::Estimated;
      progress(llvm::formatv(
                   "calibration: measuring every output-aware sensitivity "
                   "would take {0:e1} multiply-adds ({1} (layer, scheme) pairs "
                   "x {2} tokens x {3:e2} weights), above {4:e1}: estimating "
                   "them from the output errors and gains per role and depth",
                   work, pairs, tokens, weights, request.exactWorkLimit)
                   .str());
    }
  }
  bool reported = false;
  if ((error = session->collectLayers(module,
                                      session->outputMode == Outputs::Measured))
          .empty() &&
      (error = session->compileInstrumented(module, request, tokens,
                                            compileLibrary, progress, reported))
          .empty() &&
      (error = session->runFloatModel(request, sample, sampling, progress))
          .empty() &&
      (error = session->writeFiles(request, sample, progress)).empty())
    return session;
  if (reported)
    error = "";
  return nullptr;
}

std::string CalibrationSession::collectLayers(ModuleOp module,
                                              bool copyWeights) {
  // The layers and their float weights, as the passes will see them.
  for (ConstantLinearLayer &c : findConstantLinearLayers(module)) {
    CalibrationLayer layer;
    layer.name =
        c.name.empty() ? "layer" + std::to_string(layers.size()) : c.name;
    layer.n = c.layer.n;
    layer.k = c.layer.k;
    layer.weightIsKN = c.layer.weightIsKN;
    // The float weights fill the library's buffers; output-aware
    // sensitivities put them back later.
    if (std::string e = readWeightRows(c, layer.owned, layer.rows); !e.empty())
      return "cannot read the weight of layer '" + layer.name + "': " + e;
    if (copyWeights) {
      // Read in place from the module, which changes later: keep a copy.
      if (layer.owned.empty())
        layer.owned.assign(layer.rows, layer.rows + layer.n * layer.k);
      layer.rows = layer.owned.data();
    }
    layers.push_back(std::move(layer));
  }
  return "";
}

std::string CalibrationSession::compileInstrumented(
    ModuleOp module, const CalibrationRequest &request, int64_t tokens,
    function_ref<bool(ModuleOp, StringRef)> compileLibrary,
    function_ref<void(const Twine &)> progress, bool &reported) {
  // The clone shares the weights' attributes (resource blobs) with the
  // original; only the ops are copied.
  OwningOpRef<ModuleOp> instrumented = module.clone();
  // The weights become buffers filled from the module after loading: the
  // library is compiled without them (fast, and small for a big model).
  progress(
      Twine("calibration: instrumenting the float model's linear "
            "layers (weights as buffers)") +
      (request.hessians ? " (recording their inputs for the Hessians)" : ""));
  PassManager pm(module.getContext());
  QntInstrumentCalibrationPassOptions options;
  options.recordRows = request.hessians ? tokens : 0;
  options.swappableWeights = true;
  pm.addPass(createQntInstrumentCalibrationPass(options));
  reported = true;
  if (mlir::failed(pm.run(*instrumented)))
    return "the instrumentation failed";
  SmallString<128> library;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
          "quant-compile-calibration", "so", library)) {
    reported = false;
    return "cannot create a temporary library file: " + ec.message();
  }
  if (!compileLibrary(*instrumented, library)) {
    llvm::sys::fs::remove(library);
    return "compiling the instrumented model failed";
  }
  reported = false;
  instrumented = nullptr; // the IR is no longer needed while the model runs
  entry = request.entry;
  std::string error = loadWorker(std::string(library), request.entry);
  // Estimates read the weights in place from the module, which stays as it
  // is until the session ends.
  if (outputMode == Outputs::None)
    for (CalibrationLayer &layer : layers) {
      // In the library now; nothing puts them back.
      layer.rows = nullptr;
      layer.owned = {};
    }
  if (error.empty())
    releaseInput();
  return error;
}

std::string
CalibrationSession::runFloatModel(const CalibrationRequest &request,
                                  bool sample, SampleOptions sampling,
                                  function_ref<void(const Twine &)> progress) {
  ModelLibrary &model = *workers[0].model;
  // Run the float model: over the token file, or sampling from itself.
  int64_t vocab = model.vocabulary();
  std::vector<double> &reference = referenceLogProbs;
  auto keep = [&](size_t sampleIndex, size_t position, const float *logits) {
    if (outputMode == Outputs::None)
      return;
    size_t row = reference.size() / vocab;
    reference.resize(reference.size() + vocab);
    logSoftmax(logits, vocab, reference.data() + row * vocab);
  };
  std::string error;
  if (sample) {
    if (sampling.length == 0)
      sampling.length = defaultSampleLength(model);
    progress(llvm::formatv("calibration: sampling {0} sequences of {1} tokens "
                           "from the float model (temperature 1, seed {2})",
                           sampling.sequences, sampling.length, sampling.seed)
                 .str());
    error = sampleTokenSequences(model, sampling, samples, progress, keep);
  } else {
    int64_t tokens = 0;
    for (const TokenSample &s : samples)
      tokens += s.tokens.size();
    error = checkTokenSamples(model, request.spec, samples);
    if (error.empty()) {
      progress("calibration: running the float model over " + Twine(tokens) +
               " tokens in " + Twine(samples.size()) + " samples of " +
               request.spec);
      error = runTokenSamples(model, samples, progress, keep);
    }
  }
  if (!error.empty())
    return error;
  for (const TokenSample &s : samples)
    positions += s.tokens.size();
  // Estimates measure a few runs: over the first samples, 64 tokens or more.
  for (const TokenSample &s : samples) {
    if (outputMode == Outputs::Estimated && measuredPositions >= 64)
      break;
    measuredSamples++;
    measuredPositions += s.tokens.size();
  }
  if ((error = readCalibrationStatistics(model, stats,
                                         /*releaseInputs=*/true),
       !error.empty()))
    return error;
  if (auto *setEnabled = reinterpret_cast<void (*)(int64_t)>(
          model.symbol("qnt_calibration_set_enabled")))
    setEnabled(0);
  return "";
}

std::string
CalibrationSession::writeFiles(const CalibrationRequest &request, bool sample,
                               function_ref<void(const Twine &)> progress) {
  std::string origin =
      "quant-compile --calibrate=" + request.spec +
      (sample ? " --calibration-seed=" + std::to_string(request.seed) : "") +
      ": " + std::to_string(samples.size()) + " samples, " +
      std::to_string(positions) + " tokens";
  if (!request.tokensOut.empty())
    if (std::string error =
            writeOutputFile(request.tokensOut,
                            [&](llvm::raw_ostream &os) {
                              os << "# " << origin << "\n";
                              for (const TokenSample &s : samples) {
                                for (auto [i, t] : llvm::enumerate(s.tokens))
                                  os << (i ? " " : "") << t;
                                os << "\n";
                              }
                            });
        !error.empty())
      return error;
  std::vector<std::string> unseen;
  if (std::string error = writeCalibrationStatistics(
          request.statsPath, stats,
          "E[x_k^2] of each linear layer's input (NAME then one value per "
          "input channel; then NAME eigen ||mu||^2 mu/||mu|| for its mean mu) "
          "from " +
              origin,
          unseen);
      !error.empty())
    return error;
  if (!unseen.empty())
    llvm::errs() << "quant-compile: warning: calibration: no input reached "
                 << unseen.size() << " layer(s) (" << llvm::join(unseen, ", ")
                 << "); they have no statistics\n";
  progress("calibration: statistics of " + Twine(stats.size() - unseen.size()) +
           " layers in " + request.statsPath);
  if (!request.hessians)
    return "";
  Clock::time_point start = Clock::now();
  int64_t withInputs = 0, rows = 0;
  for (const LayerStatistics &s : stats)
    if (s.inputs && s.inputRows > 0) {
      ++withInputs;
      rows = std::max(rows, s.inputRows);
    }
  if (outputMode == Outputs::Measured) {
    // The candidates of GPTQ need every layer's Hessian, formed once.
    HessianSource source = hessianSource();
    for (CalibrationLayer &layer : layers)
      if (std::string e = source(layer.name, layer.hessian); !e.empty())
        layer.hessian = nullptr;
    progress(llvm::formatv("calibration: Hessians of {0} layers from {1} "
                           "recorded input rows in {2:f1} s",
                           withInputs, rows, secondsSince(start))
                 .str());
  }
  if (request.hessianPath.empty())
    return "";
  HessianSource source = hessianSource();
  if (std::string error = writeOutputFile(
          request.hessianPath,
          [&](llvm::raw_ostream &os) {
            os << "# sum of x x^T of each linear layer's input (NAME K then "
                  "K*K values, row-major) from "
               << origin << "\n";
            char text[32];
            for (const LayerStatistics &s : stats) {
              std::shared_ptr<const std::vector<double>> h;
              if (!s.inputs || s.inputRows == 0 || !source(s.name, h).empty())
                continue;
              os << s.name << " " << s.sumSquares.size();
              for (double v : *h) {
                std::snprintf(text, sizeof text, " %.17g", v);
                os << text;
              }
              os << "\n";
            }
          });
      !error.empty())
    return error;
  progress("calibration: Hessians of " + Twine(withInputs) + " layers in " +
           request.hessianPath);
  return "";
}

HessianSource CalibrationSession::hessianSource() const {
  struct Inputs {
    std::shared_ptr<const std::vector<float>> rows;
    int64_t count, k;
  };
  // What the source needs, shared by its copies: the inputs by name and the
  // last Hessian formed (the next layers often read the same inputs).
  struct State {
    std::map<std::string, Inputs> byName;
    std::mutex mutex;
    const std::vector<float> *lastInputs = nullptr;
    std::shared_ptr<const std::vector<double>> last;
  };
  auto state = std::make_shared<State>();
  for (const LayerStatistics &s : stats)
    if (s.inputs && s.inputRows > 0)
      state->byName[s.name] = {s.inputs, s.inputRows,
                               static_cast<int64_t>(s.sumSquares.size())};
  return [state](const std::string &layer,
                 std::shared_ptr<const std::vector<double>> &out) {
    auto it = state->byName.find(layer);
    if (it == state->byName.end())
      return std::string("no calibration input reached it");
    std::lock_guard<std::mutex> lock(state->mutex);
    if (state->lastInputs != it->second.rows.get()) {
      state->last = nullptr;
      auto h = std::make_shared<std::vector<double>>();
      inputHessian(it->second.rows->data(), it->second.count, it->second.k, *h);
      state->last = std::move(h);
      state->lastInputs = it->second.rows.get();
    }
    out = state->last;
    return std::string();
  };
}

int CalibrationSession::defaultThreads() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

CalibrationSession::~CalibrationSession() {
  for (Worker &w : workers) {
    // The library stays loaded (ModelLibrary never unloads one): give its
    // weight buffers' memory back.
    for (auto [i, buffer] : llvm::enumerate(w.buffers))
      releasePages(buffer, sizeof(float) * layers[i].n * layers[i].k);
    w.model = nullptr;
    llvm::sys::fs::remove(w.path);
  }
}

std::string CalibrationSession::loadWorker(const std::string &path,
                                           const std::string &entry) {
  Worker w;
  w.path = path;
  std::string error;
  w.model = ModelLibrary::load(path, "the instrumented model", entry, error);
  if (!w.model) {
    llvm::sys::fs::remove(path);
    return error;
  }
  auto *address = reinterpret_cast<int64_t (*)(int64_t)>(
      w.model->symbol("qnt_calibration_weight_address"));
  if (address) {
    for (auto [i, layer] : llvm::enumerate(layers)) {
      w.buffers.push_back(reinterpret_cast<float *>(address(i)));
      if (!w.buffers.back())
        error = "the instrumented model has no buffer for layer '" +
                layer.name + "'";
    }
  }
  workers.push_back(std::move(w));
  if (!error.empty())
    return error;
  // The weights are copied from the input file's pages (where the model was
  // mapped): give those back every 256 MiB, or the buffers and the pages
  // they came from would both be resident at the end (8.5 GB for a 4.4 GB
  // model). The caller gives back the rest.
  constexpr size_t kReleaseBytes = size_t(256) << 20;
  size_t copied = 0;
  for (size_t i = 0; i < workers.back().buffers.size(); ++i) {
    restoreWeight(i, workers.size() - 1);
    copied += sizeof(float) * layers[i].n * layers[i].k;
    if (copied >= kReleaseBytes) {
      releaseInput();
      copied = 0;
    }
  }
  return "";
}

std::string CalibrationSession::addWorkers(size_t count) {
  auto *setEnabled = reinterpret_cast<void (*)(int64_t)>(
      workers[0].model->symbol("qnt_calibration_set_enabled"));
  if (!setEnabled)
    return "the instrumented model cannot turn its statistics off";
  while (workers.size() < count) {
    // A copy of the file: dlopen gives a copy its own globals (the buffers
    // and the statistics), where the same path would share them.
    SmallString<128> copy;
    if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
            "quant-compile-calibration", "so", copy))
      return "cannot create a temporary library file: " + ec.message();
    if (std::error_code ec = llvm::sys::fs::copy_file(workers[0].path, copy)) {
      llvm::sys::fs::remove(copy);
      return "cannot copy the calibration library: " + ec.message();
    }
    if (std::string e = loadWorker(std::string(copy), entry); !e.empty())
      return e;
    reinterpret_cast<void (*)(int64_t)>(
        workers.back().model->symbol("qnt_calibration_set_enabled"))(0);
  }
  return "";
}

void CalibrationSession::setWeight(size_t i, const float *rowsNK,
                                   size_t worker) {
  CalibrationLayer &l = layers[i];
  float *buffer = workers[worker].buffers[i];
  if (!l.weightIsKN) {
    std::memcpy(buffer, rowsNK, sizeof(float) * l.n * l.k);
    return;
  }
  for (int64_t r = 0; r < l.n; ++r)
    for (int64_t c = 0; c < l.k; ++c)
      buffer[c * l.n + r] = rowsNK[r * l.k + c];
}

std::string CalibrationSession::measureKL(double &kl, size_t worker) {
  ModelLibrary *model = workers[worker].model.get();
  int64_t vocab = model->vocabulary();
  std::vector<double> logq(vocab);
  double total = 0;
  size_t row = 0;
  std::vector<TokenSample> measured(samples.begin(),
                                    samples.begin() + measuredSamples);
  std::string error = runTokenSamples(
      *model, measured, {}, [&](size_t, size_t, const float *logits) {
        logSoftmax(logits, vocab, logq.data());
        const double *logp = &referenceLogProbs[row++ * vocab];
        double sum = 0;
        for (int64_t v = 0; v < vocab; ++v)
          sum += std::exp(logp[v]) * (logp[v] - logq[v]);
        total += sum;
      });
  kl = total / std::max<int64_t>(measuredPositions, 1);
  return error;
}

std::string CandidateQuantizer::dequantize(const CalibrationLayer &layer,
                                           const CandidateScheme &scheme,
                                           std::vector<float> &out) const {
  QuantizedMatrix q;
  if (std::string error = quantize(layer, scheme, false, q); !error.empty())
    return error;
  out.resize(layer.n * layer.k);
  dequantizeMatrix(q, out.data());
  return "";
}

std::string CandidateQuantizer::quantize(const CalibrationLayer &layer,
                                         const CandidateScheme &scheme,
                                         bool nearest,
                                         QuantizedMatrix &q) const {
  QuantOptions o;
  o.bits = scheme.bits;
  o.symmetric = !scheme.asymmetric;
  o.groupSize = scheme.group;
  o.scaleFormat = scaleFormat;
  o.numThreads = 0;
  std::string error;
  if (gptq && !nearest) {
    if (!layer.hessian)
      return "layer '" + layer.name + "' has no Hessian for GPTQ";
    error = gptqQuantizeMatrix(layer.rows, layer.n, layer.k, o,
                               layer.hessian->data(), gptqOptions, q);
  } else {
    error = quantizeMatrix(layer.rows, layer.n, layer.k, o, q);
  }
  if (!error.empty())
    return "cannot quantize the weight of layer '" + layer.name + "': " + error;
  return "";
}

/// The candidates of qnt-assign-bitwidths' default list (f32 aside).
static std::vector<CandidateScheme> defaultCandidates() {
  std::vector<CandidateScheme> all;
  (void)parseCandidateSchemes({}, all);
  llvm::erase_if(all, [](const CandidateScheme &c) { return c.isFloat(); });
  return all;
}

std::string mlir::qnt::measureOutputSensitivities(
    CalibrationSession &session, const CandidateQuantizer &quantizer,
    const std::string &path, function_ref<void(const Twine &)> progress) {
  Clock::time_point start = Clock::now(), last = start;
  std::vector<CandidateScheme> candidates = defaultCandidates();
  int64_t total = 0, done = 0;
  for (const CalibrationLayer &l : session.layers)
    for (const CandidateScheme &c : candidates)
      total += c.group == 0 || l.k % c.group == 0;
  progress(llvm::formatv("calibration: output-aware sensitivities: {0} "
                         "(layer, scheme) pairs{1}, each the mean KL over {2} "
                         "tokens",
                         total, quantizer.gptq ? " quantized with GPTQ" : "",
                         session.tokens())
               .str());
  // A small model runs faster on one thread than split across cores: time
  // one run both ways (the float weights: KL 0). If one thread per run is
  // the faster way to use the cores, copies of the library measure
  // candidates side by side.
  size_t cores = static_cast<size_t>(CalibrationSession::defaultThreads());
  {
    Clock::time_point t0 = Clock::now();
    double kl;
    if (std::string e = session.measureKL(kl); !e.empty())
      return e;
    double parallelSeconds = secondsSince(t0);
    bool serial = false;
    if (cores > 1 && session.setThreads(1)) {
      t0 = Clock::now();
      if (std::string e = session.measureKL(kl); !e.empty())
        return e;
      double serialSeconds = secondsSince(t0);
      double weightBytes = 0;
      for (const CalibrationLayer &l : session.layers)
        weightBytes += 4.0 * l.n * l.k;
      serial = serialSeconds < parallelSeconds * cores &&
               weightBytes * (cores - 1) < 4.0 * (1 << 30);
      if (!serial)
        session.setThreads(0);
      progress(llvm::formatv("calibration: one run over the tokens takes "
                             "{0:f3} s on one thread, {1:f3} s on {2}; "
                             "measuring {3}",
                             serialSeconds, parallelSeconds, cores,
                             serial ? "on " + std::to_string(cores) +
                                          " copies of the model, one thread "
                                          "each"
                                    : std::string("on all cores"))
                   .str());
    }
    if (serial)
      if (std::string e = session.addWorkers(cores); !e.empty())
        return e;
  }

  struct Job {
    size_t layer;
    CandidateScheme scheme;
    double kl = 0;
    std::string error;
  };
  std::vector<Job> jobs;
  for (auto [i, layer] : llvm::enumerate(session.layers))
    for (const CandidateScheme &c : candidates)
      if (c.group == 0 || layer.k % c.group == 0)
        jobs.push_back({i, c, 0.0, ""});
  std::atomic<size_t> next{0}, finished{0};
  auto work = [&](size_t worker) {
    if (session.workerCount() > 1)
      session.setThreads(1); // this thread's OpenMP calls
    std::vector<float> dq;
    for (size_t j; (j = next++) < jobs.size();) {
      Job &job = jobs[j];
      job.error = quantizer.dequantize(session.layers[job.layer], job.scheme,
                                       dq);
      if (job.error.empty()) {
        session.setWeight(job.layer, dq.data(), worker);
        job.error = session.measureKL(job.kl, worker);
        session.restoreWeight(job.layer, worker);
      }
      ++finished;
      if (worker == 0 && secondsSince(last) >= 5) {
        progress(llvm::formatv("calibration: {0}/{1} sensitivities ({2:f1} "
                               "per second)",
                               finished.load(), total,
                               finished.load() / secondsSince(start))
                     .str());
        last = Clock::now();
      }
    }
  };
  std::vector<std::thread> threads;
  for (size_t w = 1; w < session.workerCount(); ++w)
    threads.emplace_back(work, w);
  work(0);
  for (std::thread &t : threads)
    t.join();

  std::string text;
  llvm::raw_string_ostream os(text);
  os << "# mean KL(float || one layer quantized) over the calibration tokens "
        "(quant-compile --calibrate"
     << (quantizer.gptq ? ", --method=gptq" : "") << ")\n";
  for (Job &job : jobs) {
    if (!job.error.empty())
      return job.error;
    double kl = std::max(job.kl, 0.0);
    CalibrationLayer &layer = session.layers[job.layer];
    layer.sensitivity[job.scheme.spec()] = kl;
    os << layer.name << " " << job.scheme.spec() << " "
       << llvm::formatv("{0:e6}", kl).str() << "\n";
  }
  done = jobs.size();
  progress(llvm::formatv("calibration: {0} sensitivities in {1:f1} s", done,
                         secondsSince(start))
               .str());
  return writeOutputFile(path, [&](llvm::raw_ostream &out) { out << text; });
}

/// A layer's role: its name with every number between dots (or '_', '/')
/// as '#' ("layers.3.w1" -> "layers.#.w1").
static std::string roleOf(StringRef name) {
  SmallVector<StringRef> parts;
  SmallVector<char> separators;
  size_t begin = 0;
  for (size_t i = 0; i <= name.size(); ++i)
    if (i == name.size() || StringRef("._/").contains(name[i])) {
      parts.push_back(name.slice(begin, i));
      if (i < name.size())
        separators.push_back(name[i]);
      begin = i + 1;
    }
  std::string role;
  for (auto [i, part] : llvm::enumerate(parts)) {
    role += !part.empty() && llvm::all_of(part, llvm::isDigit) ? StringRef("#")
                                                               : part;
    if (i < separators.size())
      role += separators[i];
  }
  return role;
}

std::string mlir::qnt::estimateOutputSensitivities(
    CalibrationSession &session, const CandidateQuantizer &quantizer,
    const std::string &path, function_ref<void(const Twine &)> progress) {
  Clock::time_point start = Clock::now(), last = start;
  std::vector<CandidateScheme> candidates = defaultCandidates();
  size_t count = session.layers.size();
  std::map<std::string, const LayerStatistics *> statistics;
  for (const LayerStatistics &s : session.stats)
    statistics[s.name] = &s;
  auto fits = [&](size_t i, const CandidateScheme &c) {
    return c.group == 0 || session.layers[i].k % c.group == 0;
  };
  int64_t total = 0;
  for (size_t i = 0; i < count; ++i)
    for (const CandidateScheme &c : candidates)
      total += fits(i, c);
  progress(
      llvm::formatv("calibration: estimating {0} output-aware "
                    "sensitivities: output errors under the calibration "
                    "E[x^2], gains per role and depth measured over {1} tokens",
                    total, session.measuredTokens())
          .str());

  // errors[i][c]: layer i's output error under candidate c (< 0: no fit).
  std::vector<std::vector<double>> errors(
      count, std::vector<double>(candidates.size(), -1.0));
  double bytesRead = 0;
  // The error is a sum over output rows: at most kSampledRows of them,
  // evenly spaced, stand for all (scaled by n / rows), which keeps a 1.1B
  // model's 3720 pairs to about a minute.
  constexpr int64_t kSampledRows = 512;
  std::vector<float> sampled;
  for (size_t i = 0; i < count; ++i) {
    // A view of the layer (no copy of its weights or sensitivities).
    CalibrationLayer layer;
    layer.name = session.layers[i].name;
    layer.n = session.layers[i].n;
    layer.k = session.layers[i].k;
    layer.rows = session.layers[i].rows;
    double scale = 1;
    if (layer.n > kSampledRows) {
      sampled.resize(kSampledRows * layer.k);
      for (int64_t r = 0; r < kSampledRows; ++r)
        std::memcpy(&sampled[r * layer.k],
                    layer.rows + (r * layer.n / kSampledRows) * layer.k,
                    sizeof(float) * layer.k);
      scale = double(layer.n) / kSampledRows;
      layer.n = kSampledRows;
      layer.rows = sampled.data();
    }
    InputMoment moment;
    auto it = statistics.find(layer.name);
    bool seen = it != statistics.end() && it->second->rows > 0;
    if (seen)
      for (double s : it->second->sumSquares)
        moment.meanSquare.push_back(static_cast<float>(s / it->second->rows));
    for (auto [c, candidate] : llvm::enumerate(candidates)) {
      if (!fits(i, candidate))
        continue;
      QuantizedMatrix q;
      if (std::string e = quantizer.quantize(layer, candidate, true, q);
          !e.empty())
        return e;
      errors[i][c] = scale * expectedOutputError(layer.rows, q,
                                                 seen ? &moment : nullptr, 0);
    }
    // The weights are read in place from the input file: its pages go
    // back now and then, so that they do not add up to a second copy.
    if ((bytesRead += 4.0 * session.layers[i].n * layer.k) > double(1 << 30)) {
      session.releaseInput();
      bytesRead = 0;
    }
    if (secondsSince(last) >= 5) {
      progress(llvm::formatv("calibration: output errors of {0}/{1} layers "
                             "in {2:f1} s",
                             i + 1, count, secondsSince(start))
                   .str());
      last = Clock::now();
    }
  }
  session.releaseInput();
  progress(llvm::formatv("calibration: output errors of {0} layers in {1:f1} "
                         "s",
                         count, secondsSince(start))
               .str());

  // Groups of layers measured together at the reference scheme (int4 g32,
  // or per channel): each role (the name with its numbers as '#'), and each
  // band of depth (the first number of the name, in at most 6 bands).
  std::map<std::string, std::vector<size_t>> roles;
  std::map<int64_t, std::vector<size_t>> bands;
  std::vector<int64_t> depth(count, -1);
  int64_t deepest = -1;
  for (size_t i = 0; i < count; ++i) {
    StringRef name = session.layers[i].name;
    roles[roleOf(name)].push_back(i);
    size_t digit = name.find_first_of("0123456789");
    if (digit != StringRef::npos)
      name.drop_front(digit)
          .take_while(llvm::isDigit)
          .getAsInteger(10, depth[i]);
    deepest = std::max(deepest, depth[i]);
  }
  int64_t bandCount = std::min<int64_t>(deepest + 1, 6);
  for (size_t i = 0; i < count; ++i)
    if (depth[i] >= 0)
      bands[depth[i] * bandCount / (deepest + 1)].push_back(i);
  auto reference = [&](size_t i) {
    size_t best = candidates.size();
    for (auto [c, candidate] : llvm::enumerate(candidates))
      if (candidate.bits == 4 && !candidate.asymmetric && fits(i, candidate) &&
          (candidate.group == 32 ||
           (candidate.group == 0 && best == candidates.size())))
        best = c;
    return best;
  };
  std::vector<double> referenceError(count, 0.0);
  for (size_t i = 0; i < count; ++i)
    if (size_t ref = reference(i); ref < candidates.size())
      referenceError[i] = std::max(errors[i][ref], 0.0);
  std::vector<float> dq;
  auto measureGroup = [&](const std::vector<size_t> &members, double &kl) {
    for (size_t i : members) {
      size_t ref = reference(i);
      if (ref == candidates.size())
        continue;
      QuantizedMatrix q;
      if (std::string e =
              quantizer.quantize(session.layers[i], candidates[ref], true, q);
          !e.empty())
        return e;
      dq.resize(q.rows * q.cols);
      dequantizeMatrix(q, dq.data());
      session.setWeight(i, dq.data());
    }
    std::string e = session.measureKL(kl);
    kl = std::max(kl, 0.0);
    for (size_t i : members)
      session.restoreWeight(i);
    session.releaseInput();
    return e;
  };
  std::vector<double> roleKL, bandKL;
  for (auto &[role, members] : roles) {
    double kl = 0;
    if (std::string e = measureGroup(members, kl); !e.empty())
      return e;
    roleKL.push_back(kl);
    progress(llvm::formatv("calibration: role {0} ({1} layers) at int4 g32: "
                           "KL {2:e3}",
                           role, members.size(), kl)
                 .str());
  }
  if (bands.size() > 1)
    for (auto &[band, members] : bands) {
      double kl = 0;
      if (std::string e = measureGroup(members, kl); !e.empty())
        return e;
      bandKL.push_back(kl);
      progress(llvm::formatv("calibration: depth band {0} ({1} layers) at "
                             "int4 g32: KL {2:e3}",
                             band, members.size(), kl)
                   .str());
    }
  // gain_i = a_role * b_band, fitted so that each group's predicted KL (the
  // sum of gain x output error over its layers, as the additive model
  // sums) equals the measured one: alternating updates of a and b.
  std::vector<size_t> roleOfLayer(count), bandOfLayer(count, SIZE_MAX);
  for (auto [r, entry] : llvm::enumerate(roles))
    for (size_t i : entry.second)
      roleOfLayer[i] = r;
  if (!bandKL.empty())
    for (auto [b, entry] : llvm::enumerate(bands))
      for (size_t i : entry.second)
        bandOfLayer[i] = b;
  std::vector<double> a(roles.size(), 1.0), b(bandKL.size(), 1.0);
  auto bandGain = [&](size_t i) {
    return bandOfLayer[i] == SIZE_MAX ? 1.0 : b[bandOfLayer[i]];
  };
  for (int iteration = 0; iteration < 100; ++iteration) {
    std::vector<double> sum(a.size(), 0.0);
    for (size_t i = 0; i < count; ++i)
      sum[roleOfLayer[i]] += bandGain(i) * referenceError[i];
    for (size_t r = 0; r < a.size(); ++r)
      a[r] = sum[r] > 0 ? roleKL[r] / sum[r] : 0.0;
    if (b.empty())
      break;
    std::vector<double> bandSum(b.size(), 0.0);
    for (size_t i = 0; i < count; ++i)
      if (bandOfLayer[i] != SIZE_MAX)
        bandSum[bandOfLayer[i]] += a[roleOfLayer[i]] * referenceError[i];
    for (size_t k = 0; k < b.size(); ++k)
      b[k] = bandSum[k] > 0 ? bandKL[k] / bandSum[k] : 0.0;
  }
  std::vector<double> gain(count);
  for (size_t i = 0; i < count; ++i)
    gain[i] = a[roleOfLayer[i]] * bandGain(i);

  std::string text;
  llvm::raw_string_ostream os(text);
  os << "# estimated KL(float || one layer quantized): output error under "
        "the calibration E[x^2] times a gain per role and depth measured "
        "over "
     << session.measuredTokens() << " tokens (quant-compile --calibrate)\n";
  for (size_t i = 0; i < count; ++i) {
    CalibrationLayer &layer = session.layers[i];
    for (auto [c, candidate] : llvm::enumerate(candidates)) {
      if (errors[i][c] < 0)
        continue;
      double kl = gain[i] * errors[i][c];
      layer.sensitivity[candidate.spec()] = kl;
      os << layer.name << " " << candidate.spec() << " "
         << llvm::formatv("{0:e6}", kl).str() << "\n";
    }
  }
  progress(llvm::formatv("calibration: {0} sensitivities estimated in {1:f1} "
                         "s ({2} roles and {3} depth bands measured)",
                         total, secondsSince(start), roles.size(),
                         bandKL.size())
               .str());
  return writeOutputFile(path, [&](llvm::raw_ostream &out) { out << text; });
}

namespace {
/// One option of a layer in the search: a scheme, or f32 (bits 32).
struct SearchOption {
  CandidateScheme scheme;
  double bits = 0;        // total bits of the weight
  double sensitivity = 0; // output-aware, alone
  bool isFloat() const { return scheme.isFloat(); }
  std::string str() const { return scheme.str(); }
};

/// refineAssignment in steps: the options each layer was measured with and
/// the cost model's choice (collect), its measured KL (measureStart), the
/// local search over swaps (search), and the result in the IR (annotate),
/// the report and the table.
class AssignmentSearch {
public:
  AssignmentSearch(CalibrationSession &session,
                   const CandidateQuantizer &quantizer,
                   function_ref<void(const Twine &)> progress)
      : session(session), quantizer(quantizer), progress(progress),
        workers(session.workerCount()) {}

  std::string collect(ArrayRef<ConstantLinearLayer> found, unsigned scaleBits);
  std::string measureStart();
  std::string search(StringRef budget, double searchSeconds);
  void annotate(ArrayRef<ConstantLinearLayer> found, MLIRContext *ctx);
  std::string writeReport(StringRef path, double searchSeconds);
  void printTable() const;

private:
  /// Every move (i up to a, j down to b) once per state.
  struct Move {
    size_t i, a, j, b;
  };
  /// The dequantized weight of option o of layer i, made once (by the
  /// calling thread; the workers only read the cache).
  std::string prepare(size_t i, size_t o);
  /// Puts option o of layer i into worker's model.
  void apply(size_t i, size_t o, size_t worker);
  /// The moves from the current choice within `limit` bits, best predicted
  /// gain first.
  std::vector<Move> candidateMoves(double limit, std::mt19937_64 &rng) const;
  /// Measures moves[m0, m0 + workers) in parallel and keeps the first (in
  /// move order) that lowers the KL; sets `improved`.
  std::string tryBatch(const std::vector<Move> &moves, size_t m0,
                       bool &improved);

  CalibrationSession &session;
  const CandidateQuantizer &quantizer;
  function_ref<void(const Twine &)> progress;
  size_t workers;
  std::vector<std::vector<SearchOption>> options;
  std::vector<size_t> choice, additive;
  std::map<std::pair<size_t, size_t>, std::vector<float>> cache;
  Type scaleElem;
  double totalWeights = 0, predicted = 0, measured = 0, best = 0, bits = 0;
  double searchedPredicted = 0;
  int64_t evaluations = 0, accepted = 0;
};
} // namespace

std::string AssignmentSearch::collect(ArrayRef<ConstantLinearLayer> found,
                                      unsigned scaleBits) {
  size_t count = found.size();
  options.assign(count, {});
  choice.assign(count, 0);
  additive.assign(count, 0);
  for (size_t i = 0; i < count; ++i) {
    CalibrationLayer &layer = session.layers[i];
    Operation *op = found[i].layer.op;
    totalWeights += double(layer.n) * layer.k;
    SearchOption f32; // the default scheme: f32
    f32.bits = 32.0 * layer.n * layer.k;
    options[i].push_back(f32);
    for (auto &[spec, kl] : layer.sensitivity) {
      SearchOption o;
      SmallVector<StringRef> parts;
      StringRef(spec).split(parts, ':');
      parts[0].getAsInteger(10, o.scheme.bits);
      parts[1].getAsInteger(10, o.scheme.group);
      o.scheme.asymmetric = parts.size() == 3;
      o.sensitivity = kl;
      o.bits = double(SchemeCost{o.scheme.bits, o.scheme.group, scaleBits,
                                 o.scheme.asymmetric}
                          .bits(layer.n, layer.k));
      options[i].push_back(o);
    }
    size_t chosen = 0;
    if (auto scheme = op->getAttrOfType<SchemeAttr>(kSchemeAttrName)) {
      scaleElem = scheme.getScaleType();
      CandidateScheme c{scheme.getBits(),
                        scheme.getGranularity() == Granularity::per_group
                            ? scheme.getGroupSize()
                            : 0,
                        scheme.hasZeroPoints(), WeightFormat{}};
      chosen = options[i].size();
      for (size_t o = 1; o < options[i].size(); ++o)
        if (options[i][o].scheme.spec() == c.spec())
          chosen = o;
      if (chosen == options[i].size())
        return "layer '" + layer.name + "' got scheme " + c.spec() +
               ", which was not measured";
    } else if (!op->hasAttr(kKeepFloatAttrName)) {
      return "layer '" + layer.name + "' has no scheme from the cost model";
    }
    choice[i] = additive[i] = chosen;
    predicted += options[i][chosen].sensitivity;
  }
  return "";
}

std::string AssignmentSearch::prepare(size_t i, size_t o) {
  if (options[i][o].isFloat() || cache.count({i, o}))
    return "";
  std::vector<float> dq;
  if (std::string e =
          quantizer.dequantize(session.layers[i], options[i][o].scheme, dq);
      !e.empty())
    return e;
  cache.emplace(std::make_pair(i, o), std::move(dq));
  return "";
}

void AssignmentSearch::apply(size_t i, size_t o, size_t worker) {
  if (options[i][o].isFloat())
    session.restoreWeight(i, worker);
  else
    session.setWeight(i, cache.at({i, o}).data(), worker);
}

std::string AssignmentSearch::measureStart() {
  for (size_t i = 0; i < options.size(); ++i) {
    if (std::string e = prepare(i, choice[i]); !e.empty())
      return e;
    for (size_t w = 0; w < workers; ++w)
      apply(i, choice[i], w);
  }
  if (std::string e = session.measureKL(measured); !e.empty())
    return e;
  best = measured;
  for (size_t i = 0; i < options.size(); ++i)
    bits += options[i][choice[i]].bits;
  progress(llvm::formatv("calibration: the cost model's assignment ({0:f3} "
                         "bits per weight): KL predicted {1:f4} (sum of the "
                         "layers'), measured {2:f4} over {3} tokens",
                         bits / totalWeights, predicted, measured,
                         session.measuredTokens())
               .str());
  return "";
}

std::vector<AssignmentSearch::Move>
AssignmentSearch::candidateMoves(double limit, std::mt19937_64 &rng) const {
  size_t count = options.size();
  std::vector<Move> moves;
  for (size_t i = 0; i < count; ++i) {
    const SearchOption &cur = options[i][choice[i]];
    // Up: the cheapest option of lower sensitivity.
    size_t up = SIZE_MAX;
    for (size_t a = 0; a < options[i].size(); ++a)
      if (options[i][a].sensitivity < cur.sensitivity &&
          options[i][a].bits > cur.bits &&
          (up == SIZE_MAX || options[i][a].bits < options[i][up].bits))
        up = a;
    if (up == SIZE_MAX)
      continue;
    for (size_t j = 0; j < count; ++j) {
      if (j == i)
        continue;
      const SearchOption &curj = options[j][choice[j]];
      // Down: the most accurate cheaper option that pays for i's rise.
      size_t down = SIZE_MAX;
      double need = bits + options[i][up].bits - cur.bits - limit;
      for (size_t b = 0; b < options[j].size(); ++b)
        if (options[j][b].bits < curj.bits &&
            curj.bits - options[j][b].bits >= need &&
            (down == SIZE_MAX ||
             options[j][b].sensitivity < options[j][down].sensitivity))
          down = b;
      if (down != SIZE_MAX)
        moves.push_back({i, up, j, down});
    }
  }
  std::shuffle(moves.begin(), moves.end(), rng);
  // Predicted gain first: the additive model as a guide.
  auto gain = [&](const Move &m) {
    return options[m.i][choice[m.i]].sensitivity -
           options[m.i][m.a].sensitivity +
           options[m.j][choice[m.j]].sensitivity -
           options[m.j][m.b].sensitivity;
  };
  std::stable_sort(moves.begin(), moves.end(),
                   [&](const Move &x, const Move &y) {
                     return gain(x) > gain(y);
                   });
  return moves;
}

std::string AssignmentSearch::tryBatch(const std::vector<Move> &moves,
                                       size_t m0, bool &improved) {
  size_t batch = std::min(workers, moves.size() - m0);
  for (size_t w = 0; w < batch; ++w) {
    const Move &m = moves[m0 + w];
    if (std::string e = prepare(m.i, m.a); !e.empty())
      return e;
    if (std::string e = prepare(m.j, m.b); !e.empty())
      return e;
  }
  std::vector<double> kls(batch);
  std::vector<std::string> errors(batch);
  auto evaluate = [&](size_t w) {
    if (workers > 1)
      session.setThreads(1);
    const Move &m = moves[m0 + w];
    apply(m.i, m.a, w);
    apply(m.j, m.b, w);
    errors[w] = session.measureKL(kls[w], w);
    apply(m.i, choice[m.i], w);
    apply(m.j, choice[m.j], w);
  };
  std::vector<std::thread> threads;
  for (size_t w = 1; w < batch; ++w)
    threads.emplace_back(evaluate, w);
  evaluate(0);
  for (std::thread &t : threads)
    t.join();
  for (size_t w = 0; w < batch; ++w) {
    if (!errors[w].empty())
      return errors[w];
    ++evaluations;
    if (kls[w] >= best)
      continue;
    const Move &m = moves[m0 + w];
    best = kls[w];
    bits += options[m.i][m.a].bits - options[m.i][choice[m.i]].bits +
            options[m.j][m.b].bits - options[m.j][choice[m.j]].bits;
    choice[m.i] = m.a;
    choice[m.j] = m.b;
    for (size_t v = 0; v < workers; ++v) {
      apply(m.i, m.a, v);
      apply(m.j, m.b, v);
    }
    ++accepted;
    improved = true;
    break;
  }
  return "";
}

std::string AssignmentSearch::search(StringRef budget, double searchSeconds) {
  // Local search: raise one layer, lower another, within the budget.
  double limit = -1;
  auto [kind, valueText] = budget.split(':');
  double value = 0;
  if (kind == "avg-bits" && !valueText.getAsDouble(value))
    limit = value * totalWeights;
  if (searchSeconds > 0 && limit > 0) {
    Clock::time_point start = Clock::now();
    std::mt19937_64 rng(2026);
    progress(llvm::formatv("calibration: searching swaps of two layers' "
                           "schemes by measured KL for up to {0:f0} s",
                           searchSeconds)
                 .str());
    bool improved = true;
    while (improved && secondsSince(start) < searchSeconds) {
      improved = false;
      std::vector<Move> moves = candidateMoves(limit, rng);
      // One move per worker at a time; the first of a batch (in move
      // order) that lowers the KL is kept, as one worker going through the
      // moves in order would.
      for (size_t m0 = 0; m0 < moves.size() && !improved &&
                          secondsSince(start) < searchSeconds;
           m0 += workers)
        if (std::string e = tryBatch(moves, m0, improved); !e.empty())
          return e;
    }
    progress(llvm::formatv("calibration: search: {0} assignments measured, {1} "
                           "swaps kept in {2:f1} s; measured KL {3:f4} -> "
                           "{4:f4} ({5:f3} bits per weight)",
                           evaluations, accepted, secondsSince(start), measured,
                           best, bits / totalWeights)
                 .str());
  } else if (searchSeconds > 0) {
    progress("calibration: no search (it runs for --budget=avg-bits:X)");
  }
  for (size_t i = 0; i < options.size(); ++i)
    for (size_t w = 0; w < workers; ++w)
      session.restoreWeight(i, w);
  return "";
}

void AssignmentSearch::annotate(ArrayRef<ConstantLinearLayer> found,
                                MLIRContext *ctx) {
  if (!scaleElem)
    scaleElem = Float32Type::get(ctx);
  for (size_t i = 0; i < options.size(); ++i) {
    Operation *op = found[i].layer.op;
    const SearchOption &o = options[i][choice[i]];
    searchedPredicted += o.sensitivity;
    if (o.isFloat())
      setLayerScheme(op, 0, 0, false, scaleElem);
    else
      setLayerScheme(op, o.scheme.bits, o.scheme.group, o.scheme.asymmetric,
                     scaleElem);
  }
}

std::string AssignmentSearch::writeReport(StringRef reportPath,
                                          double searchSeconds) {
  size_t count = options.size();
  auto file = llvm::MemoryBuffer::getFile(reportPath);
  if (!file)
    return "cannot read the report '" + reportPath.str() +
           "': " + file.getError().message();
  llvm::Expected<llvm::json::Value> json =
      llvm::json::parse((*file)->getBuffer());
  if (!json)
    return "cannot parse the report '" + reportPath.str() +
           "': " + llvm::toString(json.takeError());
  llvm::json::Object *doc = json->getAsObject();
  llvm::json::Array *rows = doc ? doc->getArray("layers") : nullptr;
  if (!rows || rows->size() != count)
    return "the report '" + reportPath.str() + "' does not list the layers";
  for (size_t i = 0; i < count; ++i) {
    llvm::json::Object *row = (*rows)[i].getAsObject();
    if (!row)
      return "the report '" + reportPath.str() + "' has a bad layer entry";
    const SearchOption &before = options[i][additive[i]];
    const SearchOption &after = options[i][choice[i]];
    (*row)["kl_alone"] = before.sensitivity;
    (*row)["after_search"] =
        llvm::json::Object{{"scheme", after.str()},
                           {"bytes", after.bits / 8},
                           {"kl_alone", after.sensitivity}};
  }
  (*doc)["calibration"] = llvm::json::Object{
      {"tokens", session.tokens()},
      {"kl_predicted", predicted},
      {"kl_measured", measured},
      {"search_seconds", searchSeconds},
      {"search_evaluations", evaluations},
      {"search_swaps", accepted},
      {"after_search",
       llvm::json::Object{{"kl_predicted", searchedPredicted},
                          {"kl_measured", best},
                          {"bits_per_weight", bits / totalWeights}}}};
  return writeOutputFile(reportPath.str(), [&](llvm::raw_ostream &os) {
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(*json))) << "\n";
  });
}

void AssignmentSearch::printTable() const {
  llvm::errs() << llvm::formatv("{0,-24} {1,-16} {2,-16} {3,12}\n", "layer",
                                "cost model", "after search", "KL alone");
  for (size_t i = 0; i < options.size(); ++i)
    llvm::errs() << llvm::formatv(
        "{0,-24} {1,-16} {2,-16} {3,12:e3}\n", session.layers[i].name,
        options[i][additive[i]].str(), options[i][choice[i]].str(),
        options[i][choice[i]].sensitivity);
  llvm::errs() << llvm::formatv(
      "calibration KL: cost model {0:f4} predicted, {1:f4} measured; after "
      "search {2:f4} predicted, {3:f4} measured; {4:f3} bits per weight\n",
      predicted, measured, searchedPredicted, best, bits / totalWeights);
}

std::string mlir::qnt::refineAssignment(
    ModuleOp module, CalibrationSession &session,
    const CandidateQuantizer &quantizer, StringRef budget, unsigned scaleBits,
    double searchSeconds, StringRef reportPath,
    function_ref<void(const Twine &)> progress, bool quiet) {
  SmallVector<ConstantLinearLayer> found = findConstantLinearLayers(module);
  if (found.size() != session.layers.size())
    return "the model's layers changed since calibration";
  AssignmentSearch search(session, quantizer, progress);
  if (std::string e = search.collect(found, scaleBits); !e.empty())
    return e;
  if (std::string e = search.measureStart(); !e.empty())
    return e;
  if (std::string e = search.search(budget, searchSeconds); !e.empty())
    return e;
  search.annotate(found, module.getContext());
  if (!reportPath.empty())
    if (std::string e = search.writeReport(reportPath, searchSeconds);
        !e.empty())
      return e;
  if (!quiet)
    search.printTable();
  return "";
}
