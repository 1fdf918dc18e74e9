// qnt.matmul becomes a loop nest that unpacks codes in vector registers and
// applies each group's scale once per group. No float weight is built.
// RUN: quant-opt %s --convert-qnt-to-vector="chunk=32 rows-per-tile=1 cols-per-tile=1" --cse | FileCheck %s

// CHECK-LABEL: func.func @gemv_int4_group64
//  CHECK-SAME:   (%[[X:.*]]: tensor<1x128xf32>)
//   CHECK-DAG:   %[[CODES:.*]] = arith.constant dense<17> : tensor<8x64xi8>
//   CHECK-DAG:   %[[SCALES:.*]] = arith.constant dense<{{.*}}> : tensor<8x2xf32>
//       CHECK:   %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only : tensor<1x128xf32> to memref<1x128xf32>
//       CHECK:   %[[CB:.*]] = bufferization.to_buffer %[[CODES]] read_only : tensor<8x64xi8> to memref<8x64xi8>
//       CHECK:   %[[SB:.*]] = bufferization.to_buffer %[[SCALES]] read_only : tensor<8x2xf32> to memref<8x2xf32>
//       CHECK:   %[[OUT:.*]] = memref.alloc() : memref<1x8xf32>
// Loop over weight rows, then rows of x, then groups, then 32-code chunks.
//       CHECK:   scf.for %[[N:.*]] =
//       CHECK:     scf.for %[[M:.*]] =
//       CHECK:       %[[ACC:.*]] = scf.for %[[G:.*]] = {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (vector<32xf32>)
//       CHECK:         %[[GACC:.*]] = scf.for {{.*}} -> (vector<32xf32>)
//       CHECK:           %[[BYTES:.*]] = vector.load %[[CB]][%[[N]], %{{.*}}] : memref<8x64xi8>, vector<16xi8>
//       CHECK:           arith.shli %[[BYTES]], %{{.*}} : vector<16xi8>
//       CHECK:           arith.shrsi
//       CHECK:           arith.shrsi %[[BYTES]]
//       CHECK:           vector.shuffle
//       CHECK:           %[[CODE:.*]] = vector.shuffle {{.*}} [0, 16, 1, 17, 2, 18
//       CHECK:           %[[CF:.*]] = arith.sitofp %[[CODE]] : vector<32xi8> to vector<32xf32>
//       CHECK:           %[[XV:.*]] = vector.load %[[XB]][%[[M]], %{{.*}}] : memref<1x128xf32>, vector<32xf32>
//       CHECK:           %[[FMA:.*]] = vector.fma %[[CF]], %[[XV]], %{{.*}} : vector<32xf32>
//       CHECK:           scf.yield %[[FMA]]
// The scale is loaded once per group, outside the chunk loop.
//       CHECK:         %[[S:.*]] = memref.load %[[SB]][%[[N]], %[[G]]] : memref<8x2xf32>
//       CHECK:         %[[SV:.*]] = vector.broadcast %[[S]] : f32 to vector<32xf32>
//       CHECK:         %[[NEXT:.*]] = vector.fma %[[SV]], %[[GACC]], %{{.*}} : vector<32xf32>
//       CHECK:         scf.yield %[[NEXT]]
//       CHECK:       %[[SUM:.*]] = vector.reduction <add>, %[[ACC]] fastmath<reassoc> : vector<32xf32> into f32
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
