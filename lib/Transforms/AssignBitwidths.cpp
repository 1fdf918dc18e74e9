// qnt-assign-bitwidths: per-layer schemes from sensitivity, cost and budget.
#include "mlir/IR/Builders.h"
#include "qnt/CostModel/Assignment.h"
#include "qnt/IR/QntOps.h"
#include "qnt/Transforms/LinearLayer.h"
#include "qnt/Transforms/Passes.h"
#include "qnt/Transforms/Transforms.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTASSIGNBITWIDTHSPASS
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;
using namespace mlir::qnt;

std::string qnt::checkAssignBitwidthsOptions(StringRef budget, int64_t batch,
                                             ArrayRef<std::string> candidates,
                                             StringRef scaleType,
                                             StringRef owner,
                                             ArrayRef<std::string> formats) {
  std::vector<CandidateScheme> schemes;
  Budget parsed;
  std::string error = parseCandidateSchemes(candidates, schemes, formats);
  if (error.empty())
    error = Budget::parse(budget, parsed);
  if (!error.empty())
    return (owner.empty() ? "" : (owner + " option ").str()) + error;
  if (std::string error = kCostBatchRange.check(owner, "batch", batch);
      !error.empty())
    return error;
  return checkSchemeOptions(owner, {std::nullopt, std::nullopt, scaleType});
}

namespace {

/// What the options name, read: the candidates, the cost model and the
/// statistics and sensitivities files.
struct Inputs {
  std::vector<CandidateScheme> schemes;
  CandidateCostModel model;
  Type scaleType;
  std::map<std::string, InputMoment> stats;
  MeasuredSensitivities measured;
};

struct AssignBitwidths final
    : qnt::impl::QntAssignBitwidthsPassBase<AssignBitwidths> {
  using Base::Base;
  /// Checks the options before any pass of the pipeline runs.
  LogicalResult initialize(MLIRContext *context) override;
  void runOnOperation() override;

private:
  /// Emits "qnt-assign-bitwidths: MESSAGE" on the module.
  LogicalResult fail(const Twine &message);
  LogicalResult readInputs(Inputs &in);
  /// Every constant linear layer with the candidates that fit it, in
  /// `assignment.layers`, and its op in `ops`.
  LogicalResult buildCandidates(const Inputs &in,
                                BitwidthAssignment &assignment,
                                SmallVectorImpl<Operation *> &ops);
  /// The KV cache's bytes at kv-context positions (else the model's).
  LogicalResult sizeKvCache(KvCacheUse &cache);
  /// Puts each layer's chosen scheme (or qnt.keep_float) on its op.
  void annotate(ArrayRef<Operation *> ops, const BitwidthAssignment &assignment,
                Type scaleType);
  LogicalResult writeReports(const BitwidthAssignment &assignment);
};

} // namespace

LogicalResult AssignBitwidths::initialize(MLIRContext *context) {
  std::vector<std::string> specs(candidates.begin(), candidates.end());
  std::vector<std::string> names(formats.begin(), formats.end());
  std::string error =
      checkAssignBitwidthsOptions(budget, batch, specs, scaleType,
                                  "qnt-assign-bitwidths", names);
  if (!error.empty())
    return emitError(UnknownLoc::get(context)) << error;
  if (!symbolizeCacheFormat(kvCache))
    return emitError(UnknownLoc::get(context))
           << "qnt-assign-bitwidths option kv-cache=" << kvCache
           << " must be f32, f16, i8 or i4";
  if (!isValidCacheBlock(kvBlock))
    return emitError(UnknownLoc::get(context))
           << "qnt-assign-bitwidths option kv-block="
           << static_cast<int64_t>(kvBlock)
           << " must be a power of two from 8 to 256";
  if (!isValidCacheWindow(kvWindow, kvBlock))
    return emitError(UnknownLoc::get(context))
           << "qnt-assign-bitwidths option kv-window="
           << static_cast<int64_t>(kvWindow) << " must be a multiple of "
           << "kv-block=" << static_cast<int64_t>(kvBlock)
           << " from one block to 4096";
  if (kvContext < 0 || kvContext > (int64_t(1) << 24))
    return emitError(UnknownLoc::get(context))
           << "qnt-assign-bitwidths option kv-context="
           << static_cast<int64_t>(kvContext)
           << " is out of range [0, 16777216]";
  return success();
}

LogicalResult AssignBitwidths::fail(const Twine &message) {
  return emitError(getOperation().getLoc())
         << "qnt-assign-bitwidths: " << message;
}

LogicalResult AssignBitwidths::readInputs(Inputs &in) {
  // The options were checked by initialize().
  std::vector<std::string> specs(candidates.begin(), candidates.end());
  std::vector<std::string> names(formats.begin(), formats.end());
  if (!parseCandidateSchemes(specs, in.schemes, names).empty() ||
      !Budget::parse(budget, in.model.budget).empty())
    return failure();
  in.scaleType = parseScaleType(&getContext(), scaleType);
  if (!in.scaleType)
    return failure();
  in.model.batch = batch;
  in.model.scaleBits = in.scaleType.getIntOrFloatBitWidth();
  in.model.scaleFormat = scaleFormatOf(in.scaleType);
  if (std::string error = TargetDescription::read(target, in.model.target);
      !error.empty())
    return fail(error);
  // E[x x^T] of named layers' inputs, as E[x_k^2] per channel plus optional
  // directions (docs/CALIBRATION.md, "Calibration statistics file").
  if (!calibration.empty())
    if (std::string error = readCalibrationStatistics(calibration, in.stats);
        !error.empty())
      return fail(error);
  if (!sensitivities.empty())
    if (std::string error =
            readMeasuredSensitivities(sensitivities, in.measured);
        !error.empty())
      return fail(error);
  return success();
}

LogicalResult
AssignBitwidths::buildCandidates(const Inputs &in,
                                 BitwidthAssignment &assignment,
                                 SmallVectorImpl<Operation *> &ops) {
  for (ConstantLinearLayer &c : findConstantLinearLayers(getOperation())) {
    Operation *op = c.layer.op;
    LayerCandidates layer;
    layer.name = c.name.empty() ? "layer" + std::to_string(ops.size()) : c.name;
    layer.n = c.layer.n;
    layer.k = c.layer.k;
    llvm::raw_string_ostream(layer.location) << op->getLoc();
    std::vector<float> owned;
    const float *rows = nullptr;
    if (std::string error = readWeightRows(c, owned, rows); !error.empty())
      return op->emitOpError() << "cannot read the weight of layer '"
                               << layer.name << "': " << error;
    const InputMoment *moment = nullptr;
    // By the reported name, so unnamed layers ("layer3") can have statistics
    // too (qnt-instrument-calibration names them the same way).
    auto it = in.stats.find(layer.name);
    if (it != in.stats.end()) {
      if (it->second.channels() != layer.k)
        return op->emitOpError()
               << "calibration statistics of layer '" << layer.name << "' ("
               << calibration << ":" << it->second.line << ") have "
               << it->second.channels()
               << " values, the layer has K = " << layer.k;
      moment = &it->second;
    }
    auto measured = in.measured.find(c.name);
    if (std::string error = evaluateCandidates(
            rows, moment,
            measured == in.measured.end() ? nullptr : &measured->second,
            in.schemes, in.model, layer);
        !error.empty())
      return op->emitOpError() << "cannot quantize the weight of layer '"
                               << layer.name << "': " << error;
    if (layer.schemes.empty())
      return op->emitOpError() << "layer '" << layer.name
                               << "': no candidate scheme fits K = " << layer.k;
    assignment.layers.push_back(std::move(layer));
    ops.push_back(op);
  }
  return success();
}

LogicalResult AssignBitwidths::sizeKvCache(KvCacheUse &cache) {
  FailureOr<KvCacheSize> size =
      getKvCacheSize(getOperation(), *symbolizeCacheFormat(kvCache), kvBlock,
                     kvWindow);
  if (failed(size))
    return failure();
  cache.format = kvCache;
  cache.bytesPerPosition = size->bytesPerBlock / size->block;
  cache.positions = kvContext > 0 ? int64_t(kvContext) : size->positions;
  cache.bytes = size->bytesAt(cache.positions);
  cache.inBudget = kvContext > 0;
  return success();
}

void AssignBitwidths::annotate(ArrayRef<Operation *> ops,
                               const BitwidthAssignment &assignment,
                               Type scaleType) {
  for (auto [i, op] : llvm::enumerate(ops)) {
    const CandidateScheme &c =
        assignment.layers[i].schemes[assignment.best.choice[i]];
    setLayerScheme(op, c.isFloat() ? 0 : c.bits, c.group, c.asymmetric,
                   scaleType, c.format);
  }
}

LogicalResult
AssignBitwidths::writeReports(const BitwidthAssignment &assignment) {
  if (reportTable)
    assignment.printTable(llvm::errs());
  if (!report.empty())
    if (std::string error = assignment.writeJsonReport(report); !error.empty())
      return fail(error);
  if (!pareto.empty())
    if (std::string error = assignment.writeParetoFrontier(pareto);
        !error.empty())
      return fail(error);
  return success();
}

void AssignBitwidths::runOnOperation() {
  Inputs in;
  BitwidthAssignment assignment;
  SmallVector<Operation *> ops;
  if (failed(readInputs(in)) || failed(buildCandidates(in, assignment, ops)))
    return signalPassFailure();
  if (ops.empty())
    return;
  assignment.model = in.model;
  if (failed(sizeKvCache(assignment.cache)))
    return signalPassFailure();
  if (std::string error = assignment.solve(); !error.empty()) {
    (void)fail(error);
    return signalPassFailure();
  }
  annotate(ops, assignment, in.scaleType);
  if (failed(writeReports(assignment)))
    signalPassFailure();
}

void qnt::setLayerScheme(Operation *op, unsigned bits, int64_t group,
                         bool asymmetric, Type scaleType,
                         const WeightFormat &format) {
  MLIRContext *ctx = op->getContext();
  if (bits == 0) {
    op->setAttr("qnt.keep_float", UnitAttr::get(ctx));
    op->removeAttr("qnt.scheme");
    return;
  }
  op->removeAttr("qnt.keep_float");
  if (format.element != ElementFormat::Int) {
    op->setAttr("qnt.scheme",
                weightFormatScheme(ctx, format, group, scaleType));
    return;
  }
  op->setAttr("qnt.scheme",
              SchemeAttr::get(ctx, asymmetric ? Format::ui : Format::si, bits,
                              asymmetric ? Mode::asymmetric : Mode::symmetric,
                              group ? Granularity::per_group
                                    : Granularity::per_channel,
                              group ? 1 : 0, group, scaleType));
}
