// Registration of the qnt dialect's attributes, types and ops.
#include "qnt/IR/QntDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/Transforms/InliningUtils.h"
#include "qnt/IR/QntOps.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::qnt;

#include "qnt/IR/QntDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "qnt/IR/QntAttrs.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "qnt/IR/QntTypes.cpp.inc"

namespace {
/// Every qnt op is pure and has no regions: inlining a function that holds
/// them (the GPU pipeline inlines @forward's call of @prefill) is legal.
struct QntInlinerInterface final : DialectInlinerInterface {
  using DialectInlinerInterface::DialectInlinerInterface;
  bool isLegalToInline(Operation *, Region *, bool, IRMapping &) const final {
    return true;
  }
};
} // namespace

void QntDialect::initialize() {
  addInterfaces<QntInlinerInterface>();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "qnt/IR/QntAttrs.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "qnt/IR/QntTypes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "qnt/IR/QntOps.cpp.inc"
      >();
}
