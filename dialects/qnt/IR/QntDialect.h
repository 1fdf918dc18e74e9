// The qnt dialect class.
#ifndef QNT_IR_QNTDIALECT_H
#define QNT_IR_QNTDIALECT_H

#include "mlir/IR/Dialect.h"

#include "qnt/IR/QntDialect.h.inc"

#endif // QNT_IR_QNTDIALECT_H
