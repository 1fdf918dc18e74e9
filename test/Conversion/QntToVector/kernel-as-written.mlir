// A hand-written #qnt.kernel is kept by qnt-select-kernels, which lays the
// weight out for it (plane-major blocks of 8 bytes), and built as written:
// 8-lane f32 steps on a 1x2 tile, where qnt-select-kernels would choose 16
// lanes and 4x4 tiles.
// RUN: quant-opt %s --qnt-select-kernels | FileCheck %s --check-prefix=LAYOUT
// RUN: quant-opt %s --qnt-select-kernels --convert-qnt-to-vector | FileCheck %s

// LAYOUT-LABEL: func.func @as_written
//       LAYOUT:   %[[W:.*]] = qnt.constant {codes = dense_resource<qnt_kernel_codes> : tensor<8x32xi8>, scales = dense<1.000000e+00> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<planes, block = 32, lanes = 8>>
//   LAYOUT-NOT:   qnt.constant
//       LAYOUT:   qnt.matmul %{{.*}}, %[[W]] {qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 1x2, streams = 1>}

// CHECK-LABEL: func.func @as_written
//       CHECK:   vector.fma {{.*}} : vector<8xf32>
//   CHECK-NOT:   vector<16xf32>
//       CHECK:   return
func.func @as_written(%x: tensor<2x64xf32>) -> tensor<2x8xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
  %y = qnt.matmul %x, %w {qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 1x2, streams = 1>} : (tensor<2x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}
