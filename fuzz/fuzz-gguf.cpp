// libFuzzer target: the GGUF reader (header, metadata, tensor directory, then
// the model: metadata checks, tensor lookup, block repacking) on any bytes,
// and the rotate-half reordering of a model it accepts.
#include "qnt/Import/Gguf.h"
#include "qnt/Import/Importer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef file(reinterpret_cast<const char *>(data), size);
  mlir::qnt::GgufFile gguf;
  if (!mlir::qnt::parseGguf(file, gguf).empty())
    return 0;
  mlir::qnt::CheckpointData owned;
  mlir::qnt::TransformerConfig config;
  mlir::qnt::TransformerWeights weights;
  if (mlir::qnt::readGgufModel(gguf, owned, config, weights).empty())
    mlir::qnt::useRotateHalfRope(config, weights, owned);
  return 0;
}
