// qnt-drop-returned-arguments: public functions on buffers stop returning
// arguments the caller already owns.
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "qnt/Transforms/Passes.h"
#include "llvm/ADT/BitVector.h"

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTDROPRETURNEDARGUMENTSPASS
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;

namespace {
/// For each result of `func` (one block, one return): the index of the
/// argument it returns, or -1.
SmallVector<int64_t> returnedArguments(func::FuncOp func) {
  auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  SmallVector<int64_t> args;
  for (Value value : ret.getOperands()) {
    auto arg = dyn_cast<BlockArgument>(value);
    args.push_back(arg && arg.getOwner() == &func.getBody().front() &&
                           isa<BaseMemRefType>(value.getType())
                       ? int64_t(arg.getArgNumber())
                       : -1);
  }
  return args;
}

/// Drops the results of `func` that return an argument, in the function and
/// at every call in `module` (the call's result becomes the operand it
/// passed). Returns whether anything changed.
bool dropReturnedArguments(func::FuncOp func, ModuleOp module) {
  SmallVector<int64_t> returned = returnedArguments(func);
  llvm::BitVector drop(returned.size());
  for (auto [i, arg] : llvm::enumerate(returned))
    drop[i] = arg >= 0;
  if (drop.none())
    return false;
  auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  SmallVector<Value> kept;
  SmallVector<Type> keptTypes;
  for (auto [i, value] : llvm::enumerate(ret.getOperands()))
    if (!drop[i]) {
      kept.push_back(value);
      keptTypes.push_back(value.getType());
    }
  OpBuilder builder(ret);
  func::ReturnOp::create(builder, ret.getLoc(), kept);
  ret.erase();
  func.setType(FunctionType::get(func.getContext(),
                                 func.getFunctionType().getInputs(),
                                 keptTypes));
  // Result attributes follow the results that remain.
  if (ArrayAttr attrs = func.getAllResultAttrs()) {
    SmallVector<Attribute> keptAttrs;
    for (auto [i, attr] : llvm::enumerate(attrs))
      if (!drop[i])
        keptAttrs.push_back(attr);
    func.setAllResultAttrs(keptAttrs);
  }
  SmallVector<func::CallOp> calls;
  module.walk([&](func::CallOp call) {
    if (call.getCallee() == func.getName())
      calls.push_back(call);
  });
  for (func::CallOp call : calls) {
    OpBuilder b(call);
    auto newCall = func::CallOp::create(b, call.getLoc(), func.getName(),
                                        keptTypes, call.getOperands());
    newCall->setAttrs(call->getAttrs());
    unsigned next = 0;
    for (auto [i, result] : llvm::enumerate(call.getResults()))
      result.replaceAllUsesWith(drop[i] ? call.getOperand(returned[i])
                                        : newCall.getResult(next++));
    call.erase();
  }
  return true;
}

struct DropReturnedArguments final
    : qnt::impl::QntDropReturnedArgumentsPassBase<DropReturnedArguments> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // A caller returns its own argument only once its callee's result is
    // replaced by the operand it passed: repeat until nothing changes.
    bool changed = true;
    while (changed) {
      changed = false;
      for (auto func : module.getOps<func::FuncOp>())
        if (func.isPublic() && !func.isExternal() &&
            func.getBody().hasOneBlock())
          changed |= dropReturnedArguments(func, module);
    }
  }
};
} // namespace
