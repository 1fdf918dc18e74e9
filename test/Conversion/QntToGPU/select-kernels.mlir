// qnt-select-kernels on a module whose target is a #qnt.gpu_target: the
// #qnt.gpu_kernel of every qnt.matmul. M is the rows of x (every dimension
// but the last): a static M gets the first GEMV that holds it (1, 2, 4 or 8
// rows of x, blocks of 4 warps of 2 weight rows), or the GEMM alone above
// 8; a dynamic M gets every GEMV and the GEMM. The GPU options replace the
// target's choices; a kernel already chosen (@chosen) is kept.
// RUN: quant-opt %s --split-input-file --qnt-select-kernels | FileCheck %s --check-prefix=TARGET
// RUN: quant-opt %s --split-input-file --qnt-select-kernels="gpu-gemv-rows=1,4 gpu-warps=2 gpu-rows-per-warp=1" | FileCheck %s --check-prefix=OPTIONS
// Selecting twice changes nothing.
// RUN: quant-opt %s --split-input-file --qnt-select-kernels | quant-opt --split-input-file --qnt-select-kernels="gpu-gemv-rows=2" | FileCheck %s --check-prefix=TARGET
// qnt-set-target=gpu=CHIP writes the target.
// RUN: quant-opt %s --split-input-file --qnt-set-target=gpu=sm_90 | FileCheck %s --check-prefix=SET
// RUN: not quant-opt %s --qnt-set-target=gpu=sm_70 2>&1 | FileCheck %s --check-prefix=BAD-CHIP
// RUN: not quant-opt %s --qnt-select-kernels=gpu-warps=9 2>&1 | FileCheck %s --check-prefix=BAD-WARPS
// RUN: not quant-opt %s --qnt-select-kernels=gpu-rows-per-warp=5 2>&1 | FileCheck %s --check-prefix=BAD-ROWS-PER-WARP
// RUN: not quant-opt %s --qnt-select-kernels=gpu-gemv-rows=16 2>&1 | FileCheck %s --check-prefix=BAD-ROWS
// RUN: not quant-opt %s --qnt-select-kernels=gpu-gemv-rows=4,2 2>&1 | FileCheck %s --check-prefix=BAD-ORDER

// SET: module attributes {qnt.target = #qnt.gpu_target<chip = "sm_90">}
// BAD-CHIP: error: qnt-set-target option gpu: chip = "sm_70" must be sm_80 or sm_90
// BAD-WARPS: error: qnt-select-kernels option gpu-warps=9 is out of range [1, 8] (or 0: from the target)
// BAD-ROWS-PER-WARP: error: qnt-select-kernels option gpu-rows-per-warp=5 is out of range [1, 4] (or 0: from the target)
// BAD-ROWS: error: qnt-select-kernels option gpu-gemv-rows=16 is out of range [1, 8]
// BAD-ORDER: error: qnt-select-kernels option gpu-gemv-rows must be increasing

// TARGET-LABEL: func.func @one_row
//       TARGET:   qnt.kernel = #qnt.gpu_kernel<gemv = [1], warps = 4, rows_per_warp = 2>
// TARGET-LABEL: func.func @vector
//       TARGET:   qnt.kernel = #qnt.gpu_kernel<gemv = [1], warps = 4, rows_per_warp = 2>
// TARGET-LABEL: func.func @three_rows
//       TARGET:   qnt.kernel = #qnt.gpu_kernel<gemv = [4], warps = 4, rows_per_warp = 2>
// TARGET-LABEL: func.func @batched_six_rows
//       TARGET:   qnt.kernel = #qnt.gpu_kernel<gemv = [8], warps = 4, rows_per_warp = 2>
// TARGET-LABEL: func.func @nine_rows
//       TARGET:   qnt.kernel = #qnt.gpu_kernel<gemm = 64x64x64>
// TARGET-LABEL: func.func @dynamic_rows
//       TARGET:   qnt.kernel = #qnt.gpu_kernel<gemv = [1, 2, 4, 8], warps = 4, rows_per_warp = 2, gemm = 64x64x64>
// TARGET-LABEL: func.func @chosen
//       TARGET:   qnt.kernel = #qnt.gpu_kernel<gemv = [2], warps = 1, rows_per_warp = 4>

// OPTIONS-LABEL: func.func @one_row
//       OPTIONS:   qnt.kernel = #qnt.gpu_kernel<gemv = [1], warps = 2, rows_per_warp = 1>
// OPTIONS-LABEL: func.func @vector
//       OPTIONS:   qnt.kernel = #qnt.gpu_kernel<gemv = [1], warps = 2, rows_per_warp = 1>
// OPTIONS-LABEL: func.func @three_rows
//       OPTIONS:   qnt.kernel = #qnt.gpu_kernel<gemv = [4], warps = 2, rows_per_warp = 1>
// OPTIONS-LABEL: func.func @batched_six_rows
//       OPTIONS:   qnt.kernel = #qnt.gpu_kernel<gemm = 64x64x64>
// OPTIONS-LABEL: func.func @nine_rows
//       OPTIONS:   qnt.kernel = #qnt.gpu_kernel<gemm = 64x64x64>
// OPTIONS-LABEL: func.func @dynamic_rows
//       OPTIONS:   qnt.kernel = #qnt.gpu_kernel<gemv = [1, 4], warps = 2, rows_per_warp = 1, gemm = 64x64x64>
// OPTIONS-LABEL: func.func @chosen
//       OPTIONS:   qnt.kernel = #qnt.gpu_kernel<gemv = [2], warps = 1, rows_per_warp = 4>
module attributes {qnt.target = #qnt.gpu_target<chip = "sm_80">} {
  func.func @one_row(%x: tensor<1x64xf32>, %w: !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<1x8xf32> {
    %y = qnt.matmul %x, %w : (tensor<1x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<1x8xf32>
    return %y : tensor<1x8xf32>
  }
  func.func @vector(%x: tensor<64xf32>, %w: !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<8xf32> {
    %y = qnt.matmul %x, %w : (tensor<64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<8xf32>
    return %y : tensor<8xf32>
  }
  func.func @three_rows(%x: tensor<3x64xf32>, %w: !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<3x8xf32> {
    %y = qnt.matmul %x, %w : (tensor<3x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<3x8xf32>
    return %y : tensor<3x8xf32>
  }
  func.func @batched_six_rows(%x: tensor<2x3x64xf32>, %w: !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<2x3x8xf32> {
    %y = qnt.matmul %x, %w : (tensor<2x3x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<2x3x8xf32>
    return %y : tensor<2x3x8xf32>
  }
  func.func @nine_rows(%x: tensor<9x64xf32>, %w: !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<9x8xf32> {
    %y = qnt.matmul %x, %w : (tensor<9x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<9x8xf32>
    return %y : tensor<9x8xf32>
  }
  func.func @dynamic_rows(%x: tensor<?x64xf32>, %w: !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32> {
    %y = qnt.matmul %x, %w : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @chosen(%x: tensor<1x64xf32>, %w: !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<1x8xf32> {
    %y = qnt.matmul %x, %w {qnt.kernel = #qnt.gpu_kernel<gemv = [2], warps = 1, rows_per_warp = 4>} : (tensor<1x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<1x8xf32>
    return %y : tensor<1x8xf32>
  }
}
