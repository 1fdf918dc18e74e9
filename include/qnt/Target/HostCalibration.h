// Measures the host's cost-model parameters (quant-compile
// --calibrate-target): memory and cache read bandwidth, f32 FMA peak, and the
// speed of the qnt kernels this compiler generates, compiled and run here.
#ifndef QNT_TARGET_HOSTCALIBRATION_H
#define QNT_TARGET_HOSTCALIBRATION_H

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"
#include <string>

namespace mlir::qnt {

/// Measures this machine on one thread and returns the text of a target
/// description (docs/COST_MODEL.md) in `targetText`. `context` must have the
/// qnt, func, tensor and arith dialects and LLVM IR translations registered;
/// `cpu` is as for createHostTargetMachine. Progress lines go to `log`.
/// Returns "" or what went wrong.
std::string calibrateHostTarget(MLIRContext &context, StringRef cpu,
                                llvm::raw_ostream &log,
                                std::string &targetText);

} // namespace mlir::qnt

#endif // QNT_TARGET_HOSTCALIBRATION_H
