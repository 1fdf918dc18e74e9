// The bit-width assignment of qnt-assign-bitwidths without the IR: candidate
// schemes and budgets as options give them, every candidate's sensitivity and
// costs for one layer, the exact choice under the budget, and the reports
// (table, JSON, Pareto frontier). No MLIR; docs/COST_MODEL.md.
#ifndef QNT_COSTMODEL_ASSIGNMENT_H
#define QNT_COSTMODEL_ASSIGNMENT_H

#include "qnt/CostModel/BitAllocation.h"
#include "qnt/CostModel/CostModel.h"
#include "qnt/CostModel/Sensitivity.h"
#include "qnt/Support/SchemeParameters.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"
#include <cstdint>
#include <string>
#include <vector>

namespace mlir::qnt {

/// One candidate scheme: integer codes with one scale per group (or per
/// output channel), codes of a float or codebook format (fp8, nf4, mxfp4,
/// nvfp4: symmetric, `bits` the format's width, the block formats' group
/// their block), or the weight kept in f32.
struct CandidateScheme {
  unsigned bits = 32; // 32 = keep the layer in f32
  int64_t group = 0;  // 0 = one scale per output channel
  bool asymmetric = false;
  WeightFormat format; // element Int: integer codes

  bool isFloat() const { return bits == 32; }
  bool isInteger() const { return format.element == ElementFormat::Int; }
  /// As options and sensitivities files name it: "f32", "BITS:GROUP",
  /// "BITS:GROUP:asym", "FORMAT:GROUP" (fp8, fp8e5m2, nf4, lut4), "mxfp4" or
  /// "nvfp4".
  std::string spec() const;
  /// As the reports show it: "f32", "si4 g128", "ui3 per-channel", "nf4
  /// g32", "fp8 per-channel", "nvfp4".
  std::string str() const;
};

/// The candidates named by `specs` (spec() above), or when `specs` is
/// empty the default list: for each of `formats` ("int": bits 2 to 6 and
/// 8; "nf4", "lut4", "fp8", "fp8e5m2": that format; each with groups 32,
/// 64, 128 and per channel; "mxfp4", "nvfp4": their one scheme; none given:
/// "int"), then f32. Returns "" or the error naming the first bad spec or format.
std::string parseCandidateSchemes(llvm::ArrayRef<std::string> specs,
                                  std::vector<CandidateScheme> &out,
                                  llvm::ArrayRef<std::string> formats = {});

/// What the solver bounds: the average bits per weight, the total bytes, or
/// the predicted microseconds of all layers.
struct Budget {
  enum class Kind { AvgBits, Bytes, LatencyUs };
  Kind kind = Kind::AvgBits;
  double value = 0;
  /// As given: "avg-bits:4.5".
  std::string text;

  /// Parses "avg-bits:X", "bytes:N" or "latency-us:T" (X, N, T finite and
  /// positive); returns "" or the error.
  static std::string parse(llvm::StringRef text, Budget &out);
  /// "avg-bits", "bytes" or "latency-us".
  llvm::StringRef kindName() const;
  /// A candidate's cost in the budget's unit: bits for avg-bits (the solver
  /// bounds their total), bytes, or microseconds.
  double unitCost(double bits, double seconds) const;
};

/// What every layer's candidates are measured with.
struct CandidateCostModel {
  TargetDescription target;
  /// Rows M of x in the predicted latency.
  int64_t batch = 1;
  Budget budget;
  ScaleFormat scaleFormat = ScaleFormat::F32;
  unsigned scaleBits = 32;
};

/// The candidates that fit one layer, each with its sensitivity and costs.
struct LayerCandidates {
  std::string name;
  /// Where the layer is in the input (the JSON report's "location").
  std::string location;
  int64_t n = 0, k = 0;
  std::vector<CandidateScheme> schemes;
  /// Cost in the budget's unit, and the sensitivity.
  std::vector<AllocationChoice> choices;
  std::vector<double> bytes, seconds;
};

/// Fills `layer`'s schemes, choices, bytes and seconds with the candidates
/// among `schemes` that fit the [n, k] weight `rows` (groups that divide K;
/// with `measured`, a layer's measured sensitivities by spec, only the
/// measured ones and f32). A sensitivity is the measured value, else
/// expectedOutputError of the weight as qnt-quantize-weights would quantize
/// it, under the input moment `moment` (null: none). Returns "" or the
/// quantizer's error; no candidate fitting leaves `layer.schemes` empty.
std::string evaluateCandidates(const float *rows, const InputMoment *moment,
                               const llvm::StringMap<double> *measured,
                               llvm::ArrayRef<CandidateScheme> schemes,
                               const CandidateCostModel &model,
                               LayerCandidates &layer);

/// The KV cache next to the weights: its bytes at `positions`, counted in a
/// bytes budget when `inBudget`.
struct KvCacheUse {
  std::string format; // f32, f16 or i8
  int64_t bytesPerPosition = 0;
  int64_t positions = 0;
  double bytes = 0;
  bool inBudget = false;
};

/// The problem and its solution: what the reports show.
struct BitwidthAssignment {
  CandidateCostModel model;
  KvCacheUse cache;
  std::vector<LayerCandidates> layers;
  /// One choice per layer, after solve().
  Allocation best;

  int64_t totalWeights() const;
  /// Every layer's choices: the solver's problem.
  std::vector<std::vector<AllocationChoice>> problem() const;
  /// The exact choice of one candidate per layer under the budget (the KV
  /// cache's bytes taken out of a bytes budget when it counts). Returns ""
  /// or why the budget cannot be met, with the smallest feasible one.
  std::string solve();
  /// The table of the choices and the totals (the pass's report-table).
  void printTable(llvm::raw_ostream &os) const;
  /// The choices and totals as JSON, to `path` ("-": stdout). "" or the
  /// error.
  std::string writeJsonReport(llvm::StringRef path) const;
  /// The Pareto frontier of (cost in the budget's unit, total sensitivity)
  /// as CSV, to `path`. "" or the error.
  std::string writeParetoFrontier(llvm::StringRef path) const;
};

} // namespace mlir::qnt

#endif // QNT_COSTMODEL_ASSIGNMENT_H
