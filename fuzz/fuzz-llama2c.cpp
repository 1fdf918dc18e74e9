// libFuzzer target: the llama2.c reader (header checks against the file size)
// and the format detection on any bytes, and the rotate-half reordering of
// a model it accepts.
#include "qnt/Import/Importer.h"
#include "qnt/Import/Llama2c.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef file(reinterpret_cast<const char *>(data), size);
  (void)mlir::qnt::looksLikeLlama2c(llvm::ArrayRef<char>(file.data(), size));
  mlir::qnt::TransformerConfig config;
  mlir::qnt::TransformerWeights weights;
  if (mlir::qnt::parseLlama2c(file, config, weights).empty()) {
    mlir::qnt::CheckpointData owned;
    mlir::qnt::useRotateHalfRope(config, weights, owned);
  }
  return 0;
}
