// convert-qnt-to-vector activations=i8, the column kernels (4- and 8-bit
// codes): the codes are re-laid at compile time so that a load holds 4 bytes
// of each of `lanes` output columns (here 8: chunk=8), the columns of 4 such
// tiles interleaved step by step; each vpdpbusd-shaped qnt.dot4_i8 advances
// 8 outputs by 4 codes against 4 bytes of x broadcast to every lane; each
// x block's integer sums are scaled by sx times the group's 8 column scales
// at once; the offset of the flipped signed codes is corrected per group
// with x's sums; the store of a tile past N is masked.
// RUN: quant-opt %s --qnt-select-kernels="activations=i8 chunk=8 prefetch=false" --convert-qnt-to-vector --cse --canonicalize | FileCheck %s
// RUN: quant-opt %s --qnt-select-kernels="activations=i8 chunk=8 prefetch=false parallel=true" --convert-qnt-to-vector | FileCheck %s --check-prefix=PAR
// RUN: quant-opt %s --qnt-select-kernels="activations=i8 chunk=16" --convert-qnt-to-vector --cse --canonicalize | FileCheck %s --check-prefix=W16

// 20 columns: 3 tiles of 8, padded to a group of 4 tiles; 64 codes are 8
// steps of 8 int4 codes (4 bytes per column); 16 more steps of zeros at the
// end for the prefetches; 2 groups of 32 f16 scales per column.
// CHECK-LABEL: func.func @column
//   CHECK-DAG:   %[[M8:.*]] = arith.constant dense<-8.000000e+00> : vector<8xf32>
//   CHECK-DAG:   %[[LOW:.*]] = arith.constant dense<15> : vector<32xi8>
//   CHECK-DAG:   %[[SCALES:.*]] = arith.constant dense_resource<qnt_column_scales> : tensor<64xf16>
//   CHECK-DAG:   %[[CODES:.*]] = arith.constant dense_resource<qnt_column_codes> : tensor<1536xi8>
//       CHECK:   scf.for
//       CHECK:     scf.for
//       CHECK:       scf.for {{.*}} iter_args
//       CHECK:         vector.load %{{.*}} : memref<64xf16>, vector<8xf16>
//       CHECK:         arith.extf %{{.*}} : vector<8xf16> to vector<8xf32>
//       CHECK:         %[[W:.*]] = vector.load %{{.*}} : memref<1536xi8>, vector<32xi8>
//       CHECK:         %[[LO:.*]] = arith.andi %[[W]], %[[LOW]] : vector<32xi8>
//       CHECK:         vector.load %{{.*}} : memref<?x64xi8>, vector<4xi8>
//       CHECK:         vector.broadcast %{{.*}} : i32 to vector<8xi32>
//       CHECK:         qnt.dot4_i8 %[[LO]], %{{.*}} acc %{{.*}} : vector<32xi8>, vector<32xi8>, vector<8xi32> -> vector<8xi32>
//       CHECK:         arith.sitofp %{{.*}} : vector<8xi32> to vector<8xf32>
//       CHECK:         vector.fma
//       CHECK:       arith.mulf %{{.*}}, %[[M8]] : vector<8xf32>
//       CHECK:       vector.fma
// Columns 16..19 are the first 4 lanes of the third tile; the fourth tile
// (padding) stores nothing.
//       CHECK:     %[[MASK:.*]] = vector.constant_mask [4] : vector<8xi1>
//       CHECK:     vector.maskedstore %{{.*}}[%{{.*}}, %c16], %[[MASK]]
//   CHECK-NOT:     vector.maskedstore %{{.*}}[%{{.*}}, %c24]
//   CHECK-NOT:   scf.parallel
// PAR-LABEL: func.func @column
//       PAR:   scf.parallel
//       PAR:     qnt.dot4_i8
// With 16 columns per register (chunk=16): 64-byte loads, 16 lanes, and
// prefetches a few steps ahead.
// W16-LABEL: func.func @column
//       W16:   arith.constant dense_resource<qnt_column_codes> : tensor<3072xi8>
//       W16:   memref.prefetch
//       W16:   qnt.dot4_i8 %{{.*}} : vector<64xi8>, vector<64xi8>, vector<16xi32> -> vector<16xi32>
func.func @column(%x: tensor<?x64xf32>) -> tensor<?x20xf32> {
  %w = qnt.constant {codes = dense<17> : tensor<20x32xi8>, scales = dense<0.5> : tensor<20x2xf16>} : !qnt.packed<20x64, #qnt.scheme<si4, symmetric, per_group<1, 32>, scale = f16>>
  %y = qnt.matmul %x, %w : (tensor<?x64xf32>, !qnt.packed<20x64, #qnt.scheme<si4, symmetric, per_group<1, 32>, scale = f16>>) -> tensor<?x20xf32>
  return %y : tensor<?x20xf32>
}
