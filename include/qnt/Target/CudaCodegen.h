// The CUDA target of quant-compile: device assembly and shared libraries
// that embed the device code and link the qnt CUDA runtime.
#ifndef QNT_TARGET_CUDACODEGEN_H
#define QNT_TARGET_CUDACODEGEN_H

#include "mlir/IR/BuiltinOps.h"
#include <string>

namespace mlir::qnt {

/// Writes the PTX of a module lowered by qnt-gpu-pipeline with format=ptx
/// (its gpu.binary ops) to `os`.
bool writeDevicePtx(ModuleOp module, llvm::raw_ostream &os, std::string &error);

/// Links host objects of a module lowered by qnt-gpu-pipeline into a shared
/// library with the qnt CUDA runtime (libQntCudaRuntime.a) and libcuda
/// (the toolkit's stub at link time; the driver's libcuda.so.1 at run time).
bool linkCudaSharedLibrary(ArrayRef<std::string> objects, StringRef output,
                           std::string &error);

} // namespace mlir::qnt

#endif // QNT_TARGET_CUDACODEGEN_H
