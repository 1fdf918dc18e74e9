// qnt-select-kernels lays each matmul's weight out for its kernel and names
// the layout in the weight's type (docs/BIT_LAYOUT.md, "Kernel layout"):
// one qnt.constant per constant and layout, shared by the matmuls that read
// it; the row-layout constant goes once nothing reads it, and stays where
// a kernel reads the row layout (3-bit codes). The flip of 8-bit codes in
// column tiles follows the dot products: VNNI reads unsigned bytes (signed
// codes flipped), AVX2 signed ones (unsigned codes flipped).
// RUN: quant-opt %s --split-input-file --qnt-select-kernels="activations=i8 int-dot=avx2 chunk=8" | FileCheck %s --check-prefix=AVX2
// RUN: quant-opt %s --split-input-file --qnt-select-kernels="activations=i8 int-dot=avx2 chunk=8 column-kernels=false" | FileCheck %s --check-prefix=ROWS
// RUN: quant-opt %s --split-input-file --qnt-select-kernels="activations=i8 int-dot=avx512vnni chunk=16" | FileCheck %s --check-prefix=VNNI
// Laying out twice changes nothing.
// RUN: quant-opt %s --split-input-file --qnt-select-kernels="activations=i8 int-dot=avx2 chunk=8" | quant-opt --split-input-file --qnt-select-kernels="activations=i8 int-dot=avx2 chunk=8" | FileCheck %s --check-prefix=AVX2

// AVX2-LABEL: func.func @shared
//   AVX2-NOT:   qnt.constant
//       AVX2:   %[[P:.*]] = qnt.constant {codes = dense_resource<qnt_kernel_codes> : tensor<8x32xi8>, scales = dense<1.000000e+00> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<planes, block = 32, lanes = 8>>
//       AVX2:   %[[C:.*]] = qnt.constant {codes = dense_resource<qnt_column_codes> : tensor<1536xi8>, scales = dense_resource<qnt_column_scales> : tensor<64xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<column_tiles, lanes = 8, flip = 136>>
//   AVX2-NOT:   qnt.constant
//       AVX2:   qnt.matmul %{{.*}}, %[[C]] {qnt.kernel = #qnt.kernel<column_i8,
//       AVX2:   qnt.matmul %{{.*}}, %[[C]] {qnt.kernel = #qnt.kernel<column_i8,
//       AVX2:   qnt.matmul %{{.*}}, %[[P]] {qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 1x1, streams = 1>}

// ROWS-LABEL: func.func @shared
//       ROWS:   qnt.constant {codes = dense_resource<qnt_kernel_codes> : tensor<384xi8>, {{.*}} #qnt.layout<row_tiles, block = 32, lanes = 16, rows = 4, flip = 136>>
func.func @shared(%x: tensor<?x64xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>) {
  %w = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>
  %a = qnt.matmul %x, %w : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
  %b = qnt.matmul %x, %w : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
  %c = qnt.matmul %x, %w {qnt.kernel = #qnt.kernel<row_f32, lanes = 8, tile = 1x1, streams = 1>} : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
  return %a, %b, %c : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>
}

// -----

// AVX2-LABEL: func.func @int3
//       AVX2:   qnt.constant {codes = dense<0> : tensor<8x24xi8>, scales = dense<1.000000e+00> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si3, symmetric, per_group<1, 32>>>
//       AVX2:   qnt.kernel = #qnt.kernel<row_f32,
func.func @int3(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
  %w = qnt.constant {codes = dense<0> : tensor<8x24xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si3, symmetric, per_group<1, 32>>>
  %y = qnt.matmul %x, %w : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si3, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// AVX2-LABEL: func.func @int8
//       AVX2:   #qnt.scheme<si8, symmetric, per_channel<0>>, #qnt.layout<column_tiles, lanes = 8>>
//       AVX2:   #qnt.scheme<ui8, asymmetric, per_channel<0>>, #qnt.layout<column_tiles, lanes = 8, flip = 128>>
// VNNI-LABEL: func.func @int8
//       VNNI:   #qnt.scheme<si8, symmetric, per_channel<0>>, #qnt.layout<column_tiles, lanes = 16, flip = 128>>
//       VNNI:   #qnt.scheme<ui8, asymmetric, per_channel<0>>, #qnt.layout<column_tiles, lanes = 16>>
func.func @int8(%x: tensor<?x64xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  %s = qnt.constant {codes = dense<0> : tensor<8x64xi8>, scales = dense<1.0> : tensor<8x1xf32>} : !qnt.packed<8x64, #qnt.scheme<si8, symmetric, per_channel<0>>>
  %u = qnt.constant {codes = dense<0> : tensor<8x64xi8>, scales = dense<1.0> : tensor<8x1xf32>, zero_points = dense<128> : tensor<8x1xui8>} : !qnt.packed<8x64, #qnt.scheme<ui8, asymmetric, per_channel<0>>>
  %a = qnt.matmul %x, %s : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<si8, symmetric, per_channel<0>>>) -> tensor<?x8xf32>
  %b = qnt.matmul %x, %u : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<ui8, asymmetric, per_channel<0>>>) -> tensor<?x8xf32>
  return %a, %b : tensor<?x8xf32>, tensor<?x8xf32>
}
