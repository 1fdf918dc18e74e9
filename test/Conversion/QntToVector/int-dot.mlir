// convert-qnt-int-dot: qnt.dot4_i8, qnt.dot2_i8 and qnt.sum_pairs_i16 become
// VNNI or AVX2 intrinsic calls or portable vector code.
// RUN: quant-opt %s --convert-qnt-int-dot=isa=avx2 | FileCheck %s --check-prefix=AVX2
// RUN: quant-opt %s --convert-qnt-int-dot | FileCheck %s --check-prefix=GENERIC
// RUN: quant-opt %s --convert-qnt-int-dot=isa=avx512vnni | FileCheck %s --check-prefix=VNNI
// RUN: quant-opt %s --convert-qnt-int-dot=isa=avxvnni | FileCheck %s --check-prefix=AVXVNNI
// RUN: not quant-opt %s --convert-qnt-int-dot=isa=neon 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: error: convert-qnt-int-dot option isa='neon' must be 'avx512vnni', 'avxvnni', 'avx2', 'generic' or 'auto'

// With VNNI, one vpdpbusd per qnt.dot4_i8, from zero or from the
// accumulator; a signed `a` as |a| with b given a's sign; AVX-VNNI has no
// 64-byte form; qnt.dot2_i8 and qnt.sum_pairs_i16 keep the AVX2 forms.
// VNNI-LABEL: func.func @unsigned32
//  VNNI-SAME:   (%[[A:.*]]: vector<32xi8>, %[[B:.*]]: vector<32xi8>)
//       VNNI:   %[[Z:.*]] = arith.constant dense<0> : vector<8xi32>
//       VNNI:   %[[S:.*]] = llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.256"(%[[Z]], %[[A]], %[[B]]) : (vector<8xi32>, vector<32xi8>, vector<32xi8>) -> vector<8xi32>
//       VNNI:   return %[[S]]
// VNNI-LABEL: func.func @signed16
//  VNNI-SAME:   (%[[A:.*]]: vector<16xi8>, %[[B:.*]]: vector<16xi8>)
//       VNNI:   %[[SB:.*]] = llvm.call_intrinsic "llvm.x86.ssse3.psign.b.128"(%[[B]], %[[A]])
//       VNNI:   %[[ABS:.*]] = math.absi %[[A]] : vector<16xi8>
//       VNNI:   llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.128"(%{{.*}}, %[[ABS]], %[[SB]]) : (vector<4xi32>, vector<16xi8>, vector<16xi8>) -> vector<4xi32>
// VNNI-LABEL: func.func @size8
//   VNNI-NOT:   llvm.call_intrinsic
// VNNI-LABEL: func.func @pairs32
//       VNNI:   llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"
//       VNNI:   llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"
// VNNI-LABEL: func.func @accumulated64
//  VNNI-SAME:   (%[[A:.*]]: vector<64xi8>, %[[B:.*]]: vector<64xi8>, %[[ACC:.*]]: vector<16xi32>)
//       VNNI:   %[[S:.*]] = llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%[[ACC]], %[[A]], %[[B]]) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
//       VNNI:   return %[[S]]
// AVXVNNI-LABEL: func.func @unsigned32
//       AVXVNNI:   llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.256"
// AVXVNNI-LABEL: func.func @accumulated64
//   AVXVNNI-NOT:   llvm.call_intrinsic
//       AVXVNNI:   arith.addi %arg2, %{{.*}} : vector<16xi32>

// AVX2-LABEL: func.func @unsigned32
//  AVX2-SAME:   (%[[A:.*]]: vector<32xi8>, %[[B:.*]]: vector<32xi8>)
//       AVX2:   %[[P:.*]] = llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"(%[[A]], %[[B]]) : (vector<32xi8>, vector<32xi8>) -> vector<16xi16>
//       AVX2:   %[[ONES:.*]] = arith.constant dense<1> : vector<16xi16>
//       AVX2:   %[[S:.*]] = llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"(%[[P]], %[[ONES]]) : (vector<16xi16>, vector<16xi16>) -> vector<8xi32>
//       AVX2:   return %[[S]]
// GENERIC-LABEL: func.func @unsigned32
//  GENERIC-SAME:   (%[[A:.*]]: vector<32xi8>, %[[B:.*]]: vector<32xi8>)
//       GENERIC:   %[[AW:.*]] = arith.extui %[[A]] : vector<32xi8> to vector<32xi32>
//       GENERIC:   %[[BW:.*]] = arith.extsi %[[B]] : vector<32xi8> to vector<32xi32>
//       GENERIC:   %[[P:.*]] = arith.muli %[[AW]], %[[BW]] : vector<32xi32>
//       GENERIC:   %[[L0:.*]] = vector.shuffle %[[P]], %[[P]] [0, 4, 8, 12, 16, 20, 24, 28]
//       GENERIC:   %[[L1:.*]] = vector.shuffle %[[P]], %[[P]] [1, 5, 9, 13, 17, 21, 25, 29]
//       GENERIC:   %[[S1:.*]] = arith.addi %[[L0]], %[[L1]] : vector<8xi32>
//       GENERIC:   %[[L2:.*]] = vector.shuffle %[[P]], %[[P]] [2, 6, 10, 14, 18, 22, 26, 30]
//       GENERIC:   %[[S2:.*]] = arith.addi %[[S1]], %[[L2]] : vector<8xi32>
//       GENERIC:   %[[L3:.*]] = vector.shuffle %[[P]], %[[P]] [3, 7, 11, 15, 19, 23, 27, 31]
//       GENERIC:   %[[S3:.*]] = arith.addi %[[S2]], %[[L3]] : vector<8xi32>
//       GENERIC:   return %[[S3]]
func.func @unsigned32(%a: vector<32xi8>, %b: vector<32xi8>) -> vector<8xi32> {
  %s = qnt.dot4_i8 %a, %b : vector<32xi8>, vector<32xi8> -> vector<8xi32>
  return %s : vector<8xi32>
}

// A signed `a` is fed as |a|, with b given a's sign.
// AVX2-LABEL: func.func @signed16
//  AVX2-SAME:   (%[[A:.*]]: vector<16xi8>, %[[B:.*]]: vector<16xi8>)
//       AVX2:   %[[SB:.*]] = llvm.call_intrinsic "llvm.x86.ssse3.psign.b.128"(%[[B]], %[[A]]) : (vector<16xi8>, vector<16xi8>) -> vector<16xi8>
//       AVX2:   %[[ABS:.*]] = math.absi %[[A]] : vector<16xi8>
//       AVX2:   %[[P:.*]] = llvm.call_intrinsic "llvm.x86.ssse3.pmadd.ub.sw.128"(%[[ABS]], %[[SB]]) : (vector<16xi8>, vector<16xi8>) -> vector<8xi16>
//       AVX2:   llvm.call_intrinsic "llvm.x86.sse2.pmadd.wd"(%[[P]], %{{.*}}) : (vector<8xi16>, vector<8xi16>) -> vector<4xi32>
// GENERIC-LABEL: func.func @signed16
//       GENERIC:   arith.extsi %{{.*}} : vector<16xi8> to vector<16xi32>
func.func @signed16(%a: vector<16xi8>, %b: vector<16xi8>) -> vector<4xi32> {
  %s = qnt.dot4_i8 %a, %b {a_signed} : vector<16xi8>, vector<16xi8> -> vector<4xi32>
  return %s : vector<4xi32>
}

// Other sizes have no AVX2 form: portable code.
// AVX2-LABEL: func.func @size8
//   AVX2-NOT:   llvm.call_intrinsic
//       AVX2:   arith.muli %{{.*}} : vector<8xi32>
func.func @size8(%a: vector<8xi8>, %b: vector<8xi8>) -> vector<2xi32> {
  %s = qnt.dot4_i8 %a, %b : vector<8xi8>, vector<8xi8> -> vector<2xi32>
  return %s : vector<2xi32>
}

// qnt.dot2_i8 is vpmaddubsw alone, qnt.sum_pairs_i16 vpmaddwd against ones.
// AVX2-LABEL: func.func @pairs32
//  AVX2-SAME:   (%[[A:.*]]: vector<32xi8>, %[[B:.*]]: vector<32xi8>, %[[C:.*]]: vector<32xi8>)
//       AVX2:   %[[P0:.*]] = llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"(%[[A]], %[[B]]) : (vector<32xi8>, vector<32xi8>) -> vector<16xi16>
//       AVX2:   %[[P1:.*]] = llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"(%[[C]], %[[B]]) : (vector<32xi8>, vector<32xi8>) -> vector<16xi16>
//       AVX2:   %[[SUM:.*]] = arith.addi %[[P0]], %[[P1]] : vector<16xi16>
//       AVX2:   %[[ONES:.*]] = arith.constant dense<1> : vector<16xi16>
//       AVX2:   %[[S:.*]] = llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"(%[[SUM]], %[[ONES]]) : (vector<16xi16>, vector<16xi16>) -> vector<8xi32>
//       AVX2:   return %[[S]]
// GENERIC-LABEL: func.func @pairs32
//  GENERIC-SAME:   (%[[A:.*]]: vector<32xi8>, %[[B:.*]]: vector<32xi8>, %[[C:.*]]: vector<32xi8>)
//       GENERIC:   %[[AW:.*]] = arith.extui %[[A]] : vector<32xi8> to vector<32xi32>
//       GENERIC:   %[[BW:.*]] = arith.extsi %[[B]] : vector<32xi8> to vector<32xi32>
//       GENERIC:   %[[P:.*]] = arith.muli %[[AW]], %[[BW]] : vector<32xi32>
//       GENERIC:   %[[E:.*]] = vector.shuffle %[[P]], %[[P]] [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30]
//       GENERIC:   %[[O:.*]] = vector.shuffle %[[P]], %[[P]] [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31]
//       GENERIC:   %[[S32:.*]] = arith.addi %[[E]], %[[O]] : vector<16xi32>
//       GENERIC:   %[[P0:.*]] = arith.trunci %[[S32]] : vector<16xi32> to vector<16xi16>
//       GENERIC:   %[[P1:.*]] = arith.trunci %{{.*}} : vector<16xi32> to vector<16xi16>
//       GENERIC:   %[[SUM:.*]] = arith.addi %[[P0]], %[[P1]] : vector<16xi16>
//       GENERIC:   %[[W:.*]] = arith.extsi %[[SUM]] : vector<16xi16> to vector<16xi32>
//       GENERIC:   %[[WE:.*]] = vector.shuffle %[[W]], %[[W]] [0, 2, 4, 6, 8, 10, 12, 14]
//       GENERIC:   %[[WO:.*]] = vector.shuffle %[[W]], %[[W]] [1, 3, 5, 7, 9, 11, 13, 15]
//       GENERIC:   %[[S:.*]] = arith.addi %[[WE]], %[[WO]] : vector<8xi32>
//       GENERIC:   return %[[S]]
func.func @pairs32(%a: vector<32xi8>, %b: vector<32xi8>, %c: vector<32xi8>) -> vector<8xi32> {
  %p0 = qnt.dot2_i8 %a, %b : vector<32xi8>, vector<32xi8> -> vector<16xi16>
  %p1 = qnt.dot2_i8 %c, %b : vector<32xi8>, vector<32xi8> -> vector<16xi16>
  %sum = arith.addi %p0, %p1 : vector<16xi16>
  %s = qnt.sum_pairs_i16 %sum : vector<16xi16> -> vector<8xi32>
  return %s : vector<8xi32>
}

// The other isas add the accumulator after the dot product (64 bytes have
// no AVX2 form either).
// AVX2-LABEL: func.func @accumulated64
//   AVX2-NOT:   llvm.call_intrinsic
//       AVX2:   %[[R:.*]] = arith.addi %arg2, %{{.*}} : vector<16xi32>
//  AVX2-NEXT:   return %[[R]]
// GENERIC-LABEL: func.func @accumulated64
//       GENERIC:   arith.addi %arg2, %{{.*}} : vector<16xi32>
func.func @accumulated64(%a: vector<64xi8>, %b: vector<64xi8>, %acc: vector<16xi32>) -> vector<16xi32> {
  %s = qnt.dot4_i8 %a, %b acc %acc : vector<64xi8>, vector<64xi8>, vector<16xi32> -> vector<16xi32>
  return %s : vector<16xi32>
}
