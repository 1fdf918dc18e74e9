// Reader of GGUF files (llama.cpp's model format, versions 2 and 3): the
// metadata and tensor directory, checked, and llama.cpp's quantized blocks
// turned into qnt's packed codes and scales without requantization.
#ifndef QNT_IMPORT_GGUF_H
#define QNT_IMPORT_GGUF_H

#include "qnt/Import/Importer.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::qnt {

/// A GGUF metadata value: its type code (GGUF_TYPE_*) and the bytes of the
/// value in the file (for arrays: element type and count, then the bytes of
/// the elements).
struct GgufValue {
  uint32_t type = 0;
  llvm::StringRef bytes;    // scalars: the value; strings: the characters
  uint32_t elementType = 0; // arrays only
  uint64_t count = 0;       // arrays only
};

/// One entry of the tensor directory. `dims` in GGUF order: dims[0] is the
/// innermost (contiguous) dimension, so a linear weight [out, in] has dims
/// {in, out}.
struct GgufTensor {
  llvm::SmallVector<int64_t, 4> dims;
  uint32_t type = 0;
  llvm::StringRef bytes; // the data, inside the file
};

/// A parsed GGUF file; strings point into the file.
struct GgufFile {
  uint32_t version = 0;
  uint64_t alignment = 32;
  llvm::StringMap<GgufValue> metadata;
  llvm::StringMap<GgufTensor> tensors;
};

/// The name of GGML tensor type `type` ("Q4_K"), or "type N".
std::string ggmlTypeName(uint32_t type);

/// Parses the header, metadata and tensor directory of the GGUF file held in
/// `file`, checking every count, string length, type, dimension, offset and
/// alignment against the file before use. Returns "" or a message naming
/// the field.
std::string parseGguf(llvm::StringRef file, GgufFile &out);

/// Reads a model (architectures llama and qwen2) from a parsed file: the
/// config from the metadata, the tensors by name. Float tensors (F32, F16,
/// BF16) are read in place; quantized ones (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1,
/// Q4_K, Q5_K, Q6_K) become
/// packed codes and scales holding exactly the file's values, in buffers of
/// `data`. A quantized token embedding is also dequantized into `data` for
/// the embedding lookup.
std::string readGgufModel(const GgufFile &gguf, CheckpointData &data,
                          TransformerConfig &config,
                          TransformerWeights &weights);

/// Maps `path`, parses it and reads the model.
std::string readGguf(llvm::StringRef path, CheckpointData &data,
                     TransformerConfig &config, TransformerWeights &weights);

} // namespace mlir::qnt

#endif // QNT_IMPORT_GGUF_H
