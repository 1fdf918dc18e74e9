// libFuzzer target: the Hugging Face reader. The input is config.json text, a
// NUL byte, then a safetensors file; config.json and the safetensors header
// are parsed and, when both are accepted, the model's tensors are bound.
#include "qnt/Import/HuggingFace.h"
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef input(reinterpret_cast<const char *>(data), size);
  auto [json, safetensors] = input.split('\0');
  mlir::qnt::TransformerConfig config;
  mlir::qnt::HfModelInfo info;
  std::string configError = mlir::qnt::parseHfConfig(json, config, info);
  llvm::StringMap<mlir::qnt::SafetensorsTensor> tensors;
  std::string tensorError = mlir::qnt::parseSafetensors(safetensors, tensors);
  if (!configError.empty() || !tensorError.empty())
    return 0;
  mlir::qnt::TransformerWeights weights;
  (void)mlir::qnt::bindHfTensors(tensors, {}, config, info, weights);
  return 0;
}
