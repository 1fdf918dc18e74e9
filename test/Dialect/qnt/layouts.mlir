// Kernel code layouts in !qnt.packed: printed as parsed, with the payload
// shapes each layout implies (docs/DIALECT.md, docs/BIT_LAYOUT.md).
// RUN: quant-opt %s | FileCheck %s
// RUN: quant-opt %s | quant-opt | FileCheck %s

// Plane-major rows keep the row layout's shape.
// CHECK-LABEL: func.func @planes
//       CHECK:   tensor<8x32xi8>
//  CHECK-SAME:   !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<planes, block = 32, lanes = 8>>
func.func @planes() -> !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<planes, block = 32, lanes = 8>> {
  %w = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<planes, block = 32, lanes = 8>>
  return %w : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<planes, block = 32, lanes = 8>>
}

// Row tiles: (8 rows + 2 rows of zeros) x 32 bytes, 1-D.
// CHECK-LABEL: func.func @row_tiles
//       CHECK:   tensor<320xi8>
//  CHECK-SAME:   #qnt.layout<row_tiles, block = 64, lanes = 32, rows = 2, flip = 136>
func.func @row_tiles() -> !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<row_tiles, block = 64, lanes = 32, rows = 2, flip = 136>> {
  %w = qnt.constant {codes = dense<0> : tensor<320xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<row_tiles, block = 64, lanes = 32, rows = 2, flip = 136>>
  return %w : !qnt.packed<8x64, #qnt.scheme<si4, symmetric, per_group<1, 32>>, #qnt.layout<row_tiles, block = 64, lanes = 32, rows = 2, flip = 136>>
}

// Column tiles of 8: 8 columns make one group of 4 tiles; 64 codes are 8
// k-steps of 4 bytes, and 16 steps of zeros follow: (4 * 8 + 16) * 8 * 4
// bytes. Scales and zero points: 4 tiles x 2 groups x 8 columns. A flip of
// 0 is not printed.
// CHECK-LABEL: func.func @column_tiles
//       CHECK:   tensor<1536xi8>
//  CHECK-SAME:   tensor<64xf16>
//  CHECK-SAME:   tensor<64xui8>
//  CHECK-SAME:   #qnt.layout<column_tiles, lanes = 8>>
func.func @column_tiles() -> !qnt.packed<8x64, #qnt.scheme<ui4, asymmetric, per_group<1, 32>, scale = f16>, #qnt.layout<column_tiles, lanes = 8, flip = 0>> {
  %w = qnt.constant {codes = dense<0> : tensor<1536xi8>, scales = dense<1.0> : tensor<64xf16>, zero_points = dense<8> : tensor<64xui8>} : !qnt.packed<8x64, #qnt.scheme<ui4, asymmetric, per_group<1, 32>, scale = f16>, #qnt.layout<column_tiles, lanes = 8, flip = 0>>
  return %w : !qnt.packed<8x64, #qnt.scheme<ui4, asymmetric, per_group<1, 32>, scale = f16>, #qnt.layout<column_tiles, lanes = 8, flip = 0>>
}

// mxfp4's byte scales end with 8 groups of 4 tiles of 16 columns of zeros:
// 4 x 2 x 16 + 512.
// CHECK-LABEL: func.func @column_tiles_byte_scales
//       CHECK:   tensor<640xf8E8M0FNU>
func.func @column_tiles_byte_scales() -> !qnt.packed<8x64, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 32>, scale = f8E8M0FNU>, #qnt.layout<column_tiles, lanes = 16>> {
  %w = qnt.constant {codes = dense<0> : tensor<3072xi8>, scales = dense<1.0> : tensor<640xf8E8M0FNU>} : !qnt.packed<8x64, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 32>, scale = f8E8M0FNU>, #qnt.layout<column_tiles, lanes = 16>>
  return %w : !qnt.packed<8x64, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 32>, scale = f8E8M0FNU>, #qnt.layout<column_tiles, lanes = 16>>
}
