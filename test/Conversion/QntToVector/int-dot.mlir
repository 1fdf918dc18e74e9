// convert-qnt-int-dot: qnt.dot4_i8 becomes AVX2 intrinsic calls (16- and
// 32-byte operands) or portable vector code.
// RUN: quant-opt %s --convert-qnt-int-dot=isa=avx2 | FileCheck %s --check-prefix=AVX2
// RUN: quant-opt %s --convert-qnt-int-dot | FileCheck %s --check-prefix=GENERIC
// RUN: not quant-opt %s --convert-qnt-int-dot=isa=neon 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: error: convert-qnt-int-dot: isa='neon' must be 'avx2' or 'generic'

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
