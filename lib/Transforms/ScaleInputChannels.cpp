// qnt-scale-input-channels: AWQ-style per-input-channel scales for the
// linear layers that read an RMSNorm's output, folded into its gain.
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"
#include "qnt/Support/Gptq.h"
#include "qnt/Support/OutputFile.h"
#include "qnt/Support/Quantizer.h"
#include "qnt/Transforms/ConstantBytes.h"
#include "qnt/Transforms/LinearLayer.h"
#include "qnt/Transforms/Passes.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include <cmath>
#include <cstdio>

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTSCALEINPUTCHANNELSPASS
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;
using namespace mlir::qnt;

namespace {

/// The layers that read one normalization's output: the candidates for one
/// set of input-channel scales, folded into the norm's gain.
struct ScaledGroup {
  // Op handles (mutable: their accessors are not const).
  mutable linalg::GenericOp norm;
  int gainIndex = -1;
  mutable arith::ConstantOp gain;
  std::vector<float> g;                // the gain's values
  SmallVector<size_t> members;         // indices into the layers
  std::vector<std::string> names;
  const std::vector<double> *h = nullptr; // the shared input's Hessian
  int64_t k = 0;
};

struct ScaleInputChannels final
    : qnt::impl::QntScaleInputChannelsPassBase<ScaleInputChannels> {
  using Base::Base;
  LogicalResult initialize(MLIRContext *context) override;
  void runOnOperation() override;

private:
  /// The group of layers reading `x` when the scales can be folded there:
  /// x is a norm's output with a constant gain, read only by these layers,
  /// whose f32 weights nothing else reads and whose Hessians are known.
  std::optional<ScaledGroup> usableGroup(Value x,
                                         const SmallVector<size_t> &members);
  /// The scales s = diag(H)^(alpha/2) (normalized) of the alpha on the grid
  /// with the least output error of the rounded weights; alpha 0 (no
  /// scales) when none beats round to nearest. Empty `error` on success.
  std::vector<double> searchScales(const ScaledGroup &group,
                                   const std::vector<std::vector<float>> &w,
                                   double &bestAlpha, std::string &error);
  /// Folds g / s into the norm and W diag(s) into each layer, and H into
  /// the scaled inputs' H.
  void fold(const ScaledGroup &group, const std::vector<std::vector<float>> &w,
            const std::vector<double> &s);
  /// Writes the layers' (scaled) Hessians to hessians-out.
  LogicalResult writeHessians(ModuleOp module);

  std::map<std::string, std::vector<double>> layerHessians;
  SmallVector<ConstantLinearLayer> layers;
  ScaleFormat scaleFormat = ScaleFormat::F32;
};

/// The gain operand of `op`: an input that is a 1-D f32 arith.constant read
/// along the output's innermost dimension, whose block argument multiplies
/// the value the body yields. Returns its operand number or -1.
int findGain(linalg::GenericOp op) {
  if (op.getNumDpsInits() != 1 || op->getNumResults() != 1)
    return -1;
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!outMap.isIdentity())
    return -1;
  unsigned last = outMap.getNumDims() - 1;
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto mul = yield.getValues()[0].getDefiningOp<arith::MulFOp>();
  if (!mul)
    return -1;
  for (OpOperand *input : op.getDpsInputOperands()) {
    auto c = input->get().getDefiningOp<arith::ConstantOp>();
    auto type = c ? dyn_cast<RankedTensorType>(c.getType()) : nullptr;
    if (!type || type.getRank() != 1 || !type.getElementType().isF32())
      continue;
    AffineMap map = op.getMatchingIndexingMap(input);
    if (map.getNumResults() != 1 || map.getResult(0) != getAffineDimExpr(last, op.getContext()))
      continue;
    Value arg = body.getArgument(input->getOperandNumber());
    if (mul.getLhs() == arg || mul.getRhs() == arg)
      return input->getOperandNumber();
  }
  return -1;
}

/// The float values of an f32 constant (dense or resource blob); empty if
/// its payload cannot be read.
std::vector<float> valuesOf(arith::ConstantOp c) {
  std::vector<float> out;
  auto attr = cast<ElementsAttr>(c.getValue());
  std::vector<char> storage;
  std::optional<ArrayRef<char>> bytes = getElementsBytes(attr, storage);
  if (!bytes || bytes->size() != attr.getNumElements() * sizeof(float))
    return out;
  for (int64_t i = 0; i < attr.getNumElements(); ++i)
    out.push_back(readFloatElement(bytes->data(), i, attr.getElementType()));
  return out;
}

} // namespace

LogicalResult ScaleInputChannels::initialize(MLIRContext *context) {
  auto error = [&]() {
    return emitError(UnknownLoc::get(context))
           << "qnt-scale-input-channels option ";
  };
  if (std::string e = checkSchemeOptions("qnt-scale-input-channels",
                                         {bits, groupSize, scaleType});
      !e.empty())
    return emitError(UnknownLoc::get(context)) << e;
  if (grid < 1 || grid > 1000)
    return error() << "grid=" << static_cast<int64_t>(grid)
                   << " is out of range [1, 1000]";
  if (hessians.empty())
    return error() << "hessians names the file of the layers' Hessians; it "
                      "is required";
  if (std::string e = readHessianFile(hessians, layerHessians); !e.empty())
    return emitError(UnknownLoc::get(context)) << e;
  return success();
}

std::optional<ScaledGroup>
ScaleInputChannels::usableGroup(Value x, const SmallVector<size_t> &members) {
  ScaledGroup group;
  group.members = members;
  group.norm = x.getDefiningOp<linalg::GenericOp>();
  if (!group.norm)
    return std::nullopt;
  group.gainIndex = findGain(group.norm);
  if (group.gainIndex < 0)
    return std::nullopt;
  // Every user of x must be one of the layers, reading it as x.
  bool usable = llvm::all_of(x.getUses(), [&](OpOperand &use) {
    return llvm::any_of(members, [&](size_t i) {
      LinearLayer &l = layers[i].layer;
      return use.getOwner() == l.op.getOperation() &&
             use.getOperandNumber() == l.inputIndex;
    });
  });
  group.gain = group.norm->getOperand(group.gainIndex)
                   .getDefiningOp<arith::ConstantOp>();
  group.g = valuesOf(group.gain);
  group.k = static_cast<int64_t>(group.g.size());
  for (size_t i : members) {
    ConstantLinearLayer &c = layers[i];
    group.names.push_back(c.name);
    // A weight shared with anything else (a classifier tied to the token
    // embedding) cannot take the scales.
    if (!llvm::all_of(c.weight->getUses(), [&](OpOperand &use) {
          return llvm::any_of(members, [&](size_t j) {
            return use.getOwner() == layers[j].layer.op.getOperation() &&
                   use.getOperandNumber() == layers[j].layer.weightIndex;
          });
        }))
      usable = false;
    auto it = layerHessians.find(c.name);
    if (c.widen || !c.layer.matchesQntMatmul || c.layer.k != group.k ||
        it == layerHessians.end() ||
        static_cast<int64_t>(it->second.size()) != group.k * group.k ||
        !cast<RankedTensorType>(c.weight.getType()).getElementType().isF32())
      usable = false;
    else
      group.h = &it->second;
  }
  if (!usable || !group.h)
    return std::nullopt;
  return group;
}

std::vector<double>
ScaleInputChannels::searchScales(const ScaledGroup &group,
                                 const std::vector<std::vector<float>> &weights,
                                 double &bestAlpha, std::string &err) {
  int64_t k = group.k;
  const std::vector<double> &h = *group.h;
  QuantOptions options;
  options.bits = bits;
  options.symmetric = symmetric;
  options.groupSize = groupSize > 0 && k % groupSize == 0 ? groupSize : 0;
  options.scaleFormat = scaleFormat;
  options.numThreads = 0;

  // Output error of the layers for scales s: sum_r dW_r H dW_r^T.
  auto errorFor = [&](const std::vector<double> &s) {
    double total = 0;
    for (auto [m, i] : llvm::enumerate(group.members)) {
      const LinearLayer &l = layers[i].layer;
      std::vector<float> scaled(l.n * k), dq(l.n * k);
      for (int64_t r = 0; r < l.n; ++r)
        for (int64_t c = 0; c < k; ++c)
          scaled[r * k + c] = static_cast<float>(weights[m][r * k + c] * s[c]);
      QuantizedMatrix q;
      if (std::string e = quantizeMatrix(scaled.data(), l.n, k, options, q);
          !e.empty()) {
        err = e;
        return 0.0;
      }
      dequantizeMatrix(q, dq.data());
      std::vector<double> d(k);
      for (int64_t r = 0; r < l.n; ++r) {
        for (int64_t c = 0; c < k; ++c)
          d[c] = weights[m][r * k + c] - dq[r * k + c] / s[c];
        for (int64_t a = 0; a < k; ++a) {
          double row = 0;
          for (int64_t b = 0; b < k; ++b)
            row += h[a * k + b] * d[b];
          total += d[a] * row;
        }
      }
    }
    return total;
  };
  std::vector<double> best(k, 1.0), s(k);
  double baseline = errorFor(best), bestError = baseline;
  bestAlpha = 0;
  for (unsigned step = 1; step <= grid && err.empty(); ++step) {
    double alpha = double(step) / grid;
    double lo = INFINITY, hi = 0;
    for (int64_t c = 0; c < k; ++c) {
      s[c] = std::pow(std::max(h[c * k + c], 1e-20), alpha / 2);
      lo = std::min(lo, s[c]);
      hi = std::max(hi, s[c]);
    }
    double norm = std::sqrt(lo * hi);
    for (double &v : s)
      v /= norm;
    double e = errorFor(s);
    if (err.empty() && e < bestError) {
      bestError = e;
      bestAlpha = alpha;
      best = s;
    }
  }
  if (err.empty() && verbose)
    group.norm.emitRemark() << "qnt-scale-input-channels: "
                            << llvm::join(group.names, ", ") << ": alpha "
                            << llvm::formatv("{0:f2}", bestAlpha).str()
                            << ", output error "
                            << llvm::formatv("{0:f3}", baseline > 0
                                                           ? bestError /
                                                                 baseline
                                                           : 1.0)
                                   .str()
                            << " of round to nearest's";
  return best;
}

void ScaleInputChannels::fold(const ScaledGroup &group,
                              const std::vector<std::vector<float>> &weights,
                              const std::vector<double> &best) {
  int64_t k = group.k;
  for (size_t i : group.members) {
    std::vector<double> &hi = layerHessians[layers[i].name];
    for (int64_t a = 0; a < k; ++a)
      for (int64_t b = 0; b < k; ++b)
        hi[a * k + b] /= best[a] * best[b];
  }
  // Fold: g / s into the norm, W diag(s) into each layer.
  OpBuilder b(group.gain);
  std::vector<float> scaledGain(k);
  for (int64_t c = 0; c < k; ++c)
    scaledGain[c] = static_cast<float>(group.g[c] / best[c]);
  auto gainType = cast<RankedTensorType>(group.gain.getType());
  Value newGain = arith::ConstantOp::create(
      b, group.gain.getLoc(),
      DenseElementsAttr::get(gainType, ArrayRef<float>(scaledGain)));
  group.norm->setOperand(group.gainIndex, newGain);
  for (auto [m, i] : llvm::enumerate(group.members)) {
    ConstantLinearLayer &c = layers[i];
    LinearLayer &l = c.layer;
    auto type = cast<RankedTensorType>(c.weight.getType());
    std::vector<float> out(l.n * k);
    for (int64_t r = 0; r < l.n; ++r)
      for (int64_t col = 0; col < k; ++col) {
        float v = static_cast<float>(weights[m][r * k + col] * best[col]);
        if (l.weightIsKN)
          out[col * l.n + r] = v;
        else
          out[r * k + col] = v;
      }
    OpBuilder wb(c.weight);
    Value w = arith::ConstantOp::create(
        wb, c.weight.getLoc(),
        DenseElementsAttr::get(type, ArrayRef<float>(out)));
    l.op->setOperand(l.weightIndex, w);
  }
}

LogicalResult ScaleInputChannels::writeHessians(ModuleOp module) {
  std::string error = writeOutputFile(hessiansOut, [&](raw_ostream &os) {
    os << "# sum x x^T of each linear layer's input, after "
          "qnt-scale-input-channels\n";
    char text[32];
    for (auto &[name, h] : layerHessians) {
      int64_t k = static_cast<int64_t>(std::sqrt(double(h.size())) + 0.5);
      os << name << " " << k;
      for (double v : h) {
        std::snprintf(text, sizeof text, " %.17g", v);
        os << text;
      }
      os << "\n";
    }
  });
  if (error.empty())
    return success();
  return emitError(module.getLoc()) << error;
}

void ScaleInputChannels::runOnOperation() {
  ModuleOp module = getOperation();
  scaleFormat = scaleFormatOf(parseScaleType(&getContext(), scaleType));

  // Layers by the value they read.
  layers = findConstantLinearLayers(module);
  llvm::MapVector<Value, SmallVector<size_t>> byInput;
  for (auto [i, c] : llvm::enumerate(layers))
    byInput[c.layer.op.getDpsInputOperand(c.layer.inputIndex)->get()]
        .push_back(i);

  for (auto &[x, members] : byInput) {
    std::optional<ScaledGroup> group = usableGroup(x, members);
    if (!group)
      continue;
    // The weights [N, K] of the layers.
    std::vector<std::vector<float>> weights;
    for (size_t i : members) {
      std::vector<float> owned;
      const float *rows = nullptr;
      if (std::string e = readWeightRows(layers[i], owned, rows); !e.empty()) {
        layers[i].layer.op->emitOpError() << "cannot read the weight: " << e;
        return signalPassFailure();
      }
      const LinearLayer &l = layers[i].layer;
      weights.emplace_back(rows, rows + l.n * l.k);
    }
    std::string err;
    double alpha = 0;
    std::vector<double> scales = searchScales(*group, weights, alpha, err);
    if (!err.empty()) {
      layers[members[0]].layer.op->emitOpError()
          << "cannot quantize the weight: " << err;
      return signalPassFailure();
    }
    if (alpha != 0)
      fold(*group, weights, scales);
  }
  if (!hessiansOut.empty() && failed(writeHessians(module)))
    return signalPassFailure();
  // Constants nobody reads any more.
  SmallVector<arith::ConstantOp> dead;
  module.walk([&](arith::ConstantOp c) {
    if (c->use_empty() && isa<RankedTensorType>(c.getType()))
      dead.push_back(c);
  });
  for (arith::ConstantOp c : dead)
    c->erase();
}
