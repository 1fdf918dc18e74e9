// Reader of llama2.c checkpoints (legacy version 0 layout).
#ifndef QNT_IMPORT_LLAMA2C_H
#define QNT_IMPORT_LLAMA2C_H

#include "qnt/Import/Transformer.h"
#include "llvm/Support/MemoryBuffer.h"
#include <memory>
#include <string>

namespace mlir::qnt {

/// Maps `path`, validates its header against the file size before touching
/// any weight, and fills `config` and `weights` (pointing into `file`).
/// Returns "" on success or a message naming the bad field.
std::string readLlama2c(llvm::StringRef path,
                        std::unique_ptr<llvm::MemoryBuffer> &file,
                        TransformerConfig &config, TransformerWeights &weights);

} // namespace mlir::qnt

#endif // QNT_IMPORT_LLAMA2C_H
