// What the CPU lowering of qnt.attention shares between its files:
// Attention.cpp (the loops over heads, rows and parts, and the pattern) and
// AttentionChunk.cpp (one chunk of heads over the live positions).
#ifndef QNT_LIB_CONVERSION_QNTTOVECTOR_ATTENTIONKERNEL_H
#define QNT_LIB_CONVERSION_QNTTOVECTOR_ATTENTIONKERNEL_H

#include "Kernels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir::qnt {

/// How many blocks of positions ahead a single query row prefetches the
/// cache.
constexpr int64_t kPrefetchBlocks = 2;

/// What one lowered qnt.attention reads and writes, and its vector shape.
struct AttentionKernel {
  // memrefs [T, H, D], [S, KvH, D] (keys, values), [T, H, D]
  Value query, keys, values, out;
  Value position;                 // index of row 0
  int64_t heads, group, headSize, positions;
  int64_t lanes;  // f32 lanes per vector; divides headSize
  int64_t block;  // positions scored together (one vector of scores)
  int64_t chunk;  // heads processed together, position by position
  int64_t rowsPerGroup = 1; // query rows processed together over each block
  // A prompt's rows (rowsPerGroup > 1) go in the lanes of a vector
  // (emitAttentionRows) rather than as separate chains: the kernel's tile
  // has as many rows as it has lanes.
  bool rowsInLanes = false;
  // Query heads of one key-value head processed together over each block
  // (a decoding step's kernel; divides headsPerKvHead()).
  int64_t headsPerGroup = 1;
  bool prefetch = false; // prefetch the blocks ahead (prefetchRows)
  int64_t kvHeadsPerChunk; // key-value heads a chunk reads
  // A single query row: blocks per part of its positions (partsOf) before
  // the count is rounded up, and the parts of a full cache.
  int64_t partBlocks = 0, maxParts = 0;
  float scale;
  // An i8 cache (#qnt.cache_format<i8>): records [S, bytes] of the
  // positions (keyRecords, valueRecords), whose codes `keys` and `values`
  // view as [S, KvH, D]. Each block's rows of one key-value head are
  // converted to f32 once into a scratch buffer [2 (keys, values), B + 1,
  // max(D, B)] just before the query heads of its group read them: rows 0
  // .. B-1 the codes of the block's positions, row B their scales (the
  // position's step times the head's multiplier).
  bool quantized = false;
  Value keyRecords, valueRecords;
  int64_t kvHeads = 0;
  // f16 cache rows (#qnt.cache_format<f16>): extended to f32 in registers
  // as they are read, or, where several query heads share a key-value head
  // (`widened`), into the scratch once per block like i8 rows (without
  // scales): a conversion costs an FMA's share of the core, and a group's
  // heads would each repeat it.
  bool half = false, widened = false;
  // An i4 cache (#qnt.cache_format<i4>): each block's keys and values
  // decoded to f32 (scales applied) into the same scratch by
  // decodeKiviBlock; kivi.block is the key block.
  bool kivi = false;
  KiviCacheReader kivi4;
  /// Whether a block is decoded into the scratch before it is read.
  bool decoded() const { return quantized || kivi || widened; }
  /// Query heads of the chunk that read one key-value head.
  int64_t headsPerKvHead() const { return std::min(group, chunk); }
};

/// The scratch buffer of one key-value head's decoded block (decoded()
/// caches only); the leading 1 is the kv index decodeKiviBlock writes.
inline MemRefType scratchType(const AttentionKernel &k,
                              MLIRContext *ctx) {
  return MemRefType::get({1, 2, k.block + 1, std::max(k.headSize, k.block)},
                         Float32Type::get(ctx));
}

inline Value splat(ImplicitLocOpBuilder &b, VectorType type, Value scalar) {
  return vector::BroadcastOp::create(b, type, scalar);
}

inline Value f32Const(ImplicitLocOpBuilder &b, float v) {
  return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
}

/// Emits one chunk of heads of `k` (AttentionChunk.cpp): rows r0 .. r0 +
/// k.rowsPerGroup - 1 of the result for heads h0 .. h0 + k.chunk - 1, with
/// its running state in `state` and decoded blocks in `scratch`; with
/// `partials`, part `part` of `parts` of a single query row's positions,
/// whose state goes to partials[part]. The exps it makes go to `exps`.
void emitAttentionChunk(ImplicitLocOpBuilder &b, const AttentionKernel &k,
                        Value queryRows, Value r0, Value h0, Value state,
                        Value scratch, SmallVectorImpl<Operation *> &exps,
                        Value part = {}, Value parts = {},
                        Value partials = {});

/// Converts the i8 or f16 rows `rows` (one per position of a block) of
/// key-value head g into `scratch` (scratchType): codes or halves as f32,
/// and each i8 row's scale (its position's step times the head's
/// multiplier) in row B.
void decodeBlock(ImplicitLocOpBuilder &b, const AttentionKernel &k,
                 ArrayRef<Value> rows, Value g, Value scratch);

/// The k.rowsPerGroup query rows of the group from r0, min(r0 + i, T - 1)
/// with T = queryRows (rows past the last one repeat it), and how many
/// positions each sees, min(position + row + 1, S): the last row the most.
void groupRows(ImplicitLocOpBuilder &b, const AttentionKernel &k,
               Value queryRows, Value r0, SmallVectorImpl<Value> &rows,
               SmallVectorImpl<Value> &seen);

/// The stack buffers of one chunk of heads for a group of rows: the
/// running state and decoded block of emitAttentionChunk; with rows in
/// lanes also the transposed queries qt and outputs ot (state holds m and
/// l there).
struct AttentionBuffers {
  Value state, scratch, qt, ot;
};

/// Emits the rows r0 .. r0 + k.rowsPerGroup - 1 of a prompt (rows past
/// queryRows - 1 repeat it) for the heads h0 .. h0 + k.chunk - 1, with the
/// rows in the lanes of a vector (AttentionRows.cpp; k.rowsPerGroup ==
/// k.lanes, an f32, f16 or i8 cache). The exps it makes go to `exps`.
void emitAttentionRows(ImplicitLocOpBuilder &b, const AttentionKernel &k,
                       Value queryRows, Value r0, Value h0,
                       const AttentionBuffers &buffers,
                       SmallVectorImpl<Operation *> &exps);

} // namespace mlir::qnt

#endif // QNT_LIB_CONVERSION_QNTTOVECTOR_ATTENTIONKERNEL_H
