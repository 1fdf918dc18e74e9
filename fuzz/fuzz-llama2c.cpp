// libFuzzer target: the llama2.c reader (header checks against the file size)
// and the format detection on any bytes.
#include "qnt/Import/Llama2c.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef file(reinterpret_cast<const char *>(data), size);
  (void)mlir::qnt::looksLikeLlama2c(llvm::ArrayRef<char>(file.data(), size));
  mlir::qnt::TransformerConfig config;
  mlir::qnt::TransformerWeights weights;
  (void)mlir::qnt::parseLlama2c(file, config, weights);
  return 0;
}
