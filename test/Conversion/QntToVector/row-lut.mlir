// fp8, NF4 and fp4 (mxfp4, nvfp4) weights: qnt-select-kernels gives them
// the row_lut kernels (f32 x; the tiles of the f32 kernels, whatever the
// int8 activations of the integer layers), and convert-qnt-to-vector decodes
// their codes in registers: NF4 and e2m1 by a qnt.lookup16 of their 16
// values with the lookup the kernel names (AVX-512's for 16-lane chunks on a
// 512-bit target, AVX2's for 8 lanes, which groups of 16 take when K is not
// a multiple of 32; see int-dot-lookup.mlir for the instructions), fp8 on
// x86 targets by moving its bits into a half float's (converted by
// vcvtph2ps), on AMD's cores (lookup float_bits) into a float's with x
// multiplied by 2^64, and without an x86 target into a float's scaled by
// 2^120 (E4M3FN) or 2^112 (E5M2); no integer conversion. fp4 weights take the
// column kernels with int8 x where those apply (select-kernels-fp4.mlir);
// column-kernels=false keeps them here.
// RUN: quant-opt %s --split-input-file --qnt-select-kernels=column-kernels=false | FileCheck %s --check-prefix=SELECT
// RUN: quant-opt %s --split-input-file --qnt-select-kernels=column-kernels=false --convert-qnt-to-vector | FileCheck %s --check-prefix=LOWER

// SELECT-LABEL: func.func @nf4_g32
//       SELECT:   qnt.kernel = #qnt.kernel<row_lut, lanes = 16, tile = 4x4, streams = 1, lookup = avx512, prefetch>
// SELECT-LABEL: func.func @fp8_channel
//       SELECT:   qnt.kernel = #qnt.kernel<row_lut, lanes = 16, tile = 4x4, streams = 1, lookup = avx512, prefetch>
// SELECT-LABEL: func.func @nf4_g16
//       SELECT:   qnt.kernel = #qnt.kernel<row_lut, lanes = 8, tile = 4x4, streams = 1, lookup = avx2, prefetch>
// SELECT-LABEL: func.func @fp8e5m2_channel
//       SELECT:   qnt.kernel = #qnt.kernel<row_lut, lanes = 16, tile = 4x4, streams = 1, lookup = avx512, prefetch>
// LOWER-LABEL: func.func @nf4_g32
//       LOWER:   %[[C:.*]] = arith.extui %{{.*}} : vector<16xi8> to vector<16xi32>
//       LOWER:   qnt.lookup16 <avx512> %{{.*}}, [-1.000000e+00, -6.961928e-01, -5.250731e-01, -3.949175e-01, -2.844414e-01, -1.847734e-01, -9.105004e-02, 0.000000e+00, 7.958030e-02, 1.609302e-01, 2.461123e-01, 3.379152e-01, 4.407098e-01, 5.626170e-01, 7.229568e-01, 1.000000e+00] : vector<16xi32> -> vector<16xf32>
//   LOWER-NOT:   arith.sitofp
//       LOWER:   return
// fp8 on x86: no table; the bytes sign-extended to 16 bits, shifted so that
// the sign reaches bit 15 and the magnitude bits 13..7, bit 14 masked off,
// read as halves and widened: 2^-8 times the codes' values, a factor the
// kernel puts into the scale instead.
// LOWER-LABEL: func.func @fp8_channel
//       LOWER:   %[[CODE:.*]] = arith.extsi %{{.*}} : vector<16xi8> to vector<16xi16>
//       LOWER:   %[[SEVEN:.*]] = arith.constant dense<7> : vector<16xi16>
//       LOWER:   %[[PLACED:.*]] = arith.shli %[[CODE]], %[[SEVEN]] : vector<16xi16>
//       LOWER:   %[[MASK:.*]] = arith.constant dense<-16512> : vector<16xi16>
//       LOWER:   %[[BITS:.*]] = arith.andi %[[PLACED]], %[[MASK]] : vector<16xi16>
//       LOWER:   %[[H:.*]] = arith.bitcast %[[BITS]] : vector<16xi16> to vector<16xf16>
//       LOWER:   %[[F:.*]] = arith.extf %[[H]] : vector<16xf16> to vector<16xf32>
//       LOWER:   vector.fma %[[F]]
//       LOWER:   %[[S:.*]] = memref.load %{{.*}} : memref<8x1xf32>
//       LOWER:   %[[POW:.*]] = arith.constant 2.560000e+02 : f32
//       LOWER:   arith.mulf %[[S]], %[[POW]] : f32
//   LOWER-NOT:   arith.sitofp
//       LOWER:   return
// LOWER-LABEL: func.func @nf4_g16
//       LOWER:   qnt.lookup16 <avx2> %{{.*}} : vector<8xi32> -> vector<8xf32>
//       LOWER:   return
// E5M2 on x86: the code is the upper byte of the half of the same value.
// LOWER-LABEL: func.func @fp8e5m2_channel
//       LOWER:   arith.extsi %{{.*}} : vector<16xi8> to vector<16xi16>
//       LOWER:   %[[EIGHT:.*]] = arith.constant dense<8> : vector<16xi16>
//       LOWER:   %[[W:.*]] = arith.shli %{{.*}}, %[[EIGHT]] : vector<16xi16>
//       LOWER:   %[[H:.*]] = arith.bitcast %[[W]] : vector<16xi16> to vector<16xf16>
//       LOWER:   arith.extf %[[H]] : vector<16xf16> to vector<16xf32>
//       LOWER:   return
module attributes {qnt.target = #qnt.target<cpu = "icelake-server", vector_bits = 512, int_dot = avx512vnni>} {
  func.func @nf4_g32(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<nf4, symmetric, per_group<1, 32>>>
    %y = qnt.matmul %x, %p : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<nf4, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @fp8_channel(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x64xi8>, scales = dense<1.0> : tensor<8x1xf32>} : !qnt.packed<8x64, #qnt.scheme<f8E4M3FN, symmetric, per_channel<0>>>
    %y = qnt.matmul %x, %p : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<f8E4M3FN, symmetric, per_channel<0>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @nf4_g16(%x: tensor<?x48xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x24xi8>, scales = dense<1.0> : tensor<8x3xf32>} : !qnt.packed<8x48, #qnt.scheme<nf4, symmetric, per_group<1, 16>>>
    %y = qnt.matmul %x, %p : (tensor<?x48xf32>, !qnt.packed<8x48, #qnt.scheme<nf4, symmetric, per_group<1, 16>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @fp8e5m2_channel(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x64xi8>, scales = dense<1.0> : tensor<8x1xf32>} : !qnt.packed<8x64, #qnt.scheme<f8E5M2, symmetric, per_channel<0>>>
    %y = qnt.matmul %x, %p : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<f8E5M2, symmetric, per_channel<0>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
}

// -----

// An AVX2 target of AMD's: int8 activations for the integer layers, but fp8
// and NF4 meet f32 x in 8-lane chunks on the 2x4 tiles of the f32 kernels.
// fp8 takes lookup float_bits (Zen cores take float subnormals at full
// speed): each code's sign moved to bit 31 and its magnitude to bits 26..20
// (E4M3FN) or 27..21 (E5M2), masked and read as a float, 2^-120 or 2^-112
// times its value; x is multiplied by 2^64 once, into a buffer the tiles
// read, and the scale by 2^56 or 2^48. Whole blocks of 4 * 8 codes of a
// group are laid out plane-major (code 8p + j in byte p of word j): one load
// of 32 bytes, and per field a shift of the byte to the top (none for byte
// 3), an arithmetic shift back and the mask. The rest of a group (K = 40 per
// channel: the last 8 codes) is read in the row layout: a sign-extending
// load, a shift and the mask.
// SELECT-LABEL: func.func @nf4_g64_avx2
//       SELECT:   qnt.kernel = #qnt.kernel<row_lut, lanes = 8, tile = 2x4, streams = 1, lookup = avx2, prefetch>
// SELECT-LABEL: func.func @fp8e5m2_g32_avx2
//       SELECT:   #qnt.layout<planes, block = 32, lanes = 8>
//       SELECT:   qnt.kernel = #qnt.kernel<row_lut, lanes = 8, tile = 2x4, streams = 1, lookup = float_bits, prefetch>
// SELECT-LABEL: func.func @fp8_channel_avx2
//       SELECT:   #qnt.layout<planes, block = 40, lanes = 8>
//       SELECT:   qnt.kernel = #qnt.kernel<row_lut, lanes = 8, tile = 2x4, streams = 1, lookup = float_bits, prefetch>
// LOWER-LABEL: func.func @fp8e5m2_g32_avx2
//       LOWER:   %[[XS:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x64xf32>
//       LOWER:   %[[X64:.*]] = arith.constant dense<1.84467441E+19> : vector<8xf32>
//       LOWER:   scf.for
//       LOWER:     scf.for
//       LOWER:       %[[X:.*]] = vector.load %{{.*}} : memref<?x64xf32>, vector<8xf32>
//       LOWER:       %[[SX:.*]] = arith.mulf %[[X]], %[[X64]] : vector<8xf32>
//       LOWER:       vector.store %[[SX]], %[[XS]][%{{.*}}] : memref<?x64xf32>, vector<8xf32>
//       LOWER:   %[[B:.*]] = vector.load %{{.*}} : memref<8x64xi8>, vector<32xi8>
//       LOWER:   %[[W:.*]] = vector.bitcast %[[B]] : vector<32xi8> to vector<8xi32>
//       LOWER:   %[[UP:.*]] = arith.constant dense<24> : vector<8xi32>
//       LOWER:   %[[TOP:.*]] = arith.shli %[[W]], %[[UP]] : vector<8xi32>
//       LOWER:   %[[DOWN:.*]] = arith.constant dense<3> : vector<8xi32>
//       LOWER:   %[[PLACED:.*]] = arith.shrsi %[[TOP]], %[[DOWN]] : vector<8xi32>
//       LOWER:   %[[MASK:.*]] = arith.constant dense<-1881145344> : vector<8xi32>
//       LOWER:   %[[BITS:.*]] = arith.andi %[[PLACED]], %[[MASK]] : vector<8xi32>
//       LOWER:   %[[F:.*]] = arith.bitcast %[[BITS]] : vector<8xi32> to vector<8xf32>
//   LOWER-NOT:   arith.mulf
//       LOWER:   %[[XV:.*]] = vector.load %[[XS]][%{{.*}}] : memref<?x64xf32>, vector<8xf32>
//   LOWER-NOT:   arith.mulf
//       LOWER:   vector.fma %[[F]], %[[XV]]
//       LOWER:   arith.shrsi %[[W]], %{{.*}} : vector<8xi32>
//       LOWER:   %[[S:.*]] = memref.load %{{.*}} : memref<8x2xf32>
//       LOWER:   %[[POW:.*]] = arith.constant 2.81474977E+14 : f32
//       LOWER:   arith.mulf %[[S]], %[[POW]] : f32
//   LOWER-NOT:   arith.extsi
//       LOWER:   return
// LOWER-LABEL: func.func @fp8_channel_avx2
//       LOWER:   vector.bitcast %{{.*}} : vector<32xi8> to vector<8xi32>
//       LOWER:   arith.constant dense<4> : vector<8xi32>
//       LOWER:   arith.constant dense<-2014314496> : vector<8xi32>
//       LOWER:   %[[CODE:.*]] = arith.extsi %{{.*}} : vector<8xi8> to vector<8xi32>
//       LOWER:   %[[TWENTY:.*]] = arith.constant dense<20> : vector<8xi32>
//       LOWER:   %[[PLACED:.*]] = arith.shli %[[CODE]], %[[TWENTY]] : vector<8xi32>
//       LOWER:   %[[MASK:.*]] = arith.constant dense<-2014314496> : vector<8xi32>
//       LOWER:   arith.andi %[[PLACED]], %[[MASK]] : vector<8xi32>
//       LOWER:   %[[POW:.*]] = arith.constant 7.2057594E+16 : f32
//       LOWER:   return
module attributes {qnt.target = #qnt.target<cpu = "znver3", vector_bits = 256, int_dot = avx2>} {
  func.func @nf4_g64_avx2(%x: tensor<?x128xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x64xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x128, #qnt.scheme<nf4, symmetric, per_group<1, 64>>>
    %y = qnt.matmul %x, %p : (tensor<?x128xf32>, !qnt.packed<8x128, #qnt.scheme<nf4, symmetric, per_group<1, 64>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @fp8e5m2_g32_avx2(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x64xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<f8E5M2, symmetric, per_group<1, 32>>>
    %y = qnt.matmul %x, %p : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<f8E5M2, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @fp8_channel_avx2(%x: tensor<?x40xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x40xi8>, scales = dense<1.0> : tensor<8x1xf32>} : !qnt.packed<8x40, #qnt.scheme<f8E4M3FN, symmetric, per_channel<0>>>
    %y = qnt.matmul %x, %p : (tensor<?x40xf32>, !qnt.packed<8x40, #qnt.scheme<f8E4M3FN, symmetric, per_channel<0>>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
}

// -----

// No #qnt.target: the portable decodes. fp8: the bytes sign-extended to 32
// bits, shifted so that the sign reaches bit 31 and the magnitude bits
// 26..20 (E4M3FN) or 27..21 (E5M2), masked, read as floats, times 2^120 or
// 2^112.
// SELECT-LABEL: func.func @nf4_g32_portable
//       SELECT:   qnt.kernel = #qnt.kernel<row_lut, lanes = 16, tile = 4x4, streams = 1, lookup = generic, prefetch>
// SELECT-LABEL: func.func @fp8_channel_portable
//       SELECT:   qnt.kernel = #qnt.kernel<row_lut, lanes = 16, tile = 4x4, streams = 1, lookup = generic, prefetch>
// LOWER-LABEL: func.func @nf4_g32_portable
//       LOWER:   qnt.lookup16 <generic> %{{.*}} : vector<16xi32> -> vector<16xf32>
// LOWER-LABEL: func.func @fp8_channel_portable
//       LOWER:   %[[CODE:.*]] = arith.extsi %{{.*}} : vector<16xi8> to vector<16xi32>
//       LOWER:   %[[TWENTY:.*]] = arith.constant dense<20> : vector<16xi32>
//       LOWER:   %[[PLACED:.*]] = arith.shli %[[CODE]], %[[TWENTY]] : vector<16xi32>
//       LOWER:   %[[MASK:.*]] = arith.constant dense<-2014314496> : vector<16xi32>
//       LOWER:   %[[BITS:.*]] = arith.andi %[[PLACED]], %[[MASK]] : vector<16xi32>
//       LOWER:   %[[F:.*]] = arith.bitcast %[[BITS]] : vector<16xi32> to vector<16xf32>
//       LOWER:   %[[POW:.*]] = arith.constant dense<1.329228E+36> : vector<16xf32>
//       LOWER:   arith.mulf %[[F]], %[[POW]] : vector<16xf32>
// LOWER-LABEL: func.func @fp8e5m2_g32_portable
//       LOWER:   %[[SHIFT:.*]] = arith.constant dense<21> : vector<16xi32>
//       LOWER:   arith.shli %{{.*}}, %[[SHIFT]] : vector<16xi32>
//       LOWER:   %[[MASK:.*]] = arith.constant dense<-1881145344> : vector<16xi32>
//       LOWER:   arith.andi %{{.*}}, %[[MASK]] : vector<16xi32>
//       LOWER:   %[[POW:.*]] = arith.constant dense<5.19229686E+33> : vector<16xf32>
func.func @nf4_g32_portable(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
  %p = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<nf4, symmetric, per_group<1, 32>>>
  %y = qnt.matmul %x, %p : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<nf4, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
func.func @fp8_channel_portable(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
  %p = qnt.constant {codes = dense<0> : tensor<8x64xi8>, scales = dense<1.0> : tensor<8x1xf32>} : !qnt.packed<8x64, #qnt.scheme<f8E4M3FN, symmetric, per_channel<0>>>
  %y = qnt.matmul %x, %p : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<f8E4M3FN, symmetric, per_channel<0>>>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
func.func @fp8e5m2_g32_portable(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
  %p = qnt.constant {codes = dense<0> : tensor<8x64xi8>, scales = dense<1.0> : tensor<8x2xf32>} : !qnt.packed<8x64, #qnt.scheme<f8E5M2, symmetric, per_group<1, 32>>>
  %y = qnt.matmul %x, %p : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<f8E5M2, symmetric, per_group<1, 32>>>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// fp4 block formats: e2m1 codes go through the same 16-entry table lookup
// as NF4 (its values +-{0, 0.5, 1, 1.5, 2, 3, 4, 6}); the block scales stay
// bytes. mxfp4: 16-lane chunks, AVX-512's lookup. nvfp4 with K a multiple of
// 32: 16-lane steps over 16-byte plane-major blocks whose low and high
// nibbles are two blocks of 16 codes, each looked up with AVX-512's lookup
// and multiplied by its own scale before the FMA with x; with K = 48, 8-lane
// chunks and AVX2's lookup, a block's scale applied to its sum.
// mxfp4's E8M0 scale is its byte moved into a float's exponent field (byte
// 0, 2^-127, the float subnormal 0x00400000); nvfp4's E4M3 scale is decoded
// as the x86 fp8 codes are, through a half float (bits 13..7, times 2^8),
// and its tensor scale multiplies each output once, before the store.
// SELECT-LABEL: func.func @mxfp4
//       SELECT:   qnt.kernel = #qnt.kernel<row_lut, lanes = 16, tile = 4x4, streams = 1, lookup = avx512, prefetch>
// SELECT-LABEL: func.func @nvfp4
//       SELECT:   qnt.kernel = #qnt.kernel<row_lut, lanes = 16, tile = 4x4, streams = 1, lookup = avx512, prefetch>
// SELECT-LABEL: func.func @nvfp4_k48
//       SELECT:   qnt.kernel = #qnt.kernel<row_lut, lanes = 8, tile = 4x4, streams = 1, lookup = avx2, prefetch>
// LOWER-LABEL: func.func @mxfp4
//       LOWER:   %[[SCALES:.*]] = arith.constant dense<-128> : tensor<8x2xi8>
//       LOWER:   bufferization.to_buffer %[[SCALES]] read_only : tensor<8x2xi8> to memref<8x2xi8>
//       LOWER:   qnt.lookup16 <avx512> %{{.*}}, [0.000000e+00, 5.000000e-01, 1.000000e+00, 1.500000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 6.000000e+00, -0.000000e+00, -5.000000e-01, -1.000000e+00, -1.500000e+00, -2.000000e+00, -3.000000e+00, -4.000000e+00, -6.000000e+00] : vector<16xi32> -> vector<16xf32>
//       LOWER:   %[[BYTE:.*]] = memref.load %{{.*}} : memref<8x2xi8>
//       LOWER:   %[[WORD:.*]] = arith.extui %[[BYTE]] : i8 to i32
//       LOWER:   %[[EXP:.*]] = arith.shli %[[WORD]], %{{.*}} : i32
//       LOWER:   %[[ZERO:.*]] = arith.cmpi eq, %[[WORD]], %{{.*}} : i32
//       LOWER:   %[[SUB:.*]] = arith.constant 4194304 : i32
//       LOWER:   %[[BITS:.*]] = arith.select %[[ZERO]], %[[SUB]], %[[EXP]] : i32
//       LOWER:   %[[S:.*]] = arith.bitcast %[[BITS]] : i32 to f32
//       LOWER:   %[[SV:.*]] = vector.broadcast %[[S]] : f32 to vector<16xf32>
//       LOWER:   vector.fma %[[SV]]
//   LOWER-NOT:   arith.sitofp
//       LOWER:   return
// LOWER-LABEL: func.func @nvfp4
// A run of 4 blocks (all of K = 64): each row's 4 scale bytes decoded as one
// vector through half floats (bits 13..7, times 2^8), then per 16-byte
// plane-major block the low nibbles (the first block) and the high nibbles
// (the next), each looked up and multiplied by its block's lane of the
// scales before the FMA with x.
//       LOWER:   %[[SB:.*]] = vector.load %{{.*}} : memref<8x4xi8>, vector<4xi8>
//       LOWER:   %[[HW:.*]] = arith.extsi %[[SB]] : vector<4xi8> to vector<4xi16>
//       LOWER:   %[[UP:.*]] = arith.shli %[[HW]], %{{.*}} : vector<4xi16>
//       LOWER:   %[[HB:.*]] = arith.andi %[[UP]], %{{.*}} : vector<4xi16>
//       LOWER:   %[[H:.*]] = arith.bitcast %[[HB]] : vector<4xi16> to vector<4xf16>
//       LOWER:   %[[E:.*]] = arith.extf %[[H]] : vector<4xf16> to vector<4xf32>
//       LOWER:   %[[POW:.*]] = arith.constant dense<2.560000e+02> : vector<4xf32>
//       LOWER:   %[[S:.*]] = arith.mulf %[[E]], %[[POW]] : vector<4xf32>
//       LOWER:   %[[BYTES:.*]] = vector.load %{{.*}} : memref<8x32xi8>, vector<16xi8>
//       LOWER:   %[[WORDS:.*]] = arith.extui %[[BYTES]] : vector<16xi8> to vector<16xi32>
//       LOWER:   %[[LOW:.*]] = arith.andi %[[WORDS]], %{{.*}} : vector<16xi32>
//       LOWER:   %[[F:.*]] = qnt.lookup16 <avx512> %[[LOW]], [0.000000e+00, 5.000000e-01, 1.000000e+00, 1.500000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 6.000000e+00, -0.000000e+00, -5.000000e-01, -1.000000e+00, -1.500000e+00, -2.000000e+00, -3.000000e+00, -4.000000e+00, -6.000000e+00] : vector<16xi32> -> vector<16xf32>
//       LOWER:   %[[S0:.*]] = vector.extract %[[S]][0] : f32 from vector<4xf32>
//       LOWER:   %[[SV:.*]] = vector.broadcast %[[S0]] : f32 to vector<16xf32>
//       LOWER:   arith.mulf %[[F]], %[[SV]] : vector<16xf32>
//       LOWER:   %[[AGAIN:.*]] = arith.extui %[[BYTES]] : vector<16xi8> to vector<16xi32>
//       LOWER:   %[[HIGH:.*]] = arith.shrui %[[AGAIN]], %{{.*}} : vector<16xi32>
//       LOWER:   qnt.lookup16 <avx512> %[[HIGH]]
//       LOWER:   vector.extract %[[S]][1] : f32 from vector<4xf32>
//       LOWER:   vector.fma
//       LOWER:   %[[SUM:.*]] = vector.reduction <add>, %{{.*}} : vector<16xf32> into f32
//       LOWER:   %[[T:.*]] = arith.constant 2.500000e-04 : f32
//       LOWER:   arith.mulf %[[SUM]], %[[T]] : f32
//   LOWER-NOT:   arith.sitofp
//       LOWER:   return
// LOWER-LABEL: func.func @nvfp4_k48
//       LOWER:   qnt.lookup16 <avx2> %{{.*}}, [0.000000e+00, 5.000000e-01, 1.000000e+00, 1.500000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 6.000000e+00, -0.000000e+00, -5.000000e-01, -1.000000e+00, -1.500000e+00, -2.000000e+00, -3.000000e+00, -4.000000e+00, -6.000000e+00] : vector<8xi32> -> vector<8xf32>
//       LOWER:   %[[BYTE:.*]] = memref.load %{{.*}} : memref<8x3xi8>
//       LOWER:   arith.extsi %{{.*}} : vector<1xi8> to vector<1xi16>
//       LOWER:   %[[S:.*]] = vector.extract %{{.*}}[0] : f32 from vector<1xf32>
//       LOWER:   vector.broadcast %[[S]] : f32 to vector<8xf32>
//       LOWER:   %[[SUM:.*]] = vector.reduction <add>, %{{.*}} : vector<8xf32> into f32
//       LOWER:   %[[T:.*]] = arith.constant 2.500000e-04 : f32
//       LOWER:   %[[Y:.*]] = arith.mulf %[[SUM]], %[[T]] : f32
//       LOWER:   memref.store %[[Y]]
//       LOWER:   return
module attributes {qnt.target = #qnt.target<cpu = "znver4", vector_bits = 512, int_dot = avx512vnni>} {
  func.func @mxfp4(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<2.0> : tensor<8x2xf8E8M0FNU>} : !qnt.packed<8x64, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 32>, scale = f8E8M0FNU>>
    %y = qnt.matmul %x, %p : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 32>, scale = f8E8M0FNU>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @nvfp4(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x32xi8>, scales = dense<1.5> : tensor<8x4xf8E4M3FN>} : !qnt.packed<8x64, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = 2.5e-4>>
    %y = qnt.matmul %x, %p : (tensor<?x64xf32>, !qnt.packed<8x64, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = 2.5e-4>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @nvfp4_k48(%x: tensor<?x48xf32>) -> tensor<?x8xf32> {
    %p = qnt.constant {codes = dense<0> : tensor<8x24xi8>, scales = dense<1.5> : tensor<8x3xf8E4M3FN>} : !qnt.packed<8x48, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = 2.5e-4>>
    %y = qnt.matmul %x, %p : (tensor<?x48xf32>, !qnt.packed<8x48, #qnt.scheme<f4E2M1FN, symmetric, per_group<1, 16>, scale = f8E4M3FN, tensor_scale = 2.5e-4>>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
}
