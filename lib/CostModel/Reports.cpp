// qnt-assign-bitwidths' reports of a solved BitwidthAssignment: the table,
// the JSON report and the Pareto frontier (Assignment.h).
#include "qnt/CostModel/Assignment.h"
#include "qnt/Support/OutputFile.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

using namespace mlir::qnt;

namespace {
/// The chosen candidates' bytes and predicted seconds, summed.
struct Totals {
  double bytes = 0, seconds = 0, bitsPerWeight = 0;
};

Totals totalsOf(const BitwidthAssignment &a) {
  Totals t;
  for (auto [i, layer] : llvm::enumerate(a.layers)) {
    t.bytes += layer.bytes[a.best.choice[i]];
    t.seconds += layer.seconds[a.best.choice[i]];
  }
  t.bitsPerWeight = t.bytes * 8 / a.totalWeights();
  return t;
}
} // namespace

void BitwidthAssignment::printTable(llvm::raw_ostream &os) const {
  Totals t = totalsOf(*this);
  os << llvm::formatv("{0,-24} {1,12} {2,-16} {3,12} {4,12} {5,12}\n", "layer",
                      "shape", "scheme", "sensitivity", "bytes", "pred. us");
  for (auto [i, layer] : llvm::enumerate(layers)) {
    int c = best.choice[i];
    os << llvm::formatv(
        "{0,-24} {1,12} {2,-16} {3,12:e3} {4,12:f0} {5,12:f2}\n", layer.name,
        std::to_string(layer.n) + "x" + std::to_string(layer.k),
        layer.schemes[c].str(), layer.choices[c].error, layer.bytes[c],
        layer.seconds[c] * 1e6);
  }
  os << llvm::formatv(
      "total: {0:f0} bytes, {1:f3} bits per weight, {2:f2} us predicted on "
      "{3} (batch {4}), sensitivity {5:e3}; budget {6}\n",
      t.bytes, t.bitsPerWeight, t.seconds * 1e6, model.target.name, model.batch,
      best.totalError, model.budget.text);
  if (cache.bytesPerPosition)
    os << llvm::formatv(
        "KV cache: {0:f0} bytes ({1}, {2} positions{3}); weights and cache: "
        "{4:f0} bytes\n",
        cache.bytes, cache.format, cache.positions,
        cache.inBudget ? ", counted in the budget" : "", t.bytes + cache.bytes);
}

std::string BitwidthAssignment::writeJsonReport(llvm::StringRef path) const {
  Totals t = totalsOf(*this);
  llvm::json::Array rows;
  for (auto [i, layer] : llvm::enumerate(layers)) {
    int c = best.choice[i];
    rows.push_back(
        llvm::json::Object{{"name", layer.name},
                           {"location", layer.location},
                           {"shape", llvm::json::Array{layer.n, layer.k}},
                           {"scheme", layer.schemes[c].str()},
                           {"sensitivity", layer.choices[c].error},
                           {"bytes", layer.bytes[c]},
                           {"predicted_us", layer.seconds[c] * 1e6}});
  }
  llvm::json::Object doc{
      {"budget", model.budget.text},
      {"target", model.target.name},
      {"batch", model.batch},
      {"solver_cost_step", best.costStep},
      {"kv_cache", llvm::json::Object{{"format", cache.format},
                                      {"positions", cache.positions},
                                      {"bytes", cache.bytes},
                                      {"in_budget", cache.inBudget}}},
      {"totals", llvm::json::Object{{"bytes", t.bytes},
                                    {"bits_per_weight", t.bitsPerWeight},
                                    {"predicted_us", t.seconds * 1e6},
                                    {"sensitivity", best.totalError},
                                    {"weights", totalWeights()}}},
      {"layers", std::move(rows)}};
  return writeOutputFile(path, [&](llvm::raw_ostream &os) {
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(doc))) << "\n";
  });
}

std::string
BitwidthAssignment::writeParetoFrontier(llvm::StringRef path) const {
  bool avgBits = model.budget.kind == Budget::Kind::AvgBits;
  int64_t weights = totalWeights();
  return writeOutputFile(path, [&](llvm::raw_ostream &os) {
    os << model.budget.kindName() << ",total_sensitivity\n";
    for (const Allocation &a : paretoFrontier(problem(), 40))
      os << llvm::formatv("{0},{1:e6}\n",
                          avgBits ? a.totalCost / weights : a.totalCost,
                          a.totalError);
  });
}
