// Device assembly and linking for the CUDA target.
#include "qnt/Target/CudaCodegen.h"
#include "qnt/Target/HostCodegen.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

bool qnt::writeDevicePtx(ModuleOp module, llvm::raw_ostream &os,
                         std::string &error) {
  std::string ptx;
  for (auto binary : module.getOps<gpu::BinaryOp>()) {
    for (Attribute attr : binary.getObjectsAttr()) {
      auto object = cast<gpu::ObjectAttr>(attr);
      if (object.getFormat() != gpu::CompilationTarget::Assembly) {
        error = "the device code of '" + binary.getName().str() +
                "' is not PTX";
        return false;
      }
      ptx += object.getObject().getValue();
    }
  }
  if (ptx.empty()) {
    error = "the module has no device code (no kernels)";
    return false;
  }
  // gpu-module-to-binary keeps the NUL the driver's JIT needs; a file
  // does not want it.
  while (!ptx.empty() && ptx.back() == '\0')
    ptx.pop_back();
  os << ptx;
  return true;
}

bool qnt::linkCudaSharedLibrary(ArrayRef<std::string> objects,
                                StringRef output, std::string &error) {
  // Where the build put them; QNT_CUDA_RUNTIME and QNT_CUDA_DRIVER_LIBRARY
  // in the environment override (an installed quant-compile).
  std::string runtime = QNT_CUDA_RUNTIME_LIBRARY;
  std::string driver = QNT_CUDA_DRIVER_LIBRARY;
  if (std::optional<std::string> env =
          llvm::sys::Process::GetEnv("QNT_CUDA_RUNTIME"))
    runtime = *env;
  if (std::optional<std::string> env =
          llvm::sys::Process::GetEnv("QNT_CUDA_DRIVER_LIBRARY"))
    driver = *env;
  if (runtime.empty() || !llvm::sys::fs::exists(runtime)) {
    error = "the qnt CUDA runtime library is missing" +
            (runtime.empty() ? std::string(" (qnt was built without cuda.h)")
                             : " ('" + runtime + "')") +
            "; set QNT_CUDA_RUNTIME to libQntCudaRuntime.a";
    return false;
  }
  if (driver.empty() || !llvm::sys::fs::exists(driver)) {
    error = "libcuda.so to link against is missing" +
            (driver.empty() ? std::string(" (not found when qnt was built)")
                            : " ('" + driver + "')") +
            "; set QNT_CUDA_DRIVER_LIBRARY to the CUDA toolkit's "
            "lib64/stubs/libcuda.so";
    return false;
  }
  // -z defs: a runtime function the host code calls but the runtime lacks
  // is a link error here, not a failure when the library is loaded.
  return linkSharedLibrary(
      objects, output, /*openmp=*/false, error,
      {runtime, "-L" + llvm::sys::path::parent_path(driver).str(), "-lcuda",
       "-Wl,-z,defs"});
}
