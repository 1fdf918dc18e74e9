// The qnt transformations as plain functions and pattern sets.
#ifndef QNT_TRANSFORMS_TRANSFORMS_H
#define QNT_TRANSFORMS_TRANSFORMS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"
#include "qnt/IR/QntOps.h"
#include "qnt/Support/SchemeParameters.h"

namespace mlir::qnt {

/// The largest number of bytes a memref of `type` (identity layout) with
/// these dynamic sizes can span, from constant upper bounds that
/// ValueBoundsOpInterface proves for the sizes; nothing when a size has
/// none or the element type has no byte size.
std::optional<int64_t> maxMemRefBytes(MemRefType type,
                                      ValueRange dynamicSizes);

/// Replaces a linear layer whose weight comes from qnt.dequantize (directly
/// or through a transpose) by one qnt.matmul.
FailureOr<MatmulOp> fuseDequantIntoMatmul(RewriterBase &rewriter,
                                          linalg::LinalgOp op);
void populateFuseDequantMatmulPatterns(RewritePatternSet &patterns);

/// Replaces qnt.attention by linalg ops on tensors over the live slice of
/// the cache (positions below min(position + T, S)): scores, the causal
/// mask, softmax, weighted sum of values. Returns the new result.
FailureOr<Value> decomposeAttention(RewriterBase &rewriter, AttentionOp op);
/// qnt.pack_cache_rows as linalg ops: the rows' max |x| per token and head,
/// then each byte of the packed rows (a code or a byte of the scale).
FailureOr<Value> decomposePackCacheRows(RewriterBase &rewriter,
                                        PackCacheRowsOp op);
/// The i4 cache's writes as linalg ops (the CPU kernels' arithmetic):
/// qnt.pack_window_rows (max |x| per token and kv head, its f16 scale, then
/// each byte) and qnt.pack_cache_blocks (the blocks' window values, each
/// channel's range and the squared errors of its clipped ranges, then each
/// byte).
FailureOr<Value> decomposePackWindowRows(RewriterBase &rewriter,
                                         PackWindowRowsOp op);
FailureOr<Value> decomposePackCacheBlocks(RewriterBase &rewriter,
                                          PackCacheBlocksOp op);
/// The decompositions (qnt-decompose-attention).
void populateDecomposeAttentionPatterns(RewritePatternSet &patterns);

/// Marks the linear layer `op` for qnt-quantize-weights: `qnt.scheme` with
/// `bits`-bit codes (signed, or unsigned with zero points when
/// `asymmetric`), groups of `group` along K (0: one scale per output
/// channel) and scales of `scaleType`; `bits` = 0 keeps the layer in f32
/// (`qnt.keep_float`). A float or codebook `format` (fp8, nf4, lut4,
/// mxfp4, nvfp4) replaces the integer codes: weightFormatScheme. qnt-assign-
/// bitwidths and quant-compile's measured search record their choices
/// with it.
void setLayerScheme(Operation *op, unsigned bits, int64_t group,
                    bool asymmetric, Type scaleType,
                    const WeightFormat &format = {});

/// The symmetric scheme of a float or codebook weight format (not Int):
/// the fp4 block formats with their block and block scales (the tensor
/// scale of nvfp4 is the quantizer's to add), the others with groups of
/// `group` along K (0: per output channel) and scales of `scaleType`;
/// lut4 with NF4's values as its codebook, which the quantizer replaces by
/// the one it learns.
SchemeAttr weightFormatScheme(MLIRContext *ctx, const WeightFormat &format,
                              int64_t group, Type scaleType);

/// Rows of a float `table` [N, K] at `ids` [T] x i32 (each clamped to
/// [0, N)), `rows` = T: a linalg.generic whose body extracts
/// table[clamp(id), j]. quant-import emits the token embedding in this form,
/// qnt-quantize-weights recognizes it, and qnt-fold-constant-casts builds it
/// from a packed table it dequantizes.
Value buildRowGather(OpBuilder &b, Location loc, Value table, Value ids,
                     Value rows);

/// The size of a model's KV caches in a cache format.
struct KvCacheSize {
  // Keys and values of all layers and kv heads: bytesPerBlock for every
  // `block` positions (1 but for an i4 cache, sized per block of
  // positions), plus fixedBytes whatever the context (an i4 cache's
  // windows).
  int64_t bytesPerBlock = 0, block = 1, fixedBytes = 0;
  int64_t positions = 0; // the context the model was built for
  /// The caches' bytes for a context of `n` positions.
  double bytesAt(int64_t n) const {
    return double((n + block - 1) / block) * double(bytesPerBlock) +
           double(fixedBytes);
  }
};

/// The KV caches that qnt.attention reads in `module` (as
/// qnt-quantize-kv-cache finds them), sized in `format`; zero when the
/// module has no attention. Fails (with an error on the op) when a cache is
/// not a layer slice of a [layers, positions, kv heads * head size] tensor.
/// `block` and `window` are an i4 cache's block and window (positions).
FailureOr<KvCacheSize> getKvCacheSize(Operation *module, CacheFormat format,
                                      int64_t block = 32,
                                      int64_t window = 64);

} // namespace mlir::qnt

#endif // QNT_TRANSFORMS_TRANSFORMS_H
