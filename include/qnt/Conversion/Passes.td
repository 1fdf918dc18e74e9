// The qnt conversion passes (lowering qnt to upstream dialects).
#ifndef QNT_CONVERSION_PASSES_TD
#define QNT_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertQntToVectorPass : Pass<"convert-qnt-to-vector", "::mlir::ModuleOp"> {
  let summary = "Lower qnt ops to CPU loops that unpack packed codes in vector registers";
  let description = [{
    Runs on tensors, before bufferization. `qnt.constant` payloads become
    `arith.constant` tensors (resource blobs stay blobs); `qnt.matmul` becomes
    a register-tiled loop nest over memrefs (`bufferization.to_buffer` /
    `to_tensor` at its edges): each step loads a chunk of packed code bytes,
    unpacks it in registers with shifts, masks and widening (1-, 2- and 4-bit
    codes from a plane-major copy made at compile time, so no shuffle is
    needed; see docs/BIT_LAYOUT.md), multiplies by x with f32 FMAs, and
    applies the group scale once per group (`acc += scale * sum(code * x)`).
    No float copy of the weight is made.
    `qnt.dequantize` with remaining users becomes a scalar loop nest.
  }];
  let options = [
    Option<"chunk", "chunk", "int64_t", /*default=*/"16",
           "Codes unpacked per vector step (a multiple of 8)">,
    Option<"rowsPerTile", "rows-per-tile", "int64_t", /*default=*/"6",
           "Rows of x (M) sharing each unpacked chunk">,
    Option<"colsPerTile", "cols-per-tile", "int64_t", /*default=*/"4",
           "Weight rows (N) processed together">,
    Option<"parallel", "parallel", "bool", /*default=*/"false",
           "Emit the loop over weight rows as scf.parallel (for OpenMP)">,
    Option<"prefetch", "prefetch", "bool", /*default=*/"true",
           "Prefetch the next tile's weight rows while a tile runs">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect"];
}

#endif // QNT_CONVERSION_PASSES_TD
