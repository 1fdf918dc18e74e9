// quant-compile --calibrate: statistics of every linear layer's input from
// running the float model over sample tokens.
#ifndef QNT_TOOLS_QUANT_COMPILE_CALIBRATE_H
#define QNT_TOOLS_QUANT_COMPILE_CALIBRATE_H

#include "mlir/IR/BuiltinOps.h"
#include <string>

namespace mlir::qnt {

/// Instruments a copy of `module` (the float model, left unchanged) with
/// qnt-instrument-calibration, compiles it to a temporary shared library
/// with `compileLibrary(module, path)` (returns true on success; it reports
/// its own errors), runs the library's step function `entry` over the
/// samples of `tokenFile` and writes the statistics file to `statsPath`.
/// Returns "" or the problem (empty with `failed` set when compileLibrary
/// already reported it).
std::string
collectCalibration(ModuleOp module, StringRef tokenFile, StringRef statsPath,
                   StringRef entry,
                   function_ref<bool(ModuleOp, StringRef)> compileLibrary,
                   function_ref<void(const Twine &)> progress, bool &failed);

} // namespace mlir::qnt

#endif // QNT_TOOLS_QUANT_COMPILE_CALIBRATE_H
