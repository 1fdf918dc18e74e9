// The !qnt.packed type.
#ifndef QNT_IR_QNTTYPES_H
#define QNT_IR_QNTTYPES_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Types.h"
#include "qnt/IR/QntAttrs.h"

#define GET_TYPEDEF_CLASSES
#include "qnt/IR/QntTypes.h.inc"

#endif // QNT_IR_QNTTYPES_H
