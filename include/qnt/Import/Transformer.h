// Builds a Llama-style decoder step in upstream MLIR dialects from a config
// and weights in memory; format readers (llama2.c, ...) produce the inputs.
#ifndef QNT_IMPORT_TRANSFORMER_H
#define QNT_IMPORT_TRANSFORMER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "qnt/Import/TransformerConfig.h"

namespace mlir::qnt {

/// Builds the model's two entry points:
///
///   func.func @prefill(%tokens: tensor<?xi32>, %pos: i32, %k_cache,
///                      %v_cache, %logits: tensor<vocab x f32>)
///       -> (k_cache, v_cache, logits)
///   func.func @forward(%token: i32, %pos: i32, %k_cache, %v_cache, %logits)
///       -> (k_cache, v_cache, logits)
///
/// @prefill feeds T tokens at positions pos .. pos+T-1 (causal attention),
/// `config.batch` of them per pass of a loop (the linear layers are GEMMs
/// with M = rows of the pass), writes their keys and values into the caches
/// and the logits of the last token into %logits; @forward is @prefill of
/// one token (one decoding step). The caches are
/// tensor<layers x seqLen x kvDim x f32>; every result is an argument
/// updated in place (tensor.insert_slice, linalg.copy), so bufferization
/// drops the results and the caller's buffers are the state. Attention is
/// qnt.attention over the positions written so far. Positions and token ids
/// are clamped so that no call reads or writes outside its buffers (tokens
/// past the end of the cache are not fed). Every linear layer is a
/// linalg.matmul y[T, out] = x[T, in] * W^T whose weight is a dense_resource
/// constant and whose location is named after the tensor ("layers.3.w1"),
/// which is what qnt's passes match, report and skip by. RoPE is
/// rotate-half: `config.rope` must be RopeStyle::rotateHalf (readCheckpoint
/// rewrites interleaved checkpoints so).
OwningOpRef<ModuleOp> buildTransformer(MLIRContext *context,
                                       const TransformerConfig &config,
                                       const TransformerWeights &weights,
                                       llvm::StringRef sourceName);

/// Adds `func.func @main()` to a module from buildTransformer: greedy
/// decoding from BOS (token 1) at positions 0..steps-1 with zeroed caches.
/// It prints (vector.print, for mlir-runner) the logits of every step as one
/// `( l0, l1, ... )` line when `printLogits`, then the `steps` generated
/// token ids on one line separated by spaces. `steps` must be in
/// [1, config.seqLen]. @forward becomes private: @main is the entry point.
void addGreedyDriver(ModuleOp module, const TransformerConfig &config,
                     int64_t steps, bool printLogits);

} // namespace mlir::qnt

#endif // QNT_IMPORT_TRANSFORMER_H
