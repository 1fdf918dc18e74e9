// quant-compile --calibrate: instrument, compile, run, write statistics.
#include "Calibrate.h"
#include "mlir/Pass/PassManager.h"
#include "qnt/Runner/Calibration.h"
#include "qnt/Runner/ModelLibrary.h"
#include "qnt/Transforms/Passes.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

std::string qnt::collectCalibration(
    ModuleOp module, StringRef tokenFile, StringRef statsPath, StringRef entry,
    function_ref<bool(ModuleOp, StringRef)> compileLibrary,
    function_ref<void(const Twine &)> progress, bool &failed) {
  failed = true;
  // A bad token file should not cost a compile.
  std::vector<TokenSample> samples;
  if (std::string error = readTokenFile(tokenFile.str(), samples);
      !error.empty())
    return error;

  // The clone shares the weights' attributes (resource blobs) with the
  // original; only the ops are copied.
  OwningOpRef<ModuleOp> instrumented = module.clone();
  progress("calibration: instrumenting the float model's linear layers");
  PassManager pm(module.getContext());
  pm.addPass(createQntInstrumentCalibrationPass());
  if (mlir::failed(pm.run(*instrumented)))
    return "";

  SmallString<128> library;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
          "quant-compile-calibration", "so", library))
    return "cannot create a temporary library file: " + ec.message();
  llvm::FileRemover removeLibrary(library);
  if (!compileLibrary(*instrumented, library))
    return "";
  instrumented = nullptr; // the IR is no longer needed while the model runs

  std::string error;
  std::unique_ptr<ModelLibrary> model = ModelLibrary::load(
      library.str().str(), "the instrumented model", entry.str(), error);
  if (!model)
    return error;
  int64_t tokens = 0;
  for (const TokenSample &s : samples)
    tokens += s.tokens.size();
  progress("calibration: running the float model over " + Twine(tokens) +
           " tokens in " + Twine(samples.size()) + " samples of " + tokenFile);
  std::vector<LayerStatistics> stats;
  error = collectCalibrationStatistics(*model, tokenFile.str(), samples, stats,
                                       progress);
  if (!error.empty())
    return error;
  std::vector<std::string> unseen;
  error = writeCalibrationStatistics(
      statsPath.str(), stats,
      "E[x_k^2] of each linear layer's input (NAME then one value per input "
      "channel; then NAME eigen ||mu||^2 mu/||mu|| for its mean mu) from "
      "quant-compile --calibrate=" +
          tokenFile.str() + ": " + std::to_string(samples.size()) +
          " samples, " + std::to_string(tokens) + " tokens",
      unseen);
  if (!error.empty())
    return error;
  if (!unseen.empty())
    llvm::errs() << "quant-compile: warning: calibration: no input reached "
                 << unseen.size() << " layer(s) (" << llvm::join(unseen, ", ")
                 << "); they have no statistics\n";
  progress("calibration: statistics of " + Twine(stats.size() - unseen.size()) +
           " layers in " + statsPath);
  failed = false;
  return "";
}
