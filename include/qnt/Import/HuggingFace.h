// Reader of Hugging Face checkpoints: a directory with config.json and
// safetensors files (one, or shards listed by model.safetensors.index.json).
#ifndef QNT_IMPORT_HUGGINGFACE_H
#define QNT_IMPORT_HUGGINGFACE_H

#include "qnt/Import/Importer.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::qnt {

/// One tensor of a safetensors file: dtype name ("BF16"), shape and bytes
/// (inside the file's buffer).
struct SafetensorsTensor {
  std::string dtype;
  llvm::SmallVector<int64_t, 4> shape;
  llvm::StringRef bytes;
};

/// Parses and validates the header of the safetensors file `file` (all of
/// its bytes): the header length and JSON, every entry's dtype, shape and
/// data offsets against the file size and the shape, and the alignment of
/// the data to its element size. Adds the tensors to `tensors` (the caller
/// keeps `file` alive). Returns "" or a message naming the field.
std::string parseSafetensors(llvm::StringRef file,
                             llvm::StringMap<SafetensorsTensor> &tensors);

/// What config.json says beyond the TransformerConfig.
struct HfModelInfo {
  std::string architecture;
  bool tiedEmbeddings = false;
  bool qkvBiases = false; // Qwen2: q/k/v projections have biases
};

/// Parses config.json text (LlamaForCausalLM, MistralForCausalLM,
/// Qwen2ForCausalLM) into `config` (rotate-half RoPE) and `info`, checking
/// every field it uses. Returns "" or a message naming the field.
std::string parseHfConfig(llvm::StringRef json, TransformerConfig &config,
                          HfModelInfo &info);

/// Points `weights` at the tensors of a model described by `config` and
/// `info`, checking each tensor's presence, dtype (F32, F16 or BF16) and
/// shape. `fileOf` names the file a tensor came from, for messages.
std::string
bindHfTensors(const llvm::StringMap<SafetensorsTensor> &tensors,
              const llvm::StringMap<std::string> &fileOf,
              const TransformerConfig &config, const HfModelInfo &info,
              TransformerWeights &weights);

/// Reads the checkpoint directory `path`: config.json, then
/// model.safetensors.index.json and its shards if present, else
/// model.safetensors. Tensors are read in place through the mappings.
std::string readHuggingFace(llvm::StringRef path, CheckpointData &data,
                            TransformerConfig &config,
                            TransformerWeights &weights);

/// Rejects JSON text nested deeper than `limit` arrays and objects, which
/// the recursive JSON parser would otherwise follow into a stack overflow.
/// Returns "" or a message.
std::string checkJsonDepth(llvm::StringRef json, int limit = 64);

} // namespace mlir::qnt

#endif // QNT_IMPORT_HUGGINGFACE_H
