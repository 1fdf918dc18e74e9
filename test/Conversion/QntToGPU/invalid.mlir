// Errors of convert-qnt-to-gpu, each with its exact message and location.
// RUN: quant-opt %s --qnt-set-target=gpu=sm_80 --qnt-select-kernels --convert-qnt-to-gpu --split-input-file --verify-diagnostics
// RUN: not quant-opt %s --qnt-set-target=gpu=sm_80 --qnt-select-kernels --convert-qnt-to-gpu=mapping=threads --split-input-file 2>&1 | FileCheck %s --check-prefix=MAPPING

// MAPPING: error: convert-qnt-to-gpu option mapping='threads' must be 'gpu' or 'loops'

func.func @packed_argument(%x: tensor<2x64xf32>, %w: !qnt.packed<4x64, #qnt.scheme<si4, symmetric, per_channel<0>>>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'qnt.matmul' op packed operand must come from qnt.constant to be lowered for the GPU}}
  %y = qnt.matmul %x, %w : (tensor<2x64xf32>, !qnt.packed<4x64, #qnt.scheme<si4, symmetric, per_channel<0>>>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @group_straddles_chunks(%x: tensor<2x96xf32>) -> tensor<2x4xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<4x48xi8>, scales = dense<1.0> : tensor<4x2xf32>}
      : !qnt.packed<4x96, #qnt.scheme<si4, symmetric, per_group<1, 48>>>
  // expected-error @+1 {{'qnt.matmul' op group size 48 is not supported by the GPU lowering: it needs groups of a multiple of 32 codes or a divisor of 32}}
  %y = qnt.matmul %x, %w : (tensor<2x96xf32>, !qnt.packed<4x96, #qnt.scheme<si4, symmetric, per_group<1, 48>>>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @unfused_dequantize(%x: tensor<2x16xf32>) -> tensor<4x16xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<4x8xi8>, scales = dense<1.0> : tensor<4x1xf32>}
      : !qnt.packed<4x16, #qnt.scheme<si4, symmetric, per_channel<0>>>
  // expected-error @+1 {{'qnt.dequantize' op cannot be lowered for the GPU yet (only qnt.matmul and qnt.gather_rows are; run qnt-fuse-dequant-matmul first)}}
  %d = qnt.dequantize %w : !qnt.packed<4x16, #qnt.scheme<si4, symmetric, per_channel<0>>> -> tensor<4x16xf32>
  return %d : tensor<4x16xf32>
}

// -----

func.func @runtime_quantize(%x: tensor<4x16xf32>) -> !qnt.packed<4x16, #qnt.scheme<si4, symmetric, per_channel<0>>> {
  // expected-error @+1 {{'qnt.quantize' op cannot be lowered for the GPU yet (only qnt.matmul and qnt.gather_rows are; run qnt-fuse-dequant-matmul first)}}
  %q = qnt.quantize %x : tensor<4x16xf32> -> !qnt.packed<4x16, #qnt.scheme<si4, symmetric, per_channel<0>>>
  return %q : !qnt.packed<4x16, #qnt.scheme<si4, symmetric, per_channel<0>>>
}

// -----

// A gathered table, like a matmul's weight, must be a qnt.constant and have
// groups the 32-code chunks can split.
func.func @gather_packed_argument(%t: !qnt.packed<4x64, #qnt.scheme<si8, symmetric, per_channel<0>>>, %ids: tensor<?xi32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{'qnt.gather_rows' op packed operand must come from qnt.constant to be lowered for the GPU}}
  %r = qnt.gather_rows %t, %ids : !qnt.packed<4x64, #qnt.scheme<si8, symmetric, per_channel<0>>>, tensor<?xi32> -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @gather_group_20(%ids: tensor<?xi32>) -> tensor<?x40xf32> {
  %t = qnt.constant {codes = dense<0> : tensor<4x40xi8>, scales = dense<1.0> : tensor<4x2xf32>}
      : !qnt.packed<4x40, #qnt.scheme<si8, symmetric, per_group<1, 20>>>
  // expected-error @+1 {{'qnt.gather_rows' op group size 20 is not supported by the GPU lowering: it needs groups of a multiple of 32 codes or a divisor of 32}}
  %r = qnt.gather_rows %t, %ids : !qnt.packed<4x40, #qnt.scheme<si8, symmetric, per_group<1, 20>>>, tensor<?xi32> -> tensor<?x40xf32>
  return %r : tensor<?x40xf32>
}
