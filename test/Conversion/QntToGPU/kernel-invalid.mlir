// convert-qnt-to-gpu builds the kernels of a qnt.matmul's #qnt.gpu_kernel
// and nothing else: a matmul without one, with a CPU kernel, or whose GEMVs
// do not hold every M it may have (and no gemm takes the rest) is an error
// at its location.
// RUN: quant-opt %s --convert-qnt-to-gpu --split-input-file --verify-diagnostics

func.func @no_kernel(%x: tensor<2x64xf32>) -> tensor<2x4xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<4x32xi8>, scales = dense<1.0> : tensor<4x1xf32>}
      : !qnt.packed<4x64, #qnt.scheme<si4, symmetric, per_channel<0>>>
  // expected-error @+1 {{'qnt.matmul' op has no #qnt.gpu_kernel attribute (run qnt-select-kernels for a #qnt.gpu_target first)}}
  %y = qnt.matmul %x, %w : (tensor<2x64xf32>, !qnt.packed<4x64, #qnt.scheme<si4, symmetric, per_channel<0>>>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @cpu_kernel(%x: tensor<2x64xf32>) -> tensor<2x4xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<4x32xi8>, scales = dense<1.0> : tensor<4x1xf32>}
      : !qnt.packed<4x64, #qnt.scheme<si4, symmetric, per_channel<0>>>
  // expected-error @+1 {{'qnt.matmul' op kernel #qnt.kernel<row_f32, lanes = 8, tile = 1x1, streams = 1> is not a GPU kernel}}
  %y = qnt.matmul %x, %w {qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 1x1, streams = 1>} : (tensor<2x64xf32>, !qnt.packed<4x64, #qnt.scheme<si4, symmetric, per_channel<0>>>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @rows_above_gemv(%x: tensor<4x64xf32>) -> tensor<4x4xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<4x32xi8>, scales = dense<1.0> : tensor<4x1xf32>}
      : !qnt.packed<4x64, #qnt.scheme<si4, symmetric, per_channel<0>>>
  // expected-error @+1 {{'qnt.matmul' op kernel #qnt.gpu_kernel<gemv = [1, 2], warps = 4, rows_per_warp = 2> does not apply: M = 4 is more rows than its largest GEMV's (2) and it has no gemm}}
  %y = qnt.matmul %x, %w {qnt.kernel = #qnt.gpu_kernel<gemv = [1, 2], warps = 4, rows_per_warp = 2>} : (tensor<4x64xf32>, !qnt.packed<4x64, #qnt.scheme<si4, symmetric, per_channel<0>>>) -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}

// -----

func.func @dynamic_without_gemm(%x: tensor<?x64xf32>) -> tensor<?x4xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<4x32xi8>, scales = dense<1.0> : tensor<4x1xf32>}
      : !qnt.packed<4x64, #qnt.scheme<si4, symmetric, per_channel<0>>>
  // expected-error @+1 {{'qnt.matmul' op kernel #qnt.gpu_kernel<gemv = [1, 2, 4, 8], warps = 4, rows_per_warp = 2> does not apply: M is dynamic and no gemm takes the rows above 8}}
  %y = qnt.matmul %x, %w {qnt.kernel = #qnt.gpu_kernel<gemv = [1, 2, 4, 8], warps = 4, rows_per_warp = 2>} : (tensor<?x64xf32>, !qnt.packed<4x64, #qnt.scheme<si4, symmetric, per_channel<0>>>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
