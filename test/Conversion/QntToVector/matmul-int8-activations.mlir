// convert-qnt-to-vector activations=i8: x is quantized to int8 per row and
// block of 32 before the matmul (each block's scale an integer times its
// span's unit), and each 4-row register tile reads its codes as one
// contiguous stream (rows interleaved in 32-byte blocks at compile time) and
// multiplies them with qnt.dot4_i8 scaled by the block's integer scale,
// converting and scaling the i32 sums once per span (here the group of 64).
// No float copy of the weight is made.
// RUN: quant-opt %s --convert-qnt-to-vector="activations=i8 rows-per-tile=1 cols-per-tile=4" --cse --canonicalize | FileCheck %s

// CHECK-LABEL: func.func @gemv_int4_g64
//   CHECK-NOT:   xf32> = arith.constant dense
//   CHECK-DAG:   %[[CODES:.*]] = arith.constant dense_resource<qnt_kernel_codes> : tensor<768xi8>
//   CHECK-DAG:   %[[XB:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<1x128xf32> to memref<1x128xf32>
//   CHECK-DAG:   %[[CB:.*]] = bufferization.to_buffer %[[CODES]] read_only : tensor<768xi8> to memref<768xi8>
//       CHECK:   %[[XQ:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x128xi8>
//       CHECK:   %[[XM:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x4xi16>
//       CHECK:   %[[XU:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x2xf32>
//       CHECK:   %[[SUMS:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x2xf32>
// Quantization of x, per span of 64 (two blocks): max|x| of each block and of
// the span A (NaN-propagating maxima); the unit u = A / (127 * 8191) (0x497DF810 = 1040257.0); each
// block's integer scale m = min(ceil(8191 * max|x| / A), 8191); xq rounded
// to nearest even from x / (m * u), clamped; m * sum(xq) summed in i32, times
// u, per group (signed codes are fed as unsigned, d = c + 8).
//       CHECK:   scf.for %[[SPAN:.*]] = %c0 to %c2 step %c1 {
//       CHECK:     %[[V0:.*]] = vector.load %[[XB]]
//       CHECK:     %[[A0:.*]] = math.absf %[[V0]] : vector<32xf32>
//       CHECK:     %[[M0:.*]] = vector.reduction <maximumf>, %[[A0]] : vector<32xf32> into f32
//       CHECK:     %[[M0B:.*]] = arith.maximumf %[[M0]], %cst{{.*}} : f32
//       CHECK:     %[[M1:.*]] = vector.reduction <maximumf>
//       CHECK:     %[[A:.*]] = arith.maximumf %[[M0B]], %[[M1]] : f32
//       CHECK:     %[[POS:.*]] = arith.cmpf ogt, %[[A]], %[[ZERO:.*]] : f32
//       CHECK:     %[[U:.*]] = arith.divf %[[A]], %[[C1040257:.*]] : f32
//       CHECK:     %[[R0:.*]] = arith.divf %[[M0]], %[[A]] : f32
//       CHECK:     %[[R0S:.*]] = arith.select %[[POS]], %[[R0]], %[[ZERO]] : f32
//       CHECK:     %[[R0M:.*]] = arith.mulf %[[R0S]], %[[C8191:.*]] : f32
//       CHECK:     %[[CEIL:.*]] = math.ceil %[[R0M]] : f32
//       CHECK:     %[[MF:.*]] = arith.minnumf %[[CEIL]], %[[C8191]] : f32
//       CHECK:     %[[SX:.*]] = arith.mulf %[[MF]], %[[U]] : f32
//       CHECK:     %[[INV:.*]] = arith.divf %{{.*}}, %[[SX]] : f32
//       CHECK:     arith.select %{{.*}}, %[[INV]], %[[ZERO]] : f32
//       CHECK:     math.roundeven
//       CHECK:     %[[Q:.*]] = arith.fptosi %{{.*}} : vector<32xf32> to vector<32xi32>
//       CHECK:     %[[Q8:.*]] = arith.trunci %[[Q]] : vector<32xi32> to vector<32xi8>
//       CHECK:     vector.store %[[Q8]], %[[XQ]]
//       CHECK:     %[[MI:.*]] = arith.fptosi %[[MF]] : f32 to i32
//       CHECK:     %[[M16:.*]] = arith.trunci %[[MI]] : i32 to i16
//       CHECK:     memref.store %[[M16]], %[[XM]]
//       CHECK:     %[[QS:.*]] = vector.reduction <add>, %[[Q]] : vector<32xi32> into i32
//       CHECK:     arith.muli %[[MI]], %[[QS]] : i32
//       CHECK:     memref.store %[[U]], %[[XU]][%c0, %[[SPAN]]]
//       CHECK:     %[[SUMF:.*]] = arith.sitofp %{{.*}} : i32 to f32
//       CHECK:     arith.mulf %[[U]], %[[SUMF]] : f32
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
//       CHECK:       memref.prefetch %[[CB]][%[[PF0]]], read, locality<3>, data : memref<768xi8>
//       CHECK:       %[[PF1:.*]] = arith.addi %[[AT]], %c320 : index
//       CHECK:       memref.prefetch %[[CB]][%[[PF1]]], read, locality<3>, data : memref<768xi8>
//       CHECK:       %[[LO:.*]] = arith.andi %[[S0]], %{{.*}} : vector<32xi8>
//       CHECK:       %[[X0:.*]] = vector.load %[[XQ]]
//       CHECK:       %[[MB0:.*]] = memref.load %[[XM]]
//       CHECK:       %[[D0:.*]] = qnt.dot4_i8 %[[LO]], %[[X0]] scaled by %[[MB0]] : vector<32xi8>, vector<32xi8> -> vector<8xi32>
//       CHECK:       qnt.dot4_i8
//       CHECK:       qnt.dot4_i8
//       CHECK:       qnt.dot4_i8
//       CHECK:       %[[HI:.*]] = arith.shrui %[[S0]], %{{.*}} : vector<32xi8>
//       CHECK:       %[[X1:.*]] = vector.load %[[XQ]]
//       CHECK:       %[[MB1:.*]] = memref.load %[[XM]]
//       CHECK:       %[[D1:.*]] = qnt.dot4_i8 %[[HI]], %[[X1]] scaled by %[[MB1]]
//       CHECK:       %[[I0:.*]] = arith.addi %[[D0]], %[[D1]] : vector<8xi32>
// The span ends with the group: its sums converted once, times u * s.
//       CHECK:       %[[UL:.*]] = memref.load %[[XU]]
//       CHECK:       %[[F0:.*]] = arith.sitofp %[[I0]] : vector<8xi32> to vector<8xf32>
//       CHECK:       %[[US:.*]] = arith.mulf %[[UL]], %{{.*}} : f32
//       CHECK:       %[[USV:.*]] = vector.broadcast %[[US]] : f32 to vector<8xf32>
//       CHECK:       vector.fma %[[F0]], %[[USV]], %{{.*}} : vector<8xf32>
//   CHECK-NOT:   memref<8x128xf32>
func.func @gemv_int4_g64(%x: tensor<1x128xf32>) -> tensor<1x8xf32> {
  %w = qnt.constant {codes = dense<17> : tensor<8x64xi8>, scales = dense<0.5> : tensor<8x2xf32>}
      : !qnt.packed<8x128, #qnt.scheme<si4, symmetric, per_group<1, 64>>>
  %y = qnt.matmul %x, %w : (tensor<1x128xf32>, !qnt.packed<8x128, #qnt.scheme<si4, symmetric, per_group<1, 64>>>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}
