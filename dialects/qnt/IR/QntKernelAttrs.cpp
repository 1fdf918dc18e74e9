// Parsing, printing and verification of #qnt.target, #qnt.kernel and
// #qnt.layout, and the checks of the qnt dialect's discardable attributes.
#include "qnt/IR/QntDialect.h"
#include "qnt/IR/QntOps.h"
#include "qnt/Support/OptionRange.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;
using namespace mlir::qnt;

LogicalResult TargetAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 StringRef cpu, int64_t vectorBits,
                                 IntDotIsa intDot) {
  if (cpu.empty())
    return emitError() << "#qnt.target needs a CPU name";
  if (vectorBits != 128 && vectorBits != 256 && vectorBits != 512)
    return emitError() << "vector_bits = " << vectorBits
                       << " must be 128, 256 or 512";
  return success();
}

LogicalResult
CodeLayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                       CodeLayoutKind kind, int64_t block, int64_t lanes,
                       int64_t rows, int64_t flip) {
  StringRef name = stringifyCodeLayoutKind(kind);
  if (flip < 0 || flip > 255)
    return emitError() << "flip = " << flip << " must be a byte (0 to 255)";
  switch (kind) {
  case CodeLayoutKind::planes:
    if (lanes < 8 || lanes > 128 || lanes % 8 != 0)
      return emitError() << "lanes = " << lanes << " of a planes layout "
                         << "must be a multiple of 8 in [8, 128]";
    if (rows != 0 || flip != 0)
      return emitError() << "a planes layout takes only block and lanes";
    break;
  case CodeLayoutKind::row_tiles:
    if (lanes != 16 && lanes != 32)
      return emitError() << "lanes = " << lanes
                         << " of a row_tiles layout must be 16 or 32";
    if (rows < 1 || rows > 8)
      return emitError() << "rows = " << rows
                         << " of a row_tiles layout must be in [1, 8]";
    break;
  case CodeLayoutKind::column_tiles:
    if (lanes != 8 && lanes != 16)
      return emitError() << "lanes = " << lanes
                         << " of a column_tiles layout must be 8 or 16";
    if (block != 0 || rows != 0)
      return emitError() << "a column_tiles layout takes only lanes and flip";
    return success();
  }
  if (block <= 0)
    return emitError() << "block = " << block << " of a " << name
                       << " layout must be positive";
  return success();
}

Attribute KernelAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef word;
  if (parser.parseLess() || parser.parseKeyword(&word))
    return {};
  std::optional<KernelFamily> family = symbolizeKernelFamily(word);
  if (!family) {
    parser.emitError(loc) << "expected a kernel family (row_f32, row_lut, "
                             "row_i8, column_i8 or attention), got '"
                          << word << "'";
    return {};
  }
  int64_t lanes = 0, tileRows = 1, tileCols = 1, streams = 1, xBlock = 0;
  IntDotIsa intDot = IntDotIsa::generic;
  LookupIsa lookup = LookupIsa::generic;
  bool prefetch = false, parallel = false;
  llvm::StringSet<> seen;
  while (succeeded(parser.parseOptionalComma())) {
    SMLoc keyLoc = parser.getCurrentLocation();
    if (parser.parseKeyword(&word))
      return {};
    if (!seen.insert(word).second) {
      parser.emitError(keyLoc) << "'" << word << "' is given twice";
      return {};
    }
    if (word == "prefetch" || word == "parallel") {
      (word == "prefetch" ? prefetch : parallel) = true;
      continue;
    }
    if (parser.parseEqual())
      return {};
    if (word == "lanes") {
      if (parser.parseInteger(lanes))
        return {};
    } else if (word == "tile") {
      if (parser.parseInteger(tileRows) || parser.parseXInDimensionList() ||
          parser.parseInteger(tileCols))
        return {};
    } else if (word == "streams") {
      if (parser.parseInteger(streams))
        return {};
    } else if (word == "x_block") {
      if (parser.parseInteger(xBlock))
        return {};
    } else if (word == "int_dot") {
      SMLoc isaLoc = parser.getCurrentLocation();
      StringRef isa;
      if (parser.parseKeyword(&isa))
        return {};
      std::optional<IntDotIsa> value = symbolizeIntDotIsa(isa);
      if (!value) {
        parser.emitError(isaLoc) << "expected generic, avx2, avxvnni or "
                                    "avx512vnni, got '"
                                 << isa << "'";
        return {};
      }
      intDot = *value;
    } else if (word == "lookup") {
      SMLoc isaLoc = parser.getCurrentLocation();
      StringRef isa;
      if (parser.parseKeyword(&isa))
        return {};
      std::optional<LookupIsa> value = symbolizeLookupIsa(isa);
      if (!value) {
        parser.emitError(isaLoc)
            << "expected generic, avx2, avx512 or float_bits, got '" << isa
            << "'";
        return {};
      }
      lookup = *value;
    } else {
      parser.emitError(keyLoc)
          << "unknown kernel parameter '" << word
          << "' (expected lanes, tile, streams, x_block, int_dot, lookup, "
             "prefetch or parallel)";
      return {};
    }
  }
  if (parser.parseGreater())
    return {};
  if (!seen.contains("lanes")) {
    parser.emitError(loc) << "#qnt.kernel needs 'lanes = N'";
    return {};
  }
  return KernelAttr::getChecked([&] { return parser.emitError(loc); },
                                parser.getContext(), *family, lanes, tileRows,
                                tileCols, streams, xBlock, intDot, prefetch,
                                parallel, lookup);
}

void KernelAttr::print(AsmPrinter &printer) const {
  printer << "<" << stringifyKernelFamily(getFamily())
          << ", lanes = " << getLanes();
  if (getFamily() != KernelFamily::attention)
    printer << ", tile = " << getTileRows() << "x" << getTileCols()
            << ", streams = " << getStreams();
  else if (getTileRows() > 1 || getTileCols() > 1)
    printer << ", tile = " << getTileRows() << "x" << getTileCols();
  if (isInt8())
    printer << ", x_block = " << getXBlock()
            << ", int_dot = " << stringifyIntDotIsa(getIntDot());
  // column_i8 names it only for e2m1 codes (a lookup other than generic).
  if (getFamily() == KernelFamily::row_lut ||
      (getFamily() == KernelFamily::column_i8 &&
       getLookup() != LookupIsa::generic))
    printer << ", lookup = " << stringifyLookupIsa(getLookup());
  if (getPrefetch())
    printer << ", prefetch";
  if (getParallel())
    printer << ", parallel";
  printer << ">";
}

LogicalResult KernelAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 KernelFamily family, int64_t lanes,
                                 int64_t tileRows, int64_t tileCols,
                                 int64_t streams, int64_t xBlock,
                                 IntDotIsa intDot, bool prefetch,
                                 bool parallel, LookupIsa lookup) {
  StringRef name = stringifyKernelFamily(family);
  bool int8 =
      family == KernelFamily::row_i8 || family == KernelFamily::column_i8;
  switch (family) {
  case KernelFamily::row_f32:
  case KernelFamily::row_lut:
  case KernelFamily::attention:
    // Codes per vector step: whole bytes of every code width.
    if (lanes < 8 || lanes > 128 || lanes % 8 != 0)
      return emitError() << "lanes = " << lanes << " of a " << name
                         << " kernel must be a multiple of 8 in [8, 128]";
    break;
  case KernelFamily::row_i8:
    if (lanes != 16 && lanes != 32)
      return emitError() << "lanes = " << lanes
                         << " of a row_i8 kernel must be 16 or 32 (bytes "
                            "per integer dot product)";
    break;
  case KernelFamily::column_i8:
    if (lanes != 8 && lanes != 16)
      return emitError() << "lanes = " << lanes
                         << " of a column_i8 kernel must be 8 or 16 (columns "
                            "per register)";
    break;
  }
  if (family == KernelFamily::attention) {
    if (streams != 1)
      return emitError() << "an attention kernel takes only lanes, tile = "
                            "RxH, prefetch and parallel";
    // As many rows as lanes puts a prompt's rows in the lanes of a vector
    // (AttentionRows.cpp); fewer go as separate chains.
    bool inLanes = rowsInLanes(tileRows, lanes) && lanes <= 16;
    if ((!inLanes && (tileRows < 1 || tileRows > 8)) || tileCols < 1 ||
        tileCols > 8)
      return emitError() << "tile = " << tileRows << "x" << tileCols
                         << " of an attention kernel must have 1 to 8 query "
                            "rows, or as many as its lanes (at most 16: the "
                            "rows in the lanes), by 1 to 8 query heads";
  } else {
    if (tileRows < 1 || tileRows > 8 || tileCols < 1 || tileCols > 8)
      return emitError() << "tile = " << tileRows << "x" << tileCols
                         << " must be 1 to 8 rows by 1 to 8 columns";
    if (family == KernelFamily::column_i8 && tileCols != 1)
      return emitError() << "tile = " << tileRows << "x" << tileCols
                         << " of a column_i8 kernel must have 1 column (its "
                            "columns are its lanes)";
    if (streams < 1 || streams > 8)
      return emitError() << "streams = " << streams << " must be 1 to 8";
  }
  if (int8 && (xBlock < 32 || xBlock > 256 || !llvm::isPowerOf2_64(xBlock)))
    return emitError() << "x_block = " << xBlock << " of a " << name
                       << " kernel must be 32, 64, 128 or 256";
  if (family != KernelFamily::row_lut && family != KernelFamily::column_i8 &&
      lookup != LookupIsa::generic)
    return emitError() << "a " << name
                       << " kernel takes no lookup (only row_lut and "
                          "column_i8 do)";
  if (family == KernelFamily::column_i8 && lookup == LookupIsa::float_bits)
    return emitError() << "lookup = float_bits decodes fp8 codes, which a "
                          "column_i8 kernel does not take";
  if (!int8 && (xBlock != 0 || intDot != IntDotIsa::generic))
    return emitError() << "a " << name
                       << " kernel takes no x_block and no int_dot";
  return success();
}

TargetAttr mlir::qnt::getTarget(Operation *op) {
  auto module = dyn_cast<ModuleOp>(op);
  if (!module)
    module = op->getParentOfType<ModuleOp>();
  return module ? module->getAttrOfType<TargetAttr>(kTargetAttrName)
                : TargetAttr();
}

IntDotIsa mlir::qnt::getIntDot(TargetAttr target) {
  return target ? target.getIntDot() : IntDotIsa::generic;
}

LogicalResult QntDialect::verifyOperationAttribute(Operation *op,
                                                   NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  Attribute value = attr.getValue();
  if (name == kTargetAttrName) {
    if (!isa<TargetAttr, GpuTargetAttr>(value))
      return op->emitError()
             << "'" << name << "' must be a #qnt.target or a #qnt.gpu_target";
    if (!isa<ModuleOp>(op))
      return op->emitError() << "'" << name << "' belongs on a module";
    return success();
  }
  if (name == kKernelAttrName) {
    if (isa<GpuKernelAttr>(value)) {
      if (!isa<MatmulOp>(op))
        return op->emitError() << "a #qnt.gpu_kernel belongs on qnt.matmul";
      return success();
    }
    auto kernel = dyn_cast<KernelAttr>(value);
    if (!kernel)
      return op->emitError()
             << "'" << name << "' must be a #qnt.kernel or a #qnt.gpu_kernel";
    bool attention = kernel.getFamily() == KernelFamily::attention;
    if (attention ? !isa<AttentionOp, PackCacheRowsOp>(op) : !isa<MatmulOp>(op))
      return op->emitError()
             << "a " << stringifyKernelFamily(kernel.getFamily())
             << " kernel belongs on "
             << (attention ? "qnt.attention or qnt.pack_cache_rows"
                           : "qnt.matmul");
    return success();
  }
  if (name == kSchemeAttrName) {
    if (!isa<SchemeAttr>(value))
      return op->emitError() << "'" << name << "' must be a #qnt.scheme";
    return success();
  }
  if (name == kContextAttrName) {
    auto positions = dyn_cast<IntegerAttr>(value);
    if (!positions || !positions.getType().isInteger(64) ||
        positions.getInt() < 1)
      return op->emitError() << "'" << name
                             << "' must be a positive i64 (positions)";
    if (!isa<ModuleOp>(op))
      return op->emitError() << "'" << name << "' belongs on a module";
    return success();
  }
  if (name == kKeepFloatAttrName || name == kVectorizeTileAttrName) {
    if (!isa<UnitAttr>(value))
      return op->emitError() << "'" << name << "' is a unit attribute";
    return success();
  }
  return op->emitError() << "unknown qnt attribute '" << name << "'";
}
