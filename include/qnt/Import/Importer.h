// The table of checkpoint formats quant-import reads; one reader per format,
// all producing the format-independent TransformerConfig/TransformerWeights.
#ifndef QNT_IMPORT_IMPORTER_H
#define QNT_IMPORT_IMPORTER_H

#include "qnt/Import/Transformer.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/MemoryBuffer.h"
#include <memory>
#include <string>

namespace mlir::qnt {

/// Reads the checkpoint at `path`: keeps the file (mapped, not copied) in
/// `file`, fills `config` and points `weights` into `file`. Must validate
/// everything it reads before it allocates or touches weights. Returns "" on
/// success, else a message naming the bad field ("n_heads = 7 does not
/// divide dim = 64").
using CheckpointReader = std::string (*)(
    llvm::StringRef path, std::unique_ptr<llvm::MemoryBuffer> &file,
    TransformerConfig &config, TransformerWeights &weights);

/// A checkpoint format: the word on quant-import's command line, one line of
/// description for --help, and its reader.
struct CheckpointFormat {
  const char *name;
  const char *description;
  CheckpointReader read;
};

/// Every format, in --help order. A new format (safetensors + config.json,
/// GGUF) adds a reader beside Llama2c.cpp and one entry here.
llvm::ArrayRef<CheckpointFormat> getCheckpointFormats();

/// The format called `name`, or null.
const CheckpointFormat *lookupCheckpointFormat(llvm::StringRef name);

} // namespace mlir::qnt

#endif // QNT_IMPORT_IMPORTER_H
