// qnt-instrument-calibration: makes a float model record the statistics of
// its linear layers' inputs (sums of x_k^2 and of x_k, and the row count per
// layer) in module buffers that a host program reads through exported
// accessors.
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "qnt/Transforms/LinearLayer.h"
#include "qnt/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTINSTRUMENTCALIBRATIONPASS
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;
using namespace mlir::qnt;

// The ABI between the instrumented model and its host (lib/Runner reads
// these names; docs/COST_MODEL.md describes them).
static constexpr const char *kSumsBuffer = "qnt_calibration_sumsq_buffer";
static constexpr const char *kMeansBuffer = "qnt_calibration_sum_buffer";
static constexpr const char *kRowsBuffer = "qnt_calibration_rows_buffer";
static constexpr const char *kLayerTable = "qnt_calibration_layers";
static constexpr const char *kSumsAccessor = "qnt_calibration_sumsq";
static constexpr const char *kMeansAccessor = "qnt_calibration_sum";
static constexpr const char *kRowsAccessor = "qnt_calibration_rows";

namespace {
/// A layer to instrument: where its input is and which of x's dimensions is
/// the reduction dimension K.
struct Site {
  ConstantLinearLayer layer;
  std::string name;
  unsigned kDim;  // dimension of x indexed by K
  int64_t offset; // first channel of the layer in the sums buffer
};

struct InstrumentCalibration final
    : qnt::impl::QntInstrumentCalibrationPassBase<InstrumentCalibration> {
  using Base::Base;
  void runOnOperation() override;
};
} // namespace

/// The dimension of the layer's input that K indexes: the one result of x's
/// indexing map that is exactly K's loop. Fails when K appears in a compound
/// expression (then x_k is not one element of x).
static FailureOr<unsigned> inputChannelDim(const LinearLayer &layer) {
  linalg::LinalgOp op = layer.op;
  AffineMap wMap =
      op.getMatchingIndexingMap(op.getDpsInputOperand(layer.weightIndex));
  auto kExpr =
      dyn_cast<AffineDimExpr>(wMap.getResult(layer.weightIsKN ? 0 : 1));
  if (!kExpr)
    return failure();
  AffineMap xMap =
      op.getMatchingIndexingMap(op.getDpsInputOperand(layer.inputIndex));
  std::optional<unsigned> found;
  for (auto [i, expr] : llvm::enumerate(xMap.getResults())) {
    if (expr == kExpr) {
      if (found)
        return failure();
      found = i;
    } else if (expr.isFunctionOfDim(kExpr.getPosition())) {
      return failure();
    }
  }
  if (!found)
    return failure();
  return *found;
}

/// `sums[offset + x's channel index] += x^2` and `linear[...] += x` for every
/// element of x, and `rows[layer] += elements / K`, inserted before the
/// layer.
static void instrument(OpBuilder &b, const Site &site, int64_t index,
                       memref::GlobalOp sumsBuffer,
                       memref::GlobalOp linearBuffer,
                       memref::GlobalOp rowsBuffer) {
  linalg::LinalgOp op = site.layer.layer.op;
  Location loc = op.getLoc();
  b.setInsertionPoint(op);
  Value x = op.getDpsInputOperand(site.layer.layer.inputIndex)->get();
  auto xType = cast<RankedTensorType>(x.getType());
  Type f64 = b.getF64Type();
  Value sums = memref::GetGlobalOp::create(b, loc, sumsBuffer.getType(),
                                           sumsBuffer.getSymName());
  Value linear = memref::GetGlobalOp::create(b, loc, linearBuffer.getType(),
                                             linearBuffer.getSymName());
  Value rows = memref::GetGlobalOp::create(b, loc, rowsBuffer.getType(),
                                           rowsBuffer.getSymName());

  SmallVector<Value> lbs, ubs, steps;
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value rowCount = one;
  for (int64_t d = 0; d < xType.getRank(); ++d) {
    Value size =
        xType.isDynamicDim(d)
            ? tensor::DimOp::create(b, loc, x, d).getResult()
            : arith::ConstantIndexOp::create(b, loc, xType.getDimSize(d))
                  .getResult();
    lbs.push_back(zero);
    ubs.push_back(size);
    steps.push_back(one);
    if (d != site.kDim)
      rowCount = b.createOrFold<arith::MulIOp>(loc, rowCount, size);
  }
  Value offset = arith::ConstantIndexOp::create(b, loc, site.offset);
  scf::buildLoopNest(
      b, loc, lbs, ubs, steps,
      [&](OpBuilder &nb, Location loc, ValueRange ivs) {
        Value v = tensor::ExtractOp::create(nb, loc, x, ivs);
        if (v.getType() != f64)
          v = arith::ExtFOp::create(nb, loc, f64, v);
        Value square = arith::MulFOp::create(nb, loc, v, v);
        Value at = nb.createOrFold<arith::AddIOp>(loc, offset, ivs[site.kDim]);
        Value old = memref::LoadOp::create(nb, loc, sums, ValueRange{at});
        Value sum = arith::AddFOp::create(nb, loc, old, square);
        memref::StoreOp::create(nb, loc, sum, sums, ValueRange{at});
        Value oldLinear =
            memref::LoadOp::create(nb, loc, linear, ValueRange{at});
        Value sumLinear = arith::AddFOp::create(nb, loc, oldLinear, v);
        memref::StoreOp::create(nb, loc, sumLinear, linear, ValueRange{at});
      });
  Value layerIndex = arith::ConstantIndexOp::create(b, loc, index);
  Value oldRows = memref::LoadOp::create(b, loc, rows, ValueRange{layerIndex});
  Value added = arith::IndexCastOp::create(b, loc, b.getI64Type(), rowCount);
  memref::StoreOp::create(b, loc, arith::AddIOp::create(b, loc, oldRows, added),
                          rows, ValueRange{layerIndex});
}

/// `func.func @NAME(%i: index) -> T { return BUFFER[%i] }`.
static void buildAccessor(OpBuilder &b, Location loc, StringRef name,
                          memref::GlobalOp buffer) {
  Type element = buffer.getType().getElementType();
  auto func = func::FuncOp::create(
      b, loc, name, b.getFunctionType({b.getIndexType()}, {element}));
  OpBuilder::InsertionGuard guard(b);
  Block *body = func.addEntryBlock();
  b.setInsertionPointToStart(body);
  Value global = memref::GetGlobalOp::create(b, loc, buffer.getType(),
                                             buffer.getSymName());
  Value v =
      memref::LoadOp::create(b, loc, global, ValueRange{body->getArgument(0)});
  func::ReturnOp::create(b, loc, v);
}

void InstrumentCalibration::runOnOperation() {
  ModuleOp module = getOperation();
  for (const char *symbol :
       {kSumsBuffer, kMeansBuffer, kRowsBuffer, kLayerTable, kSumsAccessor,
        kMeansAccessor, kRowsAccessor})
    if (module.lookupSymbol(symbol)) {
      emitError(module.getLoc())
          << "qnt-instrument-calibration: the module already defines '"
          << symbol << "' (instrumented twice?)";
      return signalPassFailure();
    }

  // Every layer the quantizer would touch, named as qnt-assign-bitwidths
  // names it, so the statistics file matches its layers.
  SmallVector<Site> sites;
  int64_t channels = 0;
  std::string table;
  for (ConstantLinearLayer &c : findConstantLinearLayers(module)) {
    std::string name =
        c.name.empty() ? "layer" + std::to_string(sites.size()) : c.name;
    Operation *op = c.layer.op;
    if (llvm::any_of(name, [](char ch) { return llvm::isSpace(ch); })) {
      op->emitOpError() << "layer name '" << name
                        << "' contains white space, which the calibration "
                           "statistics file cannot hold";
      return signalPassFailure();
    }
    Value x = c.layer.op.getDpsInputOperand(c.layer.inputIndex)->get();
    auto xType = dyn_cast<RankedTensorType>(x.getType());
    if (!xType || !isa<FloatType>(xType.getElementType()) ||
        xType.getElementType().getIntOrFloatBitWidth() > 64) {
      op->emitOpError() << "cannot instrument layer '" << name
                        << "': its input is not a ranked tensor of floats";
      return signalPassFailure();
    }
    FailureOr<unsigned> kDim = inputChannelDim(c.layer);
    if (failed(kDim)) {
      op->emitOpError() << "cannot instrument layer '" << name
                        << "': its input is not indexed by K alone in one "
                           "dimension";
      return signalPassFailure();
    }
    sites.push_back({c, name, *kDim, channels});
    channels += c.layer.k;
    table += name + " " + std::to_string(c.layer.k) + "\n";
  }

  // The buffers, the layer table and the accessors. A model without linear
  // layers still gets them (empty), so the host's protocol is the same.
  OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
  Location loc = module.getLoc();
  Type f64 = b.getF64Type(), i64 = b.getI64Type();
  auto zeroBuffer = [&](StringRef name, int64_t size, TypedAttr zero) {
    auto type = MemRefType::get({size}, zero.getType());
    auto tensorType = RankedTensorType::get({size}, zero.getType());
    return memref::GlobalOp::create(
        b, loc, name, b.getStringAttr("private"), type,
        DenseElementsAttr::get(tensorType, Attribute(zero)),
        /*constant=*/false, /*alignment=*/IntegerAttr());
  };
  memref::GlobalOp sums = zeroBuffer(
      kSumsBuffer, std::max<int64_t>(channels, 1), b.getFloatAttr(f64, 0.0));
  memref::GlobalOp linear = zeroBuffer(
      kMeansBuffer, std::max<int64_t>(channels, 1), b.getFloatAttr(f64, 0.0));
  memref::GlobalOp rows =
      zeroBuffer(kRowsBuffer, std::max<int64_t>(sites.size(), 1),
                 b.getIntegerAttr(i64, 0));
  SmallVector<int8_t> text(table.begin(), table.end());
  text.push_back(0);
  auto textType =
      RankedTensorType::get({static_cast<int64_t>(text.size())}, b.getI8Type());
  memref::GlobalOp::create(
      b, loc, kLayerTable, /*sym_visibility=*/StringAttr(),
      MemRefType::get(textType.getShape(), b.getI8Type()),
      DenseElementsAttr::get(textType, ArrayRef<int8_t>(text)),
      /*constant=*/true, /*alignment=*/IntegerAttr());
  b.setInsertionPointToEnd(module.getBody());
  buildAccessor(b, loc, kSumsAccessor, sums);
  buildAccessor(b, loc, kMeansAccessor, linear);
  buildAccessor(b, loc, kRowsAccessor, rows);

  for (auto [i, site] : llvm::enumerate(sites))
    instrument(b, site, i, sums, linear, rows);
}
