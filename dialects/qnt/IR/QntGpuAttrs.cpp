// Parsing, printing and verification of #qnt.gpu_target and #qnt.gpu_kernel.
#include "qnt/IR/QntDialect.h"
#include "qnt/IR/QntOps.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;
using namespace mlir::qnt;

LogicalResult
GpuTargetAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      StringRef chip) {
  if (chip != "sm_80" && chip != "sm_90")
    return emitError() << "chip = \"" << chip << "\" must be sm_80 or sm_90";
  return success();
}

int64_t GpuKernelAttr::getGemvFor(int64_t m) const {
  for (int64_t rows : getGemvRows())
    if (m <= rows)
      return rows;
  return 0;
}

Attribute GpuKernelAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  SmallVector<int64_t> gemvRows, gemm(3, 0);
  int64_t warps = 0, rowsPerWarp = 0;
  llvm::StringSet<> seen;
  auto parseEntry = [&]() -> ParseResult {
    SMLoc keyLoc = parser.getCurrentLocation();
    StringRef word;
    if (parser.parseKeyword(&word))
      return failure();
    if (!seen.insert(word).second)
      return parser.emitError(keyLoc) << "'" << word << "' is given twice";
    if (parser.parseEqual())
      return failure();
    if (word == "gemv")
      return parser.parseCommaSeparatedList(
          AsmParser::Delimiter::Square,
          [&] { return parser.parseInteger(gemvRows.emplace_back()); });
    if (word == "warps")
      return parser.parseInteger(warps);
    if (word == "rows_per_warp")
      return parser.parseInteger(rowsPerWarp);
    if (word == "gemm") {
      SMLoc tileLoc = parser.getCurrentLocation();
      gemm.clear();
      if (parser.parseDimensionList(gemm, /*allowDynamic=*/false,
                                    /*withTrailingX=*/false))
        return failure();
      if (gemm.size() != 3)
        return parser.emitError(tileLoc) << "expected gemm = MxNxK";
      return success();
    }
    return parser.emitError(keyLoc)
           << "unknown GPU kernel parameter '" << word
           << "' (expected gemv, warps, rows_per_warp or gemm)";
  };
  if (parser.parseLess())
    return {};
  if (failed(parser.parseOptionalGreater())) {
    if (parser.parseCommaSeparatedList(parseEntry) || parser.parseGreater())
      return {};
  }
  return GpuKernelAttr::getChecked([&] { return parser.emitError(loc); },
                                   parser.getContext(),
                                   ArrayRef<int64_t>(gemvRows), warps,
                                   rowsPerWarp, gemm[0], gemm[1], gemm[2]);
}

void GpuKernelAttr::print(AsmPrinter &printer) const {
  printer << "<";
  if (!getGemvRows().empty()) {
    printer << "gemv = [";
    llvm::interleaveComma(getGemvRows(), printer);
    printer << "], warps = " << getWarps()
            << ", rows_per_warp = " << getRowsPerWarp();
    if (hasGemm())
      printer << ", ";
  }
  if (hasGemm())
    printer << "gemm = " << getGemmTileM() << "x" << getGemmTileN() << "x"
            << getGemmTileK();
  printer << ">";
}

LogicalResult
GpuKernelAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      ArrayRef<int64_t> gemvRows, int64_t warps,
                      int64_t rowsPerWarp, int64_t gemmTileM,
                      int64_t gemmTileN, int64_t gemmTileK) {
  bool gemm = gemmTileM || gemmTileN || gemmTileK;
  if (gemvRows.empty() && !gemm)
    return emitError() << "#qnt.gpu_kernel needs a gemv or a gemm";
  for (auto [i, rows] : llvm::enumerate(gemvRows))
    if (rows < 1 || rows > kMaxGemvRows || (i && rows <= gemvRows[i - 1])) {
      InFlightDiagnostic diag = emitError() << "gemv = [";
      llvm::interleaveComma(gemvRows, diag);
      return diag << "] must list rows of x from 1 to " << kMaxGemvRows
                  << " in increasing order";
    }
  if (gemvRows.empty() && (warps || rowsPerWarp))
    return emitError() << "warps and rows_per_warp belong to a kernel with "
                          "GEMVs (gemv = [...])";
  if (!gemvRows.empty() && (warps < 1 || warps > kMaxWarps))
    return emitError() << "warps = " << warps << " must be 1 to " << kMaxWarps
                       << " (32 to " << 32 * kMaxWarps
                       << " threads per block)";
  if (!gemvRows.empty() && (rowsPerWarp < 1 || rowsPerWarp > kMaxRowsPerWarp))
    return emitError() << "rows_per_warp = " << rowsPerWarp << " must be 1 to "
                       << kMaxRowsPerWarp;
  if (gemm && (gemmTileM != kGemmTile || gemmTileN != kGemmTile ||
               gemmTileK != kGemmTile))
    return emitError() << "gemm = " << gemmTileM << "x" << gemmTileN << "x"
                       << gemmTileK << " must be " << kGemmTile << "x"
                       << kGemmTile << "x" << kGemmTile
                       << " (the one tile the GEMM is built for)";
  return success();
}
