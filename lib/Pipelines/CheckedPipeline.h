// Registers a pass pipeline whose options are checked when the pipeline is
// parsed, before any pass runs.
#ifndef QNT_LIB_PIPELINES_CHECKEDPIPELINE_H
#define QNT_LIB_PIPELINES_CHECKEDPIPELINE_H

#include "mlir/Pass/PassRegistry.h"
#include <string>

namespace mlir::qnt {

/// Like PassPipelineRegistration<Options>, but an option out of its range is
/// reported through the parser's error handler (quant-opt prints
/// "error: MESSAGE" and exits 1) with the message from `check` ("" when the
/// options are valid).
template <typename Options>
void registerCheckedPipeline(llvm::StringRef arg, llvm::StringRef description,
                             std::string (*check)(const Options &,
                                                  llvm::StringRef owner),
                             void (*build)(OpPassManager &, const Options &)) {
  std::string name = arg.str();
  registerPassPipeline(
      arg, description,
      [=](OpPassManager &pm, llvm::StringRef text,
          llvm::function_ref<LogicalResult(const llvm::Twine &)> errorHandler) {
        Options options;
        if (failed(options.parseFromString(text)))
          return failure();
        if (std::string error = check(options, name); !error.empty())
          return errorHandler(error);
        build(pm, options);
        return success();
      },
      [](llvm::function_ref<void(const ::mlir::detail::PassOptions &)> optHandler) {
        optHandler(Options());
      });
}

} // namespace mlir::qnt

#endif // QNT_LIB_PIPELINES_CHECKEDPIPELINE_H
