// convert-qnt-to-vector streams=2: the tiles of weight rows are split into
// two equal contiguous parts, and single-row tiles of x read a tile of each
// part at once (two sequential memory streams); full tiles of x read one
// weight tile at a time. N = 19 with 2-row tiles: parts [0, 8) and [8, 16)
// read together, the leftover tile [16, 18) alone, row 18 last.
// RUN: quant-opt %s --qnt-select-kernels="chunk=8 rows-per-tile=2 cols-per-tile=2 streams=2 prefetch=false" --convert-qnt-to-vector --cse --canonicalize | FileCheck %s
// RUN: quant-opt %s --qnt-select-kernels="activations=i8 column-kernels=false rows-per-tile=1 cols-per-tile=2 streams=2 prefetch=false" --convert-qnt-to-vector --cse --canonicalize | FileCheck %s --check-prefix=I8

// CHECK-LABEL: func.func @streams
//       CHECK:   scf.for %[[N0:.*]] = %c0 to %c8 step %c2 {
//       CHECK:     %[[N1:.*]] = arith.addi %[[N0]], %c8 : index
// Full tiles of x: the tile at n0, then the tile at n0 + 8.
//       CHECK:     scf.for %[[M0:.*]] = %c0 to %[[MMAIN:.*]] step %c2 {
//       CHECK:       memref.store %{{.*}}, %{{.*}}[%[[M0]], %[[N0]]]
//       CHECK:     scf.for %[[M0:.*]] = %c0 to %[[MMAIN]] step %c2 {
//       CHECK:       memref.store %{{.*}}, %{{.*}}[%[[M0]], %[[N1]]]
// The remaining rows of x: both tiles in one register tile.
//       CHECK:     scf.for %[[M:.*]] = %[[MMAIN]] to %{{.*}} step %c1 {
//   CHECK-DAG:       %[[N0P1:.*]] = arith.addi %[[N0]], %c1 : index
//   CHECK-DAG:       %[[N1P1:.*]] = arith.addi %[[N0]], %c9 : index
//       CHECK:       memref.store %{{.*}}, %{{.*}}[%[[M]], %[[N0]]]
//       CHECK:       memref.store %{{.*}}, %{{.*}}[%[[M]], %[[N0P1]]]
//       CHECK:       memref.store %{{.*}}, %{{.*}}[%[[M]], %[[N1]]]
//       CHECK:       memref.store %{{.*}}, %{{.*}}[%[[M]], %[[N1P1]]]
// The leftover tile, rows 16 and 17, then row 18.
//       CHECK:   scf.for %[[M0:.*]] = %c0 to %{{.*}} step %c2 {
//       CHECK:     memref.store %{{.*}}, %{{.*}}[%[[M0]], %c16]
//       CHECK:   memref.store %{{.*}}, %{{.*}}[%{{.*}}, %c18]

// With int8 activations the codes of each 2-row tile are interleaved into one
// stream: the two streams start at n0 * 32 and (n0 + 8) * 32 bytes (of 19 x
// 32 bytes of codes and a 2-row tile of zeros).
// I8-LABEL: func.func @streams
//       I8:   scf.for %[[N0:.*]] = %c0 to %c8 step %c2 {
//       I8:     %[[N1:.*]] = arith.addi %[[N0]], %c8 : index
//       I8:     scf.for
//       I8:       %[[A0:.*]] = arith.muli %[[N0]], %c32 : index
//       I8:       vector.load %{{.*}}[%[[A0]]] : memref<672xi8>, vector<32xi8>
//       I8:       vector.load %{{.*}}[%{{.*}}] : memref<672xi8>, vector<32xi8>
//       I8:       %[[A1:.*]] = arith.muli %[[N1]], %c32 : index
//       I8:       vector.load %{{.*}}[%[[A1]]] : memref<672xi8>, vector<32xi8>
//       I8:       vector.load %{{.*}}[%{{.*}}] : memref<672xi8>, vector<32xi8>
//       I8-COUNT-4:       qnt.dot4_i8

func.func @streams(%x: tensor<?x32xf32>) -> tensor<?x19xf32> {
  %w = qnt.constant {codes = dense<3> : tensor<19x32xi8>,
                     scales = dense<0.5> : tensor<19x1xf32>}
      : !qnt.packed<19x32, #qnt.scheme<si8, symmetric, per_channel<0>>>
  %y = qnt.matmul %x, %w : (tensor<?x32xf32>, !qnt.packed<19x32, #qnt.scheme<si8, symmetric, per_channel<0>>>) -> tensor<?x19xf32>
  return %y : tensor<?x19xf32>
}
