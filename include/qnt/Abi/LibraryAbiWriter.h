// The compiler's side of the model library ABI (LibraryAbi.h): what
// quant-compile adds to a module so that it becomes a model library.
#ifndef QNT_ABI_LIBRARYABIWRITER_H
#define QNT_ABI_LIBRARYABIWRITER_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/raw_ostream.h"
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mlir::qnt {

/// Gives every public function of `module` (func dialect) a C entry point,
/// `_mlir_ciface_NAME`.
void markEntryPoints(ModuleOp module);

/// The signature string of every public function of a bufferized `module`,
/// by name.
std::vector<std::pair<std::string, std::string>>
librarySignatures(ModuleOp module);

/// Writes a C header for the public functions of a bufferized module: one
/// descriptor struct per (element type, rank) and a prototype per function
/// for its `_mlir_ciface_` entry point, the model's entry points documented;
/// false with `error` when a type has no C spelling.
bool writeLibraryHeader(ModuleOp module, llvm::raw_ostream &os,
                        std::string &error);

/// The positions of a module's KV cache where its type does not show them
/// (the `qnt.context` attribute), else 0. Read before lowering, which drops
/// the attribute.
int64_t libraryContext(ModuleOp module);

/// Adds to an LLVM-dialect `module` the `qnt_signature_NAME` strings of
/// `signatures`, `qnt_context` when `context` is positive
/// (libraryContext), and, unless `openmp` is nullopt (a GPU library),
/// `qnt_set_threads`, which sets OpenMP's threads when `*openmp`.
void addLibraryAbiSymbols(
    ModuleOp module,
    llvm::ArrayRef<std::pair<std::string, std::string>> signatures,
    int64_t context, std::optional<bool> openmp);

} // namespace mlir::qnt

#endif // QNT_ABI_LIBRARYABIWRITER_H
