// qnt.gather_rows lowered by qnt-cpu-pipeline: rows of a packed si8 table
// (two groups of 4 per row, a scale each) at ids outside the table too,
// which are clamped. Expected values worked out by hand from the codes and
// scales: row r holds codes 8r - 10 .. 8r - 3, scales 0.5 and 0.25 (r + 1).
// RUN: quant-opt %s --qnt-cpu-pipeline | %run_main | FileCheck %s
// The same through the GPU kernel, run on the CPU (mapping=loops): K = 8
// is a part of a 32-code chunk.
// RUN: quant-opt %s --qnt-set-target=gpu=sm_80 --convert-qnt-to-gpu=mapping=loops --qnt-cpu-pipeline | %run_main | FileCheck %s

// CHECK: [3,   3.5,   4,   4.5,   7.5,   8.25,   9,   9.75]
// CHECK: [-5,   -4.5,   -4,   -3.5,   -1.5,   -1.25,   -1,   -0.75]
// CHECK: [7,   7.5,   8,   8.5,   18,   19,   20,   21]
// CHECK: [-5,   -4.5,   -4,   -3.5,   -1.5,   -1.25,   -1,   -0.75]

func.func private @printMemrefF32(tensor<*xf32>)

func.func @gather(%ids: tensor<?xi32>) -> tensor<?x8xf32> {
  %table = qnt.constant {
      codes = dense<[[-10, -9, -8, -7, -6, -5, -4, -3],
                     [-2, -1, 0, 1, 2, 3, 4, 5],
                     [6, 7, 8, 9, 10, 11, 12, 13],
                     [14, 15, 16, 17, 18, 19, 20, 21]]> : tensor<4x8xi8>,
      scales = dense<[[0.5, 0.25], [0.5, 0.5], [0.5, 0.75], [0.5, 1.0]]> : tensor<4x2xf32>}
      : !qnt.packed<4x8, #qnt.scheme<si8, symmetric, per_group<1, 4>>>
  %rows = qnt.gather_rows %table, %ids : !qnt.packed<4x8, #qnt.scheme<si8, symmetric, per_group<1, 4>>>, tensor<?xi32> -> tensor<?x8xf32>
  return %rows : tensor<?x8xf32>
}

func.func @main() {
  %ids = arith.constant dense<[2, -5, 9, 0]> : tensor<4xi32>
  %dyn = tensor.cast %ids : tensor<4xi32> to tensor<?xi32>
  %rows = call @gather(%dyn) : (tensor<?xi32>) -> tensor<?x8xf32>
  %u = tensor.cast %rows : tensor<?x8xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}
