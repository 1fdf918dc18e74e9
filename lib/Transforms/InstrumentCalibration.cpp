// qnt-instrument-calibration: makes a float model record the statistics of
// its linear layers' inputs (sums of x_k^2 and of x_k, the row count per
// layer and, on request, the input rows themselves) in module buffers that a
// host program reads through exported accessors.
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
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
// these names; docs/CALIBRATION.md describes them).
static constexpr const char *kSumsBuffer = "qnt_calibration_sumsq_buffer";
static constexpr const char *kMeansBuffer = "qnt_calibration_sum_buffer";
static constexpr const char *kRowsBuffer = "qnt_calibration_rows_buffer";
static constexpr const char *kLayerTable = "qnt_calibration_layers";
static constexpr const char *kSumsAccessor = "qnt_calibration_sumsq";
static constexpr const char *kMeansAccessor = "qnt_calibration_sum";
static constexpr const char *kRowsAccessor = "qnt_calibration_rows";
static constexpr const char *kInputsBuffer = "qnt_calibration_inputs_buffer";
static constexpr const char *kInputsAddress = "qnt_calibration_inputs_address";
static constexpr const char *kInputsCapacity =
    "qnt_calibration_inputs_capacity";
static constexpr const char *kEnabledBuffer = "qnt_calibration_enabled_buffer";
static constexpr const char *kEnabledSetter = "qnt_calibration_set_enabled";
static constexpr const char *kWeightAddress = "qnt_calibration_weight_address";

namespace {
/// A layer to instrument: where its input is and which of x's dimensions is
/// the reduction dimension K.
struct Site {
  ConstantLinearLayer layer;
  std::string name;
  unsigned kDim;  // dimension of x indexed by K
  int64_t offset; // first channel of the layer in the sums buffer
  int64_t inputsOffset; // first element of the layer's rows x K inputs
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
/// element of x, `rows[layer] += elements / K` and (with `inputsBuffer`) x's
/// rows in f32 at the layer's next free rows of `inputsBuffer` (rows past
/// `capacity` are dropped), inserted before the layer.
static void instrument(OpBuilder &b, const Site &site, int64_t index,
                       memref::GlobalOp sumsBuffer,
                       memref::GlobalOp linearBuffer,
                       memref::GlobalOp rowsBuffer,
                       memref::GlobalOp inputsBuffer, int64_t capacity,
                       memref::GlobalOp enabledBuffer) {
  linalg::LinalgOp op = site.layer.layer.op;
  Location loc = op.getLoc();
  b.setInsertionPoint(op);
  OpBuilder::InsertionGuard guard(b);
  if (enabledBuffer) {
    // Only while the host wants statistics (not while it measures outputs).
    Value flag = memref::GetGlobalOp::create(b, loc, enabledBuffer.getType(),
                                             enabledBuffer.getSymName());
    Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
    Value on = memref::LoadOp::create(b, loc, flag, ValueRange{c0});
    Value zero64 = arith::ConstantIntOp::create(b, loc, 0, 64);
    Value enabled = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, on,
                                          zero64);
    auto ifOp = scf::IfOp::create(b, loc, enabled, /*withElseRegion=*/false);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  }
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
  Value layerIndex = arith::ConstantIndexOp::create(b, loc, index);
  Value oldRows = memref::LoadOp::create(b, loc, rows, ValueRange{layerIndex});
  // Recording: the row of element ivs is oldRows + (ivs without K, as a
  // row-major index over x's other dimensions).
  Value inputs, firstRow, capacityValue, kValue, inputsBase;
  if (inputsBuffer) {
    inputs = memref::GetGlobalOp::create(b, loc, inputsBuffer.getType(),
                                         inputsBuffer.getSymName());
    firstRow = arith::IndexCastOp::create(b, loc, b.getIndexType(), oldRows);
    capacityValue = arith::ConstantIndexOp::create(b, loc, capacity);
    kValue = arith::ConstantIndexOp::create(b, loc, site.layer.layer.k);
    inputsBase = arith::ConstantIndexOp::create(b, loc, site.inputsOffset);
  }
  scf::buildLoopNest(
      b, loc, lbs, ubs, steps,
      [&](OpBuilder &nb, Location loc, ValueRange ivs) {
        Value element = tensor::ExtractOp::create(nb, loc, x, ivs);
        Value v = element;
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
        if (!inputs)
          return;
        Value row = firstRow;
        Value inner = zero;
        for (int64_t d = 0; d < xType.getRank(); ++d)
          if (d != site.kDim)
            inner = nb.createOrFold<arith::AddIOp>(
                loc, nb.createOrFold<arith::MulIOp>(loc, inner, ubs[d]),
                ivs[d]);
        row = nb.createOrFold<arith::AddIOp>(loc, row, inner);
        Value fits = arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::ult,
                                           row, capacityValue);
        auto ifFits = scf::IfOp::create(nb, loc, fits, false);
        OpBuilder tb = OpBuilder::atBlockBegin(ifFits.thenBlock());
        Value f32Value = element;
        Type f32 = tb.getF32Type();
        if (element.getType().getIntOrFloatBitWidth() < 32)
          f32Value = arith::ExtFOp::create(tb, loc, f32, element);
        else if (element.getType() != f32)
          f32Value = arith::TruncFOp::create(tb, loc, f32, element);
        Value slot = arith::AddIOp::create(
            tb, loc, inputsBase,
            arith::AddIOp::create(tb, loc,
                                  arith::MulIOp::create(tb, loc, row, kValue),
                                  ivs[site.kDim]));
        memref::StoreOp::create(tb, loc, f32Value, inputs, ValueRange{slot});
      });
  Value added = arith::IndexCastOp::create(b, loc, b.getI64Type(), rowCount);
  memref::StoreOp::create(b, loc, arith::AddIOp::create(b, loc, oldRows, added),
                          rows, ValueRange{layerIndex});
}

/// Replaces the layer's weight operand by a zero-filled mutable f32 buffer
/// of the operand's shape, read through bufferization.to_tensor.
static memref::GlobalOp makeSwappable(OpBuilder &moduleBuilder, OpBuilder &b,
                                      const Site &site, int64_t index) {
  linalg::LinalgOp op = site.layer.layer.op;
  Location loc = op.getLoc();
  auto operandType = cast<RankedTensorType>(
      op->getOperand(site.layer.layer.weightIndex).getType());
  auto f32Type = RankedTensorType::get(operandType.getShape(),
                                       moduleBuilder.getF32Type());
  auto memrefType = MemRefType::get(operandType.getShape(),
                                    moduleBuilder.getF32Type());
  auto global = memref::GlobalOp::create(
      moduleBuilder, loc, "qnt_calibration_weight_" + std::to_string(index),
      moduleBuilder.getStringAttr("private"), memrefType,
      DenseElementsAttr::get(f32Type, moduleBuilder.getF32FloatAttr(0)),
      /*constant=*/false, moduleBuilder.getI64IntegerAttr(64));
  b.setInsertionPoint(op);
  Value buffer = memref::GetGlobalOp::create(b, loc, memrefType,
                                             global.getSymName());
  Value tensor = bufferization::ToTensorOp::create(b, loc, f32Type, buffer,
                                                   /*restrict=*/true);
  if (operandType.getElementType() != f32Type.getElementType())
    tensor = arith::TruncFOp::create(b, loc, operandType, tensor);
  op->setOperand(site.layer.layer.weightIndex, tensor);
  return global;
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

/// Every layer the quantizer would touch, named as qnt-assign-bitwidths
/// names it (so the statistics file matches its layers), with its offset in
/// the statistics buffers; `table` gets "NAME K" per layer. An error on a
/// layer that cannot be instrumented.
static LogicalResult collectSites(ModuleOp module, SmallVector<Site> &sites,
                                  int64_t &channels, int64_t &inputElements,
                                  int64_t capacity, std::string &table) {
  for (ConstantLinearLayer &c : findConstantLinearLayers(module)) {
    std::string name =
        c.name.empty() ? "layer" + std::to_string(sites.size()) : c.name;
    Operation *op = c.layer.op;
    if (llvm::any_of(name, [](char ch) { return llvm::isSpace(ch); })) {
      op->emitOpError() << "layer name '" << name
                        << "' contains white space, which the calibration "
                           "statistics file cannot hold";
      return failure();
    }
    Value x = c.layer.op.getDpsInputOperand(c.layer.inputIndex)->get();
    auto xType = dyn_cast<RankedTensorType>(x.getType());
    if (!xType || !isa<FloatType>(xType.getElementType()) ||
        xType.getElementType().getIntOrFloatBitWidth() > 64) {
      op->emitOpError() << "cannot instrument layer '" << name
                        << "': its input is not a ranked tensor of floats";
      return failure();
    }
    FailureOr<unsigned> kDim = inputChannelDim(c.layer);
    if (failed(kDim)) {
      op->emitOpError() << "cannot instrument layer '" << name
                        << "': its input is not indexed by K alone in one "
                           "dimension";
      return failure();
    }
    sites.push_back({c, name, *kDim, channels, inputElements});
    channels += c.layer.k;
    inputElements += capacity * c.layer.k;
    table += name + " " + std::to_string(c.layer.k) + "\n";
  }

  return success();
}

namespace {
/// The globals the instrumented layers update.
struct StatisticsBuffers {
  memref::GlobalOp sums, linear, rows, inputs, enabled;
};
} // namespace

/// The buffers, the layer table and the accessors. A model without linear
/// layers still gets them (empty), so the host's protocol is the same.
static StatisticsBuffers buildBuffers(ModuleOp module, OpBuilder &b,
                                      size_t layers, int64_t channels,
                                      int64_t inputElements, int64_t capacity,
                                      const std::string &table,
                                      bool swappableWeights) {
  b.setInsertionPointToStart(module.getBody());
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
  memref::GlobalOp rows = zeroBuffer(kRowsBuffer, std::max<int64_t>(layers, 1),
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

  memref::GlobalOp inputs, enabled;
  if (capacity > 0 || swappableWeights) {
    b.setInsertionPointToStart(module.getBody());
    enabled = zeroBuffer(kEnabledBuffer, 1, b.getIntegerAttr(i64, 1));
    b.setInsertionPointToEnd(module.getBody());
    auto setter = func::FuncOp::create(b, loc, kEnabledSetter,
                                       b.getFunctionType({i64}, {}));
    OpBuilder::InsertionGuard guard(b);
    Block *body = setter.addEntryBlock();
    b.setInsertionPointToStart(body);
    Value global = memref::GetGlobalOp::create(b, loc, enabled.getType(),
                                               enabled.getSymName());
    Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
    memref::StoreOp::create(b, loc, body->getArgument(0), global,
                            ValueRange{c0});
    func::ReturnOp::create(b, loc);
  }
  if (capacity > 0) {
    b.setInsertionPointToStart(module.getBody());
    inputs = zeroBuffer(kInputsBuffer, std::max<int64_t>(inputElements, 1),
                        b.getF32FloatAttr(0));
    b.setInsertionPointToEnd(module.getBody());
    // @qnt_calibration_inputs_address() -> i64: the buffer's aligned
    // address; @qnt_calibration_inputs_capacity() -> i64: rows per layer.
    auto address = func::FuncOp::create(b, loc, kInputsAddress,
                                        b.getFunctionType({}, {i64}));
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(address.addEntryBlock());
      Value m = memref::GetGlobalOp::create(b, loc, inputs.getType(),
                                            inputs.getSymName());
      Value p = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, m);
      func::ReturnOp::create(
          b, loc, ValueRange{arith::IndexCastOp::create(b, loc, i64, p)});
    }
    auto rowsPerLayer = func::FuncOp::create(b, loc, kInputsCapacity,
                                             b.getFunctionType({}, {i64}));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(rowsPerLayer.addEntryBlock());
    func::ReturnOp::create(
        b, loc, ValueRange{arith::ConstantIntOp::create(b, loc, capacity, 64)});
  }

  return {sums, linear, rows, inputs, enabled};
}

/// The weights become buffers the host fills (swappable-weights); the
/// constants go when unused. Adds @qnt_calibration_weight_address.
static void makeWeightsSwappable(ModuleOp module, OpBuilder &b,
                                 SmallVector<Site> &sites) {
  Location loc = module.getLoc();
  Type i64 = b.getI64Type();
  OpBuilder moduleBuilder = OpBuilder::atBlockBegin(module.getBody());
  SmallVector<memref::GlobalOp> weights;
  for (auto [i, site] : llvm::enumerate(sites))
    weights.push_back(makeSwappable(moduleBuilder, b, site, i));
  for (Site &site : sites) {
    if (site.layer.widen && site.layer.widen->use_empty())
      site.layer.widen->erase();
    site.layer.widen = {};
  }
  for (Site &site : sites)
    if (site.layer.weight && site.layer.weight->use_empty()) {
      Operation *weight = site.layer.weight;
      for (Site &other : sites)
        if (other.layer.weight == weight)
          other.layer.weight = {};
      weight->erase();
    }
  // @qnt_calibration_weight_address(%layer: index) -> i64: the aligned
  // address of layer %layer's buffer (0 for any other %layer).
  b.setInsertionPointToEnd(module.getBody());
  auto address = func::FuncOp::create(
      b, loc, kWeightAddress, b.getFunctionType({b.getIndexType()}, {i64}));
  Block *body = address.addEntryBlock();
  b.setInsertionPointToStart(body);
  SmallVector<int64_t> cases;
  for (int64_t i = 0; i < static_cast<int64_t>(weights.size()); ++i)
    cases.push_back(i);
  auto sw = scf::IndexSwitchOp::create(
      b, loc, TypeRange{i64}, body->getArgument(0), cases, cases.size());
  {
    Block &d = sw.getDefaultRegion().emplaceBlock();
    b.setInsertionPointToStart(&d);
    scf::YieldOp::create(
        b, loc, ValueRange{arith::ConstantIntOp::create(b, loc, 0, 64)});
  }
  for (auto [i, global] : llvm::enumerate(weights)) {
    Block &c = sw.getCaseRegions()[i].emplaceBlock();
    b.setInsertionPointToStart(&c);
    Value m = memref::GetGlobalOp::create(b, loc, global.getType(),
                                          global.getSymName());
    Value p = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, m);
    scf::YieldOp::create(
        b, loc, ValueRange{arith::IndexCastOp::create(b, loc, i64, p)});
  }
  b.setInsertionPointToEnd(body);
  func::ReturnOp::create(b, loc, sw.getResults());
}

void InstrumentCalibration::runOnOperation() {
  ModuleOp module = getOperation();
  for (const char *symbol :
       {kSumsBuffer, kMeansBuffer, kRowsBuffer, kLayerTable, kSumsAccessor,
        kMeansAccessor, kRowsAccessor, kInputsBuffer, kInputsAddress,
        kInputsCapacity, kEnabledBuffer, kEnabledSetter, kWeightAddress})
    if (module.lookupSymbol(symbol)) {
      emitError(module.getLoc())
          << "qnt-instrument-calibration: the module already defines '"
          << symbol << "' (instrumented twice?)";
      return signalPassFailure();
    }

  SmallVector<Site> sites;
  if (recordRows < 0 || recordRows > (int64_t(1) << 32)) {
    emitError(module.getLoc())
        << "qnt-instrument-calibration option record-rows="
        << static_cast<int64_t>(recordRows)
        << " is out of range [0, 4294967296]";
    return signalPassFailure();
  }
  int64_t channels = 0, inputElements = 0;
  std::string table;
  if (failed(collectSites(module, sites, channels, inputElements, recordRows,
                          table)))
    return signalPassFailure();
  OpBuilder b(module.getContext());
  StatisticsBuffers buffers =
      buildBuffers(module, b, sites.size(), channels, inputElements, recordRows,
                   table, swappableWeights);
  for (auto [i, site] : llvm::enumerate(sites))
    instrument(b, site, i, buffers.sums, buffers.linear, buffers.rows,
               buffers.inputs, recordRows, buffers.enabled);
  if (swappableWeights)
    makeWeightsSwappable(module, b, sites);
}
