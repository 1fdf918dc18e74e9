// Reader of llama2.c checkpoints (legacy version 0 layout).
#ifndef QNT_IMPORT_LLAMA2C_H
#define QNT_IMPORT_LLAMA2C_H

#include "qnt/Import/Importer.h"

namespace mlir::qnt {

/// Maps `path`, validates its header against the file size before touching
/// any weight, and fills `config` and `weights` (pointing into the mapping).
/// Returns "" on success or a message naming the bad field.
std::string readLlama2c(llvm::StringRef path, CheckpointData &data,
                        TransformerConfig &config, TransformerWeights &weights);

/// The same for a checkpoint already in memory (`file`, kept alive by the
/// caller, 4-byte aligned).
std::string parseLlama2c(llvm::StringRef file, TransformerConfig &config,
                         TransformerWeights &weights);

/// True when `header` (at least 28 bytes) reads as a llama2.c header whose
/// fields are all within the reader's limits.
bool looksLikeLlama2c(llvm::ArrayRef<char> header);

} // namespace mlir::qnt

#endif // QNT_IMPORT_LLAMA2C_H
