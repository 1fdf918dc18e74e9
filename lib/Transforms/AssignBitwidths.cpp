// qnt-assign-bitwidths: per-layer schemes from sensitivity, cost and budget.
#include "mlir/IR/Builders.h"
#include "qnt/CostModel/BitAllocation.h"
#include "qnt/CostModel/CostModel.h"
#include "qnt/CostModel/Sensitivity.h"
#include "qnt/IR/QntOps.h"
#include "qnt/Support/OutputFile.h"
#include "qnt/Support/Quantizer.h"
#include "qnt/Transforms/LinearLayer.h"
#include "qnt/Transforms/Passes.h"
#include "qnt/Transforms/Transforms.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"
#include <cmath>

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTASSIGNBITWIDTHSPASS
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;
using namespace mlir::qnt;

namespace {

/// One candidate scheme.
struct Candidate {
  unsigned bits = 32; // 32 = keep the layer in f32
  int64_t group = 0;  // 0 = one scale per output channel
  bool asymmetric = false;
  bool isFloat() const { return bits == 32; }
  std::string str() const {
    if (isFloat())
      return "f32";
    return (asymmetric ? "ui" : "si") + std::to_string(bits) +
           (group ? " g" + std::to_string(group) : " per-channel");
  }
};

enum class BudgetKind { AvgBits, Bytes, LatencyUs };

struct Layer {
  ConstantLinearLayer source;
  std::string name;
  std::vector<Candidate> options;
  std::vector<AllocationChoice> choices; // cost in the budget's unit
  std::vector<double> bytes, seconds;
};

/// Calls `visit(words)` for every line of a space-separated text file that
/// is neither blank nor a '#' comment. Returns "" or the first problem,
/// prefixed with what the file is and "PATH:LINE: ".
static std::string
forEachRecord(StringRef path, StringRef what,
              function_ref<std::string(ArrayRef<StringRef>)> visit) {
  auto file = llvm::MemoryBuffer::getFile(path);
  if (!file)
    return "cannot read " + what.str() + " '" + path.str() +
           "': " + file.getError().message();
  SmallVector<StringRef> lines;
  (*file)->getBuffer().split(lines, '\n');
  for (auto [i, line] : llvm::enumerate(lines)) {
    SmallVector<StringRef> words;
    line.split(words, ' ', -1, /*KeepEmpty=*/false);
    if (words.empty() || words[0].starts_with("#"))
      continue;
    std::string error = visit(words);
    if (!error.empty())
      return what.str() + " " + path.str() + ":" + std::to_string(i + 1) +
             ": " + error;
  }
  return "";
}

/// The candidate schemes of `specs` (the default list when empty), or the
/// error naming the first bad one.
static std::string parseCandidates(ArrayRef<std::string> specs,
                                   std::vector<Candidate> &schemes) {
  std::vector<std::string> all(specs.begin(), specs.end());
  if (all.empty())
    for (const char *s :
         {"2:32", "2:64", "2:128", "2:0", "3:32", "3:64", "3:128", "3:0",
          "4:32", "4:64", "4:128", "4:0", "5:32", "5:64", "5:128", "5:0",
          "6:32", "6:64", "6:128", "6:0", "8:32", "8:64", "8:128", "8:0",
          "f32"})
      all.push_back(s);
  for (const std::string &spec : all) {
    Candidate c;
    if (spec == "f32") {
      schemes.push_back(c);
      continue;
    }
    SmallVector<StringRef> parts;
    StringRef(spec).split(parts, ':');
    if (parts.size() < 2 || parts.size() > 3 ||
        parts[0].getAsInteger(10, c.bits) ||
        parts[1].getAsInteger(10, c.group) ||
        findInvalidSchemeParameter({c.bits, c.group}) ||
        (parts.size() == 3 && parts[2] != "asym"))
      return "candidate '" + spec +
             "' is not BITS:GROUP, BITS:GROUP:asym or f32 (BITS 1 to 8, "
             "GROUP 0 to " +
             std::to_string(kGroupSizeRange.max) + ")";
    c.asymmetric = parts.size() == 3;
    schemes.push_back(c);
  }
  return "";
}

/// The kind and value of a budget, or the error.
static std::string parseBudget(StringRef budget, BudgetKind &kind,
                               double &value) {
  auto [kindText, valueText] = budget.split(':');
  if (kindText == "avg-bits")
    kind = BudgetKind::AvgBits;
  else if (kindText == "bytes")
    kind = BudgetKind::Bytes;
  else if (kindText == "latency-us")
    kind = BudgetKind::LatencyUs;
  else
    return "budget '" + budget.str() +
           "' must be avg-bits:X, bytes:N or latency-us:T";
  // Finite: "inf" and "nan" parse as numbers too.
  if (valueText.getAsDouble(value) || !(value > 0) || !std::isfinite(value))
    return "budget '" + budget.str() + "' needs a positive number";
  return "";
}

} // namespace

std::string qnt::checkAssignBitwidthsOptions(StringRef budget, int64_t batch,
                                             ArrayRef<std::string> candidates,
                                             StringRef scaleType,
                                             StringRef owner) {
  std::vector<Candidate> schemes;
  BudgetKind kind;
  double value;
  std::string error = parseCandidates(candidates, schemes);
  if (error.empty())
    error = parseBudget(budget, kind, value);
  std::string prefix = owner.empty() ? "" : (owner + " option ").str();
  if (!error.empty())
    return prefix + error;
  if (std::string error = kCostBatchRange.check(owner, "batch", batch);
      !error.empty())
    return error;
  return checkSchemeOptions(owner, {std::nullopt, std::nullopt, scaleType});
}

namespace {

struct AssignBitwidths final
    : qnt::impl::QntAssignBitwidthsPassBase<AssignBitwidths> {
  using Base::Base;
  /// Checks the options before any pass of the pipeline runs.
  LogicalResult initialize(MLIRContext *context) override {
    std::vector<std::string> specs(candidates.begin(), candidates.end());
    std::string error =
        checkAssignBitwidthsOptions(budget, batch, specs, scaleType);
    if (!error.empty())
      return emitError(UnknownLoc::get(context)) << error;
    if (!symbolizeCacheFormat(kvCache))
      return emitError(UnknownLoc::get(context))
             << "qnt-assign-bitwidths option kv-cache=" << kvCache
             << " must be f32, f16 or i8";
    if (kvContext < 0 || kvContext > (int64_t(1) << 24))
      return emitError(UnknownLoc::get(context))
             << "qnt-assign-bitwidths option kv-context="
             << static_cast<int64_t>(kvContext)
             << " is out of range [0, 16777216]";
    return success();
  }
  void runOnOperation() override;
};

void AssignBitwidths::runOnOperation() {
  ModuleOp module = getOperation();
  MLIRContext *ctx = &getContext();
  auto fail = [&](const Twine &message) {
    emitError(module.getLoc()) << "qnt-assign-bitwidths: " << message;
    signalPassFailure();
  };

  // Options (checked by initialize()).
  std::vector<Candidate> schemes;
  std::vector<std::string> specs(candidates.begin(), candidates.end());
  BudgetKind kind;
  double budgetValue;
  if (!parseCandidates(specs, schemes).empty() ||
      !parseBudget(budget, kind, budgetValue).empty())
    return signalPassFailure();
  Type scaleElem = parseScaleType(ctx, scaleType);
  if (!scaleElem)
    return signalPassFailure();
  StringRef kindText = StringRef(budget).split(':').first;
  unsigned scaleBits = scaleElem.getIntOrFloatBitWidth();
  ScaleFormat scaleFormat = scaleFormatOf(scaleElem);

  TargetDescription machine;
  if (std::string error = TargetDescription::read(target, machine);
      !error.empty())
    return fail(error);

  // Calibration statistics: E[x x^T] of named layers' inputs, as E[x_k^2]
  // per channel plus optional directions (docs/COST_MODEL.md).
  std::map<std::string, InputMoment> stats;
  if (!calibration.empty()) {
    auto file = llvm::MemoryBuffer::getFile(calibration);
    if (!file)
      return fail("cannot read calibration statistics '" + calibration +
                  "': " + file.getError().message());
    if (std::string error = parseCalibrationStatistics(
            (*file)->getBuffer().str(), calibration, stats);
        !error.empty())
      return fail("calibration statistics " + error);
  }

  // Measured sensitivities: layer name -> scheme spec -> value.
  llvm::StringMap<llvm::StringMap<double>> measured;
  if (!sensitivities.empty()) {
    std::string error = forEachRecord(
        sensitivities, "sensitivities",
        [&](ArrayRef<StringRef> words) -> std::string {
          double v;
          if (words.size() != 3 || words[2].getAsDouble(v) || !(v >= 0))
            return "expected 'NAME BITS:GROUP[:asym] VALUE' with VALUE >= 0";
          measured[words[0]][words[1]] = v;
          return "";
        });
    if (!error.empty())
      return fail(error);
  }

  // Sensitivity and cost of every (layer, candidate).
  std::vector<Layer> layers;
  int64_t totalWeights = 0;
  for (ConstantLinearLayer &c : findConstantLinearLayers(module)) {
    Layer layer;
    layer.source = c;
    layer.name = c.name.empty() ? "layer" + std::to_string(layers.size())
                                : c.name;
    int64_t n = c.layer.n, k = c.layer.k;
    std::vector<float> owned;
    const float *rows = nullptr;
    if (std::string error = readWeightRows(c, owned, rows); !error.empty()) {
      c.layer.op->emitOpError()
          << "cannot read the weight of layer '" << layer.name
          << "': " << error;
      return signalPassFailure();
    }
    const InputMoment *moment = nullptr;
    // By the reported name, so unnamed layers ("layer3") can have statistics
    // too (qnt-instrument-calibration names them the same way).
    auto it = stats.find(layer.name);
    if (it != stats.end()) {
      if (it->second.channels() != k) {
        c.layer.op->emitOpError()
            << "calibration statistics of layer '" << layer.name << "' ("
            << calibration << ":" << it->second.line << ") have "
            << it->second.channels() << " values, the layer has K = " << k;
        return signalPassFailure();
      }
      moment = &it->second;
    }
    auto layerMeasured = measured.find(c.name);
    for (const Candidate &cand : schemes) {
      if (cand.group > 0 && k % cand.group != 0)
        continue;
      std::string spec = cand.isFloat()
                             ? std::string("f32")
                             : std::to_string(cand.bits) + ":" +
                                   std::to_string(cand.group) +
                                   (cand.asymmetric ? ":asym" : "");
      std::optional<double> given;
      if (layerMeasured != measured.end()) {
        auto it = layerMeasured->second.find(spec);
        if (it != layerMeasured->second.end())
          given = it->second;
        else if (!cand.isFloat())
          continue; // only measured candidates compete
      }
      double error = 0;
      SchemeCost cost;
      if (cand.isFloat()) {
        cost = {32, 0, 0, false};
      } else {
        QuantOptions o;
        o.bits = cand.bits;
        o.symmetric = !cand.asymmetric;
        o.groupSize = cand.group;
        o.scaleFormat = scaleFormat;
        // No importance: the sensitivity must be that of the W^ that
        // qnt-quantize-weights produces, and it has no statistics.
        o.numThreads = 0;
        QuantizedMatrix q;
        if (std::string e = quantizeMatrix(rows, n, k, o, q); !e.empty()) {
          c.layer.op->emitOpError() << "cannot quantize the weight of layer '"
                                    << layer.name << "': " << e;
          return signalPassFailure();
        }
        error = given ? *given : expectedOutputError(rows, q, moment, 0);
        cost = {cand.bits, cand.group, scaleBits, cand.asymmetric};
      }
      double bits = static_cast<double>(cost.bits(n, k));
      double seconds = machine.predictSeconds(batch, n, k, cost);
      double unitCost = kind == BudgetKind::AvgBits ? bits
                        : kind == BudgetKind::Bytes ? bits / 8
                                                    : seconds * 1e6;
      layer.options.push_back(cand);
      layer.choices.push_back({unitCost, error});
      layer.bytes.push_back(bits / 8);
      layer.seconds.push_back(seconds);
    }
    if (layer.options.empty()) {
      c.layer.op->emitOpError() << "layer '" << layer.name
                                << "': no candidate scheme fits K = " << k;
      return signalPassFailure();
    }
    totalWeights += n * k;
    layers.push_back(std::move(layer));
  }
  if (layers.empty())
    return;

  // The KV cache: its bytes at kv-context positions come out of a bytes:N
  // budget; the reports show it at that context (else the model's).
  FailureOr<KvCacheSize> cache =
      getKvCacheSize(module, *symbolizeCacheFormat(kvCache));
  if (failed(cache))
    return signalPassFailure();
  int64_t cachePositions = kvContext > 0 ? int64_t(kvContext) : cache->positions;
  double cacheBytes = double(cache->bytesPerPosition) * double(cachePositions);

  // Solve. The average-bits budget is a total number of bits.
  double limit = kind == BudgetKind::AvgBits ? budgetValue * totalWeights
                                             : budgetValue;
  if (kind == BudgetKind::Bytes && kvContext > 0) {
    if (cacheBytes >= limit)
      return fail(llvm::formatv("budget {0} cannot be met: the {1} KV cache "
                                "alone takes {2:f0} bytes at {3} positions",
                                budget, kvCache, cacheBytes, cachePositions)
                      .str());
    limit -= cacheBytes;
  }
  std::vector<std::vector<AllocationChoice>> problem;
  for (Layer &l : layers)
    problem.push_back(l.choices);
  Allocation best;
  std::string error = allocate(problem, limit, best);
  if (!error.empty()) {
    double minimum = 0;
    for (Layer &l : layers) {
      double cheapest = l.choices[0].cost;
      for (AllocationChoice &c : l.choices)
        cheapest = std::min(cheapest, c.cost);
      minimum += cheapest;
    }
    if (kind == BudgetKind::AvgBits)
      minimum /= totalWeights;
    if (kind == BudgetKind::Bytes && kvContext > 0)
      minimum += cacheBytes;
    return fail(llvm::formatv("budget {0} cannot be met by the candidate "
                              "schemes; the smallest feasible budget is "
                              "{1}:{2:f4}",
                              budget, kindText, minimum)
                    .str());
  }

  // Annotate the layers.
  for (auto [i, layer] : llvm::enumerate(layers)) {
    const Candidate &c = layer.options[best.choice[i]];
    Operation *op = layer.source.layer.op;
    setLayerScheme(op, c.isFloat() ? 0 : c.bits, c.group, c.asymmetric,
                   scaleElem);
  }

  // Reports.
  double totalBytes = 0, totalSeconds = 0;
  for (auto [i, layer] : llvm::enumerate(layers)) {
    totalBytes += layer.bytes[best.choice[i]];
    totalSeconds += layer.seconds[best.choice[i]];
  }
  double avgBits = totalBytes * 8 / totalWeights;
  if (reportTable) {
    llvm::errs() << llvm::formatv("{0,-24} {1,12} {2,-16} {3,12} {4,12} {5,12}\n",
                                  "layer", "shape", "scheme", "sensitivity",
                                  "bytes", "pred. us");
    for (auto [i, layer] : llvm::enumerate(layers)) {
      int c = best.choice[i];
      llvm::errs() << llvm::formatv(
          "{0,-24} {1,12} {2,-16} {3,12:e3} {4,12:f0} {5,12:f2}\n", layer.name,
          std::to_string(layer.source.layer.n) + "x" +
              std::to_string(layer.source.layer.k),
          layer.options[c].str(), layer.choices[c].error, layer.bytes[c],
          layer.seconds[c] * 1e6);
    }
    llvm::errs() << llvm::formatv(
        "total: {0:f0} bytes, {1:f3} bits per weight, {2:f2} us predicted on "
        "{3} (batch {4}), sensitivity {5:e3}; budget {6}\n",
        totalBytes, avgBits, totalSeconds * 1e6, machine.name,
        static_cast<int64_t>(batch), best.totalError, budget);
    if (cache->bytesPerPosition)
      llvm::errs() << llvm::formatv(
          "KV cache: {0:f0} bytes ({1}, {2} positions{3}); weights and cache: "
          "{4:f0} bytes\n",
          cacheBytes, kvCache, cachePositions,
          kvContext > 0 ? ", counted in the budget" : "",
          totalBytes + cacheBytes);
  }
  if (!report.empty()) {
    llvm::json::Array rows;
    for (auto [i, layer] : llvm::enumerate(layers)) {
      int c = best.choice[i];
      std::string loc;
      llvm::raw_string_ostream os(loc);
      layer.source.layer.op->getLoc().print(os);
      rows.push_back(llvm::json::Object{
          {"name", layer.name},
          {"location", loc},
          {"shape", llvm::json::Array{layer.source.layer.n,
                                      layer.source.layer.k}},
          {"scheme", layer.options[c].str()},
          {"sensitivity", layer.choices[c].error},
          {"bytes", layer.bytes[c]},
          {"predicted_us", layer.seconds[c] * 1e6}});
    }
    llvm::json::Object doc{
        {"budget", budget},
        {"target", machine.name},
        {"batch", static_cast<int64_t>(batch)},
        {"solver_cost_step", best.costStep},
        {"kv_cache", llvm::json::Object{{"format", kvCache},
                                        {"positions", cachePositions},
                                        {"bytes", cacheBytes},
                                        {"in_budget", kvContext > 0}}},
        {"totals", llvm::json::Object{{"bytes", totalBytes},
                                      {"bits_per_weight", avgBits},
                                      {"predicted_us", totalSeconds * 1e6},
                                      {"sensitivity", best.totalError},
                                      {"weights", totalWeights}}},
        {"layers", std::move(rows)}};
    if (std::string error = writeOutputFile(
            report,
            [&](raw_ostream &os) {
              os << llvm::formatv("{0:2}", llvm::json::Value(std::move(doc)))
                 << "\n";
            });
        !error.empty())
      return fail(error);
  }
  if (!pareto.empty()) {
    std::string error = writeOutputFile(pareto, [&](raw_ostream &os) {
      os << kindText << ",total_sensitivity\n";
      for (const Allocation &a : paretoFrontier(problem, 40))
        os << llvm::formatv("{0},{1:e6}\n",
                            kind == BudgetKind::AvgBits
                                ? a.totalCost / totalWeights
                                : a.totalCost,
                            a.totalError);
    });
    if (!error.empty())
      return fail(error);
  }
}

} // namespace

void qnt::setLayerScheme(Operation *op, unsigned bits, int64_t group,
                         bool asymmetric, Type scaleType) {
  MLIRContext *ctx = op->getContext();
  if (bits == 0) {
    op->setAttr("qnt.keep_float", UnitAttr::get(ctx));
    op->removeAttr("qnt.scheme");
    return;
  }
  op->removeAttr("qnt.keep_float");
  op->setAttr("qnt.scheme",
              SchemeAttr::get(ctx, asymmetric ? Format::ui : Format::si, bits,
                              asymmetric ? Mode::asymmetric : Mode::symmetric,
                              group ? Granularity::per_group
                                    : Granularity::per_channel,
                              group ? 1 : 0, group, scaleType));
}
