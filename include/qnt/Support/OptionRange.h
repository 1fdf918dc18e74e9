// The valid range of an integer option of a qnt pass, pipeline or tool, and
// the error that names the option and its range. No MLIR.
#ifndef QNT_SUPPORT_OPTIONRANGE_H
#define QNT_SUPPORT_OPTIONRANGE_H

#include "llvm/ADT/StringRef.h"
#include <cstdint>
#include <string>

namespace mlir::qnt {

/// [min, max], optionally only the multiples of `multipleOf` in it.
struct OptionRange {
  int64_t min, max;
  int64_t multipleOf = 1;

  bool contains(int64_t value) const {
    return value >= min && value <= max && value % multipleOf == 0;
  }
  /// "" when `value` is in the range, else
  ///   "OWNER option NAME=VALUE is out of range [MIN, MAX]"
  /// ("... is not a multiple of M in [MIN, MAX]" for a value in [MIN, MAX]
  /// that is not one). Without an owner (a tool's flag, `name` spelled as on
  /// the command line): "NAME=VALUE is out of range [MIN, MAX]".
  std::string check(llvm::StringRef owner, llvm::StringRef name,
                    int64_t value) const;
};

} // namespace mlir::qnt

#endif // QNT_SUPPORT_OPTIONRANGE_H
