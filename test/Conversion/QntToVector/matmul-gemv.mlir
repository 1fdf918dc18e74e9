// qnt.matmul becomes a loop nest that unpacks codes in vector registers and
// applies each group's scale once per group. No float weight is built.
// RUN: quant-opt %s --qnt-select-kernels="chunk=16 rows-per-tile=1 cols-per-tile=1" --convert-qnt-to-vector --cse | FileCheck %s

// 4-bit codes: the kernel reads a plane-major copy of the codes (16 bytes =
// 32 codes per block, field p of byte j = code 16*p + j of the block), so each
// field is one widening load, two shifts and a conversion, with no shuffle.
// The two blocks of a 64-code group are emitted straight-line.
// CHECK-LABEL: func.func @gemv_int4_group64
//  CHECK-SAME:   (%[[X:.*]]: tensor<1x128xf32>)
//   CHECK-DAG:   %[[SCALES:.*]] = arith.constant dense<{{.*}}> : tensor<8x2xf32>
//   CHECK-DAG:   %[[CODES:.*]] = arith.constant dense_resource<qnt_kernel_codes> : tensor<8x64xi8>
//       CHECK:   %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only : tensor<1x128xf32> to memref<1x128xf32>
//       CHECK:   %[[CB:.*]] = bufferization.to_buffer %[[CODES]] read_only : tensor<8x64xi8> to memref<8x64xi8>
//       CHECK:   %[[SB:.*]] = bufferization.to_buffer %[[SCALES]] read_only : tensor<8x2xf32> to memref<8x2xf32>
//       CHECK:   %[[OUT:.*]] = memref.alloc() : memref<1x8xf32>
// Loop over weight rows, then rows of x, then groups.
//       CHECK:   scf.for %[[N:.*]] =
//       CHECK:     scf.for %[[M:.*]] =
//       CHECK:       %[[ACC:.*]] = scf.for %[[G:.*]] = {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (vector<16xf32>)
//   CHECK-NOT:         scf.for
//   CHECK-NOT:         vector.shuffle
// Block 0 first prefetches the same bytes of the next weight row (the next
// tile), then unpacks field 0 (codes 0-15) and field 1 (codes 16-31).
//       CHECK:         %[[NEXTROW:.*]] = arith.minui %{{.*}}, %{{.*}} : index
//       CHECK:         memref.prefetch %[[CB]][%[[NEXTROW]], %[[OFF:.*]]], read, locality<2>, data : memref<8x64xi8>
//       CHECK:         %[[B0:.*]] = vector.load %[[CB]][%[[N]], %[[OFF]]] : memref<8x64xi8>, vector<16xi8>
//       CHECK:         %[[W0:.*]] = arith.extsi %[[B0]] : vector<16xi8> to vector<16xi32>
//       CHECK:         %[[L0:.*]] = arith.shli %[[W0]], %[[C28:.*]] : vector<16xi32>
//       CHECK:         %[[F0:.*]] = arith.shrsi %[[L0]], %[[C28]] : vector<16xi32>
//       CHECK:         %[[CF0:.*]] = arith.sitofp %[[F0]] : vector<16xi32> to vector<16xf32>
//       CHECK:         %[[X0:.*]] = vector.load %[[XB]][%[[M]], %{{.*}}] : memref<1x128xf32>, vector<16xf32>
//       CHECK:         %[[A0:.*]] = vector.fma %[[CF0]], %[[X0]], %{{.*}} : vector<16xf32>
//       CHECK:         %[[H0:.*]] = arith.shli %[[W0]], %{{.*}} : vector<16xi32>
//       CHECK:         %[[F1:.*]] = arith.shrsi %[[H0]], %[[C28]] : vector<16xi32>
//       CHECK:         %[[CF1:.*]] = arith.sitofp %[[F1]] : vector<16xi32> to vector<16xf32>
//       CHECK:         %[[X1:.*]] = vector.load %[[XB]][%[[M]], %{{.*}}] : memref<1x128xf32>, vector<16xf32>
//       CHECK:         %[[A1:.*]] = vector.fma %[[CF1]], %[[X1]], %[[A0]] : vector<16xf32>
// Block 1 (bytes 16-31 of the group, same cache line): no prefetch.
//   CHECK-NOT:         memref.prefetch
//       CHECK:         vector.load %[[CB]][%[[N]], %{{.*}}] : memref<8x64xi8>, vector<16xi8>
//       CHECK:         vector.fma
//       CHECK:         %[[GACC:.*]] = vector.fma
// The scale is loaded once per group, after the blocks.
//       CHECK:         %[[S:.*]] = memref.load %[[SB]][%[[N]], %[[G]]] : memref<8x2xf32>
//       CHECK:         %[[SV:.*]] = vector.broadcast %[[S]] : f32 to vector<16xf32>
//       CHECK:         %[[NEXT:.*]] = vector.fma %[[SV]], %[[GACC]], %{{.*}} : vector<16xf32>
//       CHECK:         scf.yield %[[NEXT]]
//       CHECK:       %[[SUM:.*]] = vector.reduction <add>, %[[ACC]] fastmath<reassoc> : vector<16xf32> into f32
//       CHECK:       memref.store %[[SUM]], %{{.*}}[%[[M]], %[[N]]] : memref<1x8xf32>
//       CHECK:   %[[Y:.*]] = bufferization.to_tensor %[[OUT]] restrict writable : memref<1x8xf32> to tensor<1x8xf32>
//       CHECK:   return %[[Y]]
func.func @gemv_int4_group64(%x: tensor<1x128xf32>) -> tensor<1x8xf32> {
  %w = qnt.constant {codes = dense<17> : tensor<8x64xi8>,
                     scales = dense<[[1.0, 2.0], [1.0, 2.0], [1.0, 2.0], [1.0, 2.0],
                                     [1.0, 2.0], [1.0, 2.0], [1.0, 2.0], [1.0, 2.0]]> : tensor<8x2xf32>}
      : !qnt.packed<8x128, #qnt.scheme<si4, symmetric, per_group<1, 64>>>
  %y = qnt.matmul %x, %w : (tensor<1x128xf32>, !qnt.packed<8x128, #qnt.scheme<si4, symmetric, per_group<1, 64>>>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// 3-bit codes cross bytes: the standard layout is read in 16-code chunks and
// each code is gathered from its two bytes with shuffles.
// CHECK-LABEL: func.func @gemv_int3_group32
//       CHECK:   %[[CODES3:.*]] = arith.constant dense<{{.*}}> : tensor<2x12xi8>
//       CHECK:   %[[CB3:.*]] = bufferization.to_buffer %[[CODES3]]
//       CHECK:   scf.for %[[N3:.*]] =
//       CHECK:         %[[BYTES3:.*]] = vector.load %[[CB3]][%[[N3]], %{{.*}}] : memref<2x12xi8>, vector<6xi8>
//       CHECK:         %[[LO:.*]] = vector.shuffle %[[BYTES3]], %[[BYTES3]] [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5]
//       CHECK:         %[[HI:.*]] = vector.shuffle %[[BYTES3]], %[[BYTES3]] [1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 4, 5, 5, 5, 5, 5]
//       CHECK:         arith.sitofp %{{.*}} : vector<16xi16> to vector<16xf32>
func.func @gemv_int3_group32(%x: tensor<1x32xf32>) -> tensor<1x2xf32> {
  %w = qnt.constant {codes = dense<[[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
                                    [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]> : tensor<2x12xi8>,
                     scales = dense<[[0.5], [0.25]]> : tensor<2x1xf32>}
      : !qnt.packed<2x32, #qnt.scheme<si3, symmetric, per_group<1, 32>>>
  %y = qnt.matmul %x, %w : (tensor<1x32xf32>, !qnt.packed<2x32, #qnt.scheme<si3, symmetric, per_group<1, 32>>>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// The plane-major copy of a 4-bit row with codes 0..15, 0..15 (standard bytes
// 0x10 0x32 ... 0xFE twice): byte j holds codes j and 16 + j, i.e. 0xjj.
// CHECK-LABEL: func.func @plane_major_payload
//       CHECK:   arith.constant dense_resource<[[BLOB:qnt_kernel_codes.*]]> : tensor<1x16xi8>
func.func @plane_major_payload(%x: tensor<1x32xf32>) -> tensor<1x1xf32> {
  %w = qnt.constant {codes = dense<[[16, 50, 84, 118, -104, -70, -36, -2,
                                     16, 50, 84, 118, -104, -70, -36, -2]]> : tensor<1x16xi8>,
                     scales = dense<[[1.0]]> : tensor<1x1xf32>}
      : !qnt.packed<1x32, #qnt.scheme<ui4, symmetric, per_group<1, 32>>>
  %y = qnt.matmul %x, %w : (tensor<1x32xf32>, !qnt.packed<1x32, #qnt.scheme<ui4, symmetric, per_group<1, 32>>>) -> tensor<1x1xf32>
  return %y : tensor<1x1xf32>
}
// CHECK: [[BLOB]]: "0x0800000000112233445566778899AABBCCDDEEFF"
