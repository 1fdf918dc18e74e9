// Reader of llama2.c checkpoints: a header of seven int32 and float32 tensors.
#include "qnt/Import/Llama2c.h"

#include <cstring>

using namespace mlir;
using namespace mlir::qnt;

namespace {
/// The header fields in file order, with the largest value we accept. The
/// limits reject corrupt or hostile headers before any size arithmetic.
struct Field {
  const char *name;
  int64_t limit;
};
constexpr Field kFields[7] = {{"dim", 1 << 16},        {"hidden_dim", 1 << 18},
                              {"n_layers", 1 << 10},   {"n_heads", 1 << 10},
                              {"n_kv_heads", 1 << 10}, {"vocab_size", 1 << 22},
                              {"seq_len", 1 << 20}};
} // namespace

bool mlir::qnt::looksLikeLlama2c(llvm::ArrayRef<char> bytes) {
  int32_t header[7];
  if (bytes.size() < sizeof header)
    return false;
  std::memcpy(header, bytes.data(), sizeof header);
  if (header[5] < 0 && header[5] != INT32_MIN)
    header[5] = -header[5];
  for (int i = 0; i < 7; ++i)
    if (header[i] <= 0 || header[i] > kFields[i].limit)
      return false;
  return true;
}

std::string mlir::qnt::readLlama2c(llvm::StringRef path, CheckpointData &data,
                                   TransformerConfig &config,
                                   TransformerWeights &weights) {
  std::string error;
  llvm::MemoryBuffer *file = data.map(path, error);
  if (!file)
    return error;
  return parseLlama2c(file->getBuffer(), config, weights);
}

std::string mlir::qnt::parseLlama2c(llvm::StringRef file,
                                    TransformerConfig &config,
                                    TransformerWeights &weights) {
  const size_t headerBytes = 7 * sizeof(int32_t);
  size_t size = file.size();
  if (size < headerBytes)
    return "truncated header: the file has " + std::to_string(size) +
           " bytes, a llama2.c header needs " + std::to_string(headerBytes);

  int32_t header[7];
  std::memcpy(header, file.data(), headerBytes);
  bool sharedClassifier = header[5] > 0;
  if (header[5] < 0 && header[5] != INT32_MIN)
    header[5] = -header[5]; // negative vocab: the classifier is stored apart
  for (int i = 0; i < 7; ++i) {
    if (header[i] <= 0)
      return std::string(kFields[i].name) + " = " + std::to_string(header[i]) +
             " must be positive";
    if (header[i] > kFields[i].limit)
      return std::string(kFields[i].name) + " = " + std::to_string(header[i]) +
             " is larger than " + std::to_string(kFields[i].limit) +
             " (not a llama2.c checkpoint?)";
  }
  config.dim = header[0];
  config.hiddenDim = header[1];
  config.layers = header[2];
  config.heads = header[3];
  config.kvHeads = header[4];
  config.vocab = header[5];
  config.seqLen = header[6];
  if (config.dim % config.heads != 0)
    return "n_heads = " + std::to_string(config.heads) +
           " does not divide dim = " + std::to_string(config.dim);
  if (config.heads % config.kvHeads != 0)
    return "n_kv_heads = " + std::to_string(config.kvHeads) +
           " does not divide n_heads = " + std::to_string(config.heads);
  if (config.headSize() % 2 != 0)
    return "head size dim / n_heads = " + std::to_string(config.headSize()) +
           " is odd; rotary embedding rotates pairs";

  // Tensor sizes in floats, in file order. The limits above keep every
  // product far below 2^63.
  int64_t d = config.dim, h = config.hiddenDim, l = config.layers,
          kv = config.kvDim(), v = config.vocab;
  int64_t ropeTable = config.seqLen * config.headSize() / 2;
  struct Tensor {
    const char *name;
    int64_t floats;
  };
  const Tensor tensors[] = {{"token_embedding", v * d},
                            {"rms_att", l * d},
                            {"wq", l * d * d},
                            {"wk", l * kv * d},
                            {"wv", l * kv * d},
                            {"wo", l * d * d},
                            {"rms_ffn", l * d},
                            {"w1", l * h * d},
                            {"w2", l * d * h},
                            {"w3", l * h * d},
                            {"rms_final", d},
                            {"freq_cis_real", ropeTable},
                            {"freq_cis_imag", ropeTable},
                            {"wcls", sharedClassifier ? 0 : v * d}};
  int64_t needed = headerBytes;
  for (const Tensor &t : tensors)
    needed += t.floats * static_cast<int64_t>(sizeof(float));
  if (static_cast<int64_t>(size) < needed) {
    // Name the first tensor that does not fit, for a useful message.
    int64_t offset = headerBytes;
    for (const Tensor &t : tensors) {
      offset += t.floats * static_cast<int64_t>(sizeof(float));
      if (offset > static_cast<int64_t>(size))
        return "truncated: the header (dim " + std::to_string(d) +
               ", hidden_dim " + std::to_string(h) + ", n_layers " +
               std::to_string(l) + ", vocab_size " + std::to_string(v) +
               ") needs " + std::to_string(needed) +
               " bytes but the file has " + std::to_string(size) + "; '" +
               t.name + "' ends past the end of the file";
    }
  }

  // Float data starts at byte 28: 4-byte aligned in the mapping.
  const float *p = reinterpret_cast<const float *>(file.data() + headerBytes);
  auto take = [&](int64_t n) {
    const float *start = p;
    p += n;
    return start;
  };
  auto perLayer = [&](std::vector<WeightTensor> &out, int64_t n) {
    const float *base = take(l * n);
    out.clear();
    for (int64_t i = 0; i < l; ++i)
      out.push_back(base + i * n);
  };
  weights.tokenEmbedding = take(v * d);
  perLayer(weights.rmsAttention, d);
  perLayer(weights.wq, d * d);
  perLayer(weights.wk, kv * d);
  perLayer(weights.wv, kv * d);
  perLayer(weights.wo, d * d);
  perLayer(weights.rmsFfn, d);
  perLayer(weights.w1, h * d);
  perLayer(weights.w2, d * h);
  perLayer(weights.w3, h * d);
  weights.rmsFinal = take(d);
  take(2 * ropeTable); // legacy RoPE tables, recomputed by the model
  weights.classifier = sharedClassifier ? weights.tokenEmbedding : take(v * d);
  return "";
}
