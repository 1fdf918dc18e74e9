// libFuzzer target: the GGUF reader (header, metadata, tensor directory, then
// the model: metadata checks, tensor lookup, block repacking) on any bytes.
#include "qnt/Import/Gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef file(reinterpret_cast<const char *>(data), size);
  mlir::qnt::GgufFile gguf;
  if (!mlir::qnt::parseGguf(file, gguf).empty())
    return 0;
  mlir::qnt::CheckpointData owned;
  mlir::qnt::TransformerConfig config;
  mlir::qnt::TransformerWeights weights;
  (void)mlir::qnt::readGgufModel(gguf, owned, config, weights);
  return 0;
}
