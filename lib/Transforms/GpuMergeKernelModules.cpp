// qnt-gpu-merge-kernel-modules: one gpu.module for all kernels of a module.
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "qnt/Transforms/Passes.h"

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTGPUMERGEKERNELMODULESPASS
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;

namespace {
struct GpuMergeKernelModules final
    : qnt::impl::QntGpuMergeKernelModulesPassBase<GpuMergeKernelModules> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> kernels(module.getOps<gpu::GPUModuleOp>());
    if (kernels.empty())
      return;
    // Outlining names each module after its kernel, but kernels of different
    // functions may share a name (f_kernel in @f_kernel and in @f_kernel_0):
    // each kernel takes its module's name, which is unique.
    llvm::DenseMap<std::pair<StringAttr, StringAttr>, StringAttr> renamed;
    for (gpu::GPUModuleOp kernelModule : kernels) {
      SymbolTable inside(kernelModule);
      for (auto func : llvm::to_vector(kernelModule.getOps<gpu::GPUFuncOp>())) {
        if (!func.isKernel())
          continue;
        StringAttr old = func.getNameAttr();
        StringAttr fresh = kernelModule.getNameAttr();
        if (old != fresh) {
          if (inside.lookup(fresh)) {
            func.emitError() << "qnt-gpu-merge-kernel-modules: cannot rename "
                                "kernel '"
                             << old.getValue() << "' to '" << fresh.getValue()
                             << "'";
            return signalPassFailure();
          }
          inside.setSymbolName(func, fresh);
        }
        renamed[{kernelModule.getNameAttr(), old}] = fresh;
      }
    }
    SymbolTable top(module);
    gpu::GPUModuleOp merged = kernels.front();
    StringAttr mergedName = StringAttr::get(&getContext(), name);
    if (merged.getNameAttr() != mergedName && top.lookup(mergedName)) {
      module.emitError() << "qnt-gpu-merge-kernel-modules: '" << name
                         << "' is already a symbol of the module";
      return signalPassFailure();
    }
    SymbolTable inside(merged);
    for (gpu::GPUModuleOp other : llvm::drop_begin(kernels)) {
      for (Operation &op :
           llvm::make_early_inc_range(other.getBody()->getOperations())) {
        auto symbol = dyn_cast<SymbolOpInterface>(op);
        if (symbol && inside.lookup(symbol.getName())) {
          op.emitError() << "qnt-gpu-merge-kernel-modules: two symbols named '"
                         << symbol.getName() << "' in the kernels";
          return signalPassFailure();
        }
        op.moveBefore(merged.getBody(), merged.getBody()->end());
        if (symbol)
          inside.insert(&op);
      }
      other.erase();
    }
    top.setSymbolName(merged, mergedName);
    // Launches name their kernel as @module::@kernel.
    WalkResult result = module.walk([&](gpu::LaunchFuncOp launch) {
      auto it = renamed.find(
          {launch.getKernelModuleName(), launch.getKernelName()});
      if (it == renamed.end()) {
        launch.emitError("qnt-gpu-merge-kernel-modules: launch of an unknown "
                         "kernel");
        return WalkResult::interrupt();
      }
      launch.setKernelAttr(SymbolRefAttr::get(
          mergedName, {FlatSymbolRefAttr::get(it->second)}));
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
