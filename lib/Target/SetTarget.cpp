// qnt-set-target: the #qnt.target of an LLVM CPU (the host for `native`) on
// the module, as quant-compile --cpu writes it, or a GPU's #qnt.gpu_target.
#include "qnt/Target/HostCodegen.h"
#include "qnt/IR/QntDialect.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;
using namespace mlir::qnt;

namespace {
struct SetTarget final : PassWrapper<SetTarget, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(SetTarget)
  SetTarget() = default;
  SetTarget(const SetTarget &other) : PassWrapper(other) {}
  StringRef getArgument() const final { return "qnt-set-target"; }
  StringRef getDescription() const final {
    return "Put the #qnt.target of an LLVM CPU (native: this machine) on "
           "the module, as quant-compile --cpu does, or with gpu=CHIP the "
           "#qnt.gpu_target of a GPU, as quant-compile --target=cuda does";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<QntDialect>();
  }
  /// An unknown CPU is reported before any pass runs.
  LogicalResult initialize(MLIRContext *context) override {
    if (!gpu.empty()) {
      return GpuTargetAttr::verifyInvariants(
          [&] {
            return emitError(UnknownLoc::get(context))
                   << "qnt-set-target option gpu: ";
          },
          gpu);
    }
    std::string error;
    machine = createHostTargetMachine(cpu, error);
    if (!machine)
      return emitError(UnknownLoc::get(context))
             << "qnt-set-target option cpu: " << error;
    return success();
  }
  void runOnOperation() override {
    getOperation()->setAttr(kTargetAttrName,
                            gpu.empty()
                                ? Attribute(hostTarget(&getContext(), *machine))
                                : GpuTargetAttr::get(&getContext(), gpu));
  }

  Option<std::string> cpu{
      *this, "cpu",
      llvm::cl::desc("native (this machine), or an LLVM CPU name such as "
                     "x86-64, x86-64-v3, znver3, znver4"),
      llvm::cl::init("native")};
  Option<std::string> gpu{
      *this, "gpu",
      llvm::cl::desc("sm_80 or sm_90: a GPU's #qnt.gpu_target instead of a "
                     "CPU's #qnt.target")};
  std::shared_ptr<llvm::TargetMachine> machine;
};
} // namespace

void qnt::registerSetTargetPass() { PassRegistration<SetTarget>(); }
