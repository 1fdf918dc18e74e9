// The compiler's side of the model library ABI (qnt/Abi/LibraryAbi.h): the
// C header, the entry points, the signature strings and qnt_set_threads.
#include "qnt/Abi/LibraryAbiWriter.h"
#include "qnt/Abi/LibraryAbi.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "qnt/IR/QntDialect.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

/// The C spelling of a scalar element type, or empty if there is none.
static std::string cType(Type type) {
  if (type.isF32())
    return "float";
  if (type.isF64())
    return "double";
  if (type.isF16() || type.isBF16())
    return "uint16_t";
  if (type.isIndex())
    return "intptr_t";
  if (auto intType = dyn_cast<IntegerType>(type)) {
    if (intType.getWidth() == 1)
      return "bool";
    if (llvm::is_contained({8u, 16u, 32u, 64u}, intType.getWidth()))
      return (intType.isUnsigned() ? "uint" : "int") +
             std::to_string(intType.getWidth()) + "_t";
  }
  return "";
}

/// The rows of one pass of @prefill's loop over the prompt: the constant
/// bound of its affine.min (lib/Import/Transformer.cpp), or 0 if not found.
static int64_t prefillBatch(func::FuncOp prefill) {
  int64_t batch = 0;
  prefill.walk([&](affine::AffineMinOp min) {
    for (AffineExpr e : min.getAffineMap().getResults())
      if (auto c = dyn_cast<AffineConstantExpr>(e))
        batch = c.getValue();
  });
  return batch;
}

/// Writes a C header for the public functions of a bufferized module: one
/// descriptor struct per (element type, rank) and a prototype per function
/// for its `_mlir_ciface_` entry point.
bool qnt::writeLibraryHeader(ModuleOp module, raw_ostream &os,
                              std::string &error) {
  std::string structs, prototypes;
  llvm::StringSet<llvm::MallocAllocator> defined;
  auto descriptor = [&](MemRefType type) -> std::string {
    std::string elem = cType(type.getElementType());
    std::string name = "qnt_memref_" + elem + "_" +
                       std::to_string(type.getRank()) + "d";
    if (defined.insert(name).second) {
      structs += "typedef struct {\n  " + elem + " *allocated;\n  " + elem +
                 " *aligned;\n  int64_t offset;\n";
      if (type.getRank() > 0)
        structs += "  int64_t sizes[" + std::to_string(type.getRank()) +
                   "];\n  int64_t strides[" + std::to_string(type.getRank()) +
                   "];\n";
      structs += "} " + name + ";\n\n";
    }
    return name;
  };
  // Where a caller reads the context: the caches' second dimension, or the
  // library's qnt_context where their shape does not show it (an i4 cache).
  int64_t context = libraryContext(module);
  std::string contextOf =
      context ? "qnt_context" : "k_cache->sizes[1]";
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isPrivate() || func.isExternal())
      continue;
    SmallVector<std::string> params;
    FunctionType type = func.getFunctionType();
    std::string ret = "void";
    auto spell = [&](Type t, bool &ok) -> std::string {
      if (auto memref = dyn_cast<MemRefType>(t)) {
        if (cType(memref.getElementType()).empty())
          ok = false;
        return descriptor(memref);
      }
      std::string c = cType(t);
      if (c.empty())
        ok = false;
      return c;
    };
    bool ok = true;
    if (type.getNumResults() == 1 && !isa<MemRefType>(type.getResult(0))) {
      ret = spell(type.getResult(0), ok);
    } else if (type.getNumResults() == 1) {
      params.push_back(spell(type.getResult(0), ok) + " *result");
    } else if (type.getNumResults() > 1) {
      std::string name = func.getName().str() + "_results";
      structs += "typedef struct {\n";
      for (auto [i, t] : llvm::enumerate(type.getResults()))
        structs += "  " + spell(t, ok) + " r" + std::to_string(i) + ";\n";
      structs += "} " + name + ";\n\n";
      params.push_back(name + " *results");
    }
    // The model's entry points (lib/Import/Transformer.h) get their
    // parameters named and documented; other functions argN.
    ArrayRef<StringRef> names;
    std::string doc;
    static const StringRef kStepNames[] = {"token", "position", "k_cache",
                                           "v_cache", "logits"};
    static const StringRef kPrefillNames[] = {"tokens", "position", "k_cache",
                                              "v_cache", "logits"};
    bool model = type.getNumInputs() == 5 && type.getNumResults() == 0;
    if (model && func.getName() == "forward") {
      names = kStepNames;
      doc = "/* One decoding step: feeds `token` at `position` (0-based, below "
            "the context,\n   " +
            contextOf +
            "), writes its keys and values "
            "into row `position` of\n   every layer of k_cache and v_cache (the "
            "caller's buffers: the state of the\n   sequence) and the "
            "next-token logits into `logits`. */\n";
    } else if (model && func.getName() == "prefill") {
      names = kPrefillNames;
      doc = "/* A prompt in one call: feeds the tokens->sizes[0] tokens at "
            "positions\n   position, position + 1, ... (position + count must "
            "not exceed the context),\n   through the GEMM kernels in passes "
            "of up to " +
            std::to_string(prefillBatch(func)) +
            " rows, and writes the logits of the last\n   token into "
            "`logits`: the same as calling forward for each token in turn. "
            "*/\n";
    }
    for (auto [i, t] : llvm::enumerate(type.getInputs())) {
      std::string c = spell(t, ok);
      std::string name =
          names.empty() ? "arg" + std::to_string(i) : names[i].str();
      params.push_back(isa<MemRefType>(t) ? c + " *" + name : c + " " + name);
    }
    prototypes += doc;
    if (!ok) {
      error = "function '" + func.getName().str() +
              "' has a type with no C spelling";
      return false;
    }
    prototypes += ret + " " + kEntrySymbolPrefix.str() +
                  func.getName().str() + "(" +
                  llvm::join(params, ", ") + ");\n";
  }
  if (context)
    prototypes += "/* The positions of the KV cache, which its shape does not "
                  "show: " +
                  std::to_string(context) +
                  ". */\nextern const int64_t " + kContextSymbol.str() +
                  ";\n";
  prototypes += "/* Threads used by the following calls (OpenMP's threads in "
                "a library built with\n   --parallel, the default; nothing in a "
                "single-threaded one). */\nvoid qnt_set_threads(int32_t "
                "threads);\n";
  std::string guard = "QNT_MODEL_H";
  os << "// Generated by quant-compile: the C interface of the compiled "
        "library.\n// Buffers are MLIR memref descriptors (row-major, strides "
        "in elements).\n// The library's qnt_signature_NAME strings give "
        "these signatures; quant-run\n// refuses a library whose buffers "
        "break the ABI's limits: rank at most "
     << kMaxAbiRank << ",\n// static state shapes of at most "
     << (kMaxStateBytes >> 30)
     << " GiB in all, a context of 1 to " << kMaxContext
     << "\n// positions (k_cache->sizes[1], or qnt_context), at most "
     << kMaxVocabulary
     << " logits\n// (docs/COMPILING.md, \"What quant-run checks\").\n#ifndef "
     << guard << "\n#define " << guard
     << "\n\n#include <stdbool.h>\n#include <stdint.h>\n\n#ifdef __cplusplus\n"
        "extern \"C\" {\n#endif\n\n"
     << structs << prototypes
     << "\n#ifdef __cplusplus\n}\n#endif\n\n#endif // " << guard << "\n";
  return true;
}

void qnt::markEntryPoints(ModuleOp module) {
  for (auto func : module.getOps<func::FuncOp>())
    if (func.isPublic() && !func.isExternal())
      func->setAttr("llvm.emit_c_interface", UnitAttr::get(module.getContext()));
}

int64_t qnt::libraryContext(ModuleOp module) {
  auto context = module->getAttrOfType<IntegerAttr>(kContextAttrName);
  return context ? context.getInt() : 0;
}

std::vector<std::pair<std::string, std::string>>
qnt::librarySignatures(ModuleOp module) {
  std::vector<std::pair<std::string, std::string>> signatures;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isPrivate() || func.isExternal())
      continue;
    std::string text;
    llvm::raw_string_ostream os(text);
    FunctionType type = func.getFunctionType();
    os << "(";
    llvm::interleaveComma(type.getInputs(), os);
    os << ") -> (";
    llvm::interleaveComma(type.getResults(), os);
    os << ")";
    signatures.emplace_back(func.getName().str(), text);
  }
  return signatures;
}

void qnt::addLibraryAbiSymbols(
    ModuleOp module,
    llvm::ArrayRef<std::pair<std::string, std::string>> signatures,
    int64_t context, std::optional<bool> openmp) {
  OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
  Location loc = module.getLoc();
  if (openmp.has_value()) {
    // void qnt_set_threads(int32_t n): the threads of the following calls
    // (OpenMP's, in a parallel library; nothing to set in a serial one).
    auto i32 = builder.getI32Type();
    auto voidType = LLVM::LLVMVoidType::get(module.getContext());
    auto fnType = LLVM::LLVMFunctionType::get(voidType, {i32});
    if (*openmp && !module.lookupSymbol("omp_set_num_threads"))
      LLVM::LLVMFuncOp::create(builder, loc, "omp_set_num_threads", fnType);
    auto setThreads =
        LLVM::LLVMFuncOp::create(builder, loc, kSetThreadsSymbol, fnType);
    OpBuilder body = OpBuilder::atBlockEnd(setThreads.addEntryBlock(builder));
    if (*openmp)
      LLVM::CallOp::create(body, loc, TypeRange{}, "omp_set_num_threads",
                           ValueRange{setThreads.getArgument(0)});
    LLVM::ReturnOp::create(body, loc, ValueRange{});
  }
  if (context > 0)
    LLVM::GlobalOp::create(builder, loc, builder.getI64Type(),
                           /*isConstant=*/true, LLVM::Linkage::External,
                           kContextSymbol, builder.getI64IntegerAttr(context));
  for (auto &[name, text] : signatures) {
    std::string value = text + '\0';
    auto type = LLVM::LLVMArrayType::get(builder.getI8Type(), value.size());
    LLVM::GlobalOp::create(builder, loc, type, /*isConstant=*/true,
                           LLVM::Linkage::External,
                           kSignatureSymbolPrefix.str() + name,
                           builder.getStringAttr(value));
  }
}
