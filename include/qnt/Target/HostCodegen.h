// From an LLVM-dialect module to optimized host machine code and a shared
// library.
#ifndef QNT_TARGET_HOSTCODEGEN_H
#define QNT_TARGET_HOSTCODEGEN_H

#include "mlir/IR/BuiltinOps.h"
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

/// Sets the kernel options of qnt-cpu-pipeline that depend on `machine`'s
/// CPU (everything quant-compile compiles for the host uses them): the int8
/// dot products of `activations=i8` in AVX-512 VNNI, AVX-VNNI or AVX2 where
/// the CPU has them; f32
/// kernels in 16-lane chunks on 4x4 tiles with AVX-512 (32 vector
/// registers), 8-lane chunks on 2x4 tiles without (16 registers; 4x4 for
/// the int8-activation kernels, whose accumulators are 8 lanes anyway).
void setHostKernelOptions(CpuPipelineOptions &options,
                          const llvm::TargetMachine &machine);

/// The activations of the fastest kernels for `machine`'s CPU: "i8" where
/// it has integer dot products (AVX2, AVX-VNNI or AVX-512 VNNI), else "f32".
std::string defaultActivations(const llvm::TargetMachine &machine);

/// One line on the kernels `options` selects, for quant-compile's progress
/// output: activations, dot-product instructions, vector width, threads.
std::string describeHostKernels(const CpuPipelineOptions &options);

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
