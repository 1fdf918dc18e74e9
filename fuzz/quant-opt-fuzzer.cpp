// libFuzzer target: quant-opt's work on mutated MLIR. Each input is parsed
// with every dialect quant-opt registers; a module that parses and verifies
// goes through the qnt passes that read arbitrary IR (weight quantization,
// dequantization fusion, the CPU kernels). Diagnostics are expected and
// dropped; a crash, a sanitizer report or a leak is a finding.
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "qnt/Conversion/Passes.h"
#include "qnt/IR/QntDialect.h"
#include "qnt/Transforms/Passes.h"
#include <cstddef>
#include <cstdint>
#include <string>

using namespace mlir;

static DialectRegistry &registry() {
  static DialectRegistry *registry = [] {
    auto *r = new DialectRegistry();
    registerAllDialects(*r);
    registerAllExtensions(*r);
    r->insert<qnt::QntDialect>();
    return r;
  }();
  return *registry;
}

/// Whether `list` (the text after a `[`) starts with a well-formed list of
/// integers closed by `]`.
static bool isIntegerList(llvm::StringRef list) {
  list = list.ltrim();
  if (list.consume_front("]"))
    return true;
  while (true) {
    list.consume_front("-");
    size_t digits = list.find_first_not_of("0123456789");
    if (digits == 0 || digits == llvm::StringRef::npos)
      return false;
    list = list.drop_front(digits).ltrim();
    if (list.consume_front("]"))
      return true;
    if (!list.consume_front(","))
      return false;
    list = list.ltrim();
  }
}

/// Whether `text` reaches a known crash of MLIR 22's own parser
/// (docs/TESTING.md, "Known upstream problems"): the custom parsers of
/// linalg.transpose, linalg.broadcast and linalg.reduce dereference a null
/// attribute when what follows `permutation =` or `dimensions =` is not a
/// list of integers in brackets; and a resource blob (after
/// `dialect_resources`) whose first 4 bytes, its alignment, are zero and
/// which holds data is allocated with alignment 0 (an invalid allocation).
/// Such inputs say nothing about qnt and are skipped (with a few valid
/// ones, such as `dimensions = array<...>` in a generic op's properties).
static bool reachesKnownUpstreamCrash(llvm::StringRef text) {
  size_t resources = text.find("dialect_resources");
  if (resources != llvm::StringRef::npos) {
    llvm::StringRef blobs = text.drop_front(resources);
    for (size_t at = blobs.find("\"0x"); at != llvm::StringRef::npos;
         at = blobs.find("\"0x", at + 1)) {
      llvm::StringRef hex = blobs.drop_front(at + 3);
      size_t digits = hex.find_first_not_of("0123456789abcdefABCDEF");
      if (digits == llvm::StringRef::npos)
        digits = hex.size();
      if (digits > 8 && hex.take_front(8) == "00000000")
        return true;
    }
  }
  for (llvm::StringRef keyword : {"permutation", "dimensions"}) {
    for (size_t at = text.find(keyword); at != llvm::StringRef::npos;
         at = text.find(keyword, at + 1)) {
      llvm::StringRef rest = text.drop_front(at + keyword.size()).ltrim();
      if (!rest.consume_front("="))
        continue;
      rest = rest.ltrim();
      if (!rest.consume_front("[") || !isIntegerList(rest))
        return true;
    }
  }
  return false;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // MLIR's lexer, like the tools that read files, expects a NUL after the
  // last byte (it looks one byte ahead); libFuzzer's buffer has none.
  std::string owned(reinterpret_cast<const char *>(data), size);
  llvm::StringRef text(owned);
  if (reachesKnownUpstreamCrash(text))
    return -1; // not added to the corpus
  MLIRContext context(registry(), MLIRContext::Threading::DISABLED);
  context.printOpOnDiagnostic(false);
  ScopedDiagnosticHandler drop(&context,
                               [](Diagnostic &) { return success(); });
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &context);
  if (!module)
    return 0;
  // Two configurations, picked by the input's length: f32 activations with
  // 4-bit codes, int8 activations with 3-bit codes (both kernel families).
  bool int8 = size % 2;
  PassManager pm(&context);
  qnt::QntQuantizeWeightsPassOptions quantize;
  quantize.bits = int8 ? 3 : 4;
  quantize.groupSize = 32;
  quantize.clipSearch = false; // the slow part, and not what is fuzzed
  pm.addPass(qnt::createQntQuantizeWeightsPass(quantize));
  pm.addPass(qnt::createQntFuseDequantMatmulPass());
  // Kernels the input already names (#qnt.kernel) are kept and checked.
  qnt::QntSelectKernelsPassOptions select;
  select.activations = int8 ? "i8" : "f32";
  pm.addPass(qnt::createQntSelectKernelsPass(select));
  pm.addPass(qnt::createConvertQntToVectorPass());
  (void)pm.run(*module);
  return 0;
}
