// The qnt transformation passes (quantize weights, fuse, ...).
#ifndef QNT_TRANSFORMS_PASSES_TD
#define QNT_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def QntQuantizeWeightsPass : Pass<"qnt-quantize-weights", "::mlir::ModuleOp"> {
  let summary = "Turn float weight constants of linear layers into packed qnt.constant + qnt.dequantize";
  let description = [{
    Finds linear layers whose weight is a compile-time float constant
    (linalg.matmul in plain and transposed-B form, linalg.batch_matmul with a
    shared weight, linalg.matvec/vecmat, linalg.generic contractions of the
    same shape, tosa.matmul) and replaces the constant by a packed
    `qnt.constant` feeding `qnt.dequantize` (plus a `linalg.transpose` when
    the weight was stored [K, N]). The op's meaning is unchanged up to the
    quantization error. A `qnt.scheme` attribute already on a layer wins over
    the options. Scales are chosen per group to minimise the squared error
    (search over clipping ratios).
  }];
  let options = [
    Option<"bits", "bits", "unsigned", /*default=*/"4", "Code width, 1 to 8">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"128",
           "Elements sharing one scale along K; 0 means one scale per output channel">,
    Option<"symmetric", "symmetric", "bool", /*default=*/"true",
           "Signed codes without zero points (false: unsigned codes with zero points)">,
    Option<"scaleType", "scale-type", "std::string", /*default=*/"\"f32\"",
           "Element type of scales: f32, f16 or bf16">,
    Option<"clipSearch", "clip-search", "bool", /*default=*/"true",
           "Search clipping ratios for the least squared error (false: plain min/max)">,
    ListOption<"skip", "skip", "std::string",
           "Leave layers alone whose op name or location contains one of these substrings">,
    Option<"minElements", "min-elements", "int64_t", /*default=*/"0",
           "Leave weights with fewer elements than this in float">,
  ];
  let dependentDialects = ["::mlir::qnt::QntDialect", "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def QntFuseDequantMatmulPass : Pass<"qnt-fuse-dequant-matmul"> {
  let summary = "Fuse qnt.dequantize into the matmul that consumes it, giving qnt.matmul";
  let description = [{
    A linear layer (linalg contraction) whose weight is produced by
    `qnt.dequantize`, directly or through a transpose of the weight, becomes
    one `qnt.matmul` that reads the packed codes. A dequantize with other
    users is kept for them. A non-zero accumulator initial value is added
    back after the fused matmul.
  }];
  let dependentDialects = ["::mlir::qnt::QntDialect", "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect", "::mlir::arith::ArithDialect"];
}

def QntDropReturnedArgumentsPass
    : Pass<"qnt-drop-returned-arguments", "::mlir::ModuleOp"> {
  let summary = "Drop results of public functions that return an argument buffer";
  let description = [{
    After bufferization, a public function whose tensor result was an
    argument updated in place (a KV cache) returns that argument's buffer.
    The caller already owns it, so the result is removed from the function:
    the argument is the state, updated in place. Without this, buffer
    deallocation would clone the whole buffer on every call.
    (Upstream drop-equivalent-buffer-results does this for private
    functions only, since it must rewrite the callers.)
  }];
}

#endif // QNT_TRANSFORMS_PASSES_TD
