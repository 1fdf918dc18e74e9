// The table of checkpoint formats.
#include "qnt/Import/Importer.h"
#include "qnt/Import/Gguf.h"
#include "qnt/Import/HuggingFace.h"
#include "qnt/Import/Llama2c.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

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
