// The options of qnt-cpu-pipeline and qnt-gpu-pipeline are checked when the
// pipeline is parsed, before any pass runs: a value out of its range
// (docs/COMPILING.md, "Option ranges") is an error naming the pipeline, the
// option and the range, never an overflow, a huge allocation or a compile
// without end.
// RUN: not quant-opt %s --qnt-quantize-weights="bits=3 group-size=32" --qnt-cpu-pipeline="chunk=9223372036854775800" 2>&1 | FileCheck %s --check-prefix=CHUNK-HUGE
// RUN: not quant-opt %s --qnt-quantize-weights="bits=3 group-size=32" --qnt-cpu-pipeline="chunk=2147483648" 2>&1 | FileCheck %s --check-prefix=CHUNK-2G
// RUN: not quant-opt %s --qnt-quantize-weights="bits=4 group-size=32" --qnt-cpu-pipeline="activations=i8 column-kernels=false cols-per-tile=2147483648" 2>&1 | FileCheck %s --check-prefix=COLS
// RUN: not quant-opt %s --qnt-quantize-weights="bits=4 group-size=32" --qnt-cpu-pipeline="rows-per-tile=1000000" 2>&1 | FileCheck %s --check-prefix=ROWS
// RUN: not quant-opt %s --qnt-cpu-pipeline="streams=-1" 2>&1 | FileCheck %s --check-prefix=STREAMS
// RUN: not quant-opt %s --qnt-cpu-pipeline="vector-width=65" 2>&1 | FileCheck %s --check-prefix=WIDTH
// RUN: not quant-opt %s --qnt-cpu-pipeline="act-block=48" 2>&1 | FileCheck %s --check-prefix=BLOCK
// RUN: not quant-opt %s --qnt-gpu-pipeline="block-size=0" 2>&1 | FileCheck %s --check-prefix=GPU-BLOCK
// RUN: not quant-opt %s --qnt-gpu-pipeline="O=4" 2>&1 | FileCheck %s --check-prefix=GPU-OPT
// The largest values in range compile.
// RUN: quant-opt %s --qnt-quantize-weights="bits=3 group-size=32" --qnt-cpu-pipeline="chunk=128 rows-per-tile=8 cols-per-tile=8 streams=8" -o /dev/null

// The options are checked before qnt-quantize-weights runs: no warning of it.
// CHUNK-HUGE-NOT: warning
// CHUNK-HUGE: error: qnt-cpu-pipeline option chunk=9223372036854775800 is out of range [8, 128]
// CHUNK-2G: error: qnt-cpu-pipeline option chunk=2147483648 is out of range [8, 128]
// COLS: error: qnt-cpu-pipeline option cols-per-tile=2147483648 is out of range [1, 8]
// ROWS: error: qnt-cpu-pipeline option rows-per-tile=1000000 is out of range [1, 8]
// STREAMS: error: qnt-cpu-pipeline option streams=-1 is out of range [1, 8]
// WIDTH: error: qnt-cpu-pipeline option vector-width=65 is out of range [1, 64]
// BLOCK: error: qnt-cpu-pipeline option act-block=48 must be 0 (chosen per matmul), 32, 64, 128 or 256
// GPU-BLOCK: error: qnt-gpu-pipeline option block-size=0 is out of range [1, 1024]
// GPU-OPT: error: qnt-gpu-pipeline option O=4 is out of range [0, 3]

func.func @linear(%x: tensor<2x64xf32>) -> tensor<2x32xf32> {
  %w = arith.constant dense<0.5> : tensor<32x64xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x32xf32>) -> tensor<2x32xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : tensor<2x64xf32>, tensor<32x64xf32>) outs(%f : tensor<2x32xf32>) -> tensor<2x32xf32>
  return %y : tensor<2x32xf32>
}
