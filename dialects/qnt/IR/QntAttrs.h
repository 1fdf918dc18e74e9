// The #qnt.scheme attribute and the qnt enums.
#ifndef QNT_IR_QNTATTRS_H
#define QNT_IR_QNTATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinTypes.h"

#include "qnt/IR/QntEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "qnt/IR/QntAttrs.h.inc"

#endif // QNT_IR_QNTATTRS_H
