// The qnt operations (and, through includes, the whole dialect's C++ API).
#ifndef QNT_IR_QNTOPS_H
#define QNT_IR_QNTOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "qnt/IR/QntAttrs.h"
#include "qnt/IR/QntDialect.h"
#include "qnt/IR/QntTypes.h"

#define GET_OP_CLASSES
#include "qnt/IR/QntOps.h.inc"

namespace mlir::qnt {
/// The #qnt.target of the module `op` is or is in, or null without one.
/// Passes nested in the module only read it.
TargetAttr getTarget(Operation *op);
/// The int8 dot-product instructions of `target` (generic without one).
IntDotIsa getIntDot(TargetAttr target);
/// The lanes of one register of `lookup`'s table lookups (qnt.lookup16): 16
/// for avx512, 8 for avx2, 1 (any) for generic.
int64_t getLookupLanes(LookupIsa lookup);
} // namespace mlir::qnt

#endif // QNT_IR_QNTOPS_H
