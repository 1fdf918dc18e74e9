// A hand-written #qnt.kernel is built as written: 8-lane f32 steps on a 1x2
// tile, where qnt-select-kernels would choose 16 lanes and 4x4 tiles.
// RUN: quant-opt %s --convert-qnt-to-vector | FileCheck %s

// CHECK-LABEL: func.func @as_written
//       CHECK:   vector.fma {{.*}} : vector<8xf32>
//   CHECK-NOT:   vector<16xf32>
//       CHECK:   return
func.func @as_written(%x: tensor<2x64xf32>) -> tensor<2x8xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
  %y = qnt.matmul %x, %w {qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 1x2, streams = 1>} : (tensor<2x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}
