// convert-qnt-to-gpu, GEMV (M <= 8, the GEMV selected for M): the kernel as
// emitted, after canonicalization. One K step (K = 64 < 1024), bucket M = 1, N = 16 rows in
// 2 blocks of 4 warps x 2 rows.
// RUN: quant-opt %s --qnt-set-target=gpu=sm_80 --qnt-select-kernels --convert-qnt-to-gpu --canonicalize --cse | FileCheck %s

// x is staged in a 16-byte aligned workgroup global (one per launch).
//       CHECK: memref.global "private" @[[$XSG:qnt_shared[_0-9]*]] : memref<1x1152xf32, #gpu.address_space<workgroup>> {alignment = 16 : i64}
// CHECK-LABEL: func.func @gemv
//  CHECK-SAME:   (%[[X:.*]]: tensor<1x64xf32>)
// Codes are re-laid out as i32 words (16 rows x 2 chunks x 4 words); no
// float weight exists anywhere.
//   CHECK-NOT:   16x64xf
//       CHECK:   %[[OFF:.*]] = arith.constant 0x4B000008 : f32
//       CHECK:   %[[WT:.*]] = arith.constant dense_resource<qnt_gpu_codes> : tensor<16x8xi32>
//       CHECK:   %[[W:.*]] = bufferization.to_buffer %[[WT]] read_only : tensor<16x8xi32> to memref<16x8xi32>
//       CHECK:   %[[OUT:.*]] = memref.alloc() : memref<1x16xf32>
//       CHECK:   gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c2, %{{.*}} = %c1, %{{.*}} = %c1) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c128, %{{.*}} = %c1, %{{.*}} = %c1) {
//       CHECK:     %[[XS:.*]] = memref.get_global @[[$XSG]] : memref<1x1152xf32, #gpu.address_space<workgroup>>
//       CHECK:     %[[WARP:.*]] = arith.divui %[[TX]], %c32 : index
//       CHECK:     %[[LANE:.*]] = arith.remui %[[TX]], %c32 : index
// The block stages x (zero outside M x K) at 36 floats per 32-code chunk.
//       CHECK:     scf.for %[[E:.*]] = %[[TX]] to %c1024 step %c128 {
//       CHECK:       tensor.extract %[[X]]
//       CHECK:       memref.store %{{.*}}, %[[XS]][%{{.*}}, %{{.*}}] : memref<1x1152xf32, #gpu.address_space<workgroup>>
//       CHECK:     }
//       CHECK:     gpu.barrier
// Each lane takes chunk `lane` of both of its warp's rows with one 128-bit
// load per row, if the chunk starts before K.
//       CHECK:     %[[KC:.*]] = arith.muli %[[LANE]], %c32 : index
//       CHECK:     %[[R0:.*]] = arith.addi %{{.*}}, %{{.*}} : index
//       CHECK:     %[[IN:.*]] = arith.cmpi ult, %[[KC]], %c64 : index
//       CHECK:     %[[ACC:.*]]:2 = scf.if %[[IN]] -> (f32, f32) {
//       CHECK:       %[[WOFF:.*]] = arith.muli %[[LANE]], %c4 : index
//       CHECK:       %[[V0:.*]] = vector.load %[[W]][%[[R0]], %[[WOFF]]] {alignment = 16 : i64} : memref<16x8xi32>, vector<4xi32>
//       CHECK:       %[[W0:.*]] = vector.extract %[[V0]][0] : i32 from vector<4xi32>
//       CHECK:       %[[R1:.*]] = arith.addi %[[R0]], %c1 : index
//       CHECK:       vector.load %[[W]][%[[R1]], %[[WOFF]]] {alignment = 16 : i64} : memref<16x8xi32>, vector<4xi32>
// The group scale of each row, read once per chunk (one group of 32).
//       CHECK:       %[[G:.*]] = arith.divui %[[KC]], %c32 : index
//       CHECK:       %[[SC0H:.*]] = tensor.extract %{{.*}}[%[[R0]], %[[G]]] : tensor<16x2xf16>
//       CHECK:       %[[SC0:.*]] = arith.extf %[[SC0H]] : f16 to f32
//       CHECK:       %[[SC1H:.*]] = tensor.extract %{{.*}}[%[[R1]], %[[G]]] : tensor<16x2xf16>
//       CHECK:       %[[SC1:.*]] = arith.extf %[[SC1H]] : f16 to f32
// x from shared memory, four floats per load. Code 0 of word 0 is its low
// nibble; with the sign bit flipped and OR-ed into the mantissa of 2^23
// (0x4B000000) it is the f32 2^23 + 8 + code, and subtracting 2^23 + 8
// (0x4B000008) leaves the code: no int-to-float conversion.
//       CHECK:       %[[XQ:.*]] = vector.load %[[XS]][%c0, %{{.*}}] {alignment = 16 : i64} : memref<1x1152xf32, #gpu.address_space<workgroup>>, vector<4xf32>
//       CHECK:       %[[X0:.*]] = vector.extract %[[XQ]][0] : f32 from vector<4xf32>
//       CHECK:       %[[N0:.*]] = arith.andi %[[W0]], %c15_i32 : i32
//       CHECK:       %[[U0:.*]] = arith.xori %[[N0]], %c8_i32 : i32
//       CHECK:       %[[B0:.*]] = arith.ori %[[U0]], %c1258291200_i32 : i32
//       CHECK:       %[[M0:.*]] = arith.bitcast %[[B0]] : i32 to f32
//       CHECK:       %[[F0:.*]] = arith.subf %[[M0]], %[[OFF]] : f32
//       CHECK:       %[[P0:.*]] = arith.mulf %[[F0]], %[[X0]] fastmath<contract> : f32
//       CHECK:       arith.addf %[[P0]], %cst{{.*}} fastmath<contract> : f32
// acc += scale * sum(code * x), once per group and row.
//       CHECK:       %[[SP0:.*]] = arith.mulf %[[SC0]], %{{.*}} fastmath<contract> : f32
//       CHECK:       %[[S0:.*]] = arith.addf %[[SP0]], %cst{{.*}} fastmath<contract> : f32
//       CHECK:       %[[SP1:.*]] = arith.mulf %[[SC1]], %{{.*}} fastmath<contract> : f32
//       CHECK:       %[[S1:.*]] = arith.addf %[[SP1]], %cst{{.*}} fastmath<contract> : f32
//       CHECK:       scf.yield %[[S0]], %[[S1]] : f32, f32
//       CHECK:     } else {
//       CHECK:     gpu.barrier
// Butterfly reduction across the warp, then lane 0 stores rows inside N.
//       CHECK:     %[[SH:.*]], %{{.*}} = gpu.shuffle  xor %[[ACC]]#0, %c16_i32, %c32_i32 : f32
//       CHECK:     %[[T1:.*]] = arith.addf %[[ACC]]#0, %[[SH]] : f32
//       CHECK:     gpu.shuffle  xor %[[T1]], %c8_i32, %c32_i32 : f32
//       CHECK:     gpu.shuffle  xor %{{.*}}, %c4_i32, %c32_i32 : f32
//       CHECK:     gpu.shuffle  xor %{{.*}}, %c2_i32, %c32_i32 : f32
//       CHECK:     gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32 : f32
//       CHECK:     %[[SUM0:.*]] = arith.addf
//       CHECK:     gpu.shuffle  xor %[[ACC]]#1, %c16_i32, %c32_i32 : f32
//       CHECK:     %[[L0:.*]] = arith.cmpi eq, %[[LANE]], %c0 : index
//       CHECK:     scf.if %[[L0]] {
//       CHECK:       %[[INN:.*]] = arith.cmpi ult, %[[R0]], %c16 : index
//       CHECK:       scf.if %[[INN]] {
//       CHECK:         memref.store %[[SUM0]], %[[OUT]][%c0, %[[R0]]] : memref<1x16xf32>
//       CHECK:     gpu.terminator
//   CHECK-NOT:   nvgpu.mma.sync
//       CHECK:   bufferization.to_tensor %[[OUT]] restrict writable : memref<1x16xf32> to tensor<1x16xf32>
func.func @gemv(%x: tensor<1x64xf32>) -> tensor<1x16xf32> {
  %w = qnt.constant {codes = dense<[[0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45, 48, 51, 54, 57, 60, 63, 66, 69, 72, 75, 78, 81, 84, 87, 90, 93], [7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 37, 40, 43, 46, 49, 52, 55, 58, 61, 64, 67, 70, 73, 76, 79, 82, 85, 88, 91, 94, 97, 100], [14, 17, 20, 23, 26, 29, 32, 35, 38, 41, 44, 47, 50, 53, 56, 59, 62, 65, 68, 71, 74, 77, 80, 83, 86, 89, 92, 95, 98, 101, 104, 107], [21, 24, 27, 30, 33, 36, 39, 42, 45, 48, 51, 54, 57, 60, 63, 66, 69, 72, 75, 78, 81, 84, 87, 90, 93, 96, 99, 102, 105, 108, 111, 114], [28, 31, 34, 37, 40, 43, 46, 49, 52, 55, 58, 61, 64, 67, 70, 73, 76, 79, 82, 85, 88, 91, 94, 97, 100, 103, 106, 109, 112, 115, 118, 121], [35, 38, 41, 44, 47, 50, 53, 56, 59, 62, 65, 68, 71, 74, 77, 80, 83, 86, 89, 92, 95, 98, 101, 104, 107, 110, 113, 116, 119, 122, 125, 0], [42, 45, 48, 51, 54, 57, 60, 63, 66, 69, 72, 75, 78, 81, 84, 87, 90, 93, 96, 99, 102, 105, 108, 111, 114, 117, 120, 123, 126, 1, 4, 7], [49, 52, 55, 58, 61, 64, 67, 70, 73, 76, 79, 82, 85, 88, 91, 94, 97, 100, 103, 106, 109, 112, 115, 118, 121, 124, 127, 2, 5, 8, 11, 14], [56, 59, 62, 65, 68, 71, 74, 77, 80, 83, 86, 89, 92, 95, 98, 101, 104, 107, 110, 113, 116, 119, 122, 125, 0, 3, 6, 9, 12, 15, 18, 21], [63, 66, 69, 72, 75, 78, 81, 84, 87, 90, 93, 96, 99, 102, 105, 108, 111, 114, 117, 120, 123, 126, 1, 4, 7, 10, 13, 16, 19, 22, 25, 28], [70, 73, 76, 79, 82, 85, 88, 91, 94, 97, 100, 103, 106, 109, 112, 115, 118, 121, 124, 127, 2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 32, 35], [77, 80, 83, 86, 89, 92, 95, 98, 101, 104, 107, 110, 113, 116, 119, 122, 125, 0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42], [84, 87, 90, 93, 96, 99, 102, 105, 108, 111, 114, 117, 120, 123, 126, 1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 37, 40, 43, 46, 49], [91, 94, 97, 100, 103, 106, 109, 112, 115, 118, 121, 124, 127, 2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 32, 35, 38, 41, 44, 47, 50, 53, 56], [98, 101, 104, 107, 110, 113, 116, 119, 122, 125, 0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45, 48, 51, 54, 57, 60, 63], [105, 108, 111, 114, 117, 120, 123, 126, 1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 37, 40, 43, 46, 49, 52, 55, 58, 61, 64, 67, 70]]> : tensor<16x32xi8>, scales = dense<[[0.5, 0.25], [0.5, 0.25], [0.5, 0.25], [0.5, 0.25], [0.5, 0.25], [0.5, 0.25], [0.5, 0.25], [0.5, 0.25], [0.5, 0.25], [0.5, 0.25], [0.5, 0.25], [0.5, 0.25], [0.5, 0.25], [0.5, 0.25], [0.5, 0.25], [0.5, 0.25]]> : tensor<16x2xf16>}
      : !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>, scale = f16>>
  %y = qnt.matmul %x, %w : (tensor<1x64xf32>, !qnt.packed<16x64, #qnt.scheme<si4, symmetric, per_group<1, 32>, scale = f16>>) -> tensor<1x16xf32>
  return %y : tensor<1x16xf32>
}
