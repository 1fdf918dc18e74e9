// The table of checkpoint formats quant-import reads; one reader per format,
// all producing the format-independent TransformerConfig/TransformerWeights.
#ifndef QNT_IMPORT_IMPORTER_H
#define QNT_IMPORT_IMPORTER_H

#include "qnt/Import/TransformerConfig.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/MemoryBuffer.h"
#include <memory>
#include <string>
#include <vector>

namespace mlir::qnt {

/// The memory a checkpoint's weights live in: its files, mapped and never
/// copied, and the few buffers a reader has to make (GGUF blocks rearranged
/// into qnt's packed layout, a quantized embedding table widened for the
/// gather). Must outlive the module built from the weights.
struct CheckpointData {
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> files;
  std::vector<std::unique_ptr<uint64_t[]>> owned;

  /// Maps `path` (read-only, no null terminator) and keeps it; null on
  /// failure, with `error` set to "cannot open: REASON".
  llvm::MemoryBuffer *map(llvm::StringRef path, std::string &error);
  /// `bytes` of zeroed memory, 8-byte aligned, owned by this object.
  char *allocate(size_t bytes);
  /// Bytes of all mapped files.
  uint64_t fileBytes() const;
};

/// Reads the checkpoint at `path` (a file, or a directory for formats made of
/// several files): keeps its memory in `data`, fills `config` and points
/// `weights` into `data`. Must validate everything it reads before it
/// allocates or touches weights. Returns "" on success, else a message
/// naming the bad field ("n_heads = 7 does not divide dim = 64").
using CheckpointReader = std::string (*)(llvm::StringRef path,
                                         CheckpointData &data,
                                         TransformerConfig &config,
                                         TransformerWeights &weights);

/// Rewrites a model with interleaved RoPE (pairs (2i, 2i+1): llama2.c, GGUF
/// llama) as the same model with rotate-half RoPE (pairs (i, i + half)):
/// within each head of wq and wk (and of their biases), the rows of the
/// pairs' first members come first, then those of the second members, each
/// in pair order. A score q.k is a sum over a head's elements, in whatever
/// order they are stored, so the model computes the same function; the
/// rotation then reads two contiguous halves, which the vectorizer takes.
/// The moved rows are copies owned by `data` (packed rows with their scales
/// and offsets as they are); a rotate-half model is left as it is.
void useRotateHalfRope(TransformerConfig &config, TransformerWeights &weights,
                       CheckpointData &data);

/// A checkpoint format: the word on quant-import's command line, one line of
/// description for --help, and its reader.
struct CheckpointFormat {
  const char *name;
  const char *description;
  CheckpointReader read;
};

/// Reads the checkpoint at `path` with `format`'s reader, then puts it in
/// the RoPE order buildTransformer takes (useRotateHalfRope): what
/// quant-import and quant-compile build a model from. Returns the reader's
/// error, or "".
std::string readCheckpoint(const CheckpointFormat &format,
                           llvm::StringRef path, CheckpointData &data,
                           TransformerConfig &config,
                           TransformerWeights &weights);

/// Every format, in --help order. A new format (safetensors + config.json,
/// GGUF) adds a reader beside Llama2c.cpp and one entry here.
llvm::ArrayRef<CheckpointFormat> getCheckpointFormats();

/// The format called `name`, or null.
const CheckpointFormat *lookupCheckpointFormat(llvm::StringRef name);

/// The format of the checkpoint at `path`, from what it holds rather than its
/// name: a directory with a config.json is `hf`, a file starting with the
/// magic "GGUF" is `gguf`, a file whose first 28 bytes read as a plausible
/// llama2.c header (seven positive int32 within the reader's limits) is
/// `llama2c`. Null for anything else (MLIR text or bytecode, say).
const CheckpointFormat *detectCheckpointFormat(llvm::StringRef path);

} // namespace mlir::qnt

#endif // QNT_IMPORT_IMPORTER_H
