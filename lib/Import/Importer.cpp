// The table of checkpoint formats, and what every checkpoint goes through
// after its reader (the RoPE order the builder takes).
#include "qnt/Import/Importer.h"
#include "qnt/Import/Gguf.h"
#include "qnt/Import/HuggingFace.h"
#include "qnt/Import/Llama2c.h"
#include "qnt/Support/Packing.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include <cstring>

using namespace mlir;
using namespace mlir::qnt;

static const CheckpointFormat kFormats[] = {
    {"llama2c",
     "llama2.c checkpoint (legacy version 0: int32 header, float32 weights)",
     readLlama2c},
    {"hf",
     "Hugging Face checkpoint directory: config.json and safetensors "
     "(LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM; F32, F16, "
     "BF16)",
     readHuggingFace},
    {"gguf",
     "GGUF file of llama.cpp, version 2 or 3 (architectures llama, qwen2; "
     "F32, F16, BF16; Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K blocks "
     "kept as they are)",
     readGguf},
};

llvm::ArrayRef<CheckpointFormat> mlir::qnt::getCheckpointFormats() {
  return kFormats;
}

llvm::MemoryBuffer *CheckpointData::map(llvm::StringRef path,
                                        std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer) {
    error = "cannot open: " + buffer.getError().message();
    return nullptr;
  }
  files.push_back(std::move(*buffer));
  return files.back().get();
}

char *CheckpointData::allocate(size_t bytes) {
  owned.push_back(std::make_unique<uint64_t[]>((bytes + 7) / 8));
  return reinterpret_cast<char *>(owned.back().get());
}

uint64_t CheckpointData::fileBytes() const {
  uint64_t total = 0;
  for (const auto &f : files)
    total += f->getBufferSize();
  return total;
}

namespace {
/// A copy, owned by `data`, of the `rows` rows of `rowBytes` bytes at `src`
/// with each head of `headSize` rows in rotate-half order: its row j is the
/// interleaved row 2j (j < headSize / 2) or 2(j - headSize / 2) + 1.
const void *rotateHalfRows(const void *src, int64_t rows, int64_t headSize,
                           size_t rowBytes, CheckpointData &data) {
  const char *from = static_cast<const char *>(src);
  char *to = data.allocate(rows * rowBytes);
  int64_t half = headSize / 2;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t head = r / headSize, j = r % headSize;
    int64_t source = head * headSize + (j < half ? 2 * j : 2 * (j - half) + 1);
    std::memcpy(to + r * rowBytes, from + source * rowBytes, rowBytes);
  }
  return to;
}

/// `w` ([rows, cols]; a bias is [rows, 1]) with its rows in rotate-half
/// order: the float elements, or the packed codes and their scales and
/// offsets, which are row-major [rows, ...] too.
WeightTensor rotateHalfWeight(const WeightTensor &w, int64_t rows,
                              int64_t cols, int64_t headSize,
                              CheckpointData &data) {
  WeightTensor moved = w;
  if (!w.isPacked()) {
    moved.data = rotateHalfRows(w.data, rows, headSize,
                                cols * elementBytes(w.type), data);
    return moved;
  }
  moved.data = rotateHalfRows(w.data, rows, headSize,
                              packedRowBytes(cols, w.bits), data);
  size_t scaleRowBytes = cols / w.groupSize * elementBytes(w.type);
  moved.scales = rotateHalfRows(w.scales, rows, headSize, scaleRowBytes, data);
  if (w.offsets)
    moved.offsets =
        rotateHalfRows(w.offsets, rows, headSize, scaleRowBytes, data);
  return moved;
}
} // namespace

void mlir::qnt::useRotateHalfRope(TransformerConfig &config,
                                  TransformerWeights &weights,
                                  CheckpointData &data) {
  if (config.rope == RopeStyle::rotateHalf)
    return;
  int64_t hs = config.headSize(), d = config.dim;
  auto move = [&](std::vector<WeightTensor> &tensors, int64_t rows,
                  int64_t cols) {
    for (WeightTensor &w : tensors)
      if (w)
        w = rotateHalfWeight(w, rows, cols, hs, data);
  };
  move(weights.wq, config.qDim(), d);
  move(weights.wk, config.kvDim(), d);
  move(weights.bq, config.qDim(), 1);
  move(weights.bk, config.kvDim(), 1);
  config.rope = RopeStyle::rotateHalf;
}

std::string mlir::qnt::readCheckpoint(const CheckpointFormat &format,
                                      llvm::StringRef path,
                                      CheckpointData &data,
                                      TransformerConfig &config,
                                      TransformerWeights &weights) {
  std::string error = format.read(path, data, config, weights);
  if (error.empty())
    useRotateHalfRope(config, weights, data);
  return error;
}

const CheckpointFormat *
mlir::qnt::lookupCheckpointFormat(llvm::StringRef name) {
  for (const CheckpointFormat &f : kFormats)
    if (name == f.name)
      return &f;
  return nullptr;
}

const CheckpointFormat *
mlir::qnt::detectCheckpointFormat(llvm::StringRef path) {
  if (llvm::sys::fs::is_directory(path)) {
    llvm::SmallString<256> config(path);
    llvm::sys::path::append(config, "config.json");
    return llvm::sys::fs::exists(config) ? lookupCheckpointFormat("hf")
                                         : nullptr;
  }
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return nullptr;
  llvm::StringRef head = (*buffer)->getBuffer().take_front(28);
  if (head.starts_with("GGUF"))
    return lookupCheckpointFormat("gguf");
  if (looksLikeLlama2c(llvm::ArrayRef<char>(head.data(), head.size())))
    return lookupCheckpointFormat("llama2c");
  return nullptr;
}
