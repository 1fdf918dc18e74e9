// #qnt.gpu_target and #qnt.gpu_kernel round-trip through the pretty and the
// generic form; a kernel with GEMVs only, the GEMM only, or both.
// RUN: quant-opt %s | quant-opt | FileCheck %s
// RUN: quant-opt %s --mlir-print-op-generic | quant-opt | FileCheck %s

// CHECK: module attributes {qnt.target = #qnt.gpu_target<chip = "sm_90">}
// CHECK-LABEL: func.func @gpu_kernels
// CHECK: qnt.kernel = #qnt.gpu_kernel<gemv = [1, 2, 4, 8], warps = 4, rows_per_warp = 2, gemm = 64x64x64>
// CHECK: qnt.kernel = #qnt.gpu_kernel<gemv = [3], warps = 8, rows_per_warp = 1>
// CHECK: qnt.kernel = #qnt.gpu_kernel<gemm = 64x64x64>
module attributes {qnt.target = #qnt.gpu_target<chip = "sm_90">} {
  func.func @gpu_kernels(%x: tensor<?x64xf32>, %w: !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>) {
    %a = qnt.matmul %x, %w {qnt.kernel = #qnt.gpu_kernel<gemv = [1, 2, 4, 8], warps = 4, rows_per_warp = 2, gemm = 64x64x64>} : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
    %b = qnt.matmul %x, %w {qnt.kernel = #qnt.gpu_kernel<rows_per_warp = 1, warps = 8, gemv = [3]>} : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
    %c = qnt.matmul %x, %w {qnt.kernel = #qnt.gpu_kernel<gemm = 64x64x64>} : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
    return %a, %b, %c : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>
  }
}
