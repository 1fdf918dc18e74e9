// quant-import: turns a model checkpoint into MLIR (one decoding step in
// func/linalg/tensor/arith/math, weights as resource blobs).
#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/Support/FileUtilities.h"
#include "qnt/Import/Llama2c.h"
#include "qnt/Import/Transformer.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory category("quant-import options");
static cl::opt<std::string> format(cl::Positional, cl::Required,
                                   cl::desc("<format>"), cl::cat(category));
static cl::opt<std::string> checkpoint(cl::Positional, cl::Required,
                                       cl::desc("<checkpoint>"),
                                       cl::cat(category));
static cl::opt<std::string>
    output("o", cl::Required,
           cl::desc("Output: .mlir (text), .mlirbc (bytecode: weights stay "
                    "binary, best for large models) or - for stdout"),
           cl::value_desc("file"), cl::cat(category));
static cl::opt<bool> quiet("q", cl::init(false),
                           cl::desc("No progress lines on stderr"),
                           cl::cat(category));

namespace {
/// A checkpoint format: reads a file into a transformer config and weights.
struct Format {
  const char *name;
  const char *description;
  std::string (*read)(llvm::StringRef, std::unique_ptr<llvm::MemoryBuffer> &,
                      qnt::TransformerConfig &, qnt::TransformerWeights &);
};
const Format kFormats[] = {
    {"llama2c", "llama2.c checkpoint (legacy version 0: int32 header, float32 "
                "weights)",
     qnt::readLlama2c},
};
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  std::string overview =
      "quant-import: convert a model checkpoint to MLIR\n\n  quant-import "
      "<format> <checkpoint> -o model.mlir\n\nFormats:\n";
  for (const Format &f : kFormats)
    overview += std::string("  ") + f.name + "  " + f.description + "\n";
  cl::ParseCommandLineOptions(argc, argv, overview);

  const Format *chosen = nullptr;
  std::string names;
  for (const Format &f : kFormats) {
    names += (names.empty() ? "" : ", ") + std::string(f.name);
    if (format == f.name)
      chosen = &f;
  }
  if (!chosen) {
    llvm::errs() << "quant-import: error: unknown format '" << format
                 << "'; available formats: " << names << "\n";
    return 1;
  }

  std::unique_ptr<llvm::MemoryBuffer> file;
  qnt::TransformerConfig config;
  qnt::TransformerWeights weights;
  std::string error = chosen->read(checkpoint, file, config, weights);
  if (!error.empty()) {
    llvm::errs() << "quant-import: error: " << checkpoint << ": " << error
                 << "\n";
    return 1;
  }
  if (!quiet)
    llvm::errs() << llvm::formatv(
        "quant-import: {0}: {1:f2} MB, {2} layers, dim {3}, hidden {4}, {5} "
        "heads ({6} kv), vocab {7}, context {8}\n",
        checkpoint, file->getBufferSize() / 1e6, config.layers, config.dim,
        config.hiddenDim, config.heads, config.kvHeads, config.vocab,
        config.seqLen);

  MLIRContext context;
  OwningOpRef<ModuleOp> module =
      qnt::buildTransformer(&context, config, weights, checkpoint);
  std::unique_ptr<llvm::ToolOutputFile> out = openOutputFile(output, &error);
  if (!out) {
    llvm::errs() << "quant-import: error: " << error << "\n";
    return 1;
  }
  if (llvm::StringRef(output).ends_with(".mlirbc")) {
    if (failed(writeBytecodeToFile(*module, out->os()))) {
      llvm::errs() << "quant-import: error: cannot write bytecode\n";
      return 1;
    }
  } else {
    // Locations name every weight ("layers.3.w1"); passes report and skip
    // layers by them, so they are printed too.
    module->print(out->os(), OpPrintingFlags().enableDebugInfo());
  }
  out->keep();
  if (!quiet && output != "-")
    llvm::errs() << "quant-import: wrote " << output << "\n";
  return 0;
}
