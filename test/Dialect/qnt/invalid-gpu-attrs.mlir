// Every parse and verifier error of #qnt.gpu_target and #qnt.gpu_kernel,
// with its exact message.
// RUN: quant-opt %s --split-input-file --verify-diagnostics

// expected-error @+1 {{chip = "sm_70" must be sm_80 or sm_90}}
module attributes {qnt.target = #qnt.gpu_target<chip = "sm_70">} {}

// -----

// expected-error @+1 {{'qnt.target' belongs on a module}}
func.func private @gpu_target_on_function() attributes {qnt.target = #qnt.gpu_target<chip = "sm_80">}

// -----

// expected-error @+1 {{#qnt.gpu_kernel needs a gemv or a gemm}}
func.func private @empty() attributes {k = #qnt.gpu_kernel<>}

// -----

// expected-error @+1 {{gemv = [2, 1] must list rows of x from 1 to 8 in increasing order}}
func.func private @decreasing() attributes {k = #qnt.gpu_kernel<gemv = [2, 1], warps = 4, rows_per_warp = 2>}

// -----

// expected-error @+1 {{gemv = [1, 16] must list rows of x from 1 to 8 in increasing order}}
func.func private @too_many_rows() attributes {k = #qnt.gpu_kernel<gemv = [1, 16], warps = 4, rows_per_warp = 2>}

// -----

// expected-error @+1 {{warps = 9 must be 1 to 8 (32 to 256 threads per block)}}
func.func private @warps() attributes {k = #qnt.gpu_kernel<gemv = [1], warps = 9, rows_per_warp = 2>}

// -----

// expected-error @+1 {{warps = 0 must be 1 to 8 (32 to 256 threads per block)}}
func.func private @no_warps() attributes {k = #qnt.gpu_kernel<gemv = [1]>}

// -----

// expected-error @+1 {{rows_per_warp = 5 must be 1 to 4}}
func.func private @rows_per_warp() attributes {k = #qnt.gpu_kernel<gemv = [1], warps = 4, rows_per_warp = 5>}

// -----

// expected-error @+1 {{warps and rows_per_warp belong to a kernel with GEMVs (gemv = [...])}}
func.func private @warps_without_gemv() attributes {k = #qnt.gpu_kernel<warps = 4, gemm = 64x64x64>}

// -----

// expected-error @+1 {{gemm = 32x64x64 must be 64x64x64 (the one tile the GEMM is built for)}}
func.func private @gemm_tile() attributes {k = #qnt.gpu_kernel<gemm = 32x64x64>}

// -----

// expected-error @+1 {{expected gemm = MxNxK}}
func.func private @gemm_2d() attributes {k = #qnt.gpu_kernel<gemm = 64x64>}

// -----

// expected-error @+1 {{unknown GPU kernel parameter 'tile' (expected gemv, warps, rows_per_warp or gemm)}}
func.func private @unknown_parameter() attributes {k = #qnt.gpu_kernel<tile = 4x4>}

// -----

// expected-error @+1 {{'warps' is given twice}}
func.func private @twice() attributes {k = #qnt.gpu_kernel<gemv = [1], warps = 4, warps = 2, rows_per_warp = 2>}

// -----

// expected-error @+1 {{a #qnt.gpu_kernel belongs on qnt.matmul}}
func.func private @gpu_kernel_on_function() attributes {qnt.kernel = #qnt.gpu_kernel<gemm = 64x64x64>}
