// RUN: quant-opt %s --split-input-file --qnt-vectorize-linalg --canonicalize --cse | FileCheck %s
// RUN: quant-opt %s --split-input-file --qnt-vectorize-linalg="vector-width=16" --canonicalize --cse | FileCheck %s --check-prefix=W16
// RUN: not quant-opt %s --split-input-file --qnt-vectorize-linalg="vector-width=65" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: quant-opt %s --split-input-file --qnt-vectorize-linalg="parallel=true" --canonicalize --cse | FileCheck %s --check-prefix=PAR

// BAD: error: qnt-vectorize-linalg option vector-width=65 is out of range [1, 64]

// Elementwise, 64 = 8 x 8: one loop of full tiles, no remainder.
// CHECK-LABEL: func.func @add
//   CHECK-DAG:   %[[C0:.*]] = arith.constant 0 : index
//   CHECK-DAG:   %[[C8:.*]] = arith.constant 8 : index
//   CHECK-DAG:   %[[C64:.*]] = arith.constant 64 : index
//       CHECK:   scf.for %[[J:.*]] = %[[C0]] to %[[C64]] step %[[C8]] {
//       CHECK:     %[[X:.*]] = vector.transfer_read {{.*}} {in_bounds = [true]} : memref<8xf32, {{.*}}>, vector<8xf32>
//       CHECK:     %[[Y:.*]] = vector.transfer_read {{.*}} {in_bounds = [true]} : memref<8xf32, {{.*}}>, vector<8xf32>
//       CHECK:     %[[S:.*]] = arith.addf %[[X]], %[[Y]] : vector<8xf32>
//       CHECK:     vector.transfer_write %[[S]], {{.*}} {in_bounds = [true]} : vector<8xf32>, memref<8xf32
//       CHECK:   }
//   CHECK-NOT:   linalg.generic
// W16-LABEL: func.func @add
//       W16:   arith.addf {{.*}} : vector<16xf32>
func.func @add(%a: memref<1x64xf32>, %b: memref<1x64xf32>, %c: memref<1x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : memref<1x64xf32>, memref<1x64xf32>) outs(%c : memref<1x64xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// RMSNorm's sum of squares: the row in chunks of 4 x 8, each reduced in
// order onto the accumulator.
// CHECK-LABEL: func.func @sum_of_squares
//   CHECK-DAG:   %[[C0:.*]] = arith.constant 0 : index
//   CHECK-DAG:   %[[C32:.*]] = arith.constant 32 : index
//   CHECK-DAG:   %[[C64:.*]] = arith.constant 64 : index
//       CHECK:   scf.for %{{.*}} = %[[C0]] to %[[C64]] step %[[C32]] {
//       CHECK:     %[[X:.*]] = vector.transfer_read {{.*}} : memref<32xf32, {{.*}}>, vector<32xf32>
//       CHECK:     %[[ACC:.*]] = vector.transfer_read {{.*}} : memref<f32>, vector<f32>
//       CHECK:     %[[SQ:.*]] = arith.mulf %[[X]], %[[X]] : vector<32xf32>
//       CHECK:     %[[A:.*]] = vector.extract %[[ACC]][] : f32 from vector<f32>
//       CHECK:     %[[R:.*]] = vector.reduction <add>, %[[SQ]], %[[A]] : vector<32xf32> into f32
//       CHECK:     %[[B:.*]] = vector.broadcast %[[R]] : f32 to vector<f32>
//       CHECK:     vector.transfer_write %[[B]], {{.*}} : vector<f32>, memref<f32>
//   CHECK-NOT:   linalg.generic
// W16-LABEL: func.func @sum_of_squares
//       W16:   vector.reduction <add>, {{.*}} : vector<64xf32> into f32
func.func @sum_of_squares(%x: memref<1x64xf32>, %ss: memref<1xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<1x64xf32>) outs(%ss : memref<1xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.mulf %a, %a : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// 3 x 20: rows by 1, columns 20 = 2 x 8 + 4; the peeled remainder is static
// and becomes a vector<4>.
// CHECK-LABEL: func.func @remainder
//   CHECK-DAG:   %[[ONE4:.*]] = arith.constant dense<1.000000e+00> : vector<4xf32>
//   CHECK-DAG:   %[[ONE8:.*]] = arith.constant dense<1.000000e+00> : vector<8xf32>
//   CHECK-DAG:   %[[C3:.*]] = arith.constant 3 : index
//   CHECK-DAG:   %[[C16:.*]] = arith.constant 16 : index
//       CHECK:   scf.for %[[I:.*]] = %{{.*}} to %[[C3]] step
//       CHECK:     scf.for %{{.*}} = %{{.*}} to %[[C16]] step
//       CHECK:       vector.transfer_read {{.*}} : memref<8xf32, {{.*}}>, vector<8xf32>
//       CHECK:       arith.addf %{{.*}}, %[[ONE8]] : vector<8xf32>
//       CHECK:       vector.transfer_write {{.*}} : vector<8xf32>, memref<8xf32
//       CHECK:     }
//       CHECK:     memref.subview %{{.*}}[%[[I]], 16] [1, 4] [1, 1]
//       CHECK:     vector.transfer_read {{.*}} : memref<4xf32, {{.*}}>, vector<4xf32>
//       CHECK:     arith.addf %{{.*}}, %[[ONE4]] : vector<4xf32>
//       CHECK:     vector.transfer_write {{.*}} : vector<4xf32>, memref<4xf32
//   CHECK-NOT:   linalg.generic
// W16-LABEL: func.func @remainder
//       W16:   arith.addf {{.*}} : vector<16xf32>
//       W16:   arith.addf {{.*}} : vector<4xf32>
func.func @remainder(%a: memref<3x20xf32>, %c: memref<3x20xf32>) {
  %one = arith.constant 1.0 : f32
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<3x20xf32>) outs(%c : memref<3x20xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = arith.addf %x, %one : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Attention scores, 8 positions x head size 8: one 8 x 8 block, lane t
// accumulates position t in order (acc + p0, + p1, ...).
// CHECK-LABEL: func.func @scores
//       CHECK:   scf.for %[[H:.*]] =
//       CHECK:     %[[KH:.*]] = affine.apply #{{.*}}(%[[H]])
//       CHECK:     %[[K:.*]] = memref.subview %{{.*}}[0, %[[KH]], 0] [8, 1, 8] [1, 1, 1]
//       CHECK:     vector.transfer_read %[[K]]
//       CHECK:     %[[OUT:.*]] = vector.transfer_read {{.*}} : memref<8xf32, {{.*}}>, vector<8xf32>
//       CHECK:     %[[P:.*]] = arith.mulf %{{.*}}, %{{.*}} : vector<8x8xf32>
//       CHECK:     %[[P0:.*]] = vector.from_elements
//       CHECK:     %[[S0:.*]] = arith.addf %[[P0]], %[[OUT]] : vector<8xf32>
//       CHECK:     %[[P1:.*]] = vector.from_elements
//       CHECK:     %[[S1:.*]] = arith.addf %[[P1]], %[[S0]] : vector<8xf32>
//       CHECK:     vector.transfer_write {{.*}} : vector<8xf32>, memref<8xf32
//   CHECK-NOT:   linalg.generic
func.func @scores(%q: memref<2x8xf32>, %k: memref<8x1x8xf32>, %s: memref<2x8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(h, t, i) -> (h, i)>, affine_map<(h, t, i) -> (t, h floordiv 2, i)>, affine_map<(h, t, i) -> (h, t)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%q, %k : memref<2x8xf32>, memref<8x1x8xf32>) outs(%s : memref<2x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Left alone: a gather through memref.load.
// CHECK-LABEL: func.func @left_alone
//       CHECK:   linalg.generic
//       CHECK:     memref.load
//   CHECK-NOT:   vector.
func.func @left_alone(%x: memref<1x16xf32>, %y: memref<1x16xf32>) {
  %c0 = arith.constant 0 : index
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      outs(%y : memref<1x16xf32>) {
  ^bb0(%o: f32):
    %j = linalg.index 1 : index
    %v = memref.load %x[%c0, %j] : memref<1x16xf32>
    linalg.yield %v : f32
  }
  return
}

// -----

// RoPE as quant-import writes it (rotate-half; tensors bufferized): the two
// members of each pair read from their own slices through maps with a
// constant 0, so every tile is whole vectors of contiguous elements, and
// the member loop selects which rotation is written.
// CHECK-LABEL: func.func @rope
//  CHECK-SAME:   (%[[X0:[a-z0-9]+]]: memref<?x4x1x16xf32, strided<[128, 32, 16, 1]>>, %[[X1:[a-z0-9]+]]: memref<?x4x1x16xf32, strided<[128, 32, 16, 1], offset: 16>>, %[[COS:[a-z0-9]+]]: memref<?x16xf32>, %[[SIN:[a-z0-9]+]]: memref<?x16xf32>, %[[OUT:[a-z0-9]+]]: memref<?x4x2x16xf32>)
//       CHECK:   scf.for %[[R:.*]] = %{{.*}} to %{{.*}} step
//       CHECK:     scf.for %[[H:.*]] = %{{.*}} to %{{.*}} step
//       CHECK:       scf.for %[[M:.*]] = %{{.*}} to %{{.*}} step
//       CHECK:         scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
//       CHECK:           memref.subview %[[X0]][%[[R]], %[[H]], 0, %[[I]]] [1, 1, 1, 8]
//       CHECK:           memref.subview %[[X1]][%[[R]], %[[H]], 0, %[[I]]] [1, 1, 1, 8]
//       CHECK:           memref.subview %[[COS]][%[[R]], %[[I]]] [1, 8]
//       CHECK:           memref.subview %[[SIN]][%[[R]], %[[I]]] [1, 8]
//       CHECK:           memref.subview %[[OUT]][%[[R]], %[[H]], %[[M]], %[[I]]] [1, 1, 1, 8]
//       CHECK:           %[[A:.*]] = vector.transfer_read {{.*}} : memref<8xf32, {{.*}}>, vector<8xf32>
//       CHECK:           %[[B:.*]] = vector.transfer_read {{.*}} : memref<8xf32, {{.*}}>, vector<8xf32>
//       CHECK:           %[[C:.*]] = vector.transfer_read {{.*}} : memref<8xf32, {{.*}}>, vector<8xf32>
//       CHECK:           %[[S:.*]] = vector.transfer_read {{.*}} : memref<8xf32, {{.*}}>, vector<8xf32>
//       CHECK:           %[[AC:.*]] = arith.mulf %[[A]], %[[C]] : vector<8xf32>
//       CHECK:           %[[BS:.*]] = arith.mulf %[[B]], %[[S]] : vector<8xf32>
//       CHECK:           %[[FIRST:.*]] = arith.subf %[[AC]], %[[BS]] : vector<8xf32>
//       CHECK:           %[[SECOND:.*]] = arith.addf
//       CHECK:           %[[IS2:.*]] = arith.cmpi ne, %[[M]], %{{.*}} : index
//       CHECK:           %[[MASK:.*]] = vector.broadcast %[[IS2]] : i1 to vector<8xi1>
//       CHECK:           %[[V:.*]] = arith.select %[[MASK]], %[[SECOND]], %[[FIRST]] : vector<8xi1>, vector<8xf32>
//       CHECK:           vector.transfer_write %[[V]], {{.*}} : vector<8xf32>, memref<8xf32, {{.*}}>
//   CHECK-NOT:   memref.load
func.func @rope(%x0: memref<?x4x1x16xf32, strided<[128, 32, 16, 1]>>,
                %x1: memref<?x4x1x16xf32, strided<[128, 32, 16, 1], offset: 16>>,
                %cos: memref<?x16xf32>, %sin: memref<?x16xf32>,
                %out: memref<?x4x2x16xf32>) {
  %c0 = arith.constant 0 : index
  linalg.generic {indexing_maps = [affine_map<(r, h, m, i) -> (r, h, 0, i)>,
                                   affine_map<(r, h, m, i) -> (r, h, 0, i)>,
                                   affine_map<(r, h, m, i) -> (r, i)>,
                                   affine_map<(r, h, m, i) -> (r, i)>,
                                   affine_map<(r, h, m, i) -> (r, h, m, i)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x0, %x1, %cos, %sin : memref<?x4x1x16xf32, strided<[128, 32, 16, 1]>>, memref<?x4x1x16xf32, strided<[128, 32, 16, 1], offset: 16>>, memref<?x16xf32>, memref<?x16xf32>)
      outs(%out : memref<?x4x2x16xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32, %s: f32, %o: f32):
    %ac = arith.mulf %a, %c : f32
    %bs = arith.mulf %b, %s : f32
    %first = arith.subf %ac, %bs : f32
    %as = arith.mulf %a, %s : f32
    %bc = arith.mulf %b, %c : f32
    %second = arith.addf %as, %bc : f32
    %m = linalg.index 2 : index
    %is2 = arith.cmpi ne, %m, %c0 : index
    %r = arith.select %is2, %second, %first : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Sums along the rows of a prompt (RMSNorm's sums of squares; the rows are
// dynamic): full 8 x 8 blocks in which each lane accumulates one row, in
// order; the last partial block of rows (all of a decoding step's one row)
// is a scalar loop that adds in the same order. Threads would leave every
// tile of a dynamic size, so with parallel=true it stays one scf.for.
// CHECK-LABEL: func.func @row_sums
//       CHECK:   %[[DIM:.*]] = memref.dim
//       CHECK:   %[[FULL:.*]] = affine.apply #{{.*}}()[%[[DIM]]]
//       CHECK:   scf.for %[[R:.*]] = %{{.*}} to %[[FULL]] step %[[C8:.*]] {
//       CHECK:     scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %[[C8]] {
//       CHECK:       memref.subview %{{.*}}[%[[R]], %[[J]]] [8, 8] [1, 1]
//       CHECK:       arith.mulf %{{.*}}, %{{.*}} : vector<8x8xf32>
//       CHECK:       arith.addf %{{.*}}, %{{.*}} : vector<8xf32>
//       CHECK:       vector.transfer_write %{{.*}} : vector<8xf32>, memref<8xf32
//       CHECK:   scf.for %{{.*}} = %[[FULL]] to %[[DIM]] step %[[C8]] {
//       CHECK:     scf.for
//       CHECK:       linalg.generic
// PAR-LABEL: func.func @row_sums
//   PAR-NOT:   scf.parallel
//       PAR:   return
func.func @row_sums(%x: memref<?x64xf32>, %ss: memref<?xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x64xf32>) outs(%ss : memref<?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %r = arith.addf %acc, %sq : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Dynamic shapes (the rows of a prompt): a dynamic innermost loop gets full
// vector tiles and a scalar remainder; a dynamic outer loop is tiled by 1,
// so its tiles are static and vectorize.
// CHECK-LABEL: func.func @dynamic
//  CHECK-SAME:   (%[[D:.*]]: memref<?xf32>, %[[X:.*]]: memref<?x16xf32>)
//       CHECK:   scf.for
//       CHECK:     vector.transfer_write %{{.*}} : vector<8xf32>
//       CHECK:   scf.for
//       CHECK:     linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : memref<?xf32, strided<[1], offset: ?>>)
//       CHECK:   memref.dim %[[X]]
//       CHECK:   scf.for
//       CHECK:     scf.for
//       CHECK:       vector.transfer_write %{{.*}} : vector<8xf32>
//   CHECK-NOT:   linalg.fill
func.func @dynamic(%d: memref<?xf32>, %x: memref<?x16xf32>) {
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%one : f32) outs(%d : memref<?xf32>)
  linalg.fill ins(%one : f32) outs(%x : memref<?x16xf32>)
  return
}

// -----

// With parallel=true, a large op (2^16 iterations, a dynamic loop counted as
// 128: a float matmul of 512 x 256 = 2^17 multiply-adds per row, a fill of
// 512 columns over the rows of a prompt) whose tiles divide its parallel
// loops gets one scf.parallel over them (rows by 1, columns by 8); a
// reduction stays a loop. Small ops (a fill of 64 columns over a prompt,
// 128 x 64 = 2^13) keep scf.for, and so do ops with a partial tile.
// PAR-LABEL: func.func @big_matmul
//       PAR:   scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}}) step (%{{.*}}, %{{.*}})
//       PAR:     scf.for
//       PAR:       vector.
// PAR-LABEL: func.func @prompt_fill
//       PAR:   scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}}) step (%{{.*}}, %{{.*}})
//       PAR:     vector.transfer_write
// PAR-LABEL: func.func @small_fill
//   PAR-NOT:   scf.parallel
// PAR-LABEL: func.func @partial_tiles
//   PAR-NOT:   scf.parallel
// CHECK-LABEL: func.func @big_matmul
//   CHECK-NOT:   scf.parallel
func.func @big_matmul(%x: memref<?x256xf32>, %w: memref<512x256xf32>, %y: memref<?x512xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : memref<?x256xf32>, memref<512x256xf32>) outs(%y : memref<?x512xf32>)
  return
}
func.func @prompt_fill(%y: memref<?x512xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<?x512xf32>)
  return
}
func.func @small_fill(%y: memref<?x64xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<?x64xf32>)
  return
}
func.func @partial_tiles(%x: memref<?x256xf32>, %w: memref<515x256xf32>, %y: memref<?x515xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : memref<?x256xf32>, memref<515x256xf32>) outs(%y : memref<?x515xf32>)
  return
}

// -----

// vector-width=0 (the default) is one register of the module's #qnt.target:
// 16 lanes for 512-bit vectors (without a target, 8 as @add above).
// CHECK-LABEL: func.func @add_for_avx512
//       CHECK:   arith.addf {{.*}} : vector<16xf32>
module attributes {qnt.target = #qnt.target<cpu = "znver4", vector_bits = 512, int_dot = avx512vnni>} {
  func.func @add_for_avx512(%a: memref<1x64xf32>, %b: memref<1x64xf32>, %c: memref<1x64xf32>) {
    linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                    iterator_types = ["parallel", "parallel"]}
        ins(%a, %b : memref<1x64xf32>, memref<1x64xf32>) outs(%c : memref<1x64xf32>) {
    ^bb0(%x: f32, %y: f32, %o: f32):
      %s = arith.addf %x, %y : f32
      linalg.yield %s : f32
    }
    return
  }
}
