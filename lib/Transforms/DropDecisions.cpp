// qnt-drop-decisions: the qnt dialect's discardable attributes removed once
// the module is lowered, so that tools without the dialect read it.
#include "mlir/IR/BuiltinOps.h"
#include "qnt/IR/QntDialect.h"
#include "qnt/Transforms/Passes.h"

namespace mlir::qnt {
#define GEN_PASS_DEF_QNTDROPDECISIONSPASS
#include "qnt/Transforms/Passes.h.inc"
} // namespace mlir::qnt

using namespace mlir;

namespace {
struct QntDropDecisions final
    : qnt::impl::QntDropDecisionsPassBase<QntDropDecisions> {
  void runOnOperation() override {
    StringRef prefix = qnt::QntDialect::getDialectNamespace();
    getOperation()->walk([&](Operation *op) {
      SmallVector<StringAttr> names;
      for (NamedAttribute attr : op->getDiscardableAttrs())
        if (attr.getName().strref().starts_with(prefix) &&
            attr.getName().strref().drop_front(prefix.size()).starts_with("."))
          names.push_back(attr.getName());
      for (StringAttr name : names)
        op->removeDiscardableAttr(name);
    });
  }
};
} // namespace
