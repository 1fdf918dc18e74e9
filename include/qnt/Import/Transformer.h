// Builds a Llama-style decoder step in upstream MLIR dialects from a config
// and weights in memory; format readers (llama2.c, ...) produce the inputs.
#ifndef QNT_IMPORT_TRANSFORMER_H
#define QNT_IMPORT_TRANSFORMER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include <cstdint>
#include <string>
#include <vector>

namespace mlir::qnt {

/// The shape of a Llama-architecture model.
struct TransformerConfig {
  int64_t dim = 0;       // model width
  int64_t hiddenDim = 0; // feed-forward width
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t kvHeads = 0;
  int64_t vocab = 0;
  int64_t seqLen = 0; // positions the KV cache holds
  float normEps = 1e-5f;
  float ropeTheta = 10000.0f;

  int64_t headSize() const { return dim / heads; }
  int64_t kvDim() const { return dim * kvHeads / heads; }
};

/// Row-major float32 weights, each [out, in] as nn.Linear stores them. The
/// memory must outlive the module (its resource blobs point into it).
struct TransformerWeights {
  const float *tokenEmbedding = nullptr;                   // [vocab, dim]
  std::vector<const float *> rmsAttention, wq, wk, wv, wo; // per layer
  std::vector<const float *> rmsFfn, w1, w2, w3;           // per layer
  const float *rmsFinal = nullptr;                         // [dim]
  const float *classifier =
      nullptr; // [vocab, dim]; == tokenEmbedding if shared
};

/// Builds `func.func @forward(%token: i32, %pos: i32, %k_cache, %v_cache)
/// -> (logits, k_cache, v_cache)`: one decoding step. The caches are
/// tensor<layers x seqLen x kvDim x f32>; the results are the argument caches
/// with row `pos` of every layer written (tensor.insert_slice), so
/// bufferization updates them in place. Every linear layer is a
/// linalg.matmul y[1, out] = x[1, in] * W^T whose weight is a
/// dense_resource constant and whose location is named after the tensor
/// ("layers.3.w1"), which is what qnt's passes match, report and skip by.
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
