// qnt-drop-returned-arguments: public functions on buffers stop returning
// arguments the caller already owns.
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "qnt/Transforms/Passes.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTDROPRETURNEDARGUMENTSPASS
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;

namespace {
struct DropReturnedArguments final
    : qnt::impl::QntDropReturnedArgumentsPassBase<DropReturnedArguments> {
  using Base::Base;
  void runOnOperation() override {
    // Functions called inside the module keep their results: their callers
    // here would otherwise need rewriting (drop-equivalent-buffer-results
    // does that for private functions).
    llvm::StringSet<> called;
    getOperation().walk(
        [&](func::CallOp call) { called.insert(call.getCallee()); });
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (!func.isPublic() || func.isExternal() ||
          !func.getBody().hasOneBlock() || called.contains(func.getName()))
        continue;
      auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
      llvm::BitVector drop(ret.getNumOperands());
      for (auto [i, value] : llvm::enumerate(ret.getOperands())) {
        auto arg = dyn_cast<BlockArgument>(value);
        drop[i] = arg && arg.getOwner() == &func.getBody().front() &&
                  isa<BaseMemRefType>(value.getType());
      }
      if (drop.none())
        continue;
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
      func.setType(FunctionType::get(&getContext(),
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
    }
  }
};
} // namespace
