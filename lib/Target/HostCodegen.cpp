// LLVM IR translation, optimization, object emission and linking for the host.
#include "qnt/Target/HostCodegen.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/TargetParser/Triple.h"
#include <map>
#include <optional>

using namespace mlir;

std::unique_ptr<llvm::TargetMachine>
qnt::createHostTargetMachine(StringRef cpu, std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  std::string cpuName = cpu.str();
  llvm::SubtargetFeatures features;
  if (cpu == "native") {
    cpuName = llvm::sys::getHostCPUName().str();
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      features.AddFeature(feature.getKey(), feature.getValue());
  }
  std::unique_ptr<llvm::MCSubtargetInfo> generic(
      target->createMCSubtargetInfo(triple, "", ""));
  if (!generic->isCPUStringValid(cpuName)) {
    error = "unknown CPU '" + cpuName + "' for " + triple.str() +
            " (use native, or an LLVM CPU name such as x86-64, x86-64-v3, "
            "x86-64-v4, skylake-avx512)";
    return nullptr;
  }
  llvm::TargetOptions options;
  // The medium code model puts globals of 64 KiB or more (the weights) in
  // .lrodata/.ldata, addressed with 64-bit offsets, and keeps code and small
  // data close. With the default small model every reference is a 32-bit
  // PC-relative offset, and a model with more than 2 GiB of weights (a
  // 1-billion-parameter model in f32: 4.4 GB) cannot be linked ("relocation
  // R_X86_64_PC32 out of range"). The threshold is clang's default.
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, cpuName, features.getString(), options, llvm::Reloc::PIC_,
      llvm::CodeModel::Medium, llvm::CodeGenOptLevel::Aggressive));
  if (!machine) {
    error = "cannot create a target machine for CPU '" + cpuName + "'";
    return machine;
  }
  machine->setLargeDataThreshold(65536);
  return machine;
}

std::unique_ptr<llvm::Module>
qnt::translateAndOptimize(ModuleOp module, llvm::LLVMContext &context,
                          llvm::TargetMachine &machine) {
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerOpenMPDialectTranslation(registry);
  // GPU targets: gpu.binary becomes an embedded global and gpu.launch_func
  // the runtime calls that load the module and launch the kernel.
  registerGPUDialectTranslation(registry);
  gpu::registerOffloadingLLVMTranslationInterfaceExternalModels(registry);
  module->getContext()->appendDialectRegistry(registry);
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context);
  if (!llvmModule) {
    emitError(module.getLoc(), "translation to LLVM IR failed");
    return nullptr;
  }
  llvmModule->setDataLayout(machine.createDataLayout());
  llvmModule->setTargetTriple(machine.getTargetTriple());
  auto optimize = makeOptimizingTransformer(/*optLevel=*/3, /*sizeLevel=*/0,
                                            &machine);
  if (llvm::Error err = optimize(llvmModule.get())) {
    emitError(module.getLoc()) << "LLVM optimization failed: "
                               << llvm::toString(std::move(err));
    return nullptr;
  }
  return llvmModule;
}

bool qnt::emitMachineCode(llvm::Module &module, llvm::TargetMachine &machine,
                          llvm::CodeGenFileType kind, llvm::raw_fd_ostream &os,
                          std::string &error) {
  // The object writer patches headers in place; a pipe or a device cannot
  // seek, so it gets the bytes through a buffer (flushed when destroyed).
  std::optional<llvm::buffer_ostream> buffered;
  llvm::raw_pwrite_stream *out = &os;
  if (!os.supportsSeeking())
    out = &buffered.emplace(os);
  llvm::legacy::PassManager pm;
  if (machine.addPassesToEmitFile(pm, *out, nullptr, kind)) {
    error = "the target cannot emit this file type";
    return false;
  }
  pm.run(module);
  return true;
}

bool qnt::linkSharedLibrary(ArrayRef<std::string> objects, StringRef output,
                            bool openmp, std::string &error,
                            ArrayRef<std::string> extraArgs) {
  llvm::ErrorOr<std::string> clang = llvm::sys::findProgramByName("clang-22");
  if (!clang)
    clang = llvm::sys::findProgramByName("clang", {"/usr/lib/llvm-22/bin"});
  if (!clang) {
    error = "clang-22 not found (install clang-22 and lld-22)";
    return false;
  }
  SmallVector<std::string> args = {*clang, "-shared", "-fuse-ld=lld", "-o",
                                   output.str()};
  args.append(objects.begin(), objects.end());
  args.append(extraArgs.begin(), extraArgs.end());
  if (openmp)
    args.append({"-L/usr/lib/llvm-22/lib", "-Wl,-rpath,/usr/lib/llvm-22/lib",
                 "-lomp"});
  args.push_back("-lm");
  SmallVector<StringRef> argRefs(args.begin(), args.end());
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(*clang, argRefs, std::nullopt, {}, 0, 0,
                                     &message);
  if (rc != 0) {
    error = "linking '" + output.str() + "' failed" +
            (message.empty() ? "" : ": " + message) +
            " (command: " + llvm::join(argRefs, " ") + ")";
    return false;
  }
  return true;
}

qnt::IntDotIsa qnt::hostIntDot(const llvm::TargetMachine &machine) {
  const llvm::MCSubtargetInfo &subtarget = *machine.getMCSubtargetInfo();
  // vpdpbusd does a 4-byte dot product and its accumulation in one
  // instruction where vpmaddubsw + vpmaddwd + vpaddd take three.
  if (subtarget.checkFeatures("+avx512vnni,+avx512vl"))
    return IntDotIsa::avx512vnni;
  if (subtarget.checkFeatures("+avxvnni"))
    return IntDotIsa::avxvnni;
  if (subtarget.checkFeatures("+avx2"))
    return IntDotIsa::avx2;
  return IntDotIsa::generic;
}

qnt::TargetAttr qnt::hostTarget(MLIRContext *context,
                          const llvm::TargetMachine &machine) {
  const llvm::MCSubtargetInfo &subtarget = *machine.getMCSubtargetInfo();
  int64_t vectorBits = subtarget.checkFeatures("+avx512f") ? 512
                       : subtarget.checkFeatures("+avx")   ? 256
                                                           : 128;
  // The attribute needs its dialect, which a float module has not loaded.
  context->getOrLoadDialect<QntDialect>();
  return TargetAttr::get(context, machine.getTargetCPU(), vectorBits,
                         hostIntDot(machine));
}

std::string qnt::describeKernels(ModuleOp module,
                                 const CpuPipelineOptions &options) {
  TargetAttr target = getTarget(module);
  QntSelectKernelsPassOptions chosen =
      resolveKernelOptions(selectKernelsOptions(options), target);
  std::string text;
  if (chosen.activations == "i8") {
    StringRef isa = chosen.intDot;
    text = "int8 activations with " +
           std::string(isa == "avx512vnni" ? "vpdpbusd (AVX-512 VNNI)"
                       : isa == "avxvnni"  ? "vpdpbusd (AVX-VNNI)"
                       : isa == "avx2"     ? "vpmaddubsw (AVX2)"
                                           : "portable integer dot products");
  } else {
    text = "f32 activations";
  }
  int64_t lanes = options.vectorWidth ? int64_t(options.vectorWidth)
                  : target            ? target.getF32Lanes()
                                      : 8;
  text += ", " + std::to_string(lanes) + "-lane vectors, ";
  text += options.parallel ? "OpenMP threads (every core unless "
                             "qnt_set_threads or OMP_NUM_THREADS says less)"
                           : "single-threaded";
  // What qnt-select-kernels put on the matmuls, family by family (row_lut
  // with the decode of its codes), and on attention: a prompt's query rows
  // and a decoding step's query heads of a kv head taken together (tile =
  // RxH). One walk for both.
  std::map<std::string, int64_t> families, tiles;
  module.walk([&](Operation *op) {
    if (!isa<MatmulOp, AttentionOp>(op))
      return;
    auto kernel = op->getAttrOfType<KernelAttr>(kKernelAttrName);
    if (!kernel)
      return;
    if (isa<AttentionOp>(op)) {
      ++tiles["tile = " + std::to_string(kernel.getTileRows()) + "x" +
              std::to_string(kernel.getTileCols())];
      return;
    }
    std::string name = stringifyKernelFamily(kernel.getFamily()).str();
    if (kernel.getFamily() == KernelFamily::row_lut)
      name += " (lookup = " + stringifyLookupIsa(kernel.getLookup()).str() +
              ")";
    ++families[name];
  });
  if (!families.empty()) {
    text += "; matmul kernels:";
    for (auto &[family, count] : families)
      text += " " + std::to_string(count) + " " + family;
  }
  if (!tiles.empty()) {
    text += "; attention kernels:";
    for (auto &[tile, count] : tiles)
      text += " " + std::to_string(count) + " " + tile;
  }
  return text;
}
