// The format-independent description of a Llama-style model that checkpoint
// readers fill and the transformer builder (Transformer.h) consumes. Plain
// C++, no MLIR: the readers and their fuzz targets use it alone.
#ifndef QNT_IMPORT_TRANSFORMERCONFIG_H
#define QNT_IMPORT_TRANSFORMERCONFIG_H

#include <cstdint>
#include <vector>

namespace mlir::qnt {

/// How rotary embedding pairs the dimensions of a head: llama2.c and Meta's
/// checkpoints (and GGUF llama) rotate adjacent pairs (2i, 2i+1); Hugging Face
/// checkpoints (and GGUF qwen2, llama.cpp's "neox" style) rotate the halves,
/// pairing i with i + head_size / 2 (their q/k rows are permuted relative to
/// Meta's). Both rotate pair i by pos * theta^(-2i / head_size).
enum class RopeStyle { interleaved, rotateHalf };

/// The shape of a Llama-architecture model.
struct TransformerConfig {
  int64_t dim = 0;       // model width
  int64_t hiddenDim = 0; // feed-forward width
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t kvHeads = 0;
  int64_t vocab = 0;
  int64_t seqLen = 0;  // positions the KV cache holds
  int64_t headDim = 0; // 0: dim / heads
  float normEps = 1e-5f;
  float ropeTheta = 10000.0f;
  RopeStyle rope = RopeStyle::interleaved;
  int64_t batch = 128; // tokens per pass of @prefill's loop over the prompt

  int64_t headSize() const { return headDim ? headDim : dim / heads; }
  int64_t qDim() const { return heads * headSize(); }
  int64_t kvDim() const { return kvHeads * headSize(); }
};

/// Element type of a float tensor, or of the scales of a packed one (e8m0:
/// the power-of-two block scales of mxfp4, one byte each).
enum class ElementKind { f32, f16, bf16, e8m0 };

/// Bytes of one element of `kind`.
inline int64_t elementBytes(ElementKind kind) {
  return kind == ElementKind::f32 ? 4 : kind == ElementKind::e8m0 ? 1 : 2;
}

/// One tensor of the model, row-major, [out, in] for linear layers as
/// nn.Linear stores them. Either float elements of `type` (read in place: a
/// bf16 tensor stays bf16 in the module and is widened once at compile time
/// by qnt-fold-constant-casts), or, when `bits` is set, codes already
/// quantized by the file's producer (GGUF blocks), packed as in
/// docs/BIT_LAYOUT.md, with `type`-typed scales per group of `groupSize`
/// along the input dimension, and, when `offsets` is set, as many offsets
/// of the same type (value = scale * code + offset). The memory must outlive the module (its
/// resource blobs point into it).
struct WeightTensor {
  const void *data = nullptr; // float elements, or packed codes
  ElementKind type = ElementKind::f32;
  unsigned bits = 0; // 0: float; else code width, 1 to 8
  bool isSigned = true;
  int64_t groupSize = 0;
  const void *scales = nullptr;  // [out, in / groupSize]
  const void *offsets = nullptr; // [out, in / groupSize], or none
  /// The codes are fp4 E2M1 bit patterns (mxfp4: bits 4, unsigned, e8m0
  /// scales per 32), not integers.
  bool e2m1 = false;
  /// The codes index these 16 values (lut4; GGUF's IQ4_NL), not integers.
  const float *codebook = nullptr;

  WeightTensor() = default;
  WeightTensor(const float *data) : data(data) {}
  WeightTensor(const void *data, ElementKind type) : data(data), type(type) {}
  bool isPacked() const { return bits != 0; }
  explicit operator bool() const { return data != nullptr; }
  bool operator==(const WeightTensor &o) const {
    return data == o.data && type == o.type && bits == o.bits;
  }
};

/// The weights. Biases are optional (Qwen2's q/k/v biases): a default
/// (null) tensor means none.
struct TransformerWeights {
  WeightTensor tokenEmbedding;                              // [vocab, dim]
  std::vector<WeightTensor> rmsAttention, wq, wk, wv, wo;   // per layer
  std::vector<WeightTensor> bq, bk, bv;                     // per layer or empty
  std::vector<WeightTensor> rmsFfn, w1, w2, w3;             // per layer
  WeightTensor rmsFinal;                                    // [dim]
  WeightTensor classifier; // [vocab, dim]; == tokenEmbedding if shared
};

} // namespace mlir::qnt

#endif // QNT_IMPORT_TRANSFORMERCONFIG_H
