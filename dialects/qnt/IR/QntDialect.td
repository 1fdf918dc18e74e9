// The qnt dialect definition: packed low-bit tensors and the ops on them.
#ifndef QNT_DIALECT_TD
#define QNT_DIALECT_TD

include "mlir/IR/OpBase.td"

def Qnt_Dialect : Dialect {
  let name = "qnt";
  let cppNamespace = "::mlir::qnt";
  let summary = "Packed low-bit quantized tensors and fused quantized matmuls";
  let description = [{
    The qnt dialect describes weights stored as packed integer codes of 1 to 8
    bits with scales (and zero points) per tensor, per channel or per group,
    and the operations that create, expand and consume them: `qnt.constant`,
    `qnt.quantize`, `qnt.dequantize` and the fused `qnt.matmul`. The packed bit
    layout is the same on every target and is written down in
    docs/BIT_LAYOUT.md.
  }];
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let hasCanonicalizer = 0;
  let hasConstantMaterializer = 0;
  let hasOperationAttrVerify = 1;
}

class Qnt_Op<string mnemonic, list<Trait> traits = []>
    : Op<Qnt_Dialect, mnemonic, traits>;

#endif // QNT_DIALECT_TD
