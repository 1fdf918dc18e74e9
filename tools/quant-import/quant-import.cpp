// quant-import: turns a model checkpoint into MLIR (one decoding step in
// func/linalg/tensor/arith/math, weights as resource blobs).
#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "qnt/Import/Importer.h"
#include "qnt/Import/Transformer.h"
#include "qnt/Support/OutputFile.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory category("quant-import options");
// Checked by hand rather than cl::Required, so a missing word gets a message
// listing the formats.
static cl::opt<std::string> format(cl::Positional, cl::desc("<format>"),
                                   cl::cat(category));
static cl::opt<std::string> checkpoint(cl::Positional, cl::desc("<checkpoint>"),
                                       cl::cat(category));
static cl::opt<std::string>
    output("o",
           cl::desc("Output: .mlir (text), .mlirbc (bytecode: weights stay "
                    "binary, best for large models) or - for stdout"),
           cl::value_desc("file"), cl::cat(category));
static cl::opt<int64_t> emitDriver(
    "emit-driver", cl::init(0),
    cl::desc("Also emit func.func @main: greedy decoding from BOS for N "
             "steps, printing the tokens (for mlir-runner); 0: no driver"),
    cl::value_desc("N"), cl::cat(category));
static cl::opt<bool> driverLogits(
    "driver-print-logits", cl::init(false),
    cl::desc("With --emit-driver: @main also prints each step's logits"),
    cl::cat(category));
static cl::opt<int64_t> batch(
    "batch", cl::init(128),
    cl::desc("Rows of one pass of @prefill over a prompt (the M of its GEMMs; "
             "the static workspace grows with it): 1 to 4096"),
    cl::value_desc("N"), cl::cat(category));
static cl::opt<bool> quiet("q", cl::init(false),
                           cl::desc("No progress lines on stderr"),
                           cl::cat(category));

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  std::string overview =
      "quant-import: convert a model checkpoint to MLIR\n\n  quant-import "
      "<format> <checkpoint> -o model.mlir\n\nFormats:\n";
  for (const qnt::CheckpointFormat &f : qnt::getCheckpointFormats())
    overview += std::string("  ") + f.name + "  " + f.description + "\n";
  cl::ParseCommandLineOptions(argc, argv, overview);

  const qnt::CheckpointFormat *chosen = qnt::lookupCheckpointFormat(format);
  std::string names;
  for (const qnt::CheckpointFormat &f : qnt::getCheckpointFormats())
    names += (names.empty() ? "" : ", ") + std::string(f.name);
  if (format.empty()) {
    llvm::errs() << "quant-import: error: no format given; usage: "
                    "quant-import <format> <checkpoint> -o <output>; "
                    "available formats: "
                 << names << "\n";
    return 1;
  }
  if (!chosen) {
    llvm::errs() << "quant-import: error: unknown format '" << format
                 << "'; available formats: " << names << "\n";
    return 1;
  }
  if (checkpoint.empty()) {
    llvm::errs() << "quant-import: error: no checkpoint given; usage: "
                    "quant-import "
                 << format << " <checkpoint> -o <output>\n";
    return 1;
  }

  if (output.empty()) {
    llvm::errs() << "quant-import: error: no output given (-o model.mlir, "
                    "-o model.mlirbc, or -o - for stdout)\n";
    return 1;
  }

  if (batch < 1 || batch > 4096) {
    llvm::errs() << "quant-import: error: --batch=" << batch
                 << " must be 1 to 4096\n";
    return 1;
  }
  // The output before the work: written to a temporary file beside it and
  // renamed when complete, so a failed run leaves none half-written.
  std::string error;
  std::unique_ptr<qnt::OutputFile> out = qnt::OutputFile::create(output, error);
  if (!out) {
    llvm::errs() << "quant-import: error: " << error << "\n";
    return 1;
  }
  qnt::CheckpointData data;
  qnt::TransformerConfig config;
  qnt::TransformerWeights weights;
  error = qnt::readCheckpoint(*chosen, checkpoint, data, config, weights);
  if (!error.empty()) {
    llvm::errs() << "quant-import: error: " << checkpoint << ": " << error
                 << "\n";
    return 1;
  }
  if (!quiet)
    llvm::errs() << llvm::formatv(
        "quant-import: {0}: {1:f2} MB, {2} layers, dim {3}, hidden {4}, {5} "
        "heads ({6} kv), vocab {7}, context {8}\n",
        checkpoint, data.fileBytes() / 1e6, config.layers, config.dim,
        config.hiddenDim, config.heads, config.kvHeads, config.vocab,
        config.seqLen);

  config.batch = batch;
  if (emitDriver < 0 || emitDriver > config.seqLen) {
    llvm::errs() << "quant-import: error: --emit-driver=" << emitDriver
                 << " must be in [0, seq_len = " << config.seqLen << "]\n";
    return 1;
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> module =
      qnt::buildTransformer(&context, config, weights, checkpoint);
  if (emitDriver > 0)
    qnt::addGreedyDriver(*module, config, emitDriver, driverLogits);
  // Writing is the long step for big models (25 s for 4.4 GB of weights).
  if (!quiet && output != "-")
    llvm::errs() << "quant-import: writing " << output << "\n";
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
  if (std::string e = out->commit(); !e.empty()) {
    llvm::errs() << "quant-import: error: " << e << "\n";
    return 1;
  }
  if (!quiet && output != "-")
    llvm::errs() << "quant-import: wrote " << output << "\n";
  return 0;
}
