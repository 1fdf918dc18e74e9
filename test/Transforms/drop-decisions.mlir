// qnt-drop-decisions removes every qnt. attribute, on the module and inside
// it, and nothing else; the last pass of qnt-cpu-pipeline, whose output
// mlir-translate then reads (the pipeline's RUN line).
// RUN: quant-opt %s --qnt-drop-decisions | FileCheck %s
// RUN: quant-opt %s --qnt-cpu-pipeline | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVM

// CHECK:       module attributes {other.keep = 1 : i64} {
// CHECK-LABEL:   func.func @f
//  CHECK-SAME:     attributes {other.note = "kept"}
//   CHECK-NOT:     qnt.
//       CHECK:     return
// LLVM: define void @f(
module attributes {qnt.target = #qnt.target<cpu = "x86-64", vector_bits = 256, int_dot = generic>, other.keep = 1} {
  func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> attributes {other.note = "kept", qnt.keep_float} {
    %y = arith.addf %x, %x {qnt.vectorize_tile} : tensor<4xf32>
    return %y : tensor<4xf32>
  }
}
