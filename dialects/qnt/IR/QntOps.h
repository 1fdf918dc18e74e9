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

#endif // QNT_IR_QNTOPS_H
