// qnt-quantize-weights: float weight constants of linear layers become packed
// qnt.constant + qnt.dequantize.
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "qnt/IR/QntOps.h"
#include "qnt/Support/Gptq.h"
#include "qnt/Support/Packing.h"
#include "qnt/Support/Quantizer.h"
#include "qnt/Transforms/LinearLayer.h"
#include "qnt/Transforms/Passes.h"
#include "qnt/Transforms/Transforms.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"
#include <chrono>
#include <cstring>

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTQUANTIZEWEIGHTSPASS
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;
using namespace mlir::qnt;

namespace {


/// Makes a resource-backed attribute of `type` holding `bytes`.
static DenseResourceElementsAttr makeBlob(ShapedType type, StringRef name,
                                          ArrayRef<char> bytes) {
  AsmResourceBlob blob =
      HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, alignof(uint64_t));
  return DenseResourceElementsAttr::get(type, name, std::move(blob));
}

/// The same payload viewed with another static shape of as many elements.
static ElementsAttr reshapeElements(ElementsAttr attr, ShapedType type) {
  if (auto dense = dyn_cast<DenseElementsAttr>(attr))
    return dense.reshape(type);
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr))
    return DenseResourceElementsAttr::get(type, resource.getRawHandle());
  return {};
}

/// tosa.matmul [1, M, K] x [1, K, N] with a float constant right operand
/// becomes a linalg.matmul on [M, K] x [K, N] between reshapes, so the
/// linear-layer path below quantizes its weight like any other.
static void rewriteTosaMatmuls(ModuleOp module) {
  SmallVector<tosa::MatMulOp> matmuls;
  module.walk([&](tosa::MatMulOp op) { matmuls.push_back(op); });
  for (tosa::MatMulOp op : matmuls) {
    auto aType = cast<RankedTensorType>(op.getA().getType());
    auto bType = cast<RankedTensorType>(op.getB().getType());
    auto outType = cast<RankedTensorType>(op.getType());
    if (!aType.hasStaticShape() || !bType.hasStaticShape() ||
        aType.getDimSize(0) != 1 || bType.getDimSize(0) != 1 ||
        !isa<FloatType>(bType.getElementType()) ||
        aType.getElementType() != outType.getElementType())
      continue;
    ElementsAttr weights;
    if (auto c = op.getB().getDefiningOp<arith::ConstantOp>())
      weights = dyn_cast<ElementsAttr>(c.getValue());
    else if (auto c = op.getB().getDefiningOp<tosa::ConstOp>())
      weights = c.getValues();
    if (!weights)
      continue;
    int64_t m = aType.getDimSize(1), k = aType.getDimSize(2),
            n = bType.getDimSize(2);
    Type elem = bType.getElementType();
    ElementsAttr reshaped =
        reshapeElements(weights, RankedTensorType::get({k, n}, elem));
    if (!reshaped)
      continue;
    OpBuilder b(op);
    Location loc = op.getLoc();
    SmallVector<ReassociationIndices> collapse = {{0, 1}, {2}};
    Value a = tensor::CollapseShapeOp::create(b, loc, op.getA(), collapse);
    Value w = arith::ConstantOp::create(b, loc, cast<TypedAttr>(reshaped));
    Type outElem = outType.getElementType();
    Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(outElem));
    Value empty =
        tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{m, n}, outElem);
    Value init = linalg::FillOp::create(b, loc, zero, empty).getResult(0);
    Value product =
        linalg::MatmulOp::create(b, loc, ValueRange{a, w}, ValueRange{init})
            .getResult(0);
    Value result = tensor::ExpandShapeOp::create(b, loc, outType, product,
                                                 collapse);
    Operation *weightOp = op.getB().getDefiningOp();
    op.replaceAllUsesWith(result);
    op.erase();
    if (weightOp->use_empty())
      weightOp->erase();
  }
}

/// The scheme format of a quantizer format other than Int.
static Format schemeFormatOf(ElementFormat format) {
  switch (format) {
  case ElementFormat::F8E4M3FN:
    return Format::f8E4M3FN;
  case ElementFormat::F8E5M2:
    return Format::f8E5M2;
  case ElementFormat::F4E2M1FN:
    return Format::f4E2M1FN;
  case ElementFormat::NF4:
    return Format::nf4;
  case ElementFormat::Lut4:
    return Format::lut4;
  case ElementFormat::Int:
    break;
  }
  return Format::si;
}

/// A gather of rows of a constant table at clamped ids, as quant-import
/// emits the token embedding: a linalg.generic from ids [T] x i32 to [T, K]
/// whose body yields tensor.extract %table[min(max(index_cast(id), 0),
/// N - 1), linalg.index 1] of a float arith.constant [N, K].
struct EmbeddingGather {
  linalg::GenericOp op;
  arith::ConstantOp table;
};

struct QuantizeWeights final
    : qnt::impl::QntQuantizeWeightsPassBase<QuantizeWeights> {
  using Base::Base;
  QuantizeWeights(const QntQuantizeWeightsPassOptions &options,
                  HessianSource source,
                  std::function<void(const std::string &)> progress)
      : Base(options), hessianSource(std::move(source)),
        progress(std::move(progress)) {}
  /// Checks the options before any pass of the pipeline runs.
  LogicalResult initialize(MLIRContext *context) override;
  void runOnOperation() override;

  /// method=gptq: the Hessians of the layers' inputs, by layer name (from
  /// the file of `hessians`, or given by the creator).
  HessianSource hessianSource;
  /// The factor of the last Hessian, for the next layers that share it.
  std::shared_ptr<const std::vector<double>> factoredHessian;
  GptqFactor factor;
  /// Progress lines, when the creator wants them; seconds spent forming
  /// and factoring Hessians, and rounding.
  std::function<void(const std::string &)> progress;
  double hessianSeconds = 0, roundingSeconds = 0;
  int64_t factored = 0;

  /// Packs one weight under `scheme`; returns the qnt.constant's attributes.
  LogicalResult quantizeWeight(Operation *layer, const float *rowsNK,
                               int64_t n, int64_t k, SchemeAttr scheme,
                               StringRef name, OpBuilder &builder,
                               Value &packed, StringRef hessianKey = {});

  /// The layers' dequantized weights, by (constant, [K, N] layout, scheme).
  using PackedWeights =
      llvm::DenseMap<std::tuple<Operation *, unsigned, Attribute>, Value>;
  /// The scheme of the options, with `codeBits` codes, for a [., k] weight;
  /// `integer` for the token embedding, which stays an integer format.
  SchemeAttr optionScheme(unsigned codeBits, int64_t k, bool integer = true);
  /// The scheme of layer `c` named `name`: the cost model's, else the
  /// options' (the embedding's when `tied` to it), with a warning where the
  /// options' groups or blocks do not fit K.
  SchemeAttr layerScheme(const ConstantLinearLayer &c, StringRef name,
                         bool tied);
  /// Packs the linear layers' weights (one per key of `done`) and gives the
  /// layers their dequantized weights.
  LogicalResult quantizeLayers(SmallVectorImpl<ConstantLinearLayer> &candidates,
                               const llvm::SmallPtrSetImpl<Operation *> &tables,
                               PackedWeights &done);
  /// Replaces the embedding gathers by qnt.gather_rows of packed tables
  /// (a tied classifier's when it has one); the float tables go to
  /// `tables`.
  LogicalResult quantizeEmbeddings(ArrayRef<EmbeddingGather> gathers,
                                   const PackedWeights &done,
                                   llvm::SetVector<Operation *> &tables);
  /// A progress line every 5 seconds, `layersDone` of `layers`.
  void reportProgress(int64_t layersDone, size_t layers);
  double secondsSoFar() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start)
        .count();
  }
  std::chrono::steady_clock::time_point start, lastReport;
  int64_t packedWeights = 0;
};

LogicalResult QuantizeWeights::quantizeWeight(Operation *layer,
                                              const float *rowsNK, int64_t n,
                                              int64_t k, SchemeAttr scheme,
                                              StringRef name,
                                              OpBuilder &builder,
                                              Value &packed,
                                              StringRef hessianKey) {
  QuantOptions options;
  options.format = getElementFormat(scheme.getFormat());
  options.bits = scheme.getBits();
  options.symmetric = !scheme.hasZeroPoints();
  options.perTensor = scheme.getGranularity() == Granularity::per_tensor;
  options.groupSize = scheme.getGranularity() == Granularity::per_group
                          ? scheme.getGroupSize()
                          : 0;
  options.scaleFormat = scaleFormatOf(scheme.getScaleType());
  options.clipSearch = clipSearch;
  // lut4: the scheme's codebook (NF4's until the quantizer learns one) is
  // where the learning starts.
  if (scheme.getFormat() == Format::lut4)
    options.codebook = scheme.getCodebook().asArrayRef().data();
  // Rows are split across all cores; the result does not depend on it.
  options.numThreads = 0;
  QuantizedMatrix q;
  std::string error;
  if (!hessianKey.empty()) {
    auto start = std::chrono::steady_clock::now();
    std::shared_ptr<const std::vector<double>> hessian;
    std::string where = hessians.empty() ? std::string("the calibration")
                                         : "'" + hessians + "'";
    if (std::string e = hessianSource(hessianKey.str(), hessian); !e.empty())
      return layer->emitOpError()
             << "layer '" << hessianKey << "' has no Hessian in " << where
             << " for method=gptq: " << e;
    if (static_cast<int64_t>(hessian->size()) != k * k)
      return layer->emitOpError()
             << "the Hessian of layer '" << name << "' in " << where
             << " is not " << k << "x" << k << " (K = " << k << ")";
    GptqOptions gptq;
    gptq.dampening = gptqDampening;
    gptq.activationOrder = actOrder;
    if (hessian != factoredHessian) {
      factoredHessian = nullptr;
      error = gptqFactorHessian(hessian->data(), k, gptq, factor);
      if (error.empty())
        factoredHessian = hessian;
      ++factored;
    }
    auto rounding = std::chrono::steady_clock::now();
    hessianSeconds += std::chrono::duration<double>(rounding - start).count();
    if (error.empty())
      error = gptqQuantizeMatrix(rowsNK, n, k, options, factor, q);
    roundingSeconds += std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - rounding)
                           .count();
  } else {
    error = quantizeMatrix(rowsNK, n, k, options, q);
  }
  if (!error.empty())
    return layer->emitOpError() << "cannot quantize the weight of layer '"
                                << name << "': " << error;

  // nvfp4's tensor scale and lut4's codebook are the quantizer's choice;
  // the type carries them.
  std::optional<WeightFormat> block = fp4BlockFormat(options.scaleFormat);
  bool tensorScale = block && block->tensorScale;
  if (tensorScale || !q.codebook.empty())
    scheme = SchemeAttr::get(
        builder.getContext(), scheme.getFormat(), scheme.getBits(),
        scheme.getMode(), scheme.getGranularity(), scheme.getAxis(),
        scheme.getGroupSize(), scheme.getScaleType(),
        tensorScale ? builder.getF32FloatAttr(q.tensorScale) : FloatAttr(),
        q.codebook.empty() ? DenseF32ArrayAttr()
                           : builder.getDenseF32ArrayAttr(q.codebook));
  auto type = PackedType::get(builder.getContext(), {n, k}, scheme);
  SmallVector<int64_t> codesShape = type.getCodesShape();
  SmallVector<int64_t> scalesShape = type.getScalesShape();
  int64_t rowBytes = codesShape.back();
  std::vector<char> codeBytes(n * rowBytes);
  for (int64_t r = 0; r < n; ++r) {
    auto *out = reinterpret_cast<uint8_t *>(codeBytes.data() + r * rowBytes);
    if (scheme.isSigned())
      packSigned(q.signedCodes.data() + r * k, k, scheme.getBits(), out);
    else
      packUnsigned(q.unsignedCodes.data() + r * k, k, scheme.getBits(), out);
  }

  // Scales in the scheme's type (the quantizer already rounded them to it).
  std::vector<char> scaleBytes;
  Type scaleType = scheme.getScaleType();
  for (float s : q.scales) {
    if (fp4BlockFormat(options.scaleFormat)) {
      scaleBytes.push_back(
          static_cast<char>(encodeBlockScale(options.scaleFormat, s)));
      continue;
    }
    if (scaleType.isF32()) {
      const char *p = reinterpret_cast<const char *>(&s);
      scaleBytes.insert(scaleBytes.end(), p, p + 4);
      continue;
    }
    uint16_t bits16 =
        scaleType.isF16() ? halfBitsFromFloat(s) : bf16BitsFromFloat(s);
    const char *p = reinterpret_cast<const char *>(&bits16);
    scaleBytes.insert(scaleBytes.end(), p, p + 2);
  }

  MLIRContext *ctx = builder.getContext();
  auto codesAttr = makeBlob(
      RankedTensorType::get(codesShape, IntegerType::get(ctx, 8)),
      (name + ".codes").str(), codeBytes);
  auto scalesAttr = makeBlob(RankedTensorType::get(scalesShape, scaleType),
                             (name + ".scales").str(), scaleBytes);
  ElementsAttr zeroPointsAttr;
  if (scheme.hasZeroPoints()) {
    std::vector<char> zpBytes;
    for (int32_t zp : q.zeroPoints)
      zpBytes.push_back(static_cast<char>(zp));
    zeroPointsAttr = makeBlob(
        RankedTensorType::get(scalesShape, type.getZeroPointType()),
        (name + ".zero_points").str(), zpBytes);
  }
  packed = ConstantOp::create(builder, layer->getLoc(), type, codesAttr,
                              scalesAttr, zeroPointsAttr, ElementsAttr());
  return success();
}

static std::optional<EmbeddingGather> matchEmbeddingGather(
    linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 1 || op.getNumDpsInits() != 1)
    return std::nullopt;
  auto ids = dyn_cast<RankedTensorType>(op.getDpsInputs()[0].getType());
  auto out = dyn_cast<RankedTensorType>(op.getResult(0).getType());
  if (!ids || !out || ids.getRank() != 1 || !ids.getElementType().isInteger(32) ||
      out.getRank() != 2 || !out.getElementType().isF32())
    return std::nullopt;
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto extract = yield.getValues()[0].getDefiningOp<tensor::ExtractOp>();
  if (!extract || extract->getBlock() != &body)
    return std::nullopt;
  auto table = extract.getTensor().getDefiningOp<arith::ConstantOp>();
  auto tableType =
      table ? dyn_cast<RankedTensorType>(table.getType()) : RankedTensorType();
  if (!tableType || tableType.getRank() != 2 ||
      !tableType.getElementType().isF32() ||
      tableType.getDimSize(1) != out.getDimSize(1))
    return std::nullopt;
  auto column = extract.getIndices()[1].getDefiningOp<linalg::IndexOp>();
  if (!column || column.getDim() != 1)
    return std::nullopt;
  auto isIndex = [](Value v, int64_t c) {
    std::optional<int64_t> k = getConstantIntValue(v);
    return k && *k == c;
  };
  auto upper = extract.getIndices()[0].getDefiningOp<arith::MinSIOp>();
  if (!upper || !isIndex(upper.getRhs(), tableType.getDimSize(0) - 1))
    return std::nullopt;
  auto lower = upper.getLhs().getDefiningOp<arith::MaxSIOp>();
  if (!lower || !isIndex(lower.getRhs(), 0))
    return std::nullopt;
  auto cast = lower.getLhs().getDefiningOp<arith::IndexCastOp>();
  if (!cast || cast.getIn() != body.getArgument(0))
    return std::nullopt;
  return EmbeddingGather{op, table};
}

LogicalResult QuantizeWeights::initialize(MLIRContext *context) {
  auto error = [&]() {
    return emitError(UnknownLoc::get(context))
           << "qnt-quantize-weights option ";
  };
  for (auto [name, value] : {std::pair<StringRef, int64_t>("bits", bits),
                              {"embedding-bits", embeddingBits}})
    if (std::string e =
            checkSchemeOptions("qnt-quantize-weights", {value}, {name});
        !e.empty())
      return emitError(UnknownLoc::get(context)) << e;
  if (std::string e =
          checkSchemeOptions("qnt-quantize-weights", {std::nullopt, groupSize});
      !e.empty())
    return emitError(UnknownLoc::get(context)) << e;
  if (minElements < 0)
    return error() << "min-elements=" << static_cast<int64_t>(minElements)
                   << " must be 0 or more";
  if (std::string e = checkSchemeOptions(
          "qnt-quantize-weights", {std::nullopt, std::nullopt, scaleType});
      !e.empty())
    return emitError(UnknownLoc::get(context)) << e;
  if (method != "rtn" && method != "gptq")
    return error() << "method=" << method << " must be rtn or gptq";
  std::optional<WeightFormat> weightFormat = parseWeightFormat(format);
  if (!weightFormat)
    return error() << "format=" << format << " must be " << kWeightFormatNames;
  if (weightFormat->isBlockFormat()) {
    // The format fixes the blocks and their scales.
    if (groupSize.hasValue() && groupSize != weightFormat->blockSize)
      return error() << "group-size=" << static_cast<int64_t>(groupSize)
                     << " does not fit format=" << format
                     << ", whose blocks are " << weightFormat->blockSize
                     << " elements";
    if (scaleType != "f32")
      return error() << "scale-type=" << scaleType
                     << " does not fit format=" << format
                     << ", whose block scales are "
                     << scaleFormatName(weightFormat->blockScale);
  }
  if (weightFormat->element != ElementFormat::Int && !symmetric)
    return error() << "format=" << format
                   << " is symmetric only (symmetric=false needs format=int)";
  if (weightFormat->element != ElementFormat::Int && method == "gptq")
    return error() << "method=gptq rounds to integer grids only, not format="
                   << format;
  if ((method == "gptq") != (!hessians.empty() || hessianSource) ||
      (!hessians.empty() && hessianSource))
    return error() << "hessians gives the inputs' Hessians that method=gptq "
                      "needs (and only it)";
  if (!(gptqDampening >= 0 && gptqDampening <= 1e6))
    return error() << "gptq-dampening=" << gptqDampening
                   << " is out of range [0, 1e6]";
  if (method == "gptq" && !hessians.empty()) {
    auto file = std::make_shared<std::map<std::string, std::vector<double>>>();
    if (std::string e = readHessianFile(hessians, *file); !e.empty())
      return emitError(UnknownLoc::get(context)) << e;
    hessianSource = [file](const std::string &layer,
                           std::shared_ptr<const std::vector<double>> &out) {
      auto it = file->find(layer);
      if (it == file->end())
        return std::string("none of that name");
      // Shares the map's ownership.
      out = std::shared_ptr<const std::vector<double>>(file, &it->second);
      return std::string();
    };
  }
  return success();
}

SchemeAttr QuantizeWeights::optionScheme(unsigned codeBits, int64_t k,
                                         bool integer) {
  MLIRContext *ctx = &getContext();
  Type scaleElem = parseScaleType(ctx, scaleType);
  WeightFormat formatOption = *parseWeightFormat(format);
  int64_t g = groupSize > 0 && k % groupSize == 0 ? groupSize : 0;
  if (!integer && formatOption.element != ElementFormat::Int)
    return weightFormatScheme(ctx, formatOption, g, scaleElem);
  return SchemeAttr::get(ctx, symmetric ? Format::si : Format::ui, codeBits,
                         symmetric ? Mode::symmetric : Mode::asymmetric,
                         g > 0 ? Granularity::per_group
                               : Granularity::per_channel,
                         g > 0 ? 1 : 0, g, scaleElem);
}

SchemeAttr QuantizeWeights::layerScheme(const ConstantLinearLayer &c,
                                        StringRef name, bool tied) {
  Operation *op = c.layer.op;
  // A scheme chosen for this layer (by the cost model) wins over options.
  if (auto scheme = op->getAttrOfType<SchemeAttr>("qnt.scheme"))
    return scheme;
  WeightFormat formatOption = *parseWeightFormat(format);
  int64_t k = c.layer.k;
  bool partialBlocks = formatOption.isBlockFormat() && !tied &&
                       k % formatOption.blockSize != 0;
  if (partialBlocks) {
    // As for integer groups that do not divide K: the nearest scheme of as
    // many bits that fits, int4 with one scale per channel.
    op->emitWarning() << "layer '" << name << "': K = " << k
                      << " is not a multiple of the blocks of "
                      << blockFormatName(formatOption) << " ("
                      << formatOption.blockSize
                      << " elements); using int4 with one scale per "
                         "output channel";
    return SchemeAttr::get(&getContext(), Format::si, 4, Mode::symmetric,
                           Granularity::per_channel, 0, 0,
                           parseScaleType(&getContext(), scaleType));
  }
  if (groupSize > 0 && k % groupSize != 0 && !formatOption.isBlockFormat())
    op->emitWarning() << "layer '" << name << "': group size "
                      << int64_t(groupSize) << " does not divide K = " << k
                      << "; using one scale per output channel";
  // A classifier tied to the embedding shares its packed table.
  return tied ? optionScheme(embeddingBits, k)
              : optionScheme(bits, k, /*integer=*/false);
}

void QuantizeWeights::reportProgress(int64_t layersDone, size_t layers) {
  auto now = std::chrono::steady_clock::now();
  if (!progress || std::chrono::duration<double>(now - lastReport).count() < 5)
    return;
  lastReport = now;
  progress(llvm::formatv("qnt-quantize-weights: {0}/{1} layers, {2} weights "
                         "packed in {3:f1} s",
                         layersDone, layers, packedWeights, secondsSoFar())
               .str());
}

LogicalResult QuantizeWeights::quantizeLayers(
    SmallVectorImpl<ConstantLinearLayer> &candidates,
    const llvm::SmallPtrSetImpl<Operation *> &tables, PackedWeights &done) {
  unsigned counter = 0;
  for (ConstantLinearLayer &c : candidates) {
    reportProgress(&c - candidates.begin(), candidates.size());
    Operation *op = c.layer.op;
    std::string name = c.name;
    std::string opName = op->getName().getStringRef().str();
    if (llvm::any_of(skip, [&](const std::string &pattern) {
          return StringRef(name).contains(pattern) ||
                 StringRef(opName).contains(pattern);
        }))
      continue;
    if (!only.empty() && !llvm::is_contained(only, name))
      continue;
    int64_t n = c.layer.n, k = c.layer.k;
    // The cost model keeps some layers in float.
    if (n * k < minElements || op->hasAttr("qnt.keep_float"))
      continue;
    if (name.empty())
      name = "weight" + std::to_string(counter);
    ++counter;

    SchemeAttr scheme = layerScheme(
        c, name, tables.contains(c.weight) && !c.layer.weightIsKN);
    if (scheme.isInteger() && scheme.isSigned() == scheme.hasZeroPoints())
      return op->emitOpError()
             << "layer '" << name
             << "': qnt-quantize-weights makes signed symmetric or unsigned "
                "asymmetric codes, not "
             << scheme;
    auto packedType = PackedType::getChecked(
        [&] { return op->emitOpError() << "layer '" << name << "': "; },
        &getContext(), ArrayRef<int64_t>{n, k}, scheme);
    if (!packedType)
      return failure();

    auto key = std::make_tuple(c.weight.getOperation(),
                               static_cast<unsigned>(c.layer.weightIsKN),
                               Attribute(scheme));
    Value weightTensor = done.lookup(key);
    if (!weightTensor) {
      std::vector<float> owned;
      const float *rows = nullptr;
      if (std::string error = readWeightRows(c, owned, rows); !error.empty())
        return op->emitOpError()
               << "cannot read the weight of layer '" << name << "': " << error;
      OpBuilder builder(op);
      builder.setInsertionPointAfter(c.weight);
      Value packed;
      // Named as qnt-instrument-calibration names the layers.
      std::string hessianKey =
          method != "gptq" ? std::string()
          : c.name.empty() ? "layer" + std::to_string(&c - candidates.begin())
                           : c.name;
      if (failed(quantizeWeight(op, rows, n, k, scheme, name, builder, packed,
                                hessianKey)))
        return failure();
      ++packedWeights;
      // The layer's operand type: f32 also when the constant is f16/bf16
      // widened by arith.extf.
      auto weightType = cast<RankedTensorType>(
          op->getOperand(c.layer.weightIndex).getType());
      Type elem = weightType.getElementType();
      Location loc = op->getLoc();
      weightTensor = DequantizeOp::create(
          builder, loc, RankedTensorType::get({n, k}, elem), packed);
      if (c.layer.weightIsKN) {
        Value init =
            tensor::EmptyOp::create(builder, loc, ArrayRef<int64_t>{k, n}, elem);
        weightTensor = linalg::TransposeOp::create(builder, loc, weightTensor,
                                                   init,
                                                   ArrayRef<int64_t>{1, 0})
                           ->getResult(0);
      }
      done[key] = weightTensor;
    }
    op->setOperand(c.layer.weightIndex, weightTensor);
  }
  return success();
}

LogicalResult QuantizeWeights::quantizeEmbeddings(
    ArrayRef<EmbeddingGather> gathers, const PackedWeights &done,
    llvm::SetVector<Operation *> &tables) {
  for (EmbeddingGather g : gathers) {
    auto tableType = cast<RankedTensorType>(g.table.getType());
    int64_t n = tableType.getDimSize(0), k = tableType.getDimSize(1);
    SchemeAttr scheme = optionScheme(embeddingBits, k);
    auto key = std::make_tuple(g.table.getOperation(), 0u, Attribute(scheme));
    Value packed;
    if (Value shared = done.lookup(key)) {
      packed = shared.getDefiningOp<DequantizeOp>().getInput();
    } else {
      ConstantLinearLayer rows;
      rows.weight = g.table;
      rows.layer.op = g.op;
      rows.layer.weightIsKN = false;
      rows.layer.n = n;
      rows.layer.k = k;
      std::vector<float> owned;
      const float *data = nullptr;
      if (std::string error = readWeightRows(rows, owned, data);
          !error.empty())
        return g.op.emitOpError()
               << "cannot read the token embedding: " << error;
      OpBuilder builder(g.table->getContext());
      builder.setInsertionPointAfter(g.table);
      if (failed(quantizeWeight(g.op, data, n, k, scheme, "token_embedding",
                                builder, packed)))
        return failure();
    }
    OpBuilder builder(g.op);
    Value gathered =
        GatherRowsOp::create(builder, g.op.getLoc(),
                             g.op.getResult(0).getType(), packed,
                             g.op.getDpsInputs()[0]);
    g.op.getResult(0).replaceAllUsesWith(gathered);
    g.op.erase();
    tables.insert(g.table);
  }
  return success();
}

void QuantizeWeights::runOnOperation() {
  ModuleOp module = getOperation();
  rewriteTosaMatmuls(module);

  // Collect the layers first: rewriting while walking would revisit them.
  SmallVector<ConstantLinearLayer> candidates = findConstantLinearLayers(module);
  SmallVector<EmbeddingGather> gathers;
  llvm::SmallPtrSet<Operation *, 2> tables;
  if (embedding)
    module.walk([&](linalg::GenericOp op) {
      if (std::optional<EmbeddingGather> g = matchEmbeddingGather(op)) {
        gathers.push_back(*g);
        tables.insert(g->table);
      }
    });

  start = lastReport = std::chrono::steady_clock::now();
  packedWeights = 0;
  if (progress)
    progress(llvm::formatv("qnt-quantize-weights: {0} linear layers{1}",
                           candidates.size(), method == "gptq" ? " (GPTQ)" : "")
                 .str());
  // One packed weight per (constant, layout, scheme), shared by its users.
  PackedWeights done;
  llvm::SetVector<Operation *> weights;
  if (failed(quantizeLayers(candidates, tables, done)) ||
      failed(quantizeEmbeddings(gathers, done, weights)))
    return signalPassFailure();
  if (progress)
    progress(llvm::formatv("qnt-quantize-weights: {0} weights packed in {1:f1} "
                           "s{2}",
                           packedWeights, secondsSoFar(),
                           method == "gptq"
                               ? llvm::formatv(" (GPTQ: {0} Hessians formed "
                                               "and factored in {1:f1} s, "
                                               "rounding {2:f1} s)",
                                               factored, hessianSeconds,
                                               roundingSeconds)
                                     .str()
                               : std::string())
                 .str());
  // Float weights nobody reads any more are dropped (their widening casts
  // first).
  llvm::SetVector<Operation *> widens;
  for (ConstantLinearLayer &c : candidates) {
    if (c.widen)
      widens.insert(c.widen);
    weights.insert(c.weight);
  }
  for (Operation *widen : widens)
    if (widen->use_empty())
      widen->erase();
  for (Operation *weight : weights)
    if (weight->use_empty())
      weight->erase();
}

} // namespace

Value qnt::buildRowGather(OpBuilder &b, Location loc, Value table, Value ids,
                          Value rows) {
  auto tableType = cast<RankedTensorType>(table.getType());
  int64_t vocab = tableType.getDimSize(0), dim = tableType.getDimSize(1);
  MLIRContext *ctx = b.getContext();
  AffineExpr r, j;
  bindDims(ctx, r, j);
  auto outType =
      RankedTensorType::get({ShapedType::kDynamic, dim}, b.getF32Type());
  Value init = tensor::EmptyOp::create(b, loc, outType.getShape(),
                                       b.getF32Type(), ValueRange{rows});
  return linalg::GenericOp::create(
             b, loc, TypeRange{outType}, ValueRange{ids}, ValueRange{init},
             ArrayRef<AffineMap>{AffineMap::get(2, 0, {r}, ctx),
                                 AffineMap::get(2, 0, {r, j}, ctx)},
             ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                           utils::IteratorType::parallel},
             [&](OpBuilder &ob, Location bodyLoc, ValueRange a) {
               ImplicitLocOpBuilder ib(bodyLoc, ob);
               Value id =
                   arith::IndexCastOp::create(ib, ib.getIndexType(), a[0]);
               id = arith::MaxSIOp::create(
                   ib, id, arith::ConstantIndexOp::create(ib, 0));
               id = arith::MinSIOp::create(
                   ib, id, arith::ConstantIndexOp::create(ib, vocab - 1));
               linalg::YieldOp::create(
                   ib, ValueRange{tensor::ExtractOp::create(
                           ib, table,
                           ValueRange{id, linalg::IndexOp::create(ib, 1)})});
             })
      .getResult(0);
}

std::unique_ptr<Pass> mlir::qnt::createQntQuantizeWeightsPass(
    const QntQuantizeWeightsPassOptions &options, HessianSource hessians,
    std::function<void(const std::string &)> progress) {
  return std::make_unique<QuantizeWeights>(options, std::move(hessians),
                                           std::move(progress));
}

SchemeAttr qnt::weightFormatScheme(MLIRContext *ctx,
                                   const WeightFormat &format, int64_t group,
                                   Type scaleType) {
  if (format.isBlockFormat())
    return SchemeAttr::get(ctx, Format::f4E2M1FN, 4, Mode::symmetric,
                           Granularity::per_group, 1, format.blockSize,
                           getScaleType(ctx, format.blockScale));
  // lut4 starts from NF4's values; the quantizer puts the learned ones in.
  DenseF32ArrayAttr codebook;
  if (format.element == ElementFormat::Lut4)
    codebook = DenseF32ArrayAttr::get(ctx, ArrayRef<float>(kNf4Values, 16));
  return SchemeAttr::get(
      ctx, schemeFormatOf(format.element), elementFormatBits(format.element),
      Mode::symmetric, group > 0 ? Granularity::per_group : Granularity::per_channel,
      group > 0 ? 1 : 0, group, scaleType, FloatAttr(), codebook);
}
