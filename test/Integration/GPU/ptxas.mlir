// Every kernel convert-qnt-to-gpu generates for the bench/ shapes (4096x4096,
// 11008x4096, 4096x11008 as N x K; int4 in groups of 128 and int8 per
// channel) and for 2- and 3-bit asymmetric codes, with a dynamic M (four GEMV
// buckets and the GEMM per layer), is lowered to sm_80 PTX and assembled by
// ptxas for sm_80 and sm_90 with -v: each must succeed with 0 bytes of spill
// stores and loads (ptx_tool.py exits 1 otherwise; FileCheck checks every
// line). The register counts are in docs/PERFORMANCE.md ("GPU kernels").
// REQUIRES: ptxas
// RUN: quant-opt %s --pass-pipeline="builtin.module(qnt-set-target{gpu=sm_80},qnt-select-kernels,convert-qnt-to-gpu,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},gpu-launch-sink-index-computations,gpu-kernel-outlining,symbol-dce)" \
// RUN:   | quant-opt --gpu-lower-to-nvvm-pipeline="cubin-chip=sm_80 cubin-features=+ptx80 cubin-format=isa opt-level=3" -o %t.ptx.mlir
// RUN: %python %helpers/ptx_tool.py ptxas --arch sm_80 --arch sm_90 < %t.ptx.mlir | FileCheck %s

// CHECK: OK q4096x4096_int4_g128_kernel sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_int4_g128_kernel sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_int4_g128_kernel_0 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_int4_g128_kernel_0 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_int4_g128_kernel_1 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_int4_g128_kernel_1 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_int4_g128_kernel_2 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_int4_g128_kernel_2 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_int4_g128_kernel_3 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_int4_g128_kernel_3 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q11008x4096_int4_g128_kernel sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q11008x4096_int4_g128_kernel sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q11008x4096_int4_g128_kernel_4 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q11008x4096_int4_g128_kernel_4 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q11008x4096_int4_g128_kernel_5 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q11008x4096_int4_g128_kernel_5 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q11008x4096_int4_g128_kernel_6 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q11008x4096_int4_g128_kernel_6 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q11008x4096_int4_g128_kernel_7 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q11008x4096_int4_g128_kernel_7 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x11008_int4_g128_kernel sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x11008_int4_g128_kernel sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x11008_int4_g128_kernel_8 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x11008_int4_g128_kernel_8 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x11008_int4_g128_kernel_9 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x11008_int4_g128_kernel_9 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x11008_int4_g128_kernel_10 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x11008_int4_g128_kernel_10 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x11008_int4_g128_kernel_11 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x11008_int4_g128_kernel_11 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_int8_pc_kernel sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_int8_pc_kernel sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_int8_pc_kernel_12 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_int8_pc_kernel_12 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_int8_pc_kernel_13 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_int8_pc_kernel_13 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_int8_pc_kernel_14 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_int8_pc_kernel_14 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_int8_pc_kernel_15 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_int8_pc_kernel_15 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q11008x4096_int8_pc_kernel sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q11008x4096_int8_pc_kernel sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q11008x4096_int8_pc_kernel_16 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q11008x4096_int8_pc_kernel_16 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q11008x4096_int8_pc_kernel_17 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q11008x4096_int8_pc_kernel_17 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q11008x4096_int8_pc_kernel_18 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q11008x4096_int8_pc_kernel_18 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q11008x4096_int8_pc_kernel_19 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q11008x4096_int8_pc_kernel_19 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x11008_int8_pc_kernel sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x11008_int8_pc_kernel sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x11008_int8_pc_kernel_20 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x11008_int8_pc_kernel_20 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x11008_int8_pc_kernel_21 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x11008_int8_pc_kernel_21 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x11008_int8_pc_kernel_22 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x11008_int8_pc_kernel_22 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x11008_int8_pc_kernel_23 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x11008_int8_pc_kernel_23 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_uint2_g64_kernel sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_uint2_g64_kernel sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_uint2_g64_kernel_24 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_uint2_g64_kernel_24 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_uint2_g64_kernel_25 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_uint2_g64_kernel_25 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_uint2_g64_kernel_26 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_uint2_g64_kernel_26 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_uint2_g64_kernel_27 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_uint2_g64_kernel_27 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_uint3_g128_kernel sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_uint3_g128_kernel sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_uint3_g128_kernel_28 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_uint3_g128_kernel_28 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_uint3_g128_kernel_29 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_uint3_g128_kernel_29 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_uint3_g128_kernel_30 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_uint3_g128_kernel_30 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_uint3_g128_kernel_31 sm_80: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NEXT: OK q4096x4096_uint3_g128_kernel_31 sm_90: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads, {{[0-9]+}} bytes smem
// CHECK-NOT: {{.}}

func.func @q4096x4096_int4_g128(%x: tensor<?x4096xf32>) -> tensor<?x4096xf32> {
  %w = qnt.constant {codes = dense<17> : tensor<4096x2048xi8>, scales = dense<0.5> : tensor<4096x32xf16>}
      : !qnt.packed<4096x4096, #qnt.scheme<si4, symmetric, per_group<1, 128>, scale = f16>>
  %y = qnt.matmul %x, %w : (tensor<?x4096xf32>, !qnt.packed<4096x4096, #qnt.scheme<si4, symmetric, per_group<1, 128>, scale = f16>>) -> tensor<?x4096xf32>
  return %y : tensor<?x4096xf32>
}

func.func @q11008x4096_int4_g128(%x: tensor<?x4096xf32>) -> tensor<?x11008xf32> {
  %w = qnt.constant {codes = dense<17> : tensor<11008x2048xi8>, scales = dense<0.5> : tensor<11008x32xf16>}
      : !qnt.packed<11008x4096, #qnt.scheme<si4, symmetric, per_group<1, 128>, scale = f16>>
  %y = qnt.matmul %x, %w : (tensor<?x4096xf32>, !qnt.packed<11008x4096, #qnt.scheme<si4, symmetric, per_group<1, 128>, scale = f16>>) -> tensor<?x11008xf32>
  return %y : tensor<?x11008xf32>
}

func.func @q4096x11008_int4_g128(%x: tensor<?x11008xf32>) -> tensor<?x4096xf32> {
  %w = qnt.constant {codes = dense<17> : tensor<4096x5504xi8>, scales = dense<0.5> : tensor<4096x86xf16>}
      : !qnt.packed<4096x11008, #qnt.scheme<si4, symmetric, per_group<1, 128>, scale = f16>>
  %y = qnt.matmul %x, %w : (tensor<?x11008xf32>, !qnt.packed<4096x11008, #qnt.scheme<si4, symmetric, per_group<1, 128>, scale = f16>>) -> tensor<?x4096xf32>
  return %y : tensor<?x4096xf32>
}

func.func @q4096x4096_int8_pc(%x: tensor<?x4096xf32>) -> tensor<?x4096xf32> {
  %w = qnt.constant {codes = dense<17> : tensor<4096x4096xi8>, scales = dense<0.5> : tensor<4096x1xf16>}
      : !qnt.packed<4096x4096, #qnt.scheme<si8, symmetric, per_channel<0>, scale = f16>>
  %y = qnt.matmul %x, %w : (tensor<?x4096xf32>, !qnt.packed<4096x4096, #qnt.scheme<si8, symmetric, per_channel<0>, scale = f16>>) -> tensor<?x4096xf32>
  return %y : tensor<?x4096xf32>
}

func.func @q11008x4096_int8_pc(%x: tensor<?x4096xf32>) -> tensor<?x11008xf32> {
  %w = qnt.constant {codes = dense<17> : tensor<11008x4096xi8>, scales = dense<0.5> : tensor<11008x1xf16>}
      : !qnt.packed<11008x4096, #qnt.scheme<si8, symmetric, per_channel<0>, scale = f16>>
  %y = qnt.matmul %x, %w : (tensor<?x4096xf32>, !qnt.packed<11008x4096, #qnt.scheme<si8, symmetric, per_channel<0>, scale = f16>>) -> tensor<?x11008xf32>
  return %y : tensor<?x11008xf32>
}

func.func @q4096x11008_int8_pc(%x: tensor<?x11008xf32>) -> tensor<?x4096xf32> {
  %w = qnt.constant {codes = dense<17> : tensor<4096x11008xi8>, scales = dense<0.5> : tensor<4096x1xf16>}
      : !qnt.packed<4096x11008, #qnt.scheme<si8, symmetric, per_channel<0>, scale = f16>>
  %y = qnt.matmul %x, %w : (tensor<?x11008xf32>, !qnt.packed<4096x11008, #qnt.scheme<si8, symmetric, per_channel<0>, scale = f16>>) -> tensor<?x4096xf32>
  return %y : tensor<?x4096xf32>
}

func.func @q4096x4096_uint2_g64(%x: tensor<?x4096xf32>) -> tensor<?x4096xf32> {
  %w = qnt.constant {codes = dense<17> : tensor<4096x1024xi8>, scales = dense<0.5> : tensor<4096x64xf16>, zero_points = dense<1> : tensor<4096x64xui8>}
      : !qnt.packed<4096x4096, #qnt.scheme<ui2, asymmetric, per_group<1, 64>, scale = f16>>
  %y = qnt.matmul %x, %w : (tensor<?x4096xf32>, !qnt.packed<4096x4096, #qnt.scheme<ui2, asymmetric, per_group<1, 64>, scale = f16>>) -> tensor<?x4096xf32>
  return %y : tensor<?x4096xf32>
}

func.func @q4096x4096_uint3_g128(%x: tensor<?x4096xf32>) -> tensor<?x4096xf32> {
  %w = qnt.constant {codes = dense<17> : tensor<4096x1536xi8>, scales = dense<0.5> : tensor<4096x32xf16>, zero_points = dense<1> : tensor<4096x32xui8>}
      : !qnt.packed<4096x4096, #qnt.scheme<ui3, asymmetric, per_group<1, 128>, scale = f16>>
  %y = qnt.matmul %x, %w : (tensor<?x4096xf32>, !qnt.packed<4096x4096, #qnt.scheme<ui3, asymmetric, per_group<1, 128>, scale = f16>>) -> tensor<?x4096xf32>
  return %y : tensor<?x4096xf32>
}
