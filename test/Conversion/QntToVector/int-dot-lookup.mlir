// convert-qnt-int-dot: qnt.lookup16 becomes the instructions it names, one
// register at a time: <avx512> one vpermps (permvar.sf.512) of the 16 values
// per 16 lanes; <avx2> per 8 lanes a vpermps of each half of the table and a
// vblendvps choosing the upper half where bit 3 of the index (shifted to the
// sign bit) is set; <generic> a tree of selects on the index bits 0 to 3.
// The pass's isa option does not change them.
// RUN: quant-opt %s --convert-qnt-int-dot | FileCheck %s
// RUN: quant-opt %s --convert-qnt-int-dot=isa=generic | FileCheck %s

// CHECK-LABEL: func.func @avx512
//  CHECK-SAME:   (%[[I:.*]]: vector<16xi32>)
//       CHECK:   %[[T:.*]] = arith.constant dense<[0.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 5.000000e+00, 6.000000e+00, 7.000000e+00, 8.000000e+00, 9.000000e+00, 1.000000e+01, 1.100000e+01, 1.200000e+01, 1.300000e+01, 1.400000e+01, 1.500000e+01]> : vector<16xf32>
//       CHECK:   %[[V:.*]] = llvm.call_intrinsic "llvm.x86.avx512.permvar.sf.512"(%[[T]], %[[I]]) : (vector<16xf32>, vector<16xi32>) -> vector<16xf32>
//       CHECK:   return %[[V]]
func.func @avx512(%i: vector<16xi32>) -> vector<16xf32> {
  %v = qnt.lookup16 <avx512> %i, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0] : vector<16xi32> -> vector<16xf32>
  return %v : vector<16xf32>
}

// CHECK-LABEL: func.func @avx2
//  CHECK-SAME:   (%[[I:.*]]: vector<8xi32>)
//   CHECK-DAG:   %[[LO:.*]] = arith.constant dense<[0.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 5.000000e+00, 6.000000e+00, 7.000000e+00]> : vector<8xf32>
//   CHECK-DAG:   %[[HI:.*]] = arith.constant dense<[8.000000e+00, 9.000000e+00, 1.000000e+01, 1.100000e+01, 1.200000e+01, 1.300000e+01, 1.400000e+01, 1.500000e+01]> : vector<8xf32>
//   CHECK-DAG:   %[[C28:.*]] = arith.constant dense<28> : vector<8xi32>
//   CHECK-DAG:   %[[VLO:.*]] = llvm.call_intrinsic "llvm.x86.avx2.permps"(%[[LO]], %[[I]]) : (vector<8xf32>, vector<8xi32>) -> vector<8xf32>
//   CHECK-DAG:   %[[VHI:.*]] = llvm.call_intrinsic "llvm.x86.avx2.permps"(%[[HI]], %[[I]]) : (vector<8xf32>, vector<8xi32>) -> vector<8xf32>
//       CHECK:   %[[SH:.*]] = arith.shli %[[I]], %[[C28]] : vector<8xi32>
//       CHECK:   %[[M:.*]] = arith.bitcast %[[SH]] : vector<8xi32> to vector<8xf32>
//       CHECK:   %[[V:.*]] = llvm.call_intrinsic "llvm.x86.avx.blendv.ps.256"(%[[VLO]], %[[VHI]], %[[M]])
//       CHECK:   return %[[V]]
func.func @avx2(%i: vector<8xi32>) -> vector<8xf32> {
  %v = qnt.lookup16 <avx2> %i, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0] : vector<8xi32> -> vector<8xf32>
  return %v : vector<8xf32>
}

// 32 lanes with AVX-512: two registers, looked up apart and put together.
// CHECK-LABEL: func.func @avx512_two_registers
//       CHECK:   %[[A:.*]] = vector.extract_strided_slice %{{.*}} {offsets = [0], sizes = [16], strides = [1]} : vector<32xi32> to vector<16xi32>
//       CHECK:   llvm.call_intrinsic "llvm.x86.avx512.permvar.sf.512"(%{{.*}}, %[[A]])
//       CHECK:   vector.insert_strided_slice %{{.*}} {offsets = [0], strides = [1]} : vector<16xf32> into vector<32xf32>
//       CHECK:   %[[B:.*]] = vector.extract_strided_slice %{{.*}} {offsets = [16], sizes = [16], strides = [1]} : vector<32xi32> to vector<16xi32>
//       CHECK:   llvm.call_intrinsic "llvm.x86.avx512.permvar.sf.512"(%{{.*}}, %[[B]])
//       CHECK:   vector.insert_strided_slice %{{.*}} {offsets = [16], strides = [1]} : vector<16xf32> into vector<32xf32>
func.func @avx512_two_registers(%i: vector<32xi32>) -> vector<32xf32> {
  %v = qnt.lookup16 <avx512> %i, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0] : vector<32xi32> -> vector<32xf32>
  return %v : vector<32xf32>
}

// CHECK-LABEL: func.func @generic
//   CHECK-NOT:   llvm.call_intrinsic
//       CHECK:   %[[B0:.*]] = arith.constant dense<1> : vector<4xi32>
//       CHECK:   arith.andi %{{.*}}, %[[B0]] : vector<4xi32>
// CHECK-COUNT-8:   arith.select %{{.*}} : vector<4xi1>, vector<4xf32>
//       CHECK:   %[[B1:.*]] = arith.constant dense<2> : vector<4xi32>
//       CHECK:   arith.andi %{{.*}}, %[[B1]] : vector<4xi32>
// CHECK-COUNT-4:   arith.select %{{.*}} : vector<4xi1>, vector<4xf32>
//       CHECK:   %[[B2:.*]] = arith.constant dense<4> : vector<4xi32>
//       CHECK:   arith.andi %{{.*}}, %[[B2]] : vector<4xi32>
// CHECK-COUNT-2:   arith.select %{{.*}} : vector<4xi1>, vector<4xf32>
//       CHECK:   %[[B3:.*]] = arith.constant dense<8> : vector<4xi32>
//       CHECK:   arith.andi %{{.*}}, %[[B3]] : vector<4xi32>
//       CHECK:   %[[V:.*]] = arith.select %{{.*}} : vector<4xi1>, vector<4xf32>
//       CHECK:   return %[[V]]
func.func @generic(%i: vector<4xi32>) -> vector<4xf32> {
  %v = qnt.lookup16 <generic> %i, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0] : vector<4xi32> -> vector<4xf32>
  return %v : vector<4xf32>
}

// Bytes (the column kernels' e2m1 codes, d = 2 * e2m1 + 12): one vpshufb of
// the 16-byte table, repeated in each 16-byte lane, per register of 64
// bytes (avx512) or 32 (avx2); generic: selects among byte constants.
// CHECK-LABEL: func.func @bytes_avx512
//  CHECK-SAME:   (%[[I:.*]]: vector<64xi8>)
//       CHECK:   %[[T:.*]] = arith.constant dense<[12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0, 12, 13,
//       CHECK:   %[[V:.*]] = llvm.call_intrinsic "llvm.x86.avx512.pshuf.b.512"(%[[T]], %[[I]]) : (vector<64xi8>, vector<64xi8>) -> vector<64xi8>
//       CHECK:   return %[[V]]
func.func @bytes_avx512(%i: vector<64xi8>) -> vector<64xi8> {
  %v = qnt.lookup16 <avx512> %i, [12.0, 13.0, 14.0, 15.0, 16.0, 18.0, 20.0, 24.0, 12.0, 11.0, 10.0, 9.0, 8.0, 6.0, 4.0, 0.0] : vector<64xi8> -> vector<64xi8>
  return %v : vector<64xi8>
}

// CHECK-LABEL: func.func @bytes_avx2
//       CHECK:   llvm.call_intrinsic "llvm.x86.avx2.pshuf.b"(%{{.*}}, %{{.*}}) : (vector<32xi8>, vector<32xi8>) -> vector<32xi8>
//       CHECK:   llvm.call_intrinsic "llvm.x86.avx2.pshuf.b"(%{{.*}}, %{{.*}}) : (vector<32xi8>, vector<32xi8>) -> vector<32xi8>
//   CHECK-NOT:   llvm.call_intrinsic
//       CHECK:   return
func.func @bytes_avx2(%i: vector<64xi8>) -> vector<64xi8> {
  %v = qnt.lookup16 <avx2> %i, [12.0, 13.0, 14.0, 15.0, 16.0, 18.0, 20.0, 24.0, 12.0, 11.0, 10.0, 9.0, 8.0, 6.0, 4.0, 0.0] : vector<64xi8> -> vector<64xi8>
  return %v : vector<64xi8>
}

// CHECK-LABEL: func.func @bytes_generic
//   CHECK-DAG:   arith.constant dense<24> : vector<16xi8>
//   CHECK-DAG:   arith.constant dense<8> : vector<16xi8>
//   CHECK-NOT:   llvm.call_intrinsic
// CHECK-COUNT-15:   arith.select
//       CHECK:   return
func.func @bytes_generic(%i: vector<16xi8>) -> vector<16xi8> {
  %v = qnt.lookup16 <generic> %i, [12.0, 13.0, 14.0, 15.0, 16.0, 18.0, 20.0, 24.0, 12.0, 11.0, 10.0, 9.0, 8.0, 6.0, 4.0, 0.0] : vector<16xi8> -> vector<16xi8>
  return %v : vector<16xi8>
}
