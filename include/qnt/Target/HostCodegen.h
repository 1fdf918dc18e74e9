// From an LLVM-dialect module to optimized host machine code and a shared
// library.
#ifndef QNT_TARGET_HOSTCODEGEN_H
#define QNT_TARGET_HOSTCODEGEN_H

#include "mlir/IR/BuiltinOps.h"
#include "qnt/IR/QntOps.h"
#include "qnt/Pipelines/Pipelines.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CodeGen.h"
#include "llvm/Target/TargetMachine.h"
#include <memory>
#include <string>

namespace mlir::qnt {

/// A target machine for the host triple. `cpu` is "native" (the host CPU and
/// its features) or an LLVM CPU name such as "x86-64-v3" or "skylake-avx512".
std::unique_ptr<llvm::TargetMachine> createHostTargetMachine(StringRef cpu,
                                                             std::string &error);

/// The #qnt.target of `machine`'s CPU (everything quant-compile compiles
/// for the host carries it, and qnt-select-kernels chooses from it): the
/// CPU's name, 512-bit vectors with AVX-512 (else 256, or 128 without AVX),
/// and the int8 dot products of AVX-512 VNNI, AVX-VNNI or AVX2 where the CPU
/// has them.
TargetAttr hostTarget(MLIRContext *context, const llvm::TargetMachine &machine);
/// Registers qnt-set-target: puts hostTarget of its `cpu` option (an LLVM
/// CPU name, `native` by default) on the module.
void registerSetTargetPass();

/// The int8 dot-product instructions of `machine`'s CPU (hostTarget's
/// int_dot).
IntDotIsa hostIntDot(const llvm::TargetMachine &machine);

/// One line on the kernels of `module` for quant-compile's progress output,
/// after qnt-select-kernels: the activations and dot-product instructions
/// `options` resolve to for the module's target, the vector width, threads,
/// and how many matmuls each kernel family took.
std::string describeKernels(ModuleOp module, const CpuPipelineOptions &options);

/// Translates an LLVM-dialect module to LLVM IR and runs LLVM's -O3 pipeline
/// for `machine`. Returns null (after emitting a diagnostic) on failure.
std::unique_ptr<llvm::Module> translateAndOptimize(ModuleOp module,
                                                   llvm::LLVMContext &context,
                                                   llvm::TargetMachine &machine);

/// Writes assembly or an object file for `module` to `os` (a stream that
/// cannot seek, such as a pipe, is written through a buffer). Write errors
/// are the stream's, for its owner to check.
bool emitMachineCode(llvm::Module &module, llvm::TargetMachine &machine,
                     llvm::CodeGenFileType kind, llvm::raw_fd_ostream &os,
                     std::string &error);

/// Links object files into a shared library with clang-22 and lld. `openmp`
/// adds LLVM's OpenMP runtime (libomp), with an rpath to it; `extraArgs`
/// (libraries, linker flags) go after the objects.
bool linkSharedLibrary(ArrayRef<std::string> objects, StringRef output,
                       bool openmp, std::string &error,
                       ArrayRef<std::string> extraArgs = {});

} // namespace mlir::qnt

#endif // QNT_TARGET_HOSTCODEGEN_H
