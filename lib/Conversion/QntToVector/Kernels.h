// The kernel families of convert-qnt-to-vector that live in files of their
// own (QntToVector.cpp holds the pass).
#ifndef QNT_LIB_CONVERSION_QNTTOVECTOR_KERNELS_H
#define QNT_LIB_CONVERSION_QNTTOVECTOR_KERNELS_H

#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "qnt/Conversion/Common.h"
#include "qnt/IR/QntOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Rewrite/FrozenRewritePatternSet.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include <string>
#include <tuple>
#include <optional>

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
  // e2m1 codes (mxfp4, nvfp4; column_i8 kernels): each 4-bit field is looked
  // up in this table (qnt.lookup16 on bytes, with `lookup`): d = 2 * e2m1 +
  // 12, an unsigned byte, so that c = 2 * e2m1 = d + offset (offset -12) is
  // an integer and the dot products with xq exact. Empty for integer codes.
  SmallVector<float, 16> table;
  LookupIsa lookup = LookupIsa::generic;
  // The value of one unit of c: 0.5 for doubled e2m1 values, times nvfp4's
  // tensor scale; the kernels fold it into the weight scales.
  float codeUnit = 1.0f;
  Value xq;              // memref<M x K x i8>
  Value xScales;         // memref<M x K/32 x f32>
  Value xSums;           // memref<M x groups x f32>, when needsSums
};

struct MatmulKernel;

/// Whether `kern`'s codes are e2m1 (mxfp4, nvfp4), which the column_i8
/// kernels take through a byte table (Int8Kernel::table).
bool hasE2M1Codes(const MatmulKernel &kern);

/// The column_i8 table, offset and code unit of e2m1 codes (see
/// Int8Kernel::table), with lookup `isa`.
void setE2M1Table(Int8Kernel &q, const MatmulKernel &kern, LookupIsa isa);

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
  // row_lut with fieldsAreGroups: each field of a plane-major block is one
  // whole group (nvfp4's blocks of 16 in 16-lane steps), so the kernel steps
  // through blocks of 8/bits groups and scales the decoded codes.
  bool fieldGroups = false;
  // row_lut: how 4-bit codebook codes are looked up (fp8 codes need no
  // table; the integer families ignore it).
  LookupIsa lookup = LookupIsa::generic;
  bool prefetch = false; // prefetch the next tile's codes while this one runs
  bool parallel = false; // split the work across threads (scf.parallel)
  Type xElem; // of the buffer x (f32 where scaleXOnce made it)
  // activations=i8: x as int8 blocks; null when x is used in float.
  const Int8Kernel *int8 = nullptr;
  // Buffers.
  Value x, out, codes, scales, zeroPoints, bias;
  Value m; // dynamic number of rows of x

  /// Scale (and zero-point) indices for weight row `row` and group `group`.
  SmallVector<Value, 2> scaleIndices(ImplicitLocOpBuilder &b, Value row,
                                     Value group) const {
    return qnt::scaleIndices(b, scheme.getGranularity(), row, group);
  }
};



/// The weight's part of a matmul's description: scheme, bits, N, K and
/// group size (K for per-channel scales) of the 2-D `weight`.
MatmulKernel describeWeight(PackedType weight);
/// The static description of `op` (scheme, bits, N, K, group size, type of
/// x), or failure with the reason in `why` where the CPU kernels cannot
/// take it (a float format; groups that start inside a byte).
FailureOr<MatmulKernel> describeMatmul(MatmulOp op, std::string &why);
/// Whether row_lut kernels of `lanes` lanes read `kern`'s codes as
/// plane-major blocks whose fields are whole groups (MatmulKernel::
/// fieldGroups): 4-bit (or narrower) float or codebook codes, groups of
/// `lanes` codes, K a multiple of a block (lanes * 8 / bits codes).
bool fieldsAreGroups(const MatmulKernel &kern, int64_t lanes);
/// The bytes per load of the row_i8 kernels for `kern` (32 or 16; 0 where
/// they do not apply) under act-block `actBlock`: they read whole groups as
/// loads of that many bytes, each a plane-major block for widths below 8,
/// and x blocks of 32 codes.
int64_t rowInt8Lanes(const MatmulKernel &kern, int64_t actBlock);
/// Weight groups per load of `lanes` bytes in the row_i8 kernels: 1, or
/// more when groups are smaller than a load (int4 g32 in 32-byte loads);
/// 0 when `lanes` does not fit `kern`'s groups.
int64_t int8GroupsPerLoad(const MatmulKernel &kern, int64_t lanes);
/// The code layout kernel `kernel` reads `kern`'s weight in (a
/// #qnt.layout), or null where it reads the row layout or does not apply
/// (convert-qnt-to-vector says why).
CodeLayoutAttr matmulCodeLayout(const MatmulKernel &kern, KernelAttr kernel);
/// A qnt.constant right after `op` holding its weight in `layout` (codes;
/// for column_tiles also scales and zero points), or an error on `op`.
FailureOr<ConstantOp> relayWeight(ConstantOp op, CodeLayoutAttr layout);

/// Quantizes x (memref<M x K>) into the buffers of `q`, per row and block of
/// q.block codes (see Int8Kernel), and sums each group's blocks
/// (sx * sum xq) when the kernel needs them. Each block is read twice, in
/// steps of kActivationStep codes: once for max|x|, once to quantize.
void emitQuantizeActivations(ImplicitLocOpBuilder &b, const MatmulKernel &kern,
                             const Int8Kernel &q);

/// Whether the column kernels of activations=i8 (ColumnInt8.cpp) take a
/// matmul: 4- or 8-bit integer codes or e2m1 codes, per-channel or
/// per-group scales, groups of whole x blocks of `block` codes (a multiple
/// of 32), or (e2m1: nvfp4) groups of 16 in x blocks of 32; f32 x and
/// result.
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
  // e2m1 codes: the field is first looked up in this table; a code is
  // worth codeUnit times the scale (Int8Kernel::table, codeUnit), and the
  // scales are the bytes of `scheme`'s block scales.
  SmallVector<float, 16> table;
  float codeUnit = 1.0f;
  SchemeAttr scheme;
  LookupIsa lookup = LookupIsa::generic; // as decodeScale decodes the scales
  // 1-D constant tensors: the codes (i8), the scales (scale type) and, with
  // zero points, codeOffset - z per column and group (f32), else null.
  Value codes, scales, offsets;
};

/// The cache level the kernels' software prefetches fill: 2 is L2
/// (x86 prefetcht1), not L1 (3, prefetcht0). They ask far enough ahead to
/// cover DRAM's latency, and lines brought into a 32 KiB L1 (Zen 4) that
/// early were evicted again before use; from L2 the cores' own L1
/// prefetchers fetch them in time. On Zen 4, 110M int4 g32: decoding steps
/// of 5.6 -> 3.5 ms (positions 128-255) and 11.0 -> 8.0 ms (896-1023) on
/// 1 thread (bench/results/2026-12-06-prefetch-l2-zen4.md).
constexpr int32_t kPrefetchLocality = 2;

// The column_tiles layout's constants (kColumnPrefetchSteps, ...) are the
// dialect's: qnt/IR/QntTypes.h.

/// Position of column tile t's step s (or scale group s) in the column
/// copy, in units of one tile's step: the tiles of a group of
/// kColumnTilesPerGroup are interleaved.
int64_t columnTileIndex(int64_t t, int64_t s, int64_t perTile);
/// columnTileIndex() on index values.
Value columnTileIndex(ImplicitLocOpBuilder &b, Value t, Value s,
                      int64_t perTile);

/// The column kernels' view of the column_tiles weight `constant` (its
/// payload `payload`), read with the flip and offset of `q` (signed bytes
/// when `signedBytes`).
ColumnCopy makeColumnCopy(const MatmulKernel &kern, const Int8Kernel &q,
                          ConstantOp constant, const Payload &payload,
                          bool signedBytes);

/// How the column kernels read the codes of a column_tiles weight: the
/// offset (and table, for e2m1 codes) in `q`, and whether its bytes are
/// signed. The layout's flip decides both.
bool setColumnCodeOffset(Int8Kernel &q, const MatmulKernel &kern,
                         CodeLayoutAttr layout, LookupIsa lookup);

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

//===----------------------------------------------------------------------===//
// Packed codes (Codes.cpp)
//===----------------------------------------------------------------------===//

/// Field `p` (bits [p*bits, (p+1)*bits)) of every byte of `bytes`, as i8
/// codes: sign-extended when `isSigned`, zero-extended otherwise. `bits`
/// divides 8.
Value extractPlane(ImplicitLocOpBuilder &b, Value bytes, int64_t p,
                   unsigned bits, bool isSigned);

/// Unpacks a vector of packed bytes into `count` codes as f32.
Value unpackCodes(ImplicitLocOpBuilder &b, Value bytes, int64_t count,
                  unsigned bits, bool isSigned);

/// Unpacks a vector of packed bytes into `count` integer codes (i8 for
/// widths that divide 8, else i16), sign-extended when `isSigned`.
Value unpackCodeInts(ImplicitLocOpBuilder &b, Value bytes, int64_t count,
                     unsigned bits, bool isSigned);

/// The f32 value of element `idx` of a packed tensor of `type`, read from
/// its payload buffers (codes, scales, zero points or null, offsets or
/// null), one scalar at a time.
Value decodeElement(ImplicitLocOpBuilder &b, PackedType type, Value codes,
                    Value scales, Value zps, Value offsets, ValueRange idx);

//===----------------------------------------------------------------------===//
// Row kernels: register tiles and their loops (Tiles.cpp, TileF32.cpp,
// TileInt8.cpp)
//===----------------------------------------------------------------------===//

/// base, base + 1, ..., base + count - 1: the rows of x or of the weight
/// in a register tile.
SmallVector<Value> consecutiveIndices(ImplicitLocOpBuilder &b, Value base,
                                      int64_t count);

/// The weight rows of a register tile: `tileCols` consecutive rows from each
/// of `tileStarts`, in that order.
SmallVector<Value> tileColumns(ImplicitLocOpBuilder &b,
                               ArrayRef<Value> tileStarts, int64_t tileCols);

/// One step of a group's inner loop: accumulates the codes from k0 on into
/// `acc` and returns the new accumulators; `prefetch` asks it to prefetch.
using GroupStep = llvm::function_ref<SmallVector<Value>(
    ImplicitLocOpBuilder &, Value k0, ValueRange acc, bool prefetch)>;

/// Emits `count` steps of `width` codes from `groupStart + start`,
/// straight-line when short, else as an scf.for; `prefetchAt(offset)` says
/// whether the step at that static offset in the group prefetches (nullopt:
/// the steps of a loop). Returns the accumulators.
SmallVector<Value>
emitGroupSteps(ImplicitLocOpBuilder &gb, Value groupStart, int64_t count,
               int64_t start, int64_t width, SmallVector<Value> acc,
               llvm::function_ref<bool(std::optional<int64_t>)> prefetchAt,
               GroupStep step);

/// Stores a finished register tile: each accumulator vector reduced, minus
/// its correction (if `corrections` is not empty), plus the bias.
void storeTile(ImplicitLocOpBuilder &b, const MatmulKernel &kern,
               ArrayRef<Value> rowIdx, ArrayRef<Value> colIdx,
               ValueRange sums, ValueRange corrections);

/// Emits one register tile: `rows` rows of x starting at m0 times the weight
/// tiles of `tileCols` rows starting at each of `tileStarts`, over all of K;
/// with f32 x here, through emitTileInt8 with int8 x (kern.int8).
void emitTile(ImplicitLocOpBuilder &b, const MatmulKernel &kern, Value m0,
              ArrayRef<Value> tileStarts, int64_t rows, int64_t tileCols);

/// emitTile for activations=i8.
void emitTileInt8(ImplicitLocOpBuilder &b, const MatmulKernel &kern,
                  Value m0, ArrayRef<Value> tileStarts, int64_t rows,
                  int64_t tileCols);

/// Emits the loops over weight rows (N) and x rows (M) of one matmul, with
/// full register tiles first and single-row/column tiles for the remainders,
/// `streams` parts of the weight rows read at once by single-row tiles.
void emitMatmulLoops(ImplicitLocOpBuilder &b, const MatmulKernel &kern,
                     int64_t rows, int64_t cols, int64_t streams,
                     bool parallel);

/// The buffers of x quantized to int8 (q.xq, q.xScales and, when needed,
/// q.xSums, sized by kern.m rows), and the code that fills them.
void quantizeActivations(ImplicitLocOpBuilder &b, const MatmulKernel &kern,
                         Int8Kernel &q);

/// The code offset of the integer kernels (Int8Kernel::flip and offset).
void setCodeOffset(Int8Kernel &q, const MatmulKernel &kern, bool zeroPoints);

//===----------------------------------------------------------------------===//
// The lowering of a module and its pattern families
//===----------------------------------------------------------------------===//

/// What the CPU lowering of one module shares between its ops: the payload
/// of each qnt.constant and the compile-time copies of its codes in the
/// kernels' layouts (made once per constant and layout, read by every op of
/// it), and x quantized once per input. The patterns of the families below
/// lower one op each through it, in program order (applyInProgramOrder), as
/// the op's #qnt.kernel says.
class CpuLowering {
public:
  /// The payload of the qnt.constant that `packed` comes from (made once),
  /// or an error on `user`.
  FailureOr<Payload> payloadFor(Operation *user, Value packed);
  /// The column kernels' view of the column_tiles weight `packed`, read as
  /// `q` and `signedBytes` say (setColumnCodeOffset): made once, read by its
  /// matmuls and gathers; or an error on `user`.
  FailureOr<const ColumnCopy *> columnCopyOf(Operation *user, Value packed,
                                             const MatmulKernel &kern,
                                             const Int8Kernel &q,
                                             bool signedBytes);

  LogicalResult lowerMatmul(MatmulOp op, KernelAttr kernel,
                            const Payload &payload);
  LogicalResult lowerDequantize(DequantizeOp op, const Payload &payload);
  LogicalResult lowerGatherRows(GatherRowsOp op, const Payload &payload);
  /// qnt.gather_rows of a table whose column copy a matmul made (a tied
  /// classifier): rows decoded from that copy, so no other copy of the
  /// codes stays in the library.
  void lowerGatherRowsFromColumns(GatherRowsOp op, const ColumnCopy &copy);

private:
  /// lowerMatmul through the column kernels (column_i8).
  LogicalResult lowerColumnMatmul(MatmulOp op, MatmulKernel &kern,
                                  KernelAttr kernel, const Payload &payload);
  /// quantizeActivations, or the buffers of an earlier matmul of `input`.
  void quantizeOnce(ImplicitLocOpBuilder &b, Value input,
                    const MatmulKernel &kern, Int8Kernel &q);
  /// Points kern.x at a copy of x in f32 times `factor` (lutXFactor), made
  /// once per input (q, k and v share it) in the block of its first matmul.
  void scaleXOnce(ImplicitLocOpBuilder &b, Value input, MatmulKernel &kern,
                  float factor);

  llvm::DenseMap<Operation *, Payload> payloads;
  /// The column kernels' views of column_tiles weights, by constant.
  llvm::DenseMap<Operation *, ColumnCopy> columnCopies;
  /// x quantized for int8 activations, per input tensor, x block and group
  /// (for the sums): matmuls of one input (q, k and v; gate and up) share
  /// it. The buffers were filled before the first of them, in its block.
  struct QuantizedX {
    Block *block;
    Value xq, xScales, xSums;
  };
  llvm::DenseMap<std::tuple<Value, int64_t, int64_t>, QuantizedX> quantizedX;
  /// x times lutXFactor, per input tensor: the buffer and its block.
  llvm::DenseMap<Value, std::pair<Block *, Value>> scaledX;
};

/// qnt.matmul: the column kernels, or the row kernels with int8 or f32 x
/// (Matmul.cpp).
void populateQntMatmulToVectorPatterns(RewritePatternSet &patterns,
                                       CpuLowering &lowering);

/// qnt.dequantize and qnt.gather_rows, element by element (Tables.cpp). A
/// gather reads a column kernel's copy of its table when one exists, so
/// these run after the matmul patterns.
void populateQntTableToVectorPatterns(RewritePatternSet &patterns,
                                      CpuLowering &lowering);

/// qnt.attention and qnt.pack_cache_rows (Attention.cpp), as their
/// #qnt.kernel<attention, ...> says.
void populateQntAttentionToVectorPatterns(RewritePatternSet &patterns);


/// Replaces `op` (on tensors) by loops over memrefs that visit only the live
/// positions of the cache: `lanes` f32 lanes per vector (at most; the head
/// size must be a multiple of the lanes used), `rowsPerGroup` query rows
/// of a prompt (in the lanes of a vector when there are `lanes` of them:
/// KernelAttr::rowsInLanes), or `headsPerGroup` query heads of one
/// key-value head of a single row, over each block of positions, the
/// blocks ahead prefetched when `prefetch`, groups of rows and heads as one
/// scf.parallel when `parallel`, else nested scf.for loops.
LogicalResult lowerAttentionToVector(AttentionOp op, int64_t lanes,
                                     int64_t rowsPerGroup,
                                     int64_t headsPerGroup, bool prefetch,
                                     bool parallel);

/// The widest vector (a power of two, at most `lanes`) that divides a head
/// of `headSize` values.
int64_t widestDividingLanes(int64_t headSize, int64_t lanes);

/// A memref view of a tensor operand that keeps whatever strides its buffer
/// has (a layer's slice of the KV cache is strided), so bufferization casts
/// it instead of copying it; the last dimension is contiguous.
Value toStridedBuffer(ImplicitLocOpBuilder &b, Value tensor);

/// Replaces `op` (on tensors) by loops that encode each token's and head's
/// row in the cache format, `lanes` f32 lanes at a time (at most)
/// (CacheRows.cpp).
LogicalResult lowerPackCacheRowsToVector(PackCacheRowsOp op, int64_t lanes);

/// What the attention kernel reads of a #qnt.cache_format<i4> cache
/// (KiviCache.cpp): the key and value bytes [KvH, N], the op's own rows in
/// window form [KvH, T * (D + 2)] (memrefs), its first position, and where
/// the window lies.
struct KiviCacheReader {
  Value keys, values, recentKeys, recentValues, position;
  I4CacheLayout layout{0, 0, 0};
  int64_t windowOffset = 0;
};

/// Decodes positions `rows` (one kernel block from `t0`, within one cache
/// block) of kv heads g0 .. g0 + kvHeads - 1 into `scratch`
/// [kvHeads, 2, >= rows, >= D] as f32 keys (0) and values (1): from their
/// 4-bit block when t0 < `closedEnd` (the window's start), else from the
/// window's 8-bit slots or the op's own rows.
void decodeKiviBlock(ImplicitLocOpBuilder &b, const KiviCacheReader &cache,
                     ArrayRef<Value> rows, Value t0, Value closedEnd, Value g0,
                     int64_t kvHeads, Value scratch);

/// qnt.pack_window_rows and qnt.pack_cache_blocks (KiviCache.cpp).
void populateQntKiviCacheToVectorPatterns(RewritePatternSet &patterns);

} // namespace mlir::qnt

#endif // QNT_LIB_CONVERSION_QNTTOVECTOR_KERNELS_H
