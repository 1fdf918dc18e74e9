// qnt-select-kernels: the #qnt.kernel of every qnt.matmul and qnt.attention,
// from the options and the module's #qnt.target: without a target the
// portable defaults (f32 activations, 16 lanes, 4x4 tiles); an AVX2 target
// (int8 activations with vpmaddubsw, 8 lanes, 2-column tiles and 2 streams);
// an AVX-512 VNNI target (16 lanes). Per matmul: the column kernels for 4-
// and 8-bit codes in groups of whole x blocks, the row int8 kernels for
// 2-bit codes whose groups fill 32-byte loads, f32 activations for the
// rest (3-bit codes, groups of 16), with lanes that fit a plane-major block
// in a group. Attention: one query row (a decoding step) prefetches the
// cache; a prompt takes R query rows per block and a decoding step H query
// heads of a kv head (tile = RxH, each up to 4, H dividing the heads per kv
// head) as keep their accumulators within a quarter of the registers (head
// size 64: 2 of 4 vectors with 32 registers, 1 of 8 with AVX2's 16; head
// size 8: 4 rows of 1, 2 heads where a kv head has 2; head size 16, 8 heads
// per kv head: 4 heads). A kernel already chosen (@chosen) is kept.
// RUN: quant-opt %s --split-input-file --qnt-select-kernels | FileCheck %s --check-prefixes=NONE,AVX2,VNNI
// RUN: quant-opt %s --split-input-file --qnt-select-kernels=activations=f32 | FileCheck %s --check-prefix=AVX2-F32
// RUN: quant-opt %s --split-input-file --qnt-select-kernels="column-kernels=false act-block=64 parallel=true" | FileCheck %s --check-prefix=VNNI-ROWS
// Selecting twice changes nothing.
// RUN: quant-opt %s --split-input-file --qnt-select-kernels | quant-opt --split-input-file --qnt-select-kernels=activations=f32 | FileCheck %s --check-prefixes=NONE,AVX2,VNNI

// NONE-LABEL: func.func @int4_g32
//       NONE:   qnt.kernel = #qnt.kernel<row_f32, lanes = 16, tile = 4x4, streams = 1, prefetch>
// NONE-LABEL: func.func @int4_g128
//       NONE:   qnt.kernel = #qnt.kernel<row_f32, lanes = 16, tile = 4x4, streams = 1, prefetch>
// NONE-LABEL: func.func @int2_g32
//       NONE:   qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 4x4, streams = 1, prefetch>
// NONE-LABEL: func.func @int3_g32
//       NONE:   qnt.kernel = #qnt.kernel<row_f32, lanes = 16, tile = 4x4, streams = 1, prefetch>
// NONE-LABEL: func.func @int4_g16
//       NONE:   qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 4x4, streams = 1, prefetch>
// NONE-LABEL: func.func @int8_channel
//       NONE:   qnt.kernel = #qnt.kernel<row_f32, lanes = 16, tile = 4x4, streams = 1, prefetch>
// NONE-LABEL: func.func @attention
//       NONE:   qnt.kernel = #qnt.kernel<attention, lanes = 16, tile = 1x2, prefetch>
//       NONE:   qnt.kernel = #qnt.kernel<attention, lanes = 16, tile = 1x4, prefetch>
// NONE-LABEL: func.func @prompt_attention
//       NONE:   qnt.kernel = #qnt.kernel<attention, lanes = 16, tile = 16x2, prefetch>
//       NONE:   qnt.kernel = #qnt.kernel<attention, lanes = 16, tile = 16x2, prefetch>
// A key-value head of 64 query heads of 256: its transposed queries and
// outputs (2 MiB) would overflow a thread's stack in lanes, so the rows go
// as chains.
//       NONE:   qnt.kernel = #qnt.kernel<attention, lanes = 16, prefetch>
// NONE-LABEL: func.func @chosen
//       NONE:   qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 1x1, streams = 1>
module {
  func.func @int4_g32(%x: tensor<?x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
    %y = qnt.matmul %x, %p : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @int4_g128(%x: tensor<?x256xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x128xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x256, #qnt.scheme<si4, symmetric, per_group<1, 128>>>
    %y = qnt.matmul %x, %p : (tensor<?x256xf32>, !qnt.packed<8x256, #qnt.scheme<si4, symmetric, per_group<1, 128>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @int2_g32(%x: tensor<?x128xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x4xf32>} : !qnt.packed<8x128, #qnt.scheme<si2, symmetric, per_group<1, 32>>>
    %y = qnt.matmul %x, %p : (tensor<?x128xf32>, !qnt.packed<8x128, #qnt.scheme<si2, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @int3_g32(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x24xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si3, symmetric, per_group<1, 32>>>
    %y = qnt.matmul %x, %p : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si3, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @int4_g16(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x4xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 16>>>
    %y = qnt.matmul %x, %p : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 16>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @int8_channel(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x64xi8>, scales = dense<1.0> : tensor<8x1xf32>} : !qnt.packed<8x64, #qnt.scheme<si8, symmetric, per_channel<0>>>
    %y = qnt.matmul %x, %p : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si8, symmetric, per_channel<0>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @attention(%q: tensor<1x4x8xf32>, %k: tensor<16x2x8xf32>, %pos: index, %q16: tensor<1x8x16xf32>, %k16: tensor<16x1x16xf32>) -> (tensor<1x4x8xf32>, tensor<1x8x16xf32>) {
    %o = qnt.attention %q, %k, %k, %pos {cache = #qnt.cache_format<f32>, scale = 0.5 : f32} : tensor<1x4x8xf32>, tensor<16x2x8xf32>, tensor<16x2x8xf32> -> tensor<1x4x8xf32>
    %o16 = qnt.attention %q16, %k16, %k16, %pos {cache = #qnt.cache_format<f32>, scale = 0.5 : f32} : tensor<1x8x16xf32>, tensor<16x1x16xf32>, tensor<16x1x16xf32> -> tensor<1x8x16xf32>
    return %o, %o16 : tensor<1x4x8xf32>, tensor<1x8x16xf32>
  }
  func.func @prompt_attention(%q: tensor<?x4x64xf32>, %k: tensor<16x2x64xf32>, %q8: tensor<?x4x8xf32>, %k8: tensor<16x2x8xf32>, %pos: index) -> (tensor<?x4x64xf32>, tensor<?x4x8xf32>) {
    %o = qnt.attention %q, %k, %k, %pos {cache = #qnt.cache_format<f32>, scale = 0.5 : f32} : tensor<?x4x64xf32>, tensor<16x2x64xf32>, tensor<16x2x64xf32> -> tensor<?x4x64xf32>
    %o8 = qnt.attention %q8, %k8, %k8, %pos {cache = #qnt.cache_format<f32>, scale = 0.5 : f32} : tensor<?x4x8xf32>, tensor<16x2x8xf32>, tensor<16x2x8xf32> -> tensor<?x4x8xf32>
    return %o, %o8 : tensor<?x4x64xf32>, tensor<?x4x8xf32>
  }
  func.func @prompt_attention_wide_group(%q: tensor<?x64x256xf32>, %k: tensor<16x1x256xf32>, %pos: index) -> tensor<?x64x256xf32> {
    %o = qnt.attention %q, %k, %k, %pos {scale = 0.5 : f32} : tensor<?x64x256xf32>, tensor<16x1x256xf32>, tensor<16x1x256xf32> -> tensor<?x64x256xf32>
    return %o : tensor<?x64x256xf32>
  }
  func.func @chosen(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
    %y = qnt.matmul %x, %p {qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 1x1, streams = 1>} : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
}

// -----

// AVX2-LABEL: func.func @int4_g32
//       AVX2:   qnt.kernel = #qnt.kernel<column_i8, lanes = 8, tile = 4x1, streams = 1, x_block = 32, int_dot = avx2, prefetch>
// AVX2-LABEL: func.func @int4_g128
//       AVX2:   qnt.kernel = #qnt.kernel<column_i8, lanes = 8, tile = 4x1, streams = 1, x_block = 128, int_dot = avx2, prefetch>
// AVX2-LABEL: func.func @int2_g32
//       AVX2:   qnt.kernel = #qnt.kernel<row_i8, lanes = 32, tile = 4x2, streams = 2, x_block = 32, int_dot = avx2, prefetch>
// AVX2-LABEL: func.func @int3_g32
//       AVX2:   qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 4x2, streams = 2, prefetch>
// AVX2-LABEL: func.func @int4_g16
//       AVX2:   qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 4x2, streams = 2, prefetch>
// AVX2-LABEL: func.func @int8_channel
//       AVX2:   qnt.kernel = #qnt.kernel<column_i8, lanes = 8, tile = 4x1, streams = 1, x_block = 32, int_dot = avx2, prefetch>
// AVX2-LABEL: func.func @attention
//       AVX2:   qnt.kernel = #qnt.kernel<attention, lanes = 8, tile = 1x2, prefetch>
// AVX2-LABEL: func.func @prompt_attention
//       AVX2:   qnt.kernel = #qnt.kernel<attention, lanes = 8, tile = 8x1, prefetch>
//       AVX2:   qnt.kernel = #qnt.kernel<attention, lanes = 8, tile = 8x2, prefetch>
// AVX2-LABEL: func.func @chosen
//       AVX2:   qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 1x1, streams = 1>
// An AVX2 target with f32 activations: 8-lane chunks on 2x4 tiles.
// AVX2-F32: #qnt.target<cpu = "znver3"
// AVX2-F32: func.func @int4_g32
// AVX2-F32:   qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 2x4, streams = 1, prefetch>
module attributes {qnt.target = #qnt.target<cpu = "znver3", vector_bits = 256, int_dot = avx2>} {
  func.func @int4_g32(%x: tensor<?x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
    %y = qnt.matmul %x, %p : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @int4_g128(%x: tensor<?x256xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x128xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x256, #qnt.scheme<si4, symmetric, per_group<1, 128>>>
    %y = qnt.matmul %x, %p : (tensor<?x256xf32>, !qnt.packed<8x256, #qnt.scheme<si4, symmetric, per_group<1, 128>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @int2_g32(%x: tensor<?x128xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x4xf32>} : !qnt.packed<8x128, #qnt.scheme<si2, symmetric, per_group<1, 32>>>
    %y = qnt.matmul %x, %p : (tensor<?x128xf32>, !qnt.packed<8x128, #qnt.scheme<si2, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @int3_g32(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x24xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si3, symmetric, per_group<1, 32>>>
    %y = qnt.matmul %x, %p : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si3, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @int4_g16(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x4xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 16>>>
    %y = qnt.matmul %x, %p : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 16>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @int8_channel(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x64xi8>, scales = dense<1.0> : tensor<8x1xf32>} : !qnt.packed<8x64, #qnt.scheme<si8, symmetric, per_channel<0>>>
    %y = qnt.matmul %x, %p : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si8, symmetric, per_channel<0>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @attention(%q: tensor<1x4x8xf32>, %k: tensor<16x2x8xf32>, %pos: index) -> tensor<1x4x8xf32> {
    %o = qnt.attention %q, %k, %k, %pos {cache = #qnt.cache_format<f32>, scale = 0.5 : f32} : tensor<1x4x8xf32>, tensor<16x2x8xf32>, tensor<16x2x8xf32> -> tensor<1x4x8xf32>
    return %o : tensor<1x4x8xf32>
  }
  func.func @prompt_attention(%q: tensor<?x4x64xf32>, %k: tensor<16x2x64xf32>, %q8: tensor<?x4x8xf32>, %k8: tensor<16x2x8xf32>, %pos: index) -> (tensor<?x4x64xf32>, tensor<?x4x8xf32>) {
    %o = qnt.attention %q, %k, %k, %pos {cache = #qnt.cache_format<f32>, scale = 0.5 : f32} : tensor<?x4x64xf32>, tensor<16x2x64xf32>, tensor<16x2x64xf32> -> tensor<?x4x64xf32>
    %o8 = qnt.attention %q8, %k8, %k8, %pos {cache = #qnt.cache_format<f32>, scale = 0.5 : f32} : tensor<?x4x8xf32>, tensor<16x2x8xf32>, tensor<16x2x8xf32> -> tensor<?x4x8xf32>
    return %o, %o8 : tensor<?x4x64xf32>, tensor<?x4x8xf32>
  }
  func.func @chosen(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
    %y = qnt.matmul %x, %p {qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 1x1, streams = 1>} : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
}

// -----

// VNNI-LABEL: func.func @int4_g32
//       VNNI:   qnt.kernel = #qnt.kernel<column_i8, lanes = 16, tile = 4x1, streams = 1, x_block = 32, int_dot = avx512vnni, prefetch>
// VNNI-LABEL: func.func @int4_g128
//       VNNI:   qnt.kernel = #qnt.kernel<column_i8, lanes = 16, tile = 4x1, streams = 1, x_block = 128, int_dot = avx512vnni, prefetch>
// VNNI-LABEL: func.func @int2_g32
//       VNNI:   qnt.kernel = #qnt.kernel<row_i8, lanes = 32, tile = 4x2, streams = 2, x_block = 32, int_dot = avx512vnni, prefetch>
// VNNI-LABEL: func.func @int3_g32
//       VNNI:   qnt.kernel = #qnt.kernel<row_f32, lanes = 16, tile = 4x2, streams = 2, prefetch>
// VNNI-LABEL: func.func @int4_g16
//       VNNI:   qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 4x2, streams = 2, prefetch>
// VNNI-LABEL: func.func @int8_channel
//       VNNI:   qnt.kernel = #qnt.kernel<column_i8, lanes = 16, tile = 4x1, streams = 1, x_block = 32, int_dot = avx512vnni, prefetch>
// VNNI-LABEL: func.func @attention
//       VNNI:   qnt.kernel = #qnt.kernel<attention, lanes = 16, tile = 1x2, prefetch>
// VNNI-LABEL: func.func @prompt_attention
//       VNNI:   qnt.kernel = #qnt.kernel<attention, lanes = 16, tile = 16x2, prefetch>
//       VNNI:   qnt.kernel = #qnt.kernel<attention, lanes = 16, tile = 16x2, prefetch>
// VNNI-LABEL: func.func @chosen
//       VNNI:   qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 1x1, streams = 1>
// Options override the target: row kernels, a fixed x block, threads.
// VNNI-ROWS: #qnt.target<cpu = "znver4"
// VNNI-ROWS: func.func @int4_g128
// VNNI-ROWS:   qnt.kernel = #qnt.kernel<row_i8, lanes = 32, tile = 4x2, streams = 2, x_block = 64, int_dot = avx512vnni, prefetch, parallel>
module attributes {qnt.target = #qnt.target<cpu = "znver4", vector_bits = 512, int_dot = avx512vnni>} {
  func.func @int4_g32(%x: tensor<?x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
    %y = qnt.matmul %x, %p : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @int4_g128(%x: tensor<?x256xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x128xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x256, #qnt.scheme<si4, symmetric, per_group<1, 128>>>
    %y = qnt.matmul %x, %p : (tensor<?x256xf32>, !qnt.packed<8x256, #qnt.scheme<si4, symmetric, per_group<1, 128>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @int2_g32(%x: tensor<?x128xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x4xf32>} : !qnt.packed<8x128, #qnt.scheme<si2, symmetric, per_group<1, 32>>>
    %y = qnt.matmul %x, %p : (tensor<?x128xf32>, !qnt.packed<8x128, #qnt.scheme<si2, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @int3_g32(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x24xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si3, symmetric, per_group<1, 32>>>
    %y = qnt.matmul %x, %p : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si3, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @int4_g16(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x4xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 16>>>
    %y = qnt.matmul %x, %p : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 16>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @int8_channel(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x64xi8>, scales = dense<1.0> : tensor<8x1xf32>} : !qnt.packed<8x64, #qnt.scheme<si8, symmetric, per_channel<0>>>
    %y = qnt.matmul %x, %p : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si8, symmetric, per_channel<0>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @attention(%q: tensor<1x4x8xf32>, %k: tensor<16x2x8xf32>, %pos: index) -> tensor<1x4x8xf32> {
    %o = qnt.attention %q, %k, %k, %pos {cache = #qnt.cache_format<f32>, scale = 0.5 : f32} : tensor<1x4x8xf32>, tensor<16x2x8xf32>, tensor<16x2x8xf32> -> tensor<1x4x8xf32>
    return %o : tensor<1x4x8xf32>
  }
  func.func @prompt_attention(%q: tensor<?x4x64xf32>, %k: tensor<16x2x64xf32>, %q8: tensor<?x4x8xf32>, %k8: tensor<16x2x8xf32>, %pos: index) -> (tensor<?x4x64xf32>, tensor<?x4x8xf32>) {
    %o = qnt.attention %q, %k, %k, %pos {cache = #qnt.cache_format<f32>, scale = 0.5 : f32} : tensor<?x4x64xf32>, tensor<16x2x64xf32>, tensor<16x2x64xf32> -> tensor<?x4x64xf32>
    %o8 = qnt.attention %q8, %k8, %k8, %pos {cache = #qnt.cache_format<f32>, scale = 0.5 : f32} : tensor<?x4x8xf32>, tensor<16x2x8xf32>, tensor<16x2x8xf32> -> tensor<?x4x8xf32>
    return %o, %o8 : tensor<?x4x64xf32>, tensor<?x4x8xf32>
  }
  func.func @chosen(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
    %y = qnt.matmul %x, %p {qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 1x1, streams = 1>} : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
}
