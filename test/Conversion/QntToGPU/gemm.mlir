// convert-qnt-to-gpu, tensor-core GEMM (M > 8, above the selected GEMVs):
// the kernel as emitted, after canonicalization. M = 64 (one M tile), N = 16 (one N tile,
// rows clamped to 15), K = 64 (one K step, canonicalized away), f16 x,
// unsigned 8-bit asymmetric per-channel codes.
// RUN: quant-opt %s --qnt-set-target=gpu=sm_80 --qnt-select-kernels --convert-qnt-to-gpu --canonicalize --cse | FileCheck %s

// The x and weight tiles live in two 16-byte aligned workgroup globals.
//   CHECK-DAG: memref.global "private" @[[$AG:qnt_shared[_0-9]*]] : memref<64x72xf16, #gpu.address_space<workgroup>> {alignment = 16 : i64}
//   CHECK-DAG: memref.global "private" @[[$BG:qnt_shared[_0-9]*]] : memref<64x72xf16, #gpu.address_space<workgroup>> {alignment = 16 : i64}
// CHECK-LABEL: func.func @gemm
//  CHECK-SAME:   (%[[X:.*]]: tensor<64x64xf16>)
//   CHECK-NOT:   16x64xf
//       CHECK:   %[[OFF:.*]] = arith.constant 0x4B000003 : f32
//       CHECK:   %[[WT:.*]] = arith.constant dense_resource<qnt_gpu_codes> : tensor<16x16xi32>
//       CHECK:   %[[W:.*]] = bufferization.to_buffer %[[WT]] read_only : tensor<16x16xi32> to memref<16x16xi32>
//       CHECK:   %[[OUT:.*]] = memref.alloc() : memref<64x16xf16>
//       CHECK:   gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c1, %{{.*}} = %c1, %{{.*}} = %c1) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c128, %{{.*}} = %c1, %{{.*}} = %c1) {
//       CHECK:     %[[AS:.*]] = memref.get_global @{{qnt_shared[_0-9]*}} : memref<64x72xf16, #gpu.address_space<workgroup>>
//       CHECK:     %[[BS:.*]] = memref.get_global @{{qnt_shared[_0-9]*}} : memref<64x72xf16, #gpu.address_space<workgroup>>
// x tile rounded to f16 in shared memory.
//       CHECK:     scf.for %{{.*}} = %[[TX]] to %c4096 step %c128 {
//       CHECK:       tensor.extract %[[X]]
//       CHECK:       %[[XH:.*]] = arith.truncf %{{.*}} : f32 to f16
//       CHECK:       memref.store %[[XH]], %[[AS]][%{{.*}}, %{{.*}}] : memref<64x72xf16, #gpu.address_space<workgroup>>
// Thread t dequantizes chunk t % 2 of weight row t / 2 (clamped into N):
// 8 words, two 128-bit loads; code = word & 255, OR-ed into the mantissa of
// 2^23, minus 2^23 + zp (0x4B000003: zp = 3, folded) gives code - zp; times
// the scale in f32, rounded to f16, stored 8 halves at a time.
//       CHECK:     %[[ROW:.*]] = arith.divui %[[TX]], %c2 : index
//       CHECK:     %[[CLAMP:.*]] = arith.minui %[[ROW]], %c15 : index
//       CHECK:     %[[WORDS:.*]] = vector.load %[[W]][%[[CLAMP]], %{{.*}}] {alignment = 16 : i64} : memref<16x16xi32>, vector<8xi32>
//       CHECK:     %[[W0:.*]] = vector.extract %[[WORDS]][0] : i32 from vector<8xi32>
//       CHECK:     %[[S:.*]] = tensor.extract %{{.*}}[%[[CLAMP]], %c0] : tensor<16x1xf32>
//       CHECK:     %[[C0:.*]] = arith.andi %[[W0]], %c255_i32 : i32
//       CHECK:     %[[B0:.*]] = arith.ori %[[C0]], %c1258291200_i32 : i32
//       CHECK:     %[[F0:.*]] = arith.bitcast %[[B0]] : i32 to f32
//       CHECK:     %[[Z0:.*]] = arith.subf %[[F0]], %[[OFF]] : f32
//       CHECK:     %[[D0:.*]] = arith.mulf %[[S]], %[[Z0]] : f32
//       CHECK:     arith.truncf %[[D0]] : f32 to f16
//       CHECK:     vector.store %{{.*}}, %[[BS]][%[[ROW]], %{{.*}}] {alignment = 16 : i64} : memref<64x72xf16, #gpu.address_space<workgroup>>, vector<8xf16>
//       CHECK:     gpu.barrier
// Fragments: pairs of halves from the shared tiles; 2 x 4 mma tiles per warp
// and 16-wide K step, four K steps.
//       CHECK:     vector.load %[[AS]][%{{.*}}, %{{.*}}] {alignment = 4 : i64} : memref<64x72xf16, #gpu.address_space<workgroup>>, vector<2xf16>
//       CHECK:     %[[A0:.*]] = vector.from_elements {{.*}} : vector<4x2xf16>
//       CHECK:     vector.load %[[BS]][%{{.*}}, %{{.*}}] {alignment = 4 : i64} : memref<64x72xf16, #gpu.address_space<workgroup>>, vector<2xf16>
//       CHECK:     %[[B0:.*]] = vector.from_elements {{.*}} : vector<2x2xf16>
// CHECK-COUNT-32:    nvgpu.mma.sync(%{{.*}}, %{{.*}}, %{{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
//   CHECK-NOT:     nvgpu.mma.sync
//       CHECK:     gpu.barrier
// The C fragments go to out inside M x N, rounded to f16.
//       CHECK:     scf.if
//       CHECK:       %[[Y:.*]] = arith.truncf %{{.*}} : f32 to f16
//       CHECK:       memref.store %[[Y]], %[[OUT]][%{{.*}}, %{{.*}}] : memref<64x16xf16>
//       CHECK:     gpu.terminator
//   CHECK-NOT:   gpu.shuffle
//       CHECK:   bufferization.to_tensor %[[OUT]]
func.func @gemm(%x: tensor<64x64xf16>) -> tensor<64x16xf16> {
  %w = qnt.constant {codes = dense<[[0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45, 48, 51, 54, 57, 60, 63, 66, 69, 72, 75, 78, 81, 84, 87, 90, 93, 96, 99, 102, 105, 108, 111, 114, 117, 120, 123, 126, 1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 37, 40, 43, 46, 49, 52, 55, 58, 61], [7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 37, 40, 43, 46, 49, 52, 55, 58, 61, 64, 67, 70, 73, 76, 79, 82, 85, 88, 91, 94, 97, 100, 103, 106, 109, 112, 115, 118, 121, 124, 127, 2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 32, 35, 38, 41, 44, 47, 50, 53, 56, 59, 62, 65, 68], [14, 17, 20, 23, 26, 29, 32, 35, 38, 41, 44, 47, 50, 53, 56, 59, 62, 65, 68, 71, 74, 77, 80, 83, 86, 89, 92, 95, 98, 101, 104, 107, 110, 113, 116, 119, 122, 125, 0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45, 48, 51, 54, 57, 60, 63, 66, 69, 72, 75], [21, 24, 27, 30, 33, 36, 39, 42, 45, 48, 51, 54, 57, 60, 63, 66, 69, 72, 75, 78, 81, 84, 87, 90, 93, 96, 99, 102, 105, 108, 111, 114, 117, 120, 123, 126, 1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 37, 40, 43, 46, 49, 52, 55, 58, 61, 64, 67, 70, 73, 76, 79, 82], [28, 31, 34, 37, 40, 43, 46, 49, 52, 55, 58, 61, 64, 67, 70, 73, 76, 79, 82, 85, 88, 91, 94, 97, 100, 103, 106, 109, 112, 115, 118, 121, 124, 127, 2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 32, 35, 38, 41, 44, 47, 50, 53, 56, 59, 62, 65, 68, 71, 74, 77, 80, 83, 86, 89], [35, 38, 41, 44, 47, 50, 53, 56, 59, 62, 65, 68, 71, 74, 77, 80, 83, 86, 89, 92, 95, 98, 101, 104, 107, 110, 113, 116, 119, 122, 125, 0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45, 48, 51, 54, 57, 60, 63, 66, 69, 72, 75, 78, 81, 84, 87, 90, 93, 96], [42, 45, 48, 51, 54, 57, 60, 63, 66, 69, 72, 75, 78, 81, 84, 87, 90, 93, 96, 99, 102, 105, 108, 111, 114, 117, 120, 123, 126, 1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 37, 40, 43, 46, 49, 52, 55, 58, 61, 64, 67, 70, 73, 76, 79, 82, 85, 88, 91, 94, 97, 100, 103], [49, 52, 55, 58, 61, 64, 67, 70, 73, 76, 79, 82, 85, 88, 91, 94, 97, 100, 103, 106, 109, 112, 115, 118, 121, 124, 127, 2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 32, 35, 38, 41, 44, 47, 50, 53, 56, 59, 62, 65, 68, 71, 74, 77, 80, 83, 86, 89, 92, 95, 98, 101, 104, 107, 110], [56, 59, 62, 65, 68, 71, 74, 77, 80, 83, 86, 89, 92, 95, 98, 101, 104, 107, 110, 113, 116, 119, 122, 125, 0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45, 48, 51, 54, 57, 60, 63, 66, 69, 72, 75, 78, 81, 84, 87, 90, 93, 96, 99, 102, 105, 108, 111, 114, 117], [63, 66, 69, 72, 75, 78, 81, 84, 87, 90, 93, 96, 99, 102, 105, 108, 111, 114, 117, 120, 123, 126, 1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 37, 40, 43, 46, 49, 52, 55, 58, 61, 64, 67, 70, 73, 76, 79, 82, 85, 88, 91, 94, 97, 100, 103, 106, 109, 112, 115, 118, 121, 124], [70, 73, 76, 79, 82, 85, 88, 91, 94, 97, 100, 103, 106, 109, 112, 115, 118, 121, 124, 127, 2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 32, 35, 38, 41, 44, 47, 50, 53, 56, 59, 62, 65, 68, 71, 74, 77, 80, 83, 86, 89, 92, 95, 98, 101, 104, 107, 110, 113, 116, 119, 122, 125, 0, 3], [77, 80, 83, 86, 89, 92, 95, 98, 101, 104, 107, 110, 113, 116, 119, 122, 125, 0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45, 48, 51, 54, 57, 60, 63, 66, 69, 72, 75, 78, 81, 84, 87, 90, 93, 96, 99, 102, 105, 108, 111, 114, 117, 120, 123, 126, 1, 4, 7, 10], [84, 87, 90, 93, 96, 99, 102, 105, 108, 111, 114, 117, 120, 123, 126, 1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 37, 40, 43, 46, 49, 52, 55, 58, 61, 64, 67, 70, 73, 76, 79, 82, 85, 88, 91, 94, 97, 100, 103, 106, 109, 112, 115, 118, 121, 124, 127, 2, 5, 8, 11, 14, 17], [91, 94, 97, 100, 103, 106, 109, 112, 115, 118, 121, 124, 127, 2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 32, 35, 38, 41, 44, 47, 50, 53, 56, 59, 62, 65, 68, 71, 74, 77, 80, 83, 86, 89, 92, 95, 98, 101, 104, 107, 110, 113, 116, 119, 122, 125, 0, 3, 6, 9, 12, 15, 18, 21, 24], [98, 101, 104, 107, 110, 113, 116, 119, 122, 125, 0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45, 48, 51, 54, 57, 60, 63, 66, 69, 72, 75, 78, 81, 84, 87, 90, 93, 96, 99, 102, 105, 108, 111, 114, 117, 120, 123, 126, 1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31], [105, 108, 111, 114, 117, 120, 123, 126, 1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 37, 40, 43, 46, 49, 52, 55, 58, 61, 64, 67, 70, 73, 76, 79, 82, 85, 88, 91, 94, 97, 100, 103, 106, 109, 112, 115, 118, 121, 124, 127, 2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 32, 35, 38]]> : tensor<16x64xi8>, scales = dense<[[0.5], [0.25], [0.5], [0.25], [0.5], [0.25], [0.5], [0.25], [0.5], [0.25], [0.5], [0.25], [0.5], [0.25], [0.5], [0.25]]> : tensor<16x1xf32>, zero_points = dense<3> : tensor<16x1xui8>}
      : !qnt.packed<16x64, #qnt.scheme<ui8, asymmetric, per_channel<0>>>
  %y = qnt.matmul %x, %w : (tensor<64x64xf16>, !qnt.packed<16x64, #qnt.scheme<ui8, asymmetric, per_channel<0>>>) -> tensor<64x16xf16>
  return %y : tensor<64x16xf16>
}
