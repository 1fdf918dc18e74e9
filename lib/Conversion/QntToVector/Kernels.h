// The kernel families of convert-qnt-to-vector that live in files of their
// own (QntToVector.cpp holds the matmul kernels and the pass).
#ifndef QNT_LIB_CONVERSION_QNTTOVECTOR_KERNELS_H
#define QNT_LIB_CONVERSION_QNTTOVECTOR_KERNELS_H

#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "qnt/Conversion/Common.h"
#include "qnt/IR/QntOps.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace mlir::qnt {

/// Bytes per cache line on the x86-64 CPUs we target.
constexpr int64_t kCacheLineBytes = 64;

/// Codes of x per vector step of the activation quantizer (activations=i8),
/// and the default and smallest x block: a multiple of every code field.
constexpr int64_t kActivationStep = 32;

/// The activations=i8 form of one qnt.matmul. x is quantized at run time per
/// row and block of `block` codes: sx = max|x| / 127,
/// xq = roundeven(x * (127 / max|x|)) in [-127, 127] (all zero when max|x| is
/// zero). Each code c is fed to the integer dot product as d, with c = d + o
/// (d: the unsigned field of a 1/2/4-bit code after flipping its sign bit, or
/// the signed byte of an 8-bit code), so that
///   sum_k (c - z) x_k ~ sum_b sx_b * sum_{k in b} d_k xq_k - (z - o) * xsum
/// with xsum = sum_b sx_b * sum_{k in b} xq_k over the group's blocks.
struct Int8Kernel {
  int64_t block;         // codes of x per scale sx (divides the group)
  // Bytes of codes per dot product: 32 or 16 (a field of L codes; an x
  // block is one or more whole fields).
  int64_t fieldBytes;
  int64_t rowBytes;      // bytes of one packed weight row
  int64_t offset;        // o above
  // XORed into every code byte at compile time: the sign bit of each field
  // of signed 1/2/4-bit codes (d = c + 2^(bits-1)), 0x80 for unsigned 8-bit
  // codes (d = c - 128); 0 otherwise.
  uint8_t flip;
  bool needsSums;        // z - o is not zero for every group
  // The dot products of one x block are summed in i16 (qnt.dot2_i8) and
  // widened once (qnt.sum_pairs_i16): codes of 4 bits or fewer, where the
  // block's sums cannot leave i16 (see lowerMatmul).
  bool sumsInI16;
  // Weight groups per load of fieldBytes bytes: 1, or more when groups are
  // smaller than a load (int4 g32: a 32-byte load holds 64 codes, its two
  // fields one group each). Then every field is one x block and one group,
  // and its integer sums are scaled by sx * s at its end, straight into the
  // tile's accumulators.
  int64_t groupsPerLoad = 1;
  Value xq;              // memref<M x K x i8>
  Value xScales;         // memref<M x K/32 x f32>
  Value xSums;           // memref<M x groups x f32>, when needsSums
};

/// Everything the matmul kernel emitter needs to know about one qnt.matmul.
struct MatmulKernel {
  // Static description.
  SchemeAttr scheme;
  unsigned bits;
  bool isSigned;
  int64_t n, k;
  int64_t groupSize; // elements along K sharing a scale (K when one group)
  int64_t chunk;     // codes per vector step (f32 lanes of the accumulators)
  // Full plane-major blocks at the start of each group (0: standard layout
  // only). A block is `chunk` bytes holding 8/bits codes each; see
  // toPlaneMajorRow.
  int64_t planeBlocks = 0;
  bool prefetch = false; // prefetch the next tile's codes while this one runs
  bool parallel = false; // split the work across threads (scf.parallel)
  Type xElem;
  // activations=i8: x as int8 blocks; null when x is used in float.
  const Int8Kernel *int8 = nullptr;
  // Buffers.
  Value x, out, codes, scales, zeroPoints, bias;
  Value m; // dynamic number of rows of x

  /// Scale (and zero-point) indices for weight row `row` and group `group`.
  SmallVector<Value> scaleIndices(ImplicitLocOpBuilder &b, Value row,
                                  Value group) const {
    Value zero = cIndex(b, 0);
    switch (scheme.getGranularity()) {
    case Granularity::per_tensor:
      return {zero, zero};
    case Granularity::per_channel:
      return {row, zero};
    case Granularity::per_group:
      return {row, group};
    }
    llvm_unreachable("unknown granularity");
  }
};



/// A re-laid-out copy of `op`'s code bytes, as an arith.constant of
/// `resultType` right after `op`: `relayout(in, rows, rowBytes, out)` writes
/// it straight into the new blob (one copy of the codes, not two). Bytes of
/// `resultType` past the codes are zero.
FailureOr<Value> materializeRelaidCodes(
    ConstantOp op, ShapedType resultType,
    llvm::function_ref<void(const uint8_t *, int64_t, int64_t, uint8_t *)>
        relayout);

/// Quantizes x (memref<M x K>) into the buffers of `q`, per row and block of
/// q.block codes (see Int8Kernel), and sums each group's blocks
/// (sx * sum xq) when the kernel needs them. Each block is read twice, in
/// steps of kActivationStep codes: once for max|x|, once to quantize.
void emitQuantizeActivations(ImplicitLocOpBuilder &b, const MatmulKernel &kern,
                             const Int8Kernel &q);

/// Whether the column kernels of activations=i8 (ColumnInt8.cpp) take a
/// matmul: 4- or 8-bit codes, per-channel or per-group scales, groups of
/// whole x blocks of `block` codes (a multiple of 32), f32 x and result.
bool columnKernelApplies(const MatmulKernel &kern, int64_t block,
                         Type resultElem);

/// The column kernels' copy of one packed constant (docs/BIT_LAYOUT.md,
/// "Column kernels"): made once per constant, read by every matmul of that
/// weight and by a qnt.gather_rows of the same table (a classifier tied to
/// the token embedding), so the library holds the codes once.
struct ColumnCopy {
  int64_t lanes;  // columns per tile (NC)
  int64_t tiles;  // ceil(N / NC), in whole groups of tiles
  int64_t steps;  // k-steps per column: K / codesPerStep
  int64_t groups; // scale groups along K
  unsigned bits;  // 4 or 8
  // The code bytes (after the flip) are read as signed bytes (a_signed dot
  // products; 8-bit codes only), else as unsigned fields.
  bool signedBytes;
  int64_t codeOffset; // code = field as read + codeOffset (Int8Kernel)
  // 1-D constant tensors: the codes (i8), the scales (scale type) and, with
  // zero points, codeOffset - z per column and group (f32), else null.
  Value codes, scales, offsets;
};

/// The column copy of `constant` for the kernel `kern` with the flip and
/// offset of `q`, in tiles of `lanes` columns.
FailureOr<ColumnCopy> makeColumnCopy(const MatmulKernel &kern,
                                     const Int8Kernel &q, ConstantOp constant,
                                     const Payload &payload, int64_t lanes,
                                     bool signedBytes);

/// Emits the column kernel of `kern` (whose x buffers `q` already holds,
/// quantized) over `copy`: loops over tiles of columns (split across threads
/// when `parallel`) and of rowsPerTile rows of x, writing kern.out.
void emitColumnKernel(ImplicitLocOpBuilder &b, const MatmulKernel &kern,
                      const Int8Kernel &q, const ColumnCopy &copy,
                      int64_t rowsPerTile, bool parallel);

/// Row t of `out` (memref<T x K x f32>): row ids[t] of the table (clamped to
/// [0, N)), decoded from its column copy: scale * (code - z).
void emitGatherFromColumnCopy(ImplicitLocOpBuilder &b, const ColumnCopy &copy,
                              Value ids, Value out, int64_t n, int64_t k);

/// Replaces `op` (on tensors) by loops over memrefs that visit only the live
/// positions of the cache: `lanes` f32 lanes per vector (at most; the head
/// size must be a multiple of the lanes used), rows and heads as one
/// scf.parallel when `parallel`, else nested scf.for loops.
LogicalResult lowerAttentionToVector(AttentionOp op, int64_t lanes,
                                     bool parallel);

/// Replaces `op` (on tensors) by loops that encode each token's and head's
/// row in the cache format, `lanes` f32 lanes at a time (at most).
LogicalResult lowerPackCacheRowsToVector(PackCacheRowsOp op, int64_t lanes);

} // namespace mlir::qnt

#endif // QNT_LIB_CONVERSION_QNTTOVECTOR_KERNELS_H
