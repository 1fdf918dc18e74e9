// qnt-set-target: the #qnt.target of an LLVM CPU (the host for `native`) on
// the module, as quant-compile --cpu writes it.
#include "qnt/Target/HostCodegen.h"
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
           "the module, as quant-compile --cpu does";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<QntDialect>();
  }
  /// An unknown CPU is reported before any pass runs.
  LogicalResult initialize(MLIRContext *context) override {
    std::string error;
    machine = createHostTargetMachine(cpu, error);
    if (!machine)
      return emitError(UnknownLoc::get(context))
             << "qnt-set-target option cpu: " << error;
    return success();
  }
  void runOnOperation() override {
    getOperation()->setAttr(kTargetAttrName,
                            hostTarget(&getContext(), *machine));
  }

  Option<std::string> cpu{
      *this, "cpu",
      llvm::cl::desc("native (this machine), or an LLVM CPU name such as "
                     "x86-64, x86-64-v3, znver3, znver4"),
      llvm::cl::init("native")};
  std::shared_ptr<llvm::TargetMachine> machine;
};
} // namespace

void qnt::registerSetTargetPass() { PassRegistration<SetTarget>(); }
