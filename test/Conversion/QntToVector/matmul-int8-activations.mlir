// convert-qnt-to-vector activations=i8: x is quantized to int8 per row and
// block of 32 (act-block=32) before the matmul, and each 4-row register tile
// reads its codes as one contiguous stream (rows interleaved in 32-byte blocks
// at compile time) and multiplies them with qnt.dot4_i8, scaled by x's block
// scale once per block. No float copy of the weight is made.
// RUN: quant-opt %s --qnt-select-kernels="activations=i8 column-kernels=false act-block=32 rows-per-tile=1 cols-per-tile=4" --convert-qnt-to-vector --cse --canonicalize | FileCheck %s
// The default block (act-block=0) per matmul: the largest of 128 and 64 that
// divides the group for codes of 4 bits or fewer (64 here, 128 in @gemv_int4_g128:
// one x scale per block, memref<1 x K/block>), 32 for 8-bit codes.
// RUN: quant-opt %s --qnt-select-kernels="activations=i8 column-kernels=false" --convert-qnt-to-vector --canonicalize | FileCheck %s --check-prefix=AUTO
// RUN: quant-opt %s --qnt-select-kernels="activations=i8 column-kernels=false act-block=256" --convert-qnt-to-vector --canonicalize | FileCheck %s --check-prefix=B256

// CHECK-LABEL: func.func @gemv_int4_g64
//   CHECK-NOT:   xf32> = arith.constant dense
//   CHECK-DAG:   %[[CODES:.*]] = arith.constant dense_resource<qnt_kernel_codes> : tensor<768xi8>
//   CHECK-DAG:   %[[XB:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<1x128xf32> to memref<1x128xf32>
//   CHECK-DAG:   %[[CB:.*]] = bufferization.to_buffer %[[CODES]] read_only : tensor<768xi8> to memref<768xi8>
//       CHECK:   %[[XQ:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x128xi8>
//       CHECK:   %[[XS:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x4xf32>
//       CHECK:   %[[SUMS:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x2xf32>
// Quantization of x: per block, max|x| (NaN-propagating: the largest bit
// pattern of |x| as an unsigned integer), 127 / max|x| (0 for
// a zero block), rounded to nearest even, clamped; the block scale
// max|x| / 127; sx * sum(xq) summed per group (signed codes are fed as
// unsigned, d = c + 8).
//       CHECK:   scf.for
//       CHECK:     scf.for {{.*}} -> (f32)
//       CHECK:       %[[V:.*]] = vector.load %[[XB]]
//       CHECK:       %[[A:.*]] = math.absf %[[V]] : vector<32xf32>
//       CHECK:       %[[BITS:.*]] = arith.bitcast %[[A]] : vector<32xf32> to vector<32xi32>
//       CHECK:       %[[MAXBITS:.*]] = vector.reduction <maxui>, %[[BITS]] : vector<32xi32> into i32
//       CHECK:       %[[AMAX:.*]] = arith.bitcast %[[MAXBITS]] : i32 to f32
//       CHECK:       arith.select
//       CHECK:       math.roundeven
//       CHECK:       %[[Q:.*]] = arith.fptosi %{{.*}} : vector<32xf32> to vector<32xi32>
//       CHECK:       %[[Q8:.*]] = arith.trunci %[[Q]] : vector<32xi32> to vector<32xi8>
//       CHECK:       vector.store %[[Q8]], %[[XQ]]
//       CHECK:       vector.reduction <add>, %[[Q]] : vector<32xi32> into i32
//       CHECK:       %[[SX:.*]] = arith.divf %[[AMAX]], %{{.*}} : f32
//       CHECK:       memref.store %[[SX]], %[[XS]]
//       CHECK:     memref.store %{{.*}}, %[[SUMS]]
// The tile: 4 weight rows from one stream (row c at n0 * 64 + offset * 4 +
// 32 * c), the next tile's bytes prefetched, then field 0 (low nibbles,
// codes 0-31 of the block) and field 1 (high nibbles, codes 32-63).
//       CHECK:   scf.for %[[N0:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
//       CHECK:     scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, f32, f32, f32, f32)
//       CHECK:       %[[S0:.*]] = vector.load %[[CB]][%[[AT:.*]]] : memref<768xi8>, vector<32xi8>
//       CHECK:       vector.load %[[CB]][%{{.*}}] : memref<768xi8>, vector<32xi8>
//       CHECK:       vector.load %[[CB]][%{{.*}}] : memref<768xi8>, vector<32xi8>
//       CHECK:       vector.load %[[CB]][%{{.*}}] : memref<768xi8>, vector<32xi8>
// The next tile is 4 rows x 64 bytes ahead; the codes end with a tile of
// zeros (512 + 256 bytes), so the prefetch needs no bounds check.
//       CHECK:       %[[PF0:.*]] = arith.addi %[[AT]], %c256 : index
//       CHECK:       memref.prefetch %[[CB]][%[[PF0]]], read, locality<2>, data : memref<768xi8>
//       CHECK:       %[[PF1:.*]] = arith.addi %[[AT]], %c320 : index
//       CHECK:       memref.prefetch %[[CB]][%[[PF1]]], read, locality<2>, data : memref<768xi8>
//       CHECK:       %[[LO:.*]] = arith.andi %[[S0]], %{{.*}} : vector<32xi8>
//       CHECK:       %[[X0:.*]] = vector.load %[[XQ]]
//       CHECK:       %[[D0:.*]] = qnt.dot4_i8 %[[LO]], %[[X0]] : vector<32xi8>, vector<32xi8> -> vector<8xi32>
//       CHECK:       qnt.dot4_i8
//       CHECK:       qnt.dot4_i8
//       CHECK:       qnt.dot4_i8
//       CHECK:       %[[SXV:.*]] = vector.broadcast %{{.*}} : f32 to vector<8xf32>
//       CHECK:       %[[F0:.*]] = arith.sitofp %[[D0]] : vector<8xi32> to vector<8xf32>
//       CHECK:       vector.fma %[[F0]], %[[SXV]], %{{.*}} : vector<8xf32>
//       CHECK:       %[[HI:.*]] = arith.shrui %[[S0]], %{{.*}} : vector<32xi8>
//       CHECK:       qnt.dot4_i8 %[[HI]]
//   CHECK-NOT:   memref<8x128xf32>
func.func @gemv_int4_g64(%x: tensor<1x128xf32>) -> tensor<1x8xf32> {
  %w = qnt.constant {codes = dense<17> : tensor<8x64xi8>, scales = dense<0.5> : tensor<8x2xf32>}
      : !qnt.packed<8x128, #qnt.scheme<si4, symmetric, per_group<1, 64>>>
  %y = qnt.matmul %x, %w : (tensor<1x128xf32>, !qnt.packed<8x128, #qnt.scheme<si4, symmetric, per_group<1, 64>>>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// AUTO-LABEL: func.func @gemv_int4_g64
//       AUTO:   memref.alloc() {alignment = 64 : i64} : memref<1x128xi8>
//  AUTO-NEXT:   memref.alloc() {alignment = 64 : i64} : memref<1x2xf32>
// B256-LABEL: func.func @gemv_int4_g64
//       B256:   memref.alloc() {alignment = 64 : i64} : memref<1x128xi8>
//  B256-NEXT:   memref.alloc() {alignment = 64 : i64} : memref<1x4xf32>

// AUTO-LABEL: func.func @gemv_int4_g128
//       AUTO:   memref.alloc() {alignment = 64 : i64} : memref<1x512xi8>
//  AUTO-NEXT:   memref.alloc() {alignment = 64 : i64} : memref<1x4xf32>
// A block of 128 4-bit codes is 4 dot products per row, summed in i16
// (at most 4 * 2 * 15 * 127) and widened once.
//       AUTO:   %[[P0:.*]] = qnt.dot2_i8 %{{.*}}, %{{.*}} : vector<32xi8>, vector<32xi8> -> vector<16xi16>
//       AUTO:   arith.addi %[[P0]], %{{.*}} : vector<16xi16>
//       AUTO:   %[[W:.*]] = qnt.sum_pairs_i16 %{{.*}} : vector<16xi16> -> vector<8xi32>
//       AUTO:   arith.sitofp %[[W]] : vector<8xi32> to vector<8xf32>
//   AUTO-NOT:   qnt.dot4_i8
// B256-LABEL: func.func @gemv_int4_g128
//       B256:   memref.alloc() {alignment = 64 : i64} : memref<1x512xi8>
//  B256-NEXT:   memref.alloc() {alignment = 64 : i64} : memref<1x16xf32>
func.func @gemv_int4_g128(%x: tensor<1x512xf32>) -> tensor<1x8xf32> {
  %w = qnt.constant {codes = dense<17> : tensor<8x256xi8>, scales = dense<0.5> : tensor<8x4xf32>}
      : !qnt.packed<8x512, #qnt.scheme<si4, symmetric, per_group<1, 128>>>
  %y = qnt.matmul %x, %w : (tensor<1x512xf32>, !qnt.packed<8x512, #qnt.scheme<si4, symmetric, per_group<1, 128>>>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// One scale per channel: the group is the row (K = 192: 64 divides it, 128
// does not).
// AUTO-LABEL: func.func @gemv_int4_per_channel
//       AUTO:   memref.alloc() {alignment = 64 : i64} : memref<1x192xi8>
//  AUTO-NEXT:   memref.alloc() {alignment = 64 : i64} : memref<1x3xf32>
func.func @gemv_int4_per_channel(%x: tensor<1x192xf32>) -> tensor<1x8xf32> {
  %w = qnt.constant {codes = dense<17> : tensor<8x96xi8>, scales = dense<0.5> : tensor<8x1xf32>}
      : !qnt.packed<8x192, #qnt.scheme<si4, symmetric, per_channel<0>>>
  %y = qnt.matmul %x, %w : (tensor<1x192xf32>, !qnt.packed<8x192, #qnt.scheme<si4, symmetric, per_channel<0>>>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// 8-bit codes keep blocks of 32 by default; act-block=256 applies to them.
// Their dot products are widened to i32 one by one (qnt.dot4_i8).
// AUTO-LABEL: func.func @gemv_int8_per_channel
//       AUTO:   memref.alloc() {alignment = 64 : i64} : memref<1x512xi8>
//  AUTO-NEXT:   memref.alloc() {alignment = 64 : i64} : memref<1x16xf32>
//   AUTO-NOT:   qnt.dot2_i8
//       AUTO:   qnt.dot4_i8
//   AUTO-NOT:   qnt.dot2_i8
// B256-LABEL: func.func @gemv_int8_per_channel
//       B256:   memref.alloc() {alignment = 64 : i64} : memref<1x512xi8>
//  B256-NEXT:   memref.alloc() {alignment = 64 : i64} : memref<1x2xf32>
func.func @gemv_int8_per_channel(%x: tensor<1x512xf32>) -> tensor<1x8xf32> {
  %w = qnt.constant {codes = dense<17> : tensor<8x512xi8>, scales = dense<0.5> : tensor<8x1xf32>}
      : !qnt.packed<8x512, #qnt.scheme<si8, symmetric, per_channel<0>>>
  %y = qnt.matmul %x, %w : (tensor<1x512xf32>, !qnt.packed<8x512, #qnt.scheme<si8, symmetric, per_channel<0>>>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}
