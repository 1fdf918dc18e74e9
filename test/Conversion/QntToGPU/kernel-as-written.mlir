// A hand-written #qnt.gpu_kernel is built as written. @two_row_gemv: M = 1
// runs the GEMV of 2 rows of x (x staged as 2 rows of 1152 floats) in
// blocks of 2 warps of 1 weight row (N = 8: 4 blocks of 64 threads), where
// qnt-select-kernels would choose the 1-row GEMV in 1 block of 128 threads.
// @two_buckets: a dynamic M tests 1 row, then 8, then takes the GEMM.
// RUN: quant-opt %s --convert-qnt-to-gpu | FileCheck %s

// CHECK-LABEL: func.func @two_row_gemv
//       CHECK:   gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c4, %{{.*}} = %c1, %{{.*}} = %c1) threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c64, %{{.*}} = %c1, %{{.*}} = %c1)
//       CHECK:     memref.get_global @{{.*}} : memref<2x1152xf32, #gpu.address_space<workgroup>>
//   CHECK-NOT:   gpu.launch
//       CHECK:   return
func.func @two_row_gemv(%x: tensor<1x64xf32>) -> tensor<1x8xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
  %y = qnt.matmul %x, %w {qnt.kernel = #qnt.gpu_kernel<gemv = [2], warps = 2, rows_per_warp = 1>} : (tensor<1x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// CHECK-LABEL: func.func @two_buckets
//       CHECK:   %[[M:.*]] = memref.dim
//       CHECK:   %[[LE1:.*]] = arith.cmpi ule, %[[M]], %c1 : index
//       CHECK:   scf.if %[[LE1]] {
//       CHECK:     gpu.launch
//       CHECK:       memref.get_global @{{.*}} : memref<1x1152xf32, #gpu.address_space<workgroup>>
//       CHECK:   } else {
//       CHECK:     %[[LE8:.*]] = arith.cmpi ule, %[[M]], %c8 : index
//       CHECK:     scf.if %[[LE8]] {
//       CHECK:       gpu.launch
//       CHECK:         memref.get_global @{{.*}} : memref<8x1152xf32, #gpu.address_space<workgroup>>
//       CHECK:     } else {
//       CHECK:       gpu.launch
//       CHECK:         nvgpu.mma.sync
//   CHECK-NOT:   gpu.launch
//       CHECK:   return
func.func @two_buckets(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
  %y = qnt.matmul %x, %w {qnt.kernel = #qnt.gpu_kernel<gemv = [1, 8], warps = 4, rows_per_warp = 2, gemm = 64x64x64>} : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
