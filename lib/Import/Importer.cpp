// The table of checkpoint formats.
#include "qnt/Import/Importer.h"
#include "qnt/Import/Llama2c.h"

using namespace mlir;
using namespace mlir::qnt;

static const CheckpointFormat kFormats[] = {
    {"llama2c",
     "llama2.c checkpoint (legacy version 0: int32 header, float32 weights)",
     readLlama2c},
};

llvm::ArrayRef<CheckpointFormat> mlir::qnt::getCheckpointFormats() {
  return kFormats;
}

const CheckpointFormat *
mlir::qnt::lookupCheckpointFormat(llvm::StringRef name) {
  for (const CheckpointFormat &f : kFormats)
    if (name == f.name)
      return &f;
  return nullptr;
}
