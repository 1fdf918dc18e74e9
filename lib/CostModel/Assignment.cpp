// Candidate schemes, budgets, every candidate's sensitivity and costs for a
// layer, and the exact choice of one candidate per layer (Assignment.h).
#include "qnt/CostModel/Assignment.h"
#include "qnt/Support/SchemeParameters.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <optional>

using namespace mlir::qnt;
using llvm::StringRef;

std::string CandidateScheme::spec() const {
  if (isFloat())
    return "f32";
  if (format.isBlockFormat())
    return weightFormatName(format).str();
  if (!isInteger())
    return weightFormatName(format).str() + ":" + std::to_string(group);
  return std::to_string(bits) + ":" + std::to_string(group) +
         (asymmetric ? ":asym" : "");
}

std::string CandidateScheme::str() const {
  if (isFloat())
    return "f32";
  if (format.isBlockFormat())
    return weightFormatName(format).str();
  std::string granularity =
      group ? " g" + std::to_string(group) : " per-channel";
  if (!isInteger())
    return weightFormatName(format).str() + granularity;
  return (asymmetric ? "ui" : "si") + std::to_string(bits) + granularity;
}

/// The candidate of a float or codebook format `f` with groups of `group`
/// (the block formats: their block).
static CandidateScheme formatCandidate(const WeightFormat &f, int64_t group) {
  CandidateScheme c;
  c.format = f;
  c.bits = elementFormatBits(f.element);
  c.group = f.isBlockFormat() ? f.blockSize : group;
  return c;
}

std::string
mlir::qnt::parseCandidateSchemes(llvm::ArrayRef<std::string> specs,
                                 std::vector<CandidateScheme> &out,
                                 llvm::ArrayRef<std::string> formats) {
  if (specs.empty()) {
    std::vector<std::string> names(formats.begin(), formats.end());
    if (names.empty())
      names.push_back("int");
    for (const std::string &name : names) {
      std::optional<WeightFormat> f = parseWeightFormat(name);
      if (!f)
        return "candidate format '" + name + "' is not one of " +
               kWeightFormatNames.str();
      if (f->isBlockFormat()) {
        out.push_back(formatCandidate(*f, 0));
        continue;
      }
      for (unsigned bits : {2u, 3u, 4u, 5u, 6u, 8u}) {
        for (int64_t group : {32, 64, 128, 0})
          out.push_back(f->element == ElementFormat::Int
                            ? CandidateScheme{bits, group, false, *f}
                            : formatCandidate(*f, group));
        if (f->element != ElementFormat::Int)
          break; // one width
      }
    }
    out.push_back(CandidateScheme()); // f32
    return "";
  }
  for (const std::string &spec : specs) {
    CandidateScheme c;
    if (spec == "f32") {
      out.push_back(c);
      continue;
    }
    llvm::SmallVector<StringRef> parts;
    StringRef(spec).split(parts, ':');
    std::optional<WeightFormat> f = parseWeightFormat(parts[0]);
    if (f && f->element != ElementFormat::Int) {
      int64_t group = 0;
      bool fits = f->isBlockFormat()
                      ? parts.size() == 1
                      : parts.size() == 2 &&
                            !parts[1].getAsInteger(10, group) &&
                            !findInvalidSchemeParameter({std::nullopt, group});
      if (!fits)
        return "candidate '" + spec +
               "' is not nf4:GROUP, lut4:GROUP, fp8:GROUP, fp8e5m2:GROUP, "
               "mxfp4 or "
               "nvfp4 (GROUP 0 to " +
               std::to_string(kGroupSizeRange.max) + ")";
      out.push_back(formatCandidate(*f, group));
      continue;
    }
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
    out.push_back(c);
  }
  return "";
}

std::string Budget::parse(StringRef text, Budget &out) {
  auto [kindText, valueText] = text.split(':');
  if (kindText == "avg-bits")
    out.kind = Kind::AvgBits;
  else if (kindText == "bytes")
    out.kind = Kind::Bytes;
  else if (kindText == "latency-us")
    out.kind = Kind::LatencyUs;
  else
    return "budget '" + text.str() +
           "' must be avg-bits:X, bytes:N or latency-us:T";
  // Finite: "inf" and "nan" parse as numbers too.
  if (valueText.getAsDouble(out.value) || !(out.value > 0) ||
      !std::isfinite(out.value))
    return "budget '" + text.str() + "' needs a positive number";
  out.text = text.str();
  return "";
}

StringRef Budget::kindName() const {
  switch (kind) {
  case Kind::AvgBits:
    return "avg-bits";
  case Kind::Bytes:
    return "bytes";
  case Kind::LatencyUs:
    return "latency-us";
  }
  return "";
}

double Budget::unitCost(double bits, double seconds) const {
  return kind == Kind::AvgBits ? bits
         : kind == Kind::Bytes ? bits / 8
                               : seconds * 1e6;
}

std::string
mlir::qnt::evaluateCandidates(const float *rows, const InputMoment *moment,
                              const llvm::StringMap<double> *measured,
                              llvm::ArrayRef<CandidateScheme> schemes,
                              const CandidateCostModel &model,
                              LayerCandidates &layer) {
  const int64_t n = layer.n, k = layer.k;
  for (const CandidateScheme &cand : schemes) {
    if (cand.group > 0 && k % cand.group != 0)
      continue;
    std::optional<double> given;
    if (measured) {
      auto it = measured->find(cand.spec());
      if (it != measured->end())
        given = it->second;
      else if (!cand.isFloat())
        continue; // only measured candidates compete
    }
    double error = 0;
    SchemeCost cost{32, 0, 0, false};
    if (!cand.isFloat() && given) {
      // A measured sensitivity needs no quantization here (a 1.1B model's
      // 3720 candidates took 3.5 min).
      error = *given;
    } else if (!cand.isFloat()) {
      QuantOptions o;
      o.bits = cand.bits;
      o.format = cand.format.element;
      o.symmetric = !cand.asymmetric;
      o.groupSize = cand.group;
      o.scaleFormat = cand.format.isBlockFormat() ? cand.format.blockScale
                                                  : model.scaleFormat;
      // No importance: the sensitivity must be that of the W^ that
      // qnt-quantize-weights produces, and it has no statistics.
      o.numThreads = 0;
      QuantizedMatrix q;
      if (std::string e = quantizeMatrix(rows, n, k, o, q); !e.empty())
        return e;
      error = expectedOutputError(rows, q, moment, 0);
    }
    // The fp4 block formats' scales are bytes (nvfp4's one f32 tensor
    // scale is left out). The kernel time is that of the integer kernel of
    // the same width: the row_lut kernels measure 0.8x to 1.2x of it
    // (docs/PERFORMANCE.md).
    if (!cand.isFloat())
      cost = {cand.bits, cand.group,
              cand.format.isBlockFormat() ? 8u : model.scaleBits,
              cand.asymmetric};
    double bits = static_cast<double>(cost.bits(n, k));
    double seconds = model.target.predictSeconds(model.batch, n, k, cost);
    layer.schemes.push_back(cand);
    layer.choices.push_back({model.budget.unitCost(bits, seconds), error});
    layer.bytes.push_back(bits / 8);
    layer.seconds.push_back(seconds);
  }
  return "";
}

int64_t BitwidthAssignment::totalWeights() const {
  int64_t total = 0;
  for (const LayerCandidates &l : layers)
    total += l.n * l.k;
  return total;
}

std::vector<std::vector<AllocationChoice>> BitwidthAssignment::problem() const {
  std::vector<std::vector<AllocationChoice>> all;
  for (const LayerCandidates &l : layers)
    all.push_back(l.choices);
  return all;
}

std::string BitwidthAssignment::solve() {
  const Budget &budget = model.budget;
  const int64_t weights = totalWeights();
  // The average-bits budget is a total number of bits.
  double limit = budget.kind == Budget::Kind::AvgBits ? budget.value * weights
                                                      : budget.value;
  bool cacheInBudget = budget.kind == Budget::Kind::Bytes && cache.inBudget;
  if (cacheInBudget) {
    if (cache.bytes >= limit)
      return llvm::formatv("budget {0} cannot be met: the {1} KV cache "
                           "alone takes {2:f0} bytes at {3} positions",
                           budget.text, cache.format, cache.bytes,
                           cache.positions)
          .str();
    limit -= cache.bytes;
  }
  if (allocate(problem(), limit, best).empty())
    return "";
  double minimum = 0;
  for (const LayerCandidates &l : layers) {
    double cheapest = l.choices[0].cost;
    for (const AllocationChoice &c : l.choices)
      cheapest = std::min(cheapest, c.cost);
    minimum += cheapest;
  }
  if (budget.kind == Budget::Kind::AvgBits)
    minimum /= weights;
  if (cacheInBudget)
    minimum += cache.bytes;
  return llvm::formatv("budget {0} cannot be met by the candidate schemes; "
                       "the smallest feasible budget is {1}:{2:f4}",
                       budget.text, budget.kindName(), minimum)
      .str();
}
